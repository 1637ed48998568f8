"""deploy/kubernetes: renders base and overlays offline, validates every manifest against the
Kubernetes API schemas, checks the references between them, and runs the real server on the
ConfigMap's config file.

Rendering and schema validation are done by k8s_render.mjs (Node.js, npm packages kubernetes-models
and yaml from tests/deploy/package-lock.json, installed by `npm ci` in tests/deploy). When kubectl is
installed, its `kubectl kustomize` output must equal that renderer's.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import deployharness as h

K8S = os.path.join(h.DEPLOY, "kubernetes")
TARGETS = ["base", "overlays/dev", "overlays/production"]
RENDERER = os.path.join(h.HERE, "k8s_render.mjs")
DRAIN_TIMEOUT_S = 10  # the server's HTTP drain timeout on SIGTERM
APP_LABELS = {"app.kubernetes.io/name": "vjvector", "app.kubernetes.io/component": "server"}


def run_renderer(cmd, arg):
    if not h.NODE:
        raise AssertionError("Node.js not found: install nodejs (scripts/install-deps.sh)")
    if not os.path.isdir(os.path.join(h.HERE, "node_modules", "kubernetes-models")):
        raise AssertionError("tests/deploy/node_modules is missing: run "
                             "`npm ci --prefix tests/deploy` (scripts/install-deps.sh does)")
    p = subprocess.run([h.NODE, RENDERER, cmd, arg], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"k8s_render.mjs {cmd} {arg} failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout)


_cache = {}


def rendered(target):
    if target not in _cache:
        _cache[target] = run_renderer("render", os.path.join(K8S, target))
    return _cache[target]


def parse_yaml_text(text):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    try:
        out = run_renderer("parse", f.name)
    finally:
        os.unlink(f.name)
    if out["errors"]:
        raise AssertionError(f"YAML does not parse: {out['errors']}")
    return out["docs"][0] if out["docs"] else None


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def one(docs, kind, name=None):
    found = [d for d in by_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind} {name or ''}, found {len(found)}")
    return found[0]


def pod_of(docs):
    """(StatefulSet, pod spec, the vjvector container)."""
    sts = one(docs, "StatefulSet", "vjvector")
    spec = sts["spec"]["template"]["spec"]
    if len(spec["containers"]) != 1:
        raise AssertionError("expected one container")
    return sts, spec, spec["containers"][0]


def selects(selector, labels):
    """A label selector (matchLabels only, or a plain Service selector map) matches the labels."""
    if "matchExpressions" in selector:
        raise AssertionError("matchExpressions not expected in these manifests")
    match = selector.get("matchLabels", selector) if isinstance(selector, dict) else {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def quantity(q):
    """Kubernetes quantity -> float (cpu in cores, memory in bytes)."""
    q = str(q)
    units = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
             "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40}
    m = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", q)
    if not m or (m.group(2) and m.group(2) not in units):
        raise AssertionError(f"bad quantity {q}")
    return float(m.group(1)) * units.get(m.group(2), 1)


class RenderAndValidate(unittest.TestCase):
    def test_every_target_renders_and_validates(self):
        for target in TARGETS:
            with self.subTest(target=target):
                out = rendered(target)
                self.assertEqual(out["errors"], [], f"{target}: " + "\n".join(out["errors"]))
                kinds = sorted(d["kind"] for d in out["docs"])
                for kind in ["ConfigMap", "Ingress", "NetworkPolicy", "PodDisruptionBudget", "Role",
                             "RoleBinding", "Service", "ServiceAccount", "StatefulSet"]:
                    self.assertIn(kind, kinds, target)

    def test_validator_rejects_mistakes(self):
        """The validation is not vacuous: a typo'd field, a wrong type and a dangling patch fail."""
        tmp = tempfile.mkdtemp(prefix="vjk8s-")
        try:
            copy = os.path.join(tmp, "kubernetes")
            shutil.copytree(K8S, copy)
            sts = os.path.join(copy, "base", "statefulset.yaml")
            with open(sts) as f:
                text = f.read()
            text = text.replace("readOnlyRootFilesystem:", "readOnlyRootFileSystem:")
            text = text.replace("containerPort: 6333", 'containerPort: "6333"')
            with open(sts, "w") as f:
                f.write(text)
            errors = "\n".join(run_renderer("render", os.path.join(copy, "base"))["errors"])
            self.assertIn("readOnlyRootFileSystem: unknown field", errors)
            self.assertIn("containerPort must be integer", errors)

            kfile = os.path.join(copy, "overlays", "dev", "kustomization.yaml")
            with open(kfile) as f:
                text = f.read()
            with open(kfile, "w") as f:
                f.write(text.replace("name: vjvector-config", "name: no-such-configmap"))
            errors = "\n".join(run_renderer("render", os.path.join(copy, "overlays", "dev"))["errors"])
            self.assertIn("matches no resource", errors)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_same_output_as_kubectl_kustomize(self):
        kubectl = shutil.which("kubectl")
        if not kubectl:
            self.skipTest("kubectl not installed: the built-in renderer alone is used")
        for target in TARGETS:
            with self.subTest(target=target):
                p = subprocess.run([kubectl, "kustomize", os.path.join(K8S, target)],
                                   capture_output=True, text=True, timeout=120)
                self.assertEqual(p.returncode, 0, p.stderr)
                with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
                    f.write(p.stdout)
                try:
                    theirs = run_renderer("parse", f.name)["docs"]
                finally:
                    os.unlink(f.name)

                def key(d):
                    return (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"])

                ours = {key(d): d for d in rendered(target)["docs"]}
                theirs = {key(d): d for d in theirs}
                self.assertEqual(sorted(ours), sorted(theirs))
                for k in ours:
                    self.assertEqual(ours[k], theirs[k], f"{target}: {k} differs from kubectl kustomize")


class CrossReferences(unittest.TestCase):
    def each(self):
        for target in TARGETS:
            docs = rendered(target)["docs"]
            with self.subTest(target=target):
                yield target, docs

    def pod(self, docs):
        return pod_of(docs)

    def port_of(self, container, ref):
        """The container port a named or numeric reference designates (AssertionError if none)."""
        for p in container.get("ports", []):
            if ref == p.get("name") or ref == p["containerPort"]:
                return p["containerPort"]
        raise AssertionError(f"port {ref!r} is not a port of container {container['name']}")

    def test_selectors_match_pod_labels(self):
        for target, docs in self.each():
            sts, spec, _ = self.pod(docs)
            labels = sts["spec"]["template"]["metadata"]["labels"]
            self.assertTrue(selects(sts["spec"]["selector"], labels))
            for svc in by_kind(docs, "Service"):
                self.assertTrue(selects(svc["spec"]["selector"], labels), svc["metadata"]["name"])
            self.assertTrue(selects(one(docs, "PodDisruptionBudget")["spec"]["selector"], labels))
            self.assertTrue(selects(one(docs, "NetworkPolicy")["spec"]["podSelector"], labels))
            anti = spec["affinity"]["podAntiAffinity"]
            required = anti["requiredDuringSchedulingIgnoredDuringExecution"]
            preferred = [t["podAffinityTerm"] for t in anti["preferredDuringSchedulingIgnoredDuringExecution"]]
            topo = {t["topologyKey"] for t in required + preferred}
            self.assertIn("kubernetes.io/hostname", topo)
            self.assertIn("topology.kubernetes.io/zone", topo)
            for term in required + preferred:
                self.assertTrue(selects(term["labelSelector"], labels), term)

    def test_services_and_ingress_reach_the_container_port(self):
        for target, docs in self.each():
            sts, spec, c = self.pod(docs)
            headless = one(docs, "Service", sts["spec"]["serviceName"])
            self.assertEqual(headless["spec"].get("clusterIP"), "None")
            services = {s["metadata"]["name"]: s for s in by_kind(docs, "Service")}
            for svc in services.values():
                for p in svc["spec"]["ports"]:
                    self.assertEqual(self.port_of(c, p.get("targetPort", p["port"])), 6333)
            ing = one(docs, "Ingress")
            tls_hosts = {host for t in ing["spec"]["tls"] for host in t["hosts"]}
            self.assertTrue(all(t.get("secretName") for t in ing["spec"]["tls"]))
            for rule in ing["spec"]["rules"]:
                self.assertIn(rule["host"], tls_hosts, "every Ingress host is served over TLS")
                for path in rule["http"]["paths"]:
                    backend = path["backend"]["service"]
                    svc = services.get(backend["name"])
                    self.assertIsNotNone(svc, f"Ingress backend {backend['name']} is no Service")
                    ref = backend["port"].get("name", backend["port"].get("number"))
                    self.assertTrue(any(ref in (p.get("name"), p["port"]) for p in svc["spec"]["ports"]))
            for rule in one(docs, "NetworkPolicy")["spec"]["ingress"]:
                for p in rule["ports"]:
                    self.assertEqual(self.port_of(c, p["port"]), 6333)

    def test_probes_hit_livez_and_readyz(self):
        for target, docs in self.each():
            _, _, c = self.pod(docs)
            for probe, path in [("livenessProbe", "/livez"), ("startupProbe", "/livez"),
                                ("readinessProbe", "/readyz")]:
                get = c[probe]["httpGet"]
                self.assertEqual(get["path"], path, probe)
                self.assertEqual(self.port_of(c, get["port"]), 6333, probe)
            # The startup probe must give a slow start at least a minute before liveness takes over.
            sp = c["startupProbe"]
            self.assertGreaterEqual(sp["periodSeconds"] * sp["failureThreshold"], 60)

    def test_config_volume_and_data_dir(self):
        for target, docs in self.each():
            sts, spec, c = self.pod(docs)
            args = c["args"]
            self.assertEqual(args[0], "serve")
            config_path = args[args.index("--config") + 1]
            volumes = {v["name"]: v for v in spec["volumes"]}
            claims = {t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]}
            mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
            for m in c["volumeMounts"]:
                self.assertTrue(m["name"] in volumes or m["name"] in claims, m["name"])
            cfg_mount = mounts[os.path.dirname(config_path)]
            cm_ref = volumes[cfg_mount["name"]]["configMap"]
            cm = one(docs, "ConfigMap", cm_ref["name"])
            item = next(i for i in cm_ref["items"] if i["path"] == os.path.basename(config_path))
            config = parse_yaml_text(cm["data"][item["key"]])
            self.assertIn(mounts[config["data_dir"]]["name"], claims, "data_dir is on the PVC")
            self.assertEqual(config["http"]["port"], self.port_of(c, "http"))
            self.assertEqual(config["http"]["host"], "0.0.0.0")

    def test_security_context_and_service_account(self):
        for target, docs in self.each():
            sts, spec, c = self.pod(docs)
            sc = c["securityContext"]
            self.assertIs(sc["readOnlyRootFilesystem"], True)
            self.assertIs(sc["runAsNonRoot"], True)
            self.assertIs(sc["allowPrivilegeEscalation"], False)
            self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
            self.assertNotIn("add", sc["capabilities"])
            self.assertIs(spec["securityContext"]["runAsNonRoot"], True)
            self.assertNotEqual(spec["securityContext"].get("runAsUser", 1), 0)
            self.assertIs(spec["automountServiceAccountToken"], False)
            sa = one(docs, "ServiceAccount", spec["serviceAccountName"])
            self.assertIs(sa["automountServiceAccountToken"], False)
            rb = one(docs, "RoleBinding")
            role = one(docs, "Role", rb["roleRef"]["name"])
            self.assertEqual(role.get("rules") or [], [], "the server needs no Kubernetes API access")
            self.assertIn(("ServiceAccount", sa["metadata"]["name"]),
                          [(s["kind"], s["name"]) for s in rb["subjects"]])
            self.assertEqual(by_kind(docs, "ClusterRole") + by_kind(docs, "ClusterRoleBinding"), [])

    def test_shutdown_resources_and_replicas(self):
        for target, docs in self.each():
            sts, spec, c = self.pod(docs)
            pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
            sleep = int(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0
            self.assertGreater(spec["terminationGracePeriodSeconds"], sleep + DRAIN_TIMEOUT_S)
            res = c["resources"]
            for r in ("cpu", "memory"):
                self.assertLessEqual(quantity(res["requests"][r]), quantity(res["limits"][r]), r)
            replicas = sts["spec"]["replicas"]
            pdb = one(docs, "PodDisruptionBudget")["spec"]
            self.assertLess(pdb.get("maxUnavailable", 1), max(replicas, 2))
            if target == "overlays/production":
                self.assertGreaterEqual(replicas, 3)
                self.assertEqual(res["requests"]["memory"], res["limits"]["memory"])
                self.assertNotEqual(c["image"].split(":")[0], "vjvector", "production sets a registry")
            if target == "overlays/dev":
                self.assertEqual(replicas, 1)
            for d in docs:
                if d["kind"] != "Namespace" and target != "base":
                    self.assertEqual(d["metadata"].get("namespace"),
                                     one(docs, "Namespace")["metadata"]["name"], d["metadata"]["name"])


class Secrets(unittest.TestCase):
    SECRETISH = re.compile(r"KEY|TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL", re.I)

    def test_no_plaintext_secret_in_rendered_manifests(self):
        for target in TARGETS:
            docs = rendered(target)["docs"]
            with self.subTest(target=target):
                for s in by_kind(docs, "Secret"):
                    self.assertFalse(s.get("data") or s.get("stringData"),
                                     f"Secret {s['metadata']['name']} carries values")
                _, spec, c = pod_of(docs)
                for e in c.get("env", []):
                    if self.SECRETISH.search(e["name"]):
                        self.assertNotIn("value", e, f"{e['name']} must come from a Secret")
                refs = [f["secretRef"] for f in c.get("envFrom", []) if "secretRef" in f]
                self.assertTrue(refs, "the pod reads its secrets from a Secret")
                for r in refs:
                    self.assertIs(r.get("optional"), True, "the Secret is created out of band")

    def test_no_secret_material_committed_under_deploy(self):
        pattern = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|^\s*(password|api_key|token)\s*:\s*\S",
                             re.I | re.M)
        for root, _, files in os.walk(h.DEPLOY):
            for name in files:
                path = os.path.join(root, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    self.assertIsNone(pattern.search(f.read()), path)


class ConfigMapAcceptedByServer(unittest.TestCase):
    """The ConfigMap's config.yaml is read by the real config loader: the server starts with it and
    becomes ready (flags move the data dir and port to test-local ones), then stops on SIGTERM."""

    def start_with(self, text):
        tmp = tempfile.mkdtemp(prefix="vjcfg-")
        path = os.path.join(tmp, "config.yaml")
        with open(path, "w") as f:
            f.write(text)
        node = h.Node(config=path)
        self.addCleanup(shutil.rmtree, tmp, True)
        return node

    def test_each_overlay_config_starts_the_server(self):
        for target in TARGETS:
            with self.subTest(target=target):
                docs = rendered(target)["docs"]
                text = one(docs, "ConfigMap", "vjvector-config")["data"]["config.yaml"]
                node = self.start_with(text)
                try:
                    ready = node.wait_ready()
                    log = node.log()
                finally:
                    code = node.stop()
                self.assertTrue(ready, f"server did not become ready with {target}'s config:\n{log}")
                self.assertEqual(code, 0, f"SIGTERM stop exit code:\n{log}")

    def test_loader_rejects_unknown_keys(self):
        """Guards the test above: the loader really checks keys, so starting proves they are known."""
        node = self.start_with("http:\n  port: 6333\n  bogus_key: 1\n")
        try:
            code = node.proc.wait(timeout=h.READY_TIMEOUT_S)
            log = node.log()
        finally:
            node.stop()
        self.assertNotEqual(code, 0)
        self.assertIn("unknown key http.bogus_key", log)


if __name__ == "__main__":
    h.main()

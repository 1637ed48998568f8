"""deploy/kubernetes: renders base, etcd, the overlays and the external-etcd variant offline, validates
every manifest against the Kubernetes API schemas, checks the references between them that schemas do
not catch (selectors, ports, probes, the etcd member list, the nodes' etcd endpoints and cluster
settings, NetworkPolicies, the HorizontalPodAutoscaler and the rebalance CronJob), and starts real
cluster nodes the way the pods would: the ConfigMap's config file, the pod's environment (resolved for
pods vjvector-0 and vjvector-1) and a real etcd, then runs the CronJob's command against them.

Reading the rendered objects is k8s_manifests.py's part. Rendering and schema validation are done by
k8s_render.mjs (Node.js, npm packages kubernetes-models and yaml from tests/deploy/package-lock.json,
installed by `npm ci` in tests/deploy). When kubectl is installed, its `kubectl kustomize` output must
equal that renderer's. etcd (its --help lists the flags it knows; a local member backs the nodes) and
curl (the CronJob's command) are needed too.
"""

import http.client
import ipaddress
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
from urllib.parse import urlsplit

import deployharness as h

from k8s_manifests import (APP_TARGETS, DEPLOYABLE, ETCD_LABELS, ETCD_TARGETS, EXTERNAL_ETCD, K8S,
                           OTHER_POD, SERVER_LABELS, TARGETS, TLS_FILE_KEYS, TLS_TARGETS, allows_dns, by_kind,
                           config_of, dotted_keys, etcd_endpoints, etcd_of, flag_values, mounted_files, name_of,
                           namespace_of, one, parse_yaml_text, pod_env, pod_of, policy_allows, policy_for,
                           port_of, quantity, rendered, run_renderer, selects, server_settings, target_dir,
                           tls_files, workloads)

ETCD = shutil.which("etcd") or ("/usr/bin/etcd" if os.path.exists("/usr/bin/etcd") else None)
CURL = shutil.which("curl")
DRAIN_TIMEOUT_S = 10  # the server's HTTP drain timeout on SIGTERM


class RenderAndValidate(unittest.TestCase):
    def test_every_target_renders_and_validates(self):
        app = ["ConfigMap", "CronJob", "HorizontalPodAutoscaler", "Ingress", "NetworkPolicy",
               "PodDisruptionBudget", "Role", "RoleBinding", "Service", "ServiceAccount", "StatefulSet"]
        etcd = ["NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount", "StatefulSet"]
        for target in TARGETS:
            with self.subTest(target=target):
                out = rendered(target)
                self.assertEqual(out["errors"], [], f"{target}: " + "\n".join(out["errors"]))
                kinds = sorted(d["kind"] for d in out["docs"])
                for kind in (app if target in APP_TARGETS else []) + (etcd if target in ETCD_TARGETS else []):
                    self.assertIn(kind, kinds, target)
                etcd_sets = [s for s in by_kind(out["docs"], "StatefulSet")
                             if selects(ETCD_LABELS, s["spec"]["template"]["metadata"]["labels"])]
                self.assertEqual(len(etcd_sets), 1 if target in ETCD_TARGETS else 0, target)

    def test_validator_rejects_mistakes(self):
        """The validation is not vacuous: a typo'd field, a wrong type and a dangling patch fail."""
        tmp = tempfile.mkdtemp(prefix="vjk8s-")
        try:
            copy = os.path.join(tmp, "kubernetes")
            shutil.copytree(K8S, copy)

            def edit(rel, old, new):
                path = os.path.join(copy, rel)
                with open(path) as f:
                    text = f.read()
                self.assertIn(old, text, rel)
                with open(path, "w") as f:
                    f.write(text.replace(old, new))

            edit("base/statefulset.yaml", "readOnlyRootFilesystem:", "readOnlyRootFileSystem:")
            edit("base/statefulset.yaml", "containerPort: 6333", 'containerPort: "6333"')
            edit("base/hpa.yaml", "selectPolicy: Disabled", "selectPolicies: Disabled")
            errors = "\n".join(run_renderer("render", os.path.join(copy, "base"))["errors"])
            self.assertIn("readOnlyRootFileSystem: unknown field", errors)
            self.assertIn("containerPort must be integer", errors)
            self.assertIn("selectPolicies: unknown field", errors)

            edit("overlays/dev/kustomization.yaml", "name: vjvector-config", "name: no-such-configmap")
            errors = "\n".join(run_renderer("render", os.path.join(copy, "overlays", "dev"))["errors"])
            self.assertIn("matches no resource", errors)

            # The guarded index patches fail when the list they patch changes order.
            edit("base/statefulset.yaml", "- name: VJVECTOR_CLUSTER_ETCD", "- name: VJVECTOR_CLUSTER_ETCD_MOVED")
            edit("overlays/production/kustomization.yaml", "  - ../../etcd\n", "")
            edit("overlays/production/kustomization.yaml", "\ncomponents:\n",
                 "\ncomponents:\n  - ../../components/external-etcd\n")
            errors = "\n".join(run_renderer("render", os.path.join(copy, "overlays", "production"))["errors"])
            self.assertIn("test failed", errors)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_same_output_as_kubectl_kustomize(self):
        kubectl = shutil.which("kubectl")
        if not kubectl:
            self.skipTest("kubectl not installed: the built-in renderer alone is used")
        for target in TARGETS:
            with self.subTest(target=target):
                p = subprocess.run([kubectl, "kustomize", target_dir(target)],
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
    def each(self, targets=TARGETS):
        for target in targets:
            docs = rendered(target)["docs"]
            with self.subTest(target=target):
                yield target, docs

    def test_selectors_match_pod_labels(self):
        """Every Service, PDB and NetworkPolicy selects the pods of exactly one workload: the etcd
        ones (vjvector-etcd*) the etcd members, vjvector-rebalance the CronJob's, the rest the nodes."""
        for target, docs in self.each():
            pods = [(name_of(w), meta["labels"]) for w, meta, _ in workloads(docs)]
            for sts in by_kind(docs, "StatefulSet"):
                self.assertTrue(selects(sts["spec"]["selector"], sts["spec"]["template"]["metadata"]["labels"]))
            for d in by_kind(docs, "Service") + by_kind(docs, "PodDisruptionBudget") + by_kind(docs, "NetworkPolicy"):
                sel = d["spec"]["podSelector"] if d["kind"] == "NetworkPolicy" else d["spec"]["selector"]
                matched = [w for w, labels in pods if selects(sel, labels)]
                name = name_of(d)
                expected = ("vjvector-etcd" if name.startswith("vjvector-etcd") else
                            "vjvector-rebalance" if name.startswith("vjvector-rebalance") else "vjvector")
                self.assertEqual(matched, [expected], f"{d['kind']} {name}")
            for sts, meta, spec in workloads(docs):
                if sts["kind"] != "StatefulSet":
                    continue
                anti = spec["affinity"]["podAntiAffinity"]
                required = anti.get("requiredDuringSchedulingIgnoredDuringExecution", [])
                preferred = [t["podAffinityTerm"] for t in anti["preferredDuringSchedulingIgnoredDuringExecution"]]
                for term in required + preferred:
                    self.assertTrue(selects(term["labelSelector"], meta["labels"]), term)
                self.assertIn("topology.kubernetes.io/zone", {t["topologyKey"] for t in preferred})
                hostname = "kubernetes.io/hostname"
                if target == "overlays/dev" and name_of(sts) == "vjvector":
                    # Dev fits three nodes on a one-machine cluster: a preference only.
                    self.assertIn(hostname, {t["topologyKey"] for t in preferred})
                else:
                    self.assertIn(hostname, {t["topologyKey"] for t in required}, name_of(sts))

    def test_services_and_ingress_reach_the_container_port(self):
        for target, docs in self.each():
            containers = {name_of(w): spec["containers"][0] for w, _, spec in workloads(docs)}
            labels = {name_of(w): meta["labels"] for w, meta, _ in workloads(docs)}
            services = {name_of(s): s for s in by_kind(docs, "Service")}
            for svc in services.values():
                owner = next(n for n in labels if selects(svc["spec"]["selector"], labels[n]))
                for p in svc["spec"]["ports"]:
                    self.assertEqual(port_of(containers[owner], p.get("targetPort", p["port"])), p["port"],
                                     f"{name_of(svc)} port {p['port']}")
            for sts in by_kind(docs, "StatefulSet"):
                # Both StatefulSets need their not-ready pods in DNS: a node catching up (not ready)
                # receives its primaries' log; etcd members find each other before any is ready.
                headless = services[sts["spec"]["serviceName"]]
                self.assertEqual(headless["spec"].get("clusterIP"), "None")
                self.assertIs(headless["spec"].get("publishNotReadyAddresses"), True)
            for ing in by_kind(docs, "Ingress"):
                tls_hosts = {host for t in ing["spec"]["tls"] for host in t["hosts"]}
                self.assertTrue(all(t.get("secretName") for t in ing["spec"]["tls"]))
                for rule in ing["spec"]["rules"]:
                    self.assertIn(rule["host"], tls_hosts, "every Ingress host is served over TLS")
                    for path in rule["http"]["paths"]:
                        backend = path["backend"]["service"]
                        svc = services.get(backend["name"])
                        self.assertIsNotNone(svc, f"Ingress backend {backend['name']} is no Service")
                        self.assertTrue(selects(svc["spec"]["selector"], SERVER_LABELS))
                        ref = backend["port"].get("name", backend["port"].get("number"))
                        self.assertTrue(any(ref in (p.get("name"), p["port"]) for p in svc["spec"]["ports"]))

    def test_probes(self):
        """The nodes' probes hit /livez and /readyz on the REST port, etcd's its own on its client port."""
        for target, docs in self.each():
            pods = []
            if target in APP_TARGETS:
                # A node with TLS serves HTTPS only: a plain-HTTP probe would fail every time.
                pods.append((pod_of(docs)[2], 6333, "HTTPS" if tls_files(docs) else "HTTP"))
            if target in ETCD_TARGETS:
                pods.append((etcd_of(docs)[2], 2379, "HTTP"))
            for c, port, scheme in pods:
                for probe, path in [("livenessProbe", "/livez"), ("startupProbe", "/livez"),
                                    ("readinessProbe", "/readyz")]:
                    get = c[probe]["httpGet"]
                    self.assertEqual(get["path"], path, f"{c['name']} {probe}")
                    self.assertEqual(port_of(c, get["port"]), port, f"{c['name']} {probe}")
                    self.assertEqual(get.get("scheme", "HTTP"), scheme, f"{c['name']} {probe}")
                # A slow start gets at least a minute before liveness takes over.
                sp = c["startupProbe"]
                self.assertGreaterEqual(sp["periodSeconds"] * sp["failureThreshold"], 60)

    def test_config_file_volume_and_keys(self):
        known = set(server_settings().values())
        for target, docs in self.each(APP_TARGETS):
            sts, spec, c = pod_of(docs)
            self.assertEqual(c["args"][0], "serve")
            volumes = {v["name"] for v in spec["volumes"]}
            claims = {t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]}
            mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
            for m in c["volumeMounts"]:
                self.assertTrue(m["name"] in volumes or m["name"] in claims, m["name"])
            config = parse_yaml_text(config_of(docs))
            for key in dotted_keys(config):
                self.assertIn(key, known, f"config key {key} is not a server setting (server_config.cc)")
            self.assertIn(mounts[config["data_dir"]]["name"], claims, "data_dir is on the PVC")
            self.assertEqual(config["http"]["port"], port_of(c, "http"))
            self.assertEqual(config["http"]["host"], "0.0.0.0", "peers and Services reach the pod IP")

    def test_node_identity_and_advertise_url(self):
        """Node id = pod name (downward API), advertised at the pod's stable headless-Service name on
        the REST port; every VJVECTOR_* variable is a setting the server reads."""
        settings = {"VJVECTOR_" + e for e in server_settings()}
        for target, docs in self.each(APP_TARGETS):
            sts, _, c = pod_of(docs)
            names = [e["name"] for e in c.get("env", [])]
            for n in names:
                if n.startswith("VJVECTOR_"):
                    self.assertIn(n, settings, f"{n} is not read by the server (server_config.cc)")
            node_id = next(e for e in c["env"] if e["name"] == "VJVECTOR_CLUSTER_NODE_ID")
            self.assertEqual(node_id.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath"), "metadata.name")
            ns = namespace_of(docs)
            for i in (0, 4):
                pod = f"{name_of(sts)}-{i}"
                env = pod_env(c, pod, ns)
                self.assertEqual(env["VJVECTOR_CLUSTER_NODE_ID"], pod)
                url = urlsplit(env["VJVECTOR_CLUSTER_ADVERTISE_URL"])
                # https exactly when the node has TLS (the server refuses https:// without it, and its
                # peer port refuses plain HTTP with it).
                self.assertEqual(url.scheme, "https" if tls_files(docs) else "http")
                self.assertEqual(url.hostname, f"{pod}.{sts['spec']['serviceName']}.{ns}.svc")
                self.assertEqual(url.port, port_of(c, "peer"), "peers reach the peer port (cluster.p2p_port)")
                self.assertEqual(port_of(c, "peer"), 6335, "the default cluster.p2p_port")
                self.assertIn(url.path, ("", "/"))

    def test_etcd_endpoints_resolve_to_the_etcd_service(self):
        for target, docs in self.each(DEPLOYABLE):
            endpoints = etcd_endpoints(docs)
            ns = namespace_of(docs)
            for e in endpoints:
                url = urlsplit(e)
                self.assertEqual(url.scheme, "http", e)
                self.assertIsNotNone(url.port, e)
            if target == EXTERNAL_ETCD:
                # An etcd outside the cluster: an egress rule must let the nodes reach each endpoint.
                rules = policy_for(docs, SERVER_LABELS)["spec"]["egress"]
                for e in endpoints:
                    url = urlsplit(e)
                    ip = ipaddress.ip_address(url.hostname)
                    self.assertTrue(any(ip in ipaddress.ip_network(p["ipBlock"]["cidr"])
                                        and any(q["port"] == url.port for q in r["ports"])
                                        for r in rules for p in r.get("to", []) if "ipBlock" in p), e)
                continue
            etcd_sts, _, etcd_c = etcd_of(docs)
            client_port = int(urlsplit(flag_values(etcd_c["args"])["--listen-client-urls"]).port)
            for e in endpoints:
                url = urlsplit(e)
                labels = url.hostname.split(".")
                self.assertIn(labels[1:], ([], [ns], [ns, "svc"], [ns, "svc", "cluster", "local"]), e)
                svc = one(docs, "Service", labels[0])
                self.assertTrue(selects(svc["spec"]["selector"], etcd_sts["spec"]["template"]["metadata"]["labels"]))
                port = next((p for p in svc["spec"]["ports"] if p["port"] == url.port), None)
                self.assertIsNotNone(port, f"{e}: no such port on Service {labels[0]}")
                self.assertEqual(port_of(etcd_c, port.get("targetPort", port["port"])), client_port, e)

    def test_etcd_static_member_list(self):
        """--initial-cluster names exactly the StatefulSet's pods at their headless-Service names, each
        member's own name and peer URL are its entry, and every flag is one etcd knows."""
        help_flags = None
        if ETCD:
            out = subprocess.run([ETCD, "--help"], capture_output=True, text=True, timeout=30)
            help_flags = set(re.findall(r"^\s+(--[a-z0-9-]+)", out.stdout + out.stderr, re.M))
        for target, docs in self.each(ETCD_TARGETS):
            sts, spec, c = etcd_of(docs)
            name, svc, replicas = name_of(sts), sts["spec"]["serviceName"], sts["spec"]["replicas"]
            self.assertEqual(sts["spec"]["podManagementPolicy"], "Parallel", "members must start together")
            self.assertEqual(replicas % 2, 1, "an odd member count")
            self.assertEqual(replicas, {"overlays/dev": 1}.get(target, 3))
            flags = flag_values(c["args"])
            if help_flags is None:
                self.fail("etcd not found: install etcd-server (scripts/install-deps.sh); it checks the flags")
            for f in flags:
                self.assertIn(f, help_flags, f"etcd does not know {f}")
            peer = port_of(c, "peer")
            ns = namespace_of(docs)
            expected = {f"{name}-{i}": f"http://{name}-{i}.{svc}.$(POD_NAMESPACE).svc:{peer}" for i in range(replicas)}
            members = dict(m.split("=", 1) for m in flags["--initial-cluster"].split(","))
            self.assertEqual(members, expected)
            self.assertEqual(flags["--initial-cluster-state"], "new")
            for i in range(replicas):
                pod = f"{name}-{i}"
                env = pod_env(c, pod, ns)
                resolved = {k: re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], v) for k, v in flags.items()}
                self.assertEqual(resolved["--name"], pod)
                self.assertEqual(resolved["--initial-advertise-peer-urls"],
                                 expected[pod].replace("$(POD_NAMESPACE)", ns))
                self.assertEqual(urlsplit(resolved["--advertise-client-urls"]).hostname, f"{pod}.{svc}.{ns}.svc")
            for flag, port in [("--listen-client-urls", "client"), ("--listen-peer-urls", "peer"),
                               ("--listen-metrics-urls", "metrics")]:
                url = urlsplit(flags[flag])
                self.assertEqual(url.hostname, "0.0.0.0", flag)
                self.assertEqual(url.port, port_of(c, port), flag)
            data_dir = flags["--data-dir"]
            claims = {t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]}
            self.assertTrue(any(data_dir.startswith(m["mountPath"] + "/") and m["name"] in claims
                                for m in c["volumeMounts"]), "the data dir is on the PVC")

    def test_network_policies(self):
        """Default-deny for every workload; nodes reach each other and etcd, only nodes and members
        reach etcd, the CronJob reaches the nodes and nothing else."""
        for target, docs in self.each():
            for w, meta, _ in workloads(docs):
                policy = policy_for(docs, meta["labels"])
                self.assertEqual(sorted(policy["spec"]["policyTypes"]), ["Egress", "Ingress"], name_of(w))
                self.assertTrue(allows_dns(policy), name_of(w))
            if target in APP_TARGETS:
                _, _, node = pod_of(docs)
                nodes = policy_for(docs, SERVER_LABELS)
                job = one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
                self.assertTrue(policy_allows(nodes, "ingress", SERVER_LABELS, 6335, node), "peers in")
                self.assertTrue(policy_allows(nodes, "egress", SERVER_LABELS, 6335, node), "peers out")
                self.assertFalse(policy_allows(nodes, "ingress", OTHER_POD, 6335, node), "the peer port is for peers")
                self.assertFalse(policy_allows(nodes, "ingress", job, 6335, node), "the peer port is for peers")
                self.assertTrue(policy_allows(nodes, "ingress", job, 6333, node), "CronJob in")
                self.assertTrue(policy_allows(nodes, "ingress", job, 6334, node), "labelled clients reach gRPC")
                self.assertFalse(policy_allows(nodes, "ingress", OTHER_POD, 6334, node))
                self.assertEqual(port_of(node, "grpc"), 6334, "the default grpc.port")
                self.assertFalse(policy_allows(nodes, "ingress", OTHER_POD, 6333, node))
                self.assertTrue(policy_allows(policy_for(docs, job), "egress", SERVER_LABELS, 6333, node))
                self.assertFalse(policy_allows(policy_for(docs, job), "egress", ETCD_LABELS, 2379,
                                               {"name": "etcd", "ports": [{"name": "client", "containerPort": 2379}]}))
            if target in ETCD_TARGETS:
                _, _, member = etcd_of(docs)
                etcd = policy_for(docs, ETCD_LABELS)
                self.assertTrue(policy_allows(etcd, "ingress", SERVER_LABELS, 2379, member))
                self.assertTrue(policy_allows(etcd, "ingress", ETCD_LABELS, 2380, member))
                self.assertTrue(policy_allows(etcd, "egress", ETCD_LABELS, 2380, member))
                self.assertFalse(policy_allows(etcd, "ingress", SERVER_LABELS, 2380, member))
                self.assertFalse(policy_allows(etcd, "ingress", OTHER_POD, 2379, member))
                rebalance = {**SERVER_LABELS, "app.kubernetes.io/component": "rebalance"}
                self.assertFalse(policy_allows(etcd, "ingress", rebalance, 2379, member))
                if target in APP_TARGETS:
                    self.assertTrue(policy_allows(policy_for(docs, SERVER_LABELS), "egress", ETCD_LABELS, 2379, member))

    def test_autoscaler_only_scales_out(self):
        for target, docs in self.each(APP_TARGETS):
            sts, _, c = pod_of(docs)
            hpa = one(docs, "HorizontalPodAutoscaler")["spec"]
            ref = hpa["scaleTargetRef"]
            self.assertEqual((ref["apiVersion"], ref["kind"], ref["name"]), ("apps/v1", "StatefulSet", name_of(sts)))
            self.assertNotIn("replicas", sts["spec"], "the HPA owns the count: an apply must not reset it")
            self.assertEqual(hpa["behavior"]["scaleDown"]["selectPolicy"], "Disabled",
                             "removing a node does not drain it: no automatic scale-in")
            self.assertNotEqual(hpa["behavior"]["scaleUp"].get("selectPolicy"), "Disabled")
            self.assertLessEqual(hpa["minReplicas"], hpa["maxReplicas"])
            self.assertGreaterEqual(hpa["minReplicas"], 3, "replication_factor 3 needs 3 nodes")
            for m in hpa["metrics"]:
                if m["type"] == "Resource" and m["resource"]["target"]["type"] == "Utilization":
                    self.assertIn(m["resource"]["name"], c["resources"]["requests"],
                                  "utilization is relative to the request")
            pdb = one(docs, "PodDisruptionBudget", "vjvector")["spec"]
            self.assertLess(pdb["maxUnavailable"], hpa["minReplicas"])

    def test_rebalance_cronjob(self):
        for target, docs in self.each(APP_TARGETS):
            cj = one(docs, "CronJob")
            spec = cj["spec"]
            self.assertEqual(spec["concurrencyPolicy"], "Forbid")
            job = spec["jobTemplate"]["spec"]
            pod = job["template"]["spec"]
            self.assertIn(pod["restartPolicy"], ("Never", "OnFailure"))
            (c,) = pod["containers"]
            cmd = c["command"] + c.get("args", [])
            self.assertEqual(cmd[0], "curl")
            self.assertEqual(cmd[cmd.index("--request") + 1], "POST")
            url = urlsplit(next(a for a in cmd if re.match(r"https?://", a)))
            self.assertEqual(url.path, "/cluster/rebalance")
            if tls_files(docs):
                # The nodes serve HTTPS only: curl verifies them against the cluster CA, mounted from
                # the Secret the nodes take theirs from.
                self.assertEqual(url.scheme, "https")
                ca = mounted_files(pod, c).get(cmd[cmd.index("--cacert") + 1])
                node_ca = mounted_files(pod_of(docs)[1], pod_of(docs)[2])[tls_files(docs)["VJVECTOR_TLS_CA_FILE"]]
                self.assertEqual((ca["kind"], ca["name"], ca["key"]), ("secret", node_ca["name"], "ca.crt"))
                self.assertNotIn("--insecure", cmd)
                self.assertNotIn("-k", cmd)
            else:
                self.assertEqual(url.scheme, "http")
            svc = one(docs, "Service", url.hostname)
            self.assertTrue(selects(svc["spec"]["selector"], SERVER_LABELS))
            self.assertIsNone(svc["spec"].get("clusterIP"), "through the client Service (ready nodes)")
            port = next(p for p in svc["spec"]["ports"] if p["port"] == url.port)
            self.assertEqual(port_of(pod_of(docs)[2], port["targetPort"]), 6333)
            self.assertGreater(job["activeDeadlineSeconds"], int(cmd[cmd.index("--max-time") + 1]))
            sa = one(docs, "ServiceAccount", pod["serviceAccountName"])
            self.assertIs(sa["automountServiceAccountToken"], False)
            bound = [(s["kind"], s["name"]) for rb in by_kind(docs, "RoleBinding") for s in rb["subjects"]]
            self.assertNotIn(("ServiceAccount", name_of(sa)), bound, "the CronJob needs no API access")

    def test_security_contexts_and_images(self):
        """Every pod meets Pod Security "restricted" (production's namespace enforces it), mounts no
        token, gets no service-link variables, and runs a pinned image."""
        for target, docs in self.each():
            for w, _, spec in workloads(docs):
                where = name_of(w)
                psc = spec["securityContext"]
                self.assertIs(psc["runAsNonRoot"], True, where)
                self.assertNotEqual(psc.get("runAsUser", 1), 0, where)
                self.assertEqual(psc["seccompProfile"]["type"], "RuntimeDefault", where)
                self.assertIs(spec["automountServiceAccountToken"], False, where)
                self.assertIs(spec["enableServiceLinks"], False, where)
                self.assertIs(one(docs, "ServiceAccount", spec["serviceAccountName"])["automountServiceAccountToken"],
                              False, where)
                for c in spec["containers"]:
                    sc = c["securityContext"]
                    self.assertIs(sc["readOnlyRootFilesystem"], True, where)
                    self.assertIs(sc["allowPrivilegeEscalation"], False, where)
                    self.assertIs(sc.get("privileged", False), False, where)
                    self.assertEqual(sc["capabilities"]["drop"], ["ALL"], where)
                    self.assertNotIn("add", sc["capabilities"], where)
                    image = c["image"]
                    self.assertRegex(image, r"(:[\w.-]+|@sha256:[0-9a-f]{64})$", f"{where}: pin {image}")
                    self.assertFalse(image.endswith(":latest"), where)
                    res = c["resources"]
                    for r in ("cpu", "memory"):
                        self.assertLessEqual(quantity(res["requests"][r]), quantity(res["limits"][r]), f"{where} {r}")
            if target in APP_TARGETS:
                rb = one(docs, "RoleBinding")
                role = one(docs, "Role", rb["roleRef"]["name"])
                self.assertEqual(role.get("rules") or [], [], "the server needs no Kubernetes API access")
                self.assertEqual([(s["kind"], s["name"]) for s in rb["subjects"]], [("ServiceAccount", "vjvector")])
            self.assertEqual(by_kind(docs, "ClusterRole") + by_kind(docs, "ClusterRoleBinding"), [])

    def test_shutdown_disruption_and_namespaces(self):
        for target, docs in self.each():
            if target in APP_TARGETS:
                sts, spec, c = pod_of(docs)
                pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
                sleep = int(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0
                self.assertGreater(spec["terminationGracePeriodSeconds"], sleep + DRAIN_TIMEOUT_S)
                res = c["resources"]
                if target in ("overlays/production", EXTERNAL_ETCD):
                    self.assertEqual(res["requests"]["memory"], res["limits"]["memory"])
                    self.assertNotEqual(c["image"].split(":")[0], "vjvector", "production sets a registry")
            for pdb in by_kind(docs, "PodDisruptionBudget"):
                self.assertEqual(pdb["spec"]["maxUnavailable"], 1, name_of(pdb))
            if target in ("overlays/production", EXTERNAL_ETCD):
                labels = one(docs, "Namespace")["metadata"].get("labels", {})
                self.assertEqual(labels.get("pod-security.kubernetes.io/enforce"), "restricted")
            if target.startswith("overlays/"):
                for d in docs:
                    if d["kind"] != "Namespace":
                        self.assertEqual(d["metadata"].get("namespace"), namespace_of(docs), name_of(d))


def san_matches(pattern, host):
    """Whether a certificate DNS name covers `host` (a leading `*.` matches exactly one label, as
    OpenSSL's host check does)."""
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and "." not in host[:-len(pattern) + 1]
    return pattern == host


class TlsComponent(unittest.TestCase):
    """components/tls, as overlays/production uses it: the nodes' TLS files from the Secret
    vjvector-tls (the layout cert-manager writes), HTTPS everywhere the nodes are reached, and a
    cert-manager Certificate whose names cover every name the nodes are reached by."""

    def each(self, targets=TLS_TARGETS):
        for target in targets:
            with self.subTest(target=target):
                yield target, rendered(target)["docs"]

    def node_secret(self, docs):
        _, spec, c = pod_of(docs)
        names = {mounted_files(spec, c)[path]["name"] for path in tls_files(docs).values()}
        self.assertEqual(len(names), 1, names)
        return names.pop()

    def test_production_has_tls_and_the_others_do_not(self):
        for target in APP_TARGETS:
            with self.subTest(target=target):
                files = tls_files(rendered(target)["docs"])
                self.assertEqual(sorted(files), sorted(TLS_FILE_KEYS) if target in TLS_TARGETS else [])

    def test_files_come_read_only_from_the_secret(self):
        settings = {"VJVECTOR_" + e: key for e, key in server_settings().items()}
        for target, docs in self.each():
            sts, spec, c = pod_of(docs)
            files = mounted_files(spec, c)
            for env, key in TLS_FILE_KEYS.items():
                self.assertIn(env, settings, f"{env} is not a server setting")
                path = tls_files(docs)[env]
                self.assertEqual(os.path.dirname(path), "/etc/vjvector/tls", env)
                f = files.get(path)
                self.assertIsNotNone(f, f"{env}={path} is no mounted file")
                self.assertEqual((f["kind"], f["name"], f["key"]), ("secret", "vjvector-tls", key), env)
                self.assertTrue(f["read_only"], env)
                # Readable by the server through the pod's fsGroup, by no other user.
                self.assertEqual(f["mode"] & 0o007, 0, f"{env}: mode {f['mode']:o} is world-readable")
                self.assertTrue(f["mode"] & 0o040 and spec["securityContext"].get("fsGroup"), env)
            # The config file is still there, beside the certificates.
            self.assertIn("http", parse_yaml_text(config_of(docs)))
            # Kubelet probes and the Ingress controller present no certificate from the nodes' CA.
            env = {e["name"]: e.get("value") for e in c["env"]}
            auth = env.get("VJVECTOR_TLS_CLIENT_AUTH") or (parse_yaml_text(config_of(docs)).get("tls") or {}).get(
                "client_auth", "none")
            self.assertNotEqual(auth, "require", "HTTPS probes carry no client certificate")
            annotations = sts["spec"]["template"]["metadata"]["annotations"]
            self.assertEqual(annotations.get("prometheus.io/scheme"), "https")

    def test_ingress_reencrypts_and_verifies_the_nodes(self):
        for target in APP_TARGETS:
            docs = rendered(target)["docs"]
            with self.subTest(target=target):
                ing = one(docs, "Ingress")
                notes = ing["metadata"].get("annotations", {})
                tls = bool(tls_files(docs))
                self.assertEqual(notes.get("nginx.ingress.kubernetes.io/backend-protocol", "HTTP"),
                                 "HTTPS" if tls else "HTTP")
                if not tls:
                    continue
                secret = self.node_secret(docs)
                # The public certificate is not the nodes' (other names, a CA public clients trust).
                self.assertNotIn(secret, [x["secretName"] for x in ing["spec"]["tls"]])
                self.assertEqual(notes.get("nginx.ingress.kubernetes.io/proxy-ssl-secret"),
                                 f"{namespace_of(docs)}/{secret}")
                self.assertEqual(notes.get("nginx.ingress.kubernetes.io/proxy-ssl-verify"), "on")
                self.assertEqual(notes.get("nginx.ingress.kubernetes.io/proxy-ssl-server-name"), "on")
                name = notes.get("nginx.ingress.kubernetes.io/proxy-ssl-name", "")
                backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
                self.assertEqual(name, f"{backend}.{namespace_of(docs)}.svc")
                self.assertTrue(any(san_matches(d, name) for d in self.certificate(docs)["spec"]["dnsNames"]), name)

    def certificate(self, docs):
        secret = self.node_secret(docs)
        return one([d for d in by_kind(docs, "Certificate") if d["spec"]["secretName"] == secret], "Certificate")

    def test_certificate_covers_every_name_the_nodes_are_reached_by(self):
        for target, docs in self.each():
            cert = self.certificate(docs)["spec"]
            self.assertTrue(cert.get("commonName"), "the peer port wants a subject CN")
            self.assertLessEqual({"server auth", "client auth"}, set(cert["usages"]),
                                 "servers on both ports, clients of their peers")
            names = cert["dnsNames"]
            sts, _, c = pod_of(docs)
            for i in (0, 1, 11):
                host = urlsplit(pod_env(c, f"{name_of(sts)}-{i}", namespace_of(docs))
                                ["VJVECTOR_CLUSTER_ADVERTISE_URL"]).hostname
                self.assertTrue(any(san_matches(d, host) for d in names), f"advertise name {host}")
            job = one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
            url = urlsplit(next(a for a in job["command"] if a.startswith("https://")))
            self.assertTrue(any(san_matches(d, url.hostname) for d in names), url.hostname)
            self.assertFalse(any(san_matches(d, "vjvector-etcd-0.x") for d in names))
            # The issuer chain: a CA Issuer whose key pair is a CA Certificate, from a self-signed Issuer.
            ref = cert["issuerRef"]
            self.assertEqual((ref.get("kind"), ref.get("group", "cert-manager.io")), ("Issuer", "cert-manager.io"))
            ca_secret = one(docs, "Issuer", ref["name"])["spec"]["ca"]["secretName"]
            ca = one([d for d in by_kind(docs, "Certificate") if d["spec"]["secretName"] == ca_secret], "Certificate")
            self.assertIs(ca["spec"]["isCA"], True)
            self.assertIn("selfSigned", one(docs, "Issuer", ca["spec"]["issuerRef"]["name"])["spec"])

            def hours(d):
                self.assertRegex(d, r"^\d+h$")
                return int(d[:-1])

            for x in (cert, ca["spec"]):
                self.assertLess(hours(x["renewBefore"]), hours(x["duration"]))
            self.assertLess(hours(cert["duration"]), hours(ca["spec"]["duration"]))


class Secrets(unittest.TestCase):
    SECRETISH = re.compile(r"KEY|TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL", re.I)

    def test_no_plaintext_secret_in_rendered_manifests(self):
        for target in TARGETS:
            docs = rendered(target)["docs"]
            with self.subTest(target=target):
                for s in by_kind(docs, "Secret"):
                    self.assertFalse(s.get("data") or s.get("stringData"),
                                     f"Secret {s['metadata']['name']} carries values")
                for _, _, spec in workloads(docs):
                    for c in spec["containers"]:
                        files = mounted_files(spec, c)
                        for e in c.get("env", []):
                            if e["name"].endswith("_FILE") and "value" in e:
                                # A path (VJVECTOR_TLS_KEY_FILE): the file itself comes from a Secret.
                                f = files.get(e["value"])
                                self.assertTrue(f and f["kind"] == "secret", f"{e['name']}: {e['value']} "
                                                "is no file of a mounted Secret")
                            elif self.SECRETISH.search(e["name"]):
                                self.assertNotIn("value", e, f"{e['name']} must come from a Secret")
                        for a in c.get("args", []) + c.get("command", []):
                            self.assertNotRegex(a, r"(?i)--(password|token|auth|client-cert|key)\b", a)
                for cm in by_kind(docs, "ConfigMap"):
                    for text in cm.get("data", {}).values():
                        self.assertNotRegex(text, r"(?im)^\s*\w*(token|password|secret|api_key)\w*\s*:",
                                            f"ConfigMap {name_of(cm)} holds a secret setting")
                if target in APP_TARGETS:
                    _, _, c = pod_of(docs)
                    refs = [f["secretRef"] for f in c.get("envFrom", []) if "secretRef" in f]
                    self.assertTrue(refs, "the pod reads its secrets from a Secret")
                    for r in refs:
                        self.assertIs(r.get("optional"), True, "the Secret is created out of band")

    def test_no_secret_material_committed_under_deploy(self):
        pattern = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|^\s*(password|api_key|token|internal_token)\s*:\s*\S",
                             re.I | re.M)
        for root, _, files in os.walk(h.DEPLOY):
            for name in files:
                path = os.path.join(root, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    self.assertIsNone(pattern.search(f.read()), path)


class LocalEtcd:
    """One etcd member on loopback ports chosen at run time, for ClusterFromManifests."""

    def __init__(self, workdir):
        if not ETCD:
            raise AssertionError("etcd not found: install etcd-server (scripts/install-deps.sh)")
        self.client_port, self.peer_port = h.free_port(), h.free_port()
        self.url = f"http://127.0.0.1:{self.client_port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        self.log = open(os.path.join(workdir, "etcd.log"), "wb")
        self.proc = subprocess.Popen(
            [ETCD, "--name", "t", "--data-dir", os.path.join(workdir, "etcd"),
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", f"t={peer}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if h.http_get(self.client_port, "/health", timeout=2.0)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.close()
        raise AssertionError("etcd did not become healthy")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# What a deployment's vjvector-secrets Secret holds (docs/operations.md): without them a node bound to
# 0.0.0.0 refuses to start.
SECRETS = {"VJVECTOR_SECURITY_API_KEY": "k8s-test-admin-key-0123456789",
           "VJVECTOR_CLUSTER_INTERNAL_TOKEN": "k8s-test-internal-token-0123456789"}


class ClusterFromManifests(unittest.TestCase):
    """Pods vjvector-0 and vjvector-1 as the manifests define them, on loopback: the ConfigMap's file
    and each pod's resolved environment, with only what cannot resolve here replaced (the etcd
    Service's name by a real local etcd, the advertise URL by loopback, the mounted Secret's files by
    certificates made with openssl for the names of the manifests' Certificate; flags move the data
    dir and port). They join one cluster under their pod names, replicate a collection between them
    (through the peer port: mutual TLS where the manifests turn TLS on), and the CronJob's own command
    rebalances it."""

    def test_pods_join_one_cluster_and_the_cronjob_rebalances(self):
        if not CURL:
            self.fail("curl not found: install curl (it runs the rebalance CronJob's command)")
        for target in ["base", "overlays/dev", "overlays/production"]:  # production: TLS
            with self.subTest(target=target):
                self.run_target(target)

    def run_target(self, target):
        docs = rendered(target)["docs"]
        sts, _, c = pod_of(docs)
        tmp = tempfile.mkdtemp(prefix="vjk8s-cluster-")
        self.addCleanup(shutil.rmtree, tmp, True)
        config = os.path.join(tmp, "config.yaml")
        with open(config, "w") as f:
            f.write(config_of(docs))
        etcd = LocalEtcd(tmp)
        local_files, ca_file = self.tls_files_here(docs, os.path.join(tmp, "pki"))
        scheme = "https" if ca_file else "http"
        key = SECRETS["VJVECTOR_SECURITY_API_KEY"]
        nodes, pods = [], [f"{name_of(sts)}-{i}" for i in range(2)]
        job_pod = one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        job = job_pod["containers"][0]
        service_host = next(urlsplit(a).hostname for a in job["command"] if re.match(r"https?://", a))
        try:
            for pod in pods:
                env = {k: v for k, v in pod_env(c, pod, namespace_of(docs)).items() if k.startswith("VJVECTOR_")}
                port, p2p_port = h.free_port(), h.free_port()
                env["VJVECTOR_CLUSTER_ETCD"] = etcd.url
                env["VJVECTOR_CLUSTER_P2P_PORT"] = str(p2p_port)
                env.update(SECRETS)  # what the vjvector-secrets Secret holds
                self.assertTrue(env["VJVECTOR_CLUSTER_ADVERTISE_URL"].startswith(f"{scheme}://"))
                env["VJVECTOR_CLUSTER_ADVERTISE_URL"] = f"{scheme}://127.0.0.1:{p2p_port}"
                for name, path in tls_files(docs).items():
                    env[name] = local_files[path]  # the mounted Secret's file, made here
                # A pod listens on 0.0.0.0 and accepts any Host; on loopback a node accepts only
                # loopback names unless told (DNS rebinding): the CronJob calls it by its Service name.
                env["VJVECTOR_HTTP_ALLOWED_HOSTS"] = service_host
                nodes.append(h.Node(port=port, config=config, env=env, ca_file=ca_file))
            for n in nodes:
                self.assertTrue(n.wait_ready(), f"{target}: node did not become ready:\n{n.log()}")
            if ca_file:
                with self.assertRaises((OSError, http.client.HTTPException), msg="TLS on: plain HTTP is refused"):
                    h.http_get(nodes[0].port, "/readyz")
            deadline, result = time.monotonic() + 15, {}
            while time.monotonic() < deadline:
                result = json.loads(h.http_get(nodes[0].port, "/cluster", api_key=key, ca_file=ca_file)[1])["result"]
                if set(result.get("peers", {})) == set(pods):
                    break
                time.sleep(0.2)
            self.assertEqual(result.get("peer_id"), pods[0])
            self.assertEqual(set(result.get("peers", {})), set(pods), result)

            # Nodes talk on the peer port: a collection replicated on both, written through one node and
            # counted through the other.
            body = {"vectors": {"size": 2, "distance": "Dot"}, "shard_number": 2, "replication_factor": 2}
            deadline = time.monotonic() + 15
            while True:  # until node 0 counts node 1 live (its probes go over the peer port too)
                status, text = h.http_get(nodes[0].port, "/collections/k8s", method="PUT", body=json.dumps(body),
                                          api_key=key, ca_file=ca_file, timeout=30)
                if status != 400 or "live nodes" not in text or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            self.assertEqual(status, 200, text)
            points = [{"id": i, "vector": [1.0, float(i)]} for i in range(1, 21)]
            status, text = h.http_get(nodes[1].port, "/collections/k8s/points?wait=true", method="PUT",
                                      body=json.dumps({"points": points}), api_key=key, ca_file=ca_file, timeout=30)
            self.assertEqual(status, 200, text)
            status, text = h.http_get(nodes[0].port, "/collections/k8s/points/count", method="POST",
                                      body=json.dumps({"exact": True}), api_key=key, ca_file=ca_file, timeout=30)
            self.assertEqual((status, json.loads(text)["result"]["count"]), (200, len(points)), text)

            job_files = self.tls_files_here(docs, None, job_pod, job, local_files)[0]
            args = []
            for a in (job["command"] + job.get("args", []))[1:]:
                a = job_files.get(a, a).replace("$(VJVECTOR_SECURITY_API_KEY)", key)
                url = re.match(r"^(https?)://([^/:]+):(\d+)(/.*)$", a)
                if url:
                    # The Service's name stays in the URL (curl checks it against the certificate);
                    # --resolve sends it to the node here.
                    self.assertEqual(url.group(1), scheme)
                    args += ["--resolve", f"{url.group(2)}:{nodes[1].port}:127.0.0.1"]
                    a = f"{url.group(1)}://{url.group(2)}:{nodes[1].port}{url.group(4)}"
                args.append(a)
            cmd = [CURL] + args
            self.assertIn(f"api-key: {key}", cmd, "the CronJob sends the admin key")
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, f"{cmd}: {p.stdout} {p.stderr}")
            self.assertEqual(json.loads(p.stdout)["result"]["moves"], [], p.stdout)
        finally:
            logs = [n.log() for n in nodes]
            codes = [n.stop() for n in nodes]
            etcd.close()
        self.assertEqual(codes, [0] * len(pods), f"SIGTERM stop exit codes:\n" + "\n".join(logs))

    def tls_files_here(self, docs, pki_dir, spec=None, container=None, made=None):
        """({mounted path: local file}, local CA file or None) for the TLS files the container reads
        from its mounted Secret (the nodes' by default). The certificate is made with openssl for the
        subject CN, names and extended key usages of the manifests' cert-manager Certificate (with
        none: a CN only), plus localhost and 127.0.0.1, where the test reaches the nodes; `made`
        reuses earlier files."""
        if spec is None:
            _, spec, container = pod_of(docs)
        mounted = {path: f for path, f in mounted_files(spec, container).items() if f["kind"] == "secret"}
        if not mounted:
            return {}, None
        if made is None:
            secret = {f["name"] for f in mounted.values()}.pop()
            certs = [d["spec"] for d in by_kind(docs, "Certificate") if d["spec"]["secretName"] == secret]
            pki = h.TestPki(pki_dir)
            usages = {"server auth": "serverAuth", "client auth": "clientAuth"}
            crt, key = pki.issue("node", certs[0]["commonName"] if certs else "vjvector-node",
                                 dns=(certs[0]["dnsNames"] if certs else []) + ["localhost"], ips=["127.0.0.1"],
                                 usages=",".join(usages[u] for u in certs[0]["usages"] if u in usages)
                                 if certs else "serverAuth,clientAuth")
            by_key = {"tls.crt": crt, "tls.key": key, "ca.crt": pki.ca_crt}
        else:
            by_key = {f["key"]: made[path] for path, f in mounted_files(*pod_of(docs)[1:]).items() if path in made}
        local = {path: by_key[f["key"]] for path, f in mounted.items()}
        return local, by_key.get("ca.crt")

    def test_loader_rejects_unknown_keys(self):
        """Guards the test above: the loader really checks keys, so starting proves they are known."""
        tmp = tempfile.mkdtemp(prefix="vjcfg-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "config.yaml")
        with open(path, "w") as f:
            f.write("cluster:\n  prefix: /vjvector\n  bogus_key: 1\n")
        node = h.Node(config=path)
        try:
            code = node.proc.wait(timeout=h.READY_TIMEOUT_S)
            log = node.log()
        finally:
            node.stop()
        self.assertNotEqual(code, 0)
        self.assertIn("unknown key cluster.bogus_key", log)


if __name__ == "__main__":
    h.main()

"""What tests/deploy/test_kubernetes.py needs to read deploy/kubernetes: rendering through
k8s_render.mjs (including the production overlay with components/external-etcd in place of etcd/, as
docs/operations.md says to do it), lookups in the rendered objects, label selectors, ports, a pod's
environment as the kubelet builds it, NetworkPolicy evaluation, and the server's settings table.
Python 3 standard library only."""

import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile

import deployharness as h

K8S = os.path.join(h.DEPLOY, "kubernetes")
RENDERER = os.path.join(h.HERE, "k8s_render.mjs")

# The production overlay with ../../etcd replaced by components/external-etcd, as the docs say to do.
EXTERNAL_ETCD = "overlays/production+components/external-etcd"
TARGETS = ["base", "etcd", "overlays/dev", "overlays/production", EXTERNAL_ETCD]
APP_TARGETS = ["base", "overlays/dev", "overlays/production", EXTERNAL_ETCD]  # with the vjvector nodes
ETCD_TARGETS = ["etcd", "overlays/dev", "overlays/production"]                # with the etcd StatefulSet
DEPLOYABLE = ["overlays/dev", "overlays/production", EXTERNAL_ETCD]
TLS_TARGETS = ["overlays/production", EXTERNAL_ETCD]                          # with components/tls

SERVER_LABELS = {"app.kubernetes.io/name": "vjvector", "app.kubernetes.io/component": "server"}
ETCD_LABELS = {"app.kubernetes.io/name": "etcd", "app.kubernetes.io/part-of": "vjvector"}
OTHER_POD = {"app.kubernetes.io/name": "something-else"}


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


_variant_root = []


def target_dir(target):
    if target != EXTERNAL_ETCD:
        return os.path.join(K8S, target)
    if not _variant_root:
        tmp = tempfile.mkdtemp(prefix="vjk8s-ext-")
        atexit.register(shutil.rmtree, tmp, True)
        shutil.copytree(K8S, os.path.join(tmp, "kubernetes"))
        kfile = os.path.join(tmp, "kubernetes", "overlays", "production", "kustomization.yaml")
        with open(kfile) as f:
            text = f.read()
        if "\n  - ../../etcd\n" not in text:
            raise AssertionError("overlays/production no longer lists ../../etcd as a resource")
        text = text.replace("\n  - ../../etcd\n", "\n")
        if "\ncomponents:\n" in text:
            text = text.replace("\ncomponents:\n", "\ncomponents:\n  - ../../components/external-etcd\n")
        else:
            text += "components:\n  - ../../components/external-etcd\n"
        with open(kfile, "w") as f:
            f.write(text)
        _variant_root.append(os.path.join(tmp, "kubernetes"))
    return os.path.join(_variant_root[0], "overlays", "production")


_cache = {}


def rendered(target):
    if target not in _cache:
        _cache[target] = run_renderer("render", target_dir(target))
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


def name_of(d):
    return d["metadata"]["name"]


def namespace_of(docs):
    ns = by_kind(docs, "Namespace")
    return name_of(ns[0]) if ns else "default"


def workloads(docs):
    """[(workload, pod template metadata, pod spec)] of the StatefulSets and CronJobs."""
    out = []
    for d in by_kind(docs, "StatefulSet"):
        out.append((d, d["spec"]["template"]["metadata"], d["spec"]["template"]["spec"]))
    for d in by_kind(docs, "CronJob"):
        t = d["spec"]["jobTemplate"]["spec"]["template"]
        out.append((d, t["metadata"], t["spec"]))
    return out


def pod_of(docs, name="vjvector"):
    """(StatefulSet, pod spec, its one container)."""
    sts = one(docs, "StatefulSet", name)
    spec = sts["spec"]["template"]["spec"]
    if len(spec["containers"]) != 1:
        raise AssertionError(f"expected one container in {name}")
    return sts, spec, spec["containers"][0]


def etcd_of(docs):
    found = [s for s in by_kind(docs, "StatefulSet")
             if selects(ETCD_LABELS, s["spec"]["template"]["metadata"]["labels"])]
    if len(found) != 1:
        raise AssertionError(f"expected one etcd StatefulSet, found {len(found)}")
    return pod_of(docs, name_of(found[0]))


def selects(selector, labels):
    """A label selector (matchLabels only, or a plain Service selector map) matches the labels."""
    if "matchExpressions" in selector:
        raise AssertionError("matchExpressions not expected in these manifests")
    match = selector.get("matchLabels", selector) if isinstance(selector, dict) else {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def port_of(container, ref):
    """The container port a named or numeric reference designates (AssertionError if none)."""
    for p in container.get("ports", []):
        if ref == p.get("name") or ref == p["containerPort"]:
            return p["containerPort"]
    raise AssertionError(f"port {ref!r} is not a port of container {container['name']}")


def quantity(q):
    """Kubernetes quantity -> float (cpu in cores, memory in bytes)."""
    q = str(q)
    units = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
             "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40}
    m = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", q)
    if not m or (m.group(2) and m.group(2) not in units):
        raise AssertionError(f"bad quantity {q}")
    return float(m.group(1)) * units.get(m.group(2), 1)


def pod_env(container, pod_name, namespace):
    """The container's environment as the kubelet builds it for one pod: downward-API fields, then
    $(VAR) references to variables defined earlier in the list (later or unknown ones stay literal,
    as in Kubernetes, and fail the check below)."""
    env = {}
    for e in container.get("env", []):
        if "value" in e:
            value = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), e["value"])
            if "$(" in value:
                raise AssertionError(f"{e['name']}: unresolved reference in {e['value']!r}")
            env[e["name"]] = value
        else:
            path = e["valueFrom"].get("fieldRef", {}).get("fieldPath")
            fields = {"metadata.name": pod_name, "metadata.namespace": namespace}
            if path not in fields:
                raise AssertionError(f"{e['name']}: unexpected valueFrom {e['valueFrom']}")
            env[e["name"]] = fields[path]
    return env


def flag_values(args):
    """{--flag: value} of `--flag=value` arguments."""
    out = {}
    for a in args:
        m = re.fullmatch(r"(--[a-z0-9-]+)=(.*)", a)
        if not m:
            raise AssertionError(f"expected --flag=value, got {a!r}")
        if m.group(1) in out:
            raise AssertionError(f"{m.group(1)} given twice")
        out[m.group(1)] = m.group(2)
    return out


server_settings = h.server_settings


def dotted_keys(config, prefix=""):
    for k, v in config.items():
        if isinstance(v, dict):
            yield from dotted_keys(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}"


def mounted_files(spec, container):
    """{path in the container: {kind: "configMap" or "secret", name, key, mode, read_only}} of the
    files that the container's configMap, secret and projected volume mounts provide, item by item
    (a source without `items` is not listed: these manifests always name the keys)."""
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    files = {}
    for m in container.get("volumeMounts", []):
        v = volumes.get(m["name"])
        if v is None:
            continue
        if "projected" in v:
            default_mode = v["projected"].get("defaultMode", 0o644)
            sources = v["projected"]["sources"]
        else:
            default_mode = None
            sources = [v]
        for s in sources:
            for kind in ("configMap", "secret"):
                if kind not in s:
                    continue
                ref = s[kind]
                name = ref.get("secretName") if kind == "secret" and "projected" not in v else ref.get("name")
                mode = default_mode if default_mode is not None else ref.get("defaultMode", 0o644)
                for item in ref.get("items", []):
                    files[os.path.join(m["mountPath"], item["path"])] = {
                        "kind": kind, "name": name, "key": item["key"], "mode": item.get("mode", mode),
                        "read_only": m.get("readOnly", False)}
    return files


def config_of(docs):
    """The vjvector ConfigMap's config file, parsed."""
    _, spec, c = pod_of(docs)
    args = c["args"]
    config_path = args[args.index("--config") + 1]
    f = mounted_files(spec, c).get(config_path)
    if not f or f["kind"] != "configMap":
        raise AssertionError(f"{config_path} is not a file of a mounted ConfigMap")
    return one(docs, "ConfigMap", f["name"])["data"][f["key"]]


# The server's TLS file settings and the key each takes from a cert-manager Secret (kubernetes.io/tls
# layout plus ca.crt).
TLS_FILE_KEYS = {"VJVECTOR_TLS_CERT_FILE": "tls.crt", "VJVECTOR_TLS_KEY_FILE": "tls.key",
                 "VJVECTOR_TLS_CA_FILE": "ca.crt"}


def tls_files(docs):
    """{VJVECTOR_TLS_*_FILE: path} the nodes' environment sets ({} when the nodes run without TLS)."""
    _, _, c = pod_of(docs)
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    return {k: env[k] for k in TLS_FILE_KEYS if k in env}


def etcd_endpoints(docs):
    """The nodes' etcd endpoints: VJVECTOR_CLUSTER_ETCD (which wins) or cluster.etcd of the config."""
    _, _, c = pod_of(docs)
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    value = env.get("VJVECTOR_CLUSTER_ETCD") or (parse_yaml_text(config_of(docs)).get("cluster") or {}).get("etcd")
    if not value:
        raise AssertionError("the nodes are not in cluster mode: no VJVECTOR_CLUSTER_ETCD, no cluster.etcd")
    return value.split(",")


def policy_allows(policy, direction, peer_labels, port, dest_container):
    """Whether a NetworkPolicy rule lets pods of this namespace with peer_labels in (ingress) or out
    (egress) on `port`; named ports resolve on dest_container, the receiving pod's container."""
    for rule in policy["spec"].get(direction, []):
        peers = rule.get("from" if direction == "ingress" else "to")
        # A rule that names no peers admits every peer (Kubernetes' semantics).
        if peers and not any("podSelector" in p and "namespaceSelector" not in p and "ipBlock" not in p
                   and selects(p["podSelector"], peer_labels) for p in peers):
            continue
        ports = rule.get("ports")
        if not ports:
            return True
        for p in ports:
            try:
                if port_of(dest_container, p["port"]) == port:
                    return True
            except AssertionError:
                continue
    return False


def policy_for(docs, labels):
    found = [p for p in by_kind(docs, "NetworkPolicy") if selects(p["spec"]["podSelector"], labels)]
    if len(found) != 1:
        raise AssertionError(f"expected one NetworkPolicy for {labels}, found {len(found)}")
    return found[0]


def allows_dns(policy):
    for rule in policy["spec"].get("egress", []):
        for p in rule.get("to", []):
            if p.get("podSelector", {}).get("matchLabels", {}).get("k8s-app") == "kube-dns":
                return {(q["port"], q["protocol"]) for q in rule["ports"]} >= {(53, "UDP"), (53, "TCP")}
    return False

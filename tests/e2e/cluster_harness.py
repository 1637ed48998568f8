"""Cluster fixtures for end-to-end tests: a real etcd on loopback ports chosen at run time and vjvector
nodes started with --etcd. Python 3 standard library only; see vjharness.py for the single-node parts.

With VJ_E2E_TLS=1 every ClusterTestCase runs with TLS everywhere: a test PKI per test class (tlspki.Pki),
etcd serving https:// and requiring client certificates (--client-cert-auth), every node serving HTTPS with
its own certificate (tls.client_auth=require) and reaching etcd over https:// with it, the nodes talking
mutual TLS on their peer ports, and the harness's clients speaking HTTPS (with the "harness" client
certificate; peer_client(name) with node name's certificate). The scenarios themselves are unchanged:
replication, failover, reads and rebalance pass that way; membership (asserts an http:// peer URI) and keys
(its own vh.Client and vh.Server without certificates) assume plain HTTP."""

import os
import random
import shutil
import subprocess
import tempfile
import threading
import time

import tlspki
import vjharness as vh

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
TLS = os.environ.get("VJ_E2E_TLS", "") not in ("", "0")
HARNESS_CERT = "harness"  # the client certificate the harness presents to etcd and to the nodes' REST ports


class Etcd:
    """One etcd member with its own data dir; start() waits for /health. With `pki` (a tlspki.Pki holding
    the "etcd" and HARNESS_CERT certificates) its client port serves https:// only and requires a client
    certificate from that CA."""

    def __init__(self, workdir, pki=None):
        self.data_dir = os.path.join(workdir, "etcd")
        self.client_port = vh.free_port()
        self.peer_port = vh.free_port()
        self.log = open(os.path.join(workdir, "etcd.log"), "ab")
        self.proc = None
        self.pki = pki

    @property
    def url(self):
        return f"{'https' if self.pki else 'http'}://127.0.0.1:{self.client_port}"

    def start(self):
        tls = []
        if self.pki:
            tls = ["--cert-file", self.pki.path("etcd.crt"), "--key-file", self.pki.path("etcd.key"),
                   "--trusted-ca-file", self.pki.path("ca.crt"), "--client-cert-auth"]
        self.proc = subprocess.Popen(
            [ETCD, "--name", "e2e", "--data-dir", self.data_dir,
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", f"http://127.0.0.1:{self.peer_port}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer_port}",
             "--initial-cluster", f"e2e=http://127.0.0.1:{self.peer_port}"] + tls,
            stdout=self.log, stderr=self.log)
        context = self.pki.context(HARNESS_CERT) if self.pki else None
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                c = vh.Client("127.0.0.1", self.client_port, timeout=2, ssl_context=context)
                if c.call("GET", "/health").status == 200:
                    return
            except Exception:
                pass
            time.sleep(0.1)
        raise AssertionError("etcd did not become healthy")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        self.kill()
        self.log.close()


def wait_for(predicate, what, timeout=20.0):
    """Polls predicate() until it returns True; its last other return value (or exception) is reported."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = predicate()
            if last is True:
                return
        except Exception as e:  # a node may be briefly unreachable while it restarts
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class Writers:
    """Threads that upsert small batches with wait=true through the given nodes, recording what was
    acknowledged and the longest time without any acknowledgement."""

    def __init__(self, test, collection, names, threads=2, batch=4, dim=4):
        self.test = test
        self.collection = collection
        self.dim = dim
        self.names = list(names)
        self.batch = batch
        self.lock = threading.Lock()
        self.next_id = 1
        self.acked = set()
        self.errors = []
        self.last_ack = time.monotonic()
        self.longest_gap = 0.0
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def run(self, index):
        rnd = random.Random(index)
        k = index
        while not self.stop_event.is_set():
            with self.lock:
                ids = list(range(self.next_id, self.next_id + self.batch))
                self.next_id += self.batch
            name = self.names[k % len(self.names)]
            k += 1
            points = [{"id": i, "vector": [rnd.uniform(-1, 1) for _ in range(self.dim)], "payload": {"w": index}}
                      for i in ids]
            try:
                r = self.test.nodes[name].client.call("PUT", f"/collections/{self.collection}/points?wait=true",
                                                      {"points": points}, timeout=30)
                ok = r.status == 200
                if not ok:
                    self.errors.append((name, r.status, r.error))
            except OSError as e:
                ok = False
                self.errors.append((name, "connection", repr(e)))
            now = time.monotonic()
            with self.lock:
                if ok:
                    self.acked.update(ids)
                    self.longest_gap = max(self.longest_gap, now - self.last_ack)
                    self.last_ack = now

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=60)


class ClusterTestCase(vh.TestCase):
    """A fresh etcd and `node_names` nodes for every test; everything stopped in tearDown (logs printed
    when the test failed; files kept when it failed or VJ_E2E_KEEP is set)."""

    node_names = ("n1", "n2", "n3")
    lease_ttl = 2
    internal_token = None  # cluster.internal_token of every node, when set
    node_env = None  # extra environment of every node (e.g. the test-only fault-injection knobs)
    api_key = None  # security.api_key of every node, sent by self.client(name), when set
    pki = None  # with TLS: the class's tlspki.Pki (made in setUpClass)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if TLS:
            cls.pki = tlspki.Pki()
            # etcd's certificate needs client usage too: its gRPC gateway (the JSON API the nodes use) connects
            # to etcd's own gRPC server with it ("incompatible key usage" otherwise).
            cls.pki.issue("etcd", "etcd", 0x10, san=tlspki.NODE_SAN, usage=tlspki.NODE_USAGE)
            cls.pki.issue(HARNESS_CERT, HARNESS_CERT, 0x11, usage="clientAuth")

    @classmethod
    def tearDownClass(cls):
        if cls.pki:
            cls.pki.cleanup()
            cls.pki = None
        super().tearDownClass()

    def peer_client(self, name, timeout=None):
        """A client of node `name`'s peer port (node-to-node routes), found in its GET /cluster; with TLS it
        presents node `name`'s own certificate (the peer port requires a node's client certificate)."""
        uri = self.client(name).ok("GET", "/cluster")["peers"][name]["uri"]
        host, port = uri.split("//", 1)[1].rsplit(":", 1)
        context = self.pki.context(name) if self.pki else None
        if uri.startswith("https://") != bool(context):
            raise AssertionError(f"peer URI {uri} of {name} does not match the harness's TLS={TLS}")
        if timeout:
            return vh.Client(host, int(port), timeout=timeout, ssl_context=context)
        return vh.Client(host, int(port), ssl_context=context)

    def internal_headers(self):
        return {"x-vjvector-internal-token": self.internal_token} if self.internal_token else None

    def setUp(self):
        if not os.access(ETCD, os.X_OK):
            self.skipTest("etcd is not installed (scripts/install-deps.sh installs etcd-server)")
        self.tmp = tempfile.mkdtemp(prefix="vj-e2e-cluster-")
        self.etcd = Etcd(self.tmp, pki=self.pki)
        self.nodes = {}
        try:
            self.etcd.start()
            for name in self.node_names:
                self.nodes[name] = self.start_node(name)
            self.wait_for_members()
            if self.pki:  # the peers must reach each other over TLS, not fall back to plain HTTP
                uris = [p["uri"] for p in self.client(self.node_names[0]).ok("GET", "/cluster")["peers"].values()]
                if not all(u.startswith("https://") for u in uris):
                    raise AssertionError(f"peer URIs not https:// with TLS: {uris}")
        except BaseException:
            # unittest skips tearDown when setUp fails: stop what started here (files are kept).
            for name, s in self.nodes.items():
                print(f"\n===== {self.id()}: node {name} (setUp failed) =====\n{s.dump_logs()}")
                s.stop()
            self.etcd.close()
            raise

    def wait_for_members(self, names=None):
        """Waits until every running node lists all of `names` (default: every node) among its peers: a
        create with replication_factor N is refused until the node taking it has seen N members."""
        names = set(names or self.nodes)

        def everyone_sees_everyone():
            for name, s in self.nodes.items():
                if s.alive():
                    seen = set(s.client.ok("GET", "/cluster").get("peers", {}))
                    if not names <= seen:
                        return f"{name} sees {sorted(seen)}"
            return True

        wait_for(everyone_sees_everyone, "every node to see every member")

    def start_node(self, name):
        env = dict(self.node_env or {})
        if self.internal_token:
            env["VJVECTOR_CLUSTER_INTERNAL_TOKEN"] = self.internal_token
        if self.api_key:
            env["VJVECTOR_SECURITY_API_KEY"] = self.api_key
        context = None
        if self.pki:
            cert, key = self.pki.issue_node(name)
            env.update({"VJVECTOR_TLS_CERT_FILE": cert, "VJVECTOR_TLS_KEY_FILE": key,
                        "VJVECTOR_TLS_CA_FILE": self.pki.path("ca.crt"), "VJVECTOR_TLS_CLIENT_AUTH": "require"})
            context = self.pki.context(HARNESS_CERT)
        server = vh.Server(data_dir=os.path.join(self.tmp, name), log_dir=os.path.join(self.tmp, "log-" + name),
                           extra_args=["--etcd", self.etcd.url, "--node-id", name,
                                       "--lease-ttl", str(self.lease_ttl), "--p2p-port", "0"] + self.node_args(name),
                           env=env,
                           api_key=self.api_key, ssl_context=context)
        os.makedirs(server.log_dir, exist_ok=True)
        server.start()
        return server

    def node_args(self, name):
        """Extra command-line arguments of node `name` (a subclass's hook)."""
        return []

    def tearDown(self):
        failed = vh._test_failed(self)
        for name, s in self.nodes.items():
            if failed:
                print(f"\n===== {self.id()}: node {name} =====\n{s.dump_logs()}")
            s.stop()
        self.etcd.close()
        if not failed and not os.environ.get("VJ_E2E_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def client(self, name):
        return self.nodes[name].client

    def shard_map(self, collection, via="n1"):
        """GET /collections/{c}/cluster's per-shard detail."""
        return self.client(via).ok("GET", f"/collections/{collection}/cluster")["shards"]

    def primary_of(self, collection, shard, via="n1"):
        return self.shard_map(collection, via)[shard]["primary"]

    def alive(self):
        return [n for n, s in self.nodes.items() if s.alive()]

    def replicas_agree(self, collection):
        """True when every shard's replicas hold the same number of points (asked of each replica
        directly, through the internal shard routes); otherwise a description of the difference."""
        for shard in self.shard_map(collection, via=self.alive()[0]):
            counts = {}
            for r in shard["replicas"]:
                counts[r["peer_id"]] = self.peer_client(r["peer_id"]).ok(
                    "POST", f"/internal/shards/{collection}/{shard['shard_id']}/points/count",
                    {"exact": True}, headers=self.internal_headers())["count"]
            if len(set(counts.values())) != 1:
                return f"shard {shard['shard_id']}: {counts}"
        return True

    def assert_readable_everywhere(self, collection, ids, names):
        ids = sorted(ids)
        for name in names:
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                got = self.client(name).retrieve(collection, part, with_payload=False, with_vector=False)
                missing = [x for x in part if x not in got]
                self.assertEqual(missing[:20], [], f"acknowledged points missing through {name}")

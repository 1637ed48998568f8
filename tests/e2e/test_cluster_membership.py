"""End-to-end: cluster membership through a real etcd. Three vjvector nodes join with --etcd; every node's
GET /cluster lists all three; a node killed with kill -9 leaves every view within its lease TTL and
rejoins under the same id when restarted; a node paused with SIGSTOP past its lease drops out and comes
back when resumed; the cluster survives an etcd restart; a node without --etcd reports "disabled".
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time

import vjharness as vh

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
LEASE_TTL = 2


class Etcd:
    def __init__(self, workdir):
        self.data_dir = os.path.join(workdir, "etcd")
        self.client_port = vh.free_port()
        self.peer_port = vh.free_port()
        self.log = open(os.path.join(workdir, "etcd.log"), "ab")
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.client_port}"

    def start(self):
        self.proc = subprocess.Popen(
            [ETCD, "--name", "e2e", "--data-dir", self.data_dir,
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", f"http://127.0.0.1:{self.peer_port}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer_port}",
             "--initial-cluster", f"e2e=http://127.0.0.1:{self.peer_port}"],
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                c = vh.Client("127.0.0.1", self.client_port, timeout=2)
                r = c.call("GET", "/health")
                if r.status == 200:
                    return
            except Exception:
                pass
            time.sleep(0.1)
        raise AssertionError("etcd did not become healthy")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def peers_of(server):
    res = server.client.ok("GET", "/cluster")
    return res


def wait_for(predicate, what, timeout=20.0):
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


class ClusterMembershipTest(vh.TestCase):

    def setUp(self):
        if not os.access(ETCD, os.X_OK):
            self.skipTest("etcd is not installed (scripts/install-deps.sh installs etcd-server)")
        self.tmp = tempfile.mkdtemp(prefix="vj-e2e-cluster-")
        self.etcd = Etcd(self.tmp)
        self.etcd.start()
        self.nodes = {}
        for name in ("n1", "n2", "n3"):
            self.nodes[name] = self.start_node(name)

    def start_node(self, name):
        server = vh.Server(data_dir=os.path.join(self.tmp, name), log_dir=os.path.join(self.tmp, "log-" + name),
                           extra_args=["--etcd", self.etcd.url, "--node-id", name,
                                       "--lease-ttl", str(LEASE_TTL)])
        os.makedirs(server.log_dir, exist_ok=True)
        server.start()
        return server

    def tearDown(self):
        failed = vh._test_failed(self)
        for s in self.nodes.values():
            if failed:
                print(s.dump_logs())
            s.stop()
        self.etcd.kill()
        self.etcd.log.close()
        if not failed:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def views_equal(self, expected, among):
        for name in among:
            view = peers_of(self.nodes[name])
            if view.get("status") != "enabled" or set(view["peers"]) != set(expected):
                return f"{name} sees {sorted(view.get('peers', {}))}"
        return True

    def test_membership_follows_kills_pauses_and_etcd_restarts(self):
        wait_for(lambda: self.views_equal({"n1", "n2", "n3"}, ["n1", "n2", "n3"]), "all three nodes")
        view = peers_of(self.nodes["n1"])
        self.assertEqual(view["peer_id"], "n1")
        self.assertEqual(view["peers"]["n2"]["uri"], f"http://127.0.0.1:{self.nodes['n2'].port}")
        self.assertTrue(view["etcd"]["lease_held"])

        # kill -9: the lease expires and the node leaves every view.
        self.nodes["n3"].kill9()
        wait_for(lambda: self.views_equal({"n1", "n2"}, ["n1", "n2"]), "n3 to leave", timeout=LEASE_TTL + 10)
        # Restarted under the same id, it rejoins.
        self.nodes["n3"].start()
        wait_for(lambda: self.views_equal({"n1", "n2", "n3"}, ["n1", "n2", "n3"]), "n3 to rejoin")

        # SIGSTOP past the lease: the others drop the node; resumed, it registers again.
        self.nodes["n2"].proc.send_signal(signal.SIGSTOP)
        try:
            wait_for(lambda: self.views_equal({"n1", "n3"}, ["n1", "n3"]), "paused n2 to leave",
                     timeout=LEASE_TTL + 10)
        finally:
            self.nodes["n2"].proc.send_signal(signal.SIGCONT)
        wait_for(lambda: self.views_equal({"n1", "n2", "n3"}, ["n1", "n2", "n3"]), "n2 to come back")
        wait_for(lambda: peers_of(self.nodes["n2"])["etcd"]["lease_held"] is True, "n2 to hold a lease")

        # etcd restarted under the cluster (same data): the nodes stay members.
        self.etcd.kill()
        time.sleep(0.5)
        self.etcd.start()
        wait_for(lambda: self.views_equal({"n1", "n2", "n3"}, ["n1", "n2", "n3"]), "membership after etcd restart")

    def test_standalone_node_reports_cluster_disabled(self):
        server = vh.Server(data_dir=os.path.join(self.tmp, "alone"), log_dir=os.path.join(self.tmp, "log-alone"))
        os.makedirs(server.log_dir, exist_ok=True)
        server.start()
        try:
            self.assertEqual(server.client.ok("GET", "/cluster"), {"status": "disabled"})
        finally:
            server.stop()

    def test_cluster_flags_are_validated(self):
        out = subprocess.run([vh.BINARY, "serve", "--data-dir", os.path.join(self.tmp, "bad"),
                              "--etcd", self.etcd.url], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("--node-id", out.stderr)
        out = subprocess.run([vh.BINARY, "serve", "--etcd", "localhost:2379", "--node-id", "x"],
                             capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("http://", out.stderr)


if __name__ == "__main__":
    vh.main()

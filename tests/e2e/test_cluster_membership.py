"""End-to-end: cluster membership through a real etcd. Three vjvector nodes join with --etcd; every node's
GET /cluster lists all three; a node killed with kill -9 leaves every view within its lease TTL and
rejoins under the same id when restarted; a node paused with SIGSTOP past its lease drops out and comes
back when resumed; the cluster survives an etcd restart; a node without --etcd reports "disabled".
"""

import os
import signal
import subprocess
import time

import cluster_harness as ch
import vjharness as vh

wait_for = ch.wait_for
LEASE_TTL = 2


def peers_of(server):
    return server.client.ok("GET", "/cluster")


class ClusterMembershipTest(ch.ClusterTestCase):
    lease_ttl = LEASE_TTL

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
        # Peers are advertised at their peer port, which answers /livez but none of the REST routes.
        peer = self.peer_client("n2")
        self.assertEqual(view["peers"]["n2"]["uri"], f"http://127.0.0.1:{peer.port}")
        self.assertNotEqual(peer.port, self.nodes["n2"].port)
        self.assertEqual(peer.call("GET", "/livez").status, 200)
        self.assertEqual(peer.call("GET", "/collections").status, 401 if self.internal_token else 404)
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

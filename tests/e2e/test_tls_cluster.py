"""A 3-node cluster with TLS everywhere, against real processes: etcd serves its client port over TLS
and requires client certificates (--client-cert-auth), every node serves HTTPS with
tls.client_auth=require and reaches its peers over https:// with its own certificate (mutual TLS).
A replicated write through one node is read back through the others; a node whose certificate comes
from another CA cannot reach etcd, and its requests are refused by the nodes.

Peer identities: a client certificate from the cluster's own CA that is not a node's (a user's, CN=admin)
is refused on the peer port (401, counted as vjvector_auth_failures_total{reason="peer_identity"}), while a
node's certificate is served. Rotation: a node's certificate replaced on disk and SIGHUP: its ports and the
client certificate it presents to peers and etcd are reloaded, and the cluster keeps replicating.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import cluster_harness as ch
import vjharness as h
from test_tls import wait_for
from tlspki import Pki

WAIT_S = 30.0


class TlsClusterTest(h.TestCase):
    def setUp(self):
        if not os.access(ch.ETCD, os.X_OK):
            self.skipTest("etcd is not installed")
        self.pki = Pki()
        self.pki.issue("etcd", "etcd", 0x10)
        for i, name in enumerate(("n1", "n2", "n3")):
            self.pki.issue(name, name, 0x20 + i)
        self.pki.issue("admin", "admin", 0x30)
        self.tmp = tempfile.mkdtemp(prefix="vj-e2e-tls-cluster-")
        self.nodes = {}
        self.etcd_proc = None
        self.etcd_log = open(os.path.join(self.tmp, "etcd.log"), "ab")
        try:
            self.start_etcd()
            for name in ("n1", "n2", "n3"):
                self.nodes[name] = self.start_node(name)
            for name in self.nodes:
                self.wait_ready(name)
        except BaseException:
            self.tearDown(force_logs=True)
            raise

    def start_etcd(self):
        self.etcd_port = h.free_port()
        peer_port = h.free_port()
        url = f"https://127.0.0.1:{self.etcd_port}"
        self.etcd_proc = subprocess.Popen(
            [ch.ETCD, "--name", "e2e", "--data-dir", os.path.join(self.tmp, "etcd"),
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
             "--initial-cluster", f"e2e=http://127.0.0.1:{peer_port}",
             "--cert-file", self.pki.path("etcd.crt"), "--key-file", self.pki.path("etcd.key"),
             "--trusted-ca-file", self.pki.path("ca.crt"), "--client-cert-auth"],
            stdout=self.etcd_log, stderr=self.etcd_log)

        def healthy():
            try:
                status, _ = self.call_url("127.0.0.1", self.etcd_port, "GET", "/health", cert="admin")
                return status == 200
            except (OSError, http.client.HTTPException):
                return False
        wait_for(healthy, "etcd over TLS to be healthy", WAIT_S)

    def start_node(self, name, cert=None, ca=None):
        cert = cert or self.pki.path(name + ".crt")
        key = cert[:-4] + ".key"
        env = {"VJVECTOR_TLS_CERT_FILE": cert, "VJVECTOR_TLS_KEY_FILE": key,
               "VJVECTOR_TLS_CA_FILE": ca or self.pki.path("ca.crt"), "VJVECTOR_TLS_CLIENT_AUTH": "require"}
        server = h.Server(data_dir=os.path.join(self.tmp, name), log_dir=os.path.join(self.tmp, "log-" + name),
                          extra_args=["--etcd", f"https://127.0.0.1:{self.etcd_port}", "--node-id", name, "--p2p-port", "0",
                                      "--lease-ttl", "2"], env=env, port=h.free_port())
        os.makedirs(server.log_dir, exist_ok=True)
        server.start(wait_ready=False)
        return server

    def wait_ready(self, name):
        server = self.nodes[name]

        def ready():
            self.assertTrue(server.alive(), f"{name} exited:\n{server.stderr_text()[-3000:]}")
            try:
                return self.call(name, "GET", "/readyz")[0] == 200
            except (OSError, http.client.HTTPException):
                return False
        wait_for(ready, f"{name} to be ready over https", WAIT_S)

    def tearDown(self, force_logs=False):
        failed = force_logs or h._test_failed(self)
        for name, s in self.nodes.items():
            if failed:
                print(f"\n===== {self.id()}: node {name} =====\n{s.dump_logs()}")
            s.stop()
        self.nodes = {}
        if self.etcd_proc and self.etcd_proc.poll() is None:
            self.etcd_proc.kill()
            self.etcd_proc.wait()
        self.etcd_log.close()
        if not failed:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.pki.cleanup()

    def call_url(self, host, port, method, path, body=None, cert="admin"):
        ctx = ssl.create_default_context(cafile=self.pki.path("ca.crt"))
        if cert:
            ctx.load_cert_chain(self.pki.path(cert + ".crt"), self.pki.path(cert + ".key"))
        conn = http.client.HTTPSConnection(host, port, timeout=30, context=ctx)
        try:
            raw = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=raw, headers={"Content-Type": "application/json"} if raw else {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, data
        finally:
            conn.close()

    def call(self, name, method, path, body=None, cert="admin"):
        return self.call_url("127.0.0.1", self.nodes[name].port, method, path, body, cert)

    def ok(self, name, method, path, body=None):
        status, data = self.call(name, method, path, body)
        self.assertEqual(status, 200, f"{method} {path} via {name}: {data[:2000]!r}")
        return json.loads(data)["result"]

    def test_replicated_write_and_read_over_mutual_tls(self):
        def everyone_sees_everyone():
            for name in self.nodes:
                peers = self.ok(name, "GET", "/cluster").get("peers", {})
                if set(peers) != {"n1", "n2", "n3"}:
                    return False
                if not all(p["uri"].startswith("https://") for p in peers.values()):
                    return False
            return True
        wait_for(everyone_sees_everyone, "every node to see every peer at an https:// URL", WAIT_S)

        self.ok("n1", "PUT", "/collections/secure",
                {"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 2, "replication_factor": 3,
                 "write_consistency_factor": 3})
        points = [{"id": i, "vector": [float(i), 1.0, 0.0, 0.5], "payload": {"n": i}} for i in range(1, 41)]
        self.ok("n2", "PUT", "/collections/secure/points?wait=true", {"points": points})
        for name in ("n1", "n2", "n3"):
            got = self.ok(name, "POST", "/collections/secure/points",
                          {"ids": list(range(1, 41)), "with_payload": True})
            self.assertEqual(sorted(p["id"] for p in got), list(range(1, 41)), f"read through {name}")
            count = self.ok(name, "POST", "/collections/secure/points/count", {"exact": True})["count"]
            self.assertEqual(count, 40, f"count through {name}")

        # Without a client certificate a node refuses the connection.
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            self.call("n1", "GET", "/collections", cert=None)

    def make_replicated_collection(self, name):
        self.ok("n1", "PUT", f"/collections/{name}",
                {"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 1, "replication_factor": 3,
                 "write_consistency_factor": 3})

    def peer_port(self, name):
        uri = self.ok(name, "GET", "/cluster")["peers"][name]["uri"]
        host, port = uri.split("//", 1)[1].rsplit(":", 1)
        return host, int(port)

    def test_peer_port_refuses_a_user_certificate_of_the_same_ca(self):
        def everyone_sees_everyone():
            return all(set(self.ok(n, "GET", "/cluster").get("peers", {})) == {"n1", "n2", "n3"} for n in self.nodes)
        wait_for(everyone_sees_everyone, "every node to see every peer", WAIT_S)
        self.make_replicated_collection("ids")
        self.ok("n2", "PUT", "/collections/ids/points?wait=true",
                {"points": [{"id": i, "vector": [1.0, 0.0, 0.0, float(i)]} for i in range(1, 6)]})
        host, port = self.peer_port("n1")
        # A node's certificate is served on the peer port...
        status, data = self.call_url(host, port, "POST", "/internal/shards/ids/0/points/count", {"exact": True},
                                     cert="n2")
        self.assertEqual(status, 200, data[:500])
        # ...a user's certificate from the same CA is not (before: the CA's signature was enough).
        status, data = self.call_url(host, port, "POST", "/internal/shards/ids/0/points/count", {"exact": True},
                                     cert="admin")
        self.assertEqual(status, 401, data[:500])
        status, data = self.call_url(host, port, "PUT", "/internal/shards/ids/0/points?wait=true",
                                     {"points": [{"id": 99, "vector": [0.0, 0.0, 0.0, 1.0]}]}, cert="admin")
        self.assertEqual(status, 401, data[:500])
        self.assertEqual(self.ok("n1", "POST", "/collections/ids/points/count", {"exact": True})["count"], 5)
        metrics = self.call("n1", "GET", "/metrics")[1].decode()
        refused = re.search(r'vjvector_auth_failures_total\{reason="peer_identity"\} (\d+)', metrics)
        self.assertIsNotNone(refused, "no peer_identity refusals counted")
        self.assertGreaterEqual(int(refused.group(1)), 2)
        log = self.nodes["n1"].stderr_text()
        self.assertIn("refused a client certificate", log)
        self.assertIn("[admin]", log)

    def test_rotated_certificates_are_reloaded_and_the_cluster_keeps_replicating(self):
        def everyone_sees_everyone():
            return all(set(self.ok(n, "GET", "/cluster").get("peers", {})) == {"n1", "n2", "n3"} for n in self.nodes)
        wait_for(everyone_sees_everyone, "every node to see every peer", WAIT_S)
        self.make_replicated_collection("rot")
        self.ok("n1", "PUT", "/collections/rot/points?wait=true",
                {"points": [{"id": i, "vector": [1.0, 0.0, 0.0, float(i)]} for i in range(1, 11)]})
        host, port = self.peer_port("n1")

        # n1's certificate is renewed in place (same name, new serial) and n1 told with SIGHUP.
        self.pki.issue("n1", "n1", 0x61)
        n1 = self.nodes["n1"]
        n1.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "client certificate for etcd reloaded" in n1.stderr_text(), "n1's reload log lines", WAIT_S)
        log = n1.stderr_text()
        self.assertIn("TLS certificates reloaded", log)
        self.assertIn("client certificate for peers reloaded", log)

        ctx = ssl.create_default_context(cafile=self.pki.path("ca.crt"))
        ctx.load_cert_chain(self.pki.path("n2.crt"), self.pki.path("n2.key"))
        with ctx.wrap_socket(socket.create_connection((host, port), timeout=10),
                             server_hostname=host) as sock:
            self.assertEqual(sock.getpeercert()["serialNumber"], "61")  # the peer port serves the new one

        # Writes through n1 still reach every replica (write_consistency_factor 3), and the others' too.
        self.ok("n1", "PUT", "/collections/rot/points?wait=true",
                {"points": [{"id": i, "vector": [1.0, 0.0, 0.0, float(i)]} for i in range(11, 21)]})
        self.ok("n3", "PUT", "/collections/rot/points?wait=true",
                {"points": [{"id": i, "vector": [1.0, 0.0, 0.0, float(i)]} for i in range(21, 31)]})
        for name in ("n1", "n2", "n3"):
            got = self.ok(name, "POST", "/collections/rot/points", {"ids": list(range(1, 31))})
            self.assertEqual(sorted(p["id"] for p in got), list(range(1, 31)), f"read through {name}")
        self.assertTrue(n1.alive())

    def test_node_with_a_foreign_certificate_cannot_join(self):
        other = Pki()
        try:
            other.issue("n4", "n4", 0x40)
            # n4 trusts the cluster CA but presents a certificate from another CA: etcd refuses it.
            node = self.start_node("n4", cert=other.path("n4.crt"), ca=self.pki.path("ca.crt"))
            self.nodes["n4"] = node
            wait_for(lambda: not node.alive(), "n4 to give up joining", WAIT_S)
            self.assertNotEqual(node.proc.returncode, 0)
            self.assertIn("bad certificate", node.stderr_text())  # etcd refused it in the handshake
            peers = self.ok("n1", "GET", "/cluster").get("peers", {})
            self.assertNotIn("n4", peers)
        finally:
            other.cleanup()


if __name__ == "__main__":
    h.main()

"""deploy/haproxy/haproxy.cfg and haproxy-tls.cfg with the real HAProxy in front of three real
vjvector nodes.

The committed files are used unchanged: their addresses and files come from environment variables
(VJ_LISTEN, VJ_NODE1..3, VJ_STATS; for TLS VJ_TLS_PEM, VJ_CA_FILE, VJ_NODE1..3_NAME), which the test
points at free loopback ports and at certificates it makes with openssl. Each node gets a collection
named after it, so GET /collections through HAProxy says which node answered. Checks: requests spread
round-robin over all three; after one node is stopped with SIGTERM no request fails, and once the
health check has marked it DOWN the other two share the traffic. With TLS: clients reach HAProxy over
HTTPS with an API key that the nodes check, plain HTTP to HAProxy is refused, and a node whose
certificate does not verify against VJ_CA_FILE is taken out of the rotation.
"""

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import deployharness as h

CONFIG = os.path.join(h.DEPLOY, "haproxy", "haproxy.cfg")
TLS_CONFIG = os.path.join(h.DEPLOY, "haproxy", "haproxy-tls.cfg")
STATE_TIMEOUT_S = 15.0  # fall/rise 2 x inter 1 s, plus margin for a loaded machine


class HaproxyRoundRobin(unittest.TestCase):
    """haproxy.cfg: plain HTTP to nodes without TLS or authentication."""
    CONFIG = CONFIG
    ca_file = None  # the CA clients verify HAProxy (and the test the nodes) against; None: plain HTTP
    api_key = None  # what the nodes require, sent by the clients through HAProxy

    def node_env(self, i):
        """Settings of node i (1-based)."""
        return {}

    def haproxy_env(self):
        return {}

    def start_node(self, i, port=None):
        node = h.Node(port=port, env=self.node_env(i), ca_file=self.ca_file)
        self.nodes.append(node)
        return node

    def setUp(self):
        if not h.HAPROXY:
            self.fail("haproxy not found: apt-get install haproxy (scripts/install-deps.sh)")
        self.nodes = []
        self.addCleanup(self.stop_all)
        for i in range(3):
            self.start_node(i + 1)
        for i, node in enumerate(self.nodes):
            self.assertTrue(node.wait_ready(), node.log())
            status, body = h.http_get(node.port, f"/collections/node{i + 1}", method="PUT",
                                      body=json.dumps({"vectors": {"size": 4, "distance": "Cosine"}}),
                                      ca_file=self.ca_file, api_key=self.api_key)
            self.assertEqual(status, 200, body)

        self.listen_port, self.stats_port = h.free_port(), h.free_port()
        env = dict(os.environ, VJ_LISTEN=f"127.0.0.1:{self.listen_port}",
                   VJ_STATS=f"127.0.0.1:{self.stats_port}", **self.haproxy_env())
        for i, node in enumerate(self.nodes):
            env[f"VJ_NODE{i + 1}"] = f"127.0.0.1:{node.port}"
        check = subprocess.run([h.HAPROXY, "-c", "-f", self.CONFIG], env=env, capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.haproxy_log = tempfile.NamedTemporaryFile(prefix="vjhaproxy-", suffix=".log", delete=False)
        self.addCleanup(os.unlink, self.haproxy_log.name)
        # -db: stay in the foreground, so the test owns the process.
        self.haproxy = subprocess.Popen([h.HAPROXY, "-db", "-f", self.CONFIG], env=env,
                                        stdout=self.haproxy_log, stderr=subprocess.STDOUT)
        self.wait_for_states({"node1": "UP", "node2": "UP", "node3": "UP"})

    def stop_all(self):
        if getattr(self, "haproxy", None) and self.haproxy.poll() is None:
            self.haproxy.terminate()
            try:
                self.haproxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.haproxy.kill()
                self.haproxy.wait()
        for node in self.nodes:
            node.stop()

    def server_states(self, column="status"):
        """{server name: its `column` in the stats CSV} (status: "UP", "DOWN", ...)."""
        status, body = h.http_get(self.stats_port, "/stats;csv", timeout=2.0)
        self.assertEqual(status, 200, body)
        lines = body.strip().splitlines()
        header = lines[0].lstrip("# ").split(",")
        states = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == "vjvector_nodes" and row.get("svname", "").startswith("node"):
                states[row["svname"]] = (row[column].split() or [""])[0]  # "UP", "DOWN", "UP 1/2", ...
        return states

    def wait_for_states(self, wanted, column="status"):
        deadline = time.monotonic() + STATE_TIMEOUT_S
        states = {}
        while time.monotonic() < deadline:
            if self.haproxy.poll() is not None:
                break
            try:
                states = self.server_states(column)
                if all(states.get(k) == v for k, v in wanted.items()):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        with open(self.haproxy_log.name, "rb") as f:
            log = f.read().decode("utf-8", "replace")[-3000:]
        self.fail(f"HAProxy servers never reached {wanted}; last {states}\n{log}")

    def ask(self):
        """Which node answered GET /collections through HAProxy (AssertionError on any failure)."""
        status, body = h.http_get(self.listen_port, "/collections", timeout=10.0, ca_file=self.ca_file,
                                  api_key=self.api_key)
        self.assertEqual(status, 200, body)
        names = [c["name"] for c in json.loads(body)["result"]["collections"]]
        self.assertEqual(len(names), 1, names)
        return names[0]

    def test_round_robin_and_failover(self):
        counts = {}
        for _ in range(30):
            who = self.ask()
            counts[who] = counts.get(who, 0) + 1
        self.assertEqual(sorted(counts), ["node1", "node2", "node3"], counts)
        self.assertTrue(all(c >= 5 for c in counts.values()), f"uneven spread: {counts}")

        # Stop node2 gracefully and keep sending: the requests in the window before the health check
        # notices must not fail either (refused connections are redispatched).
        self.nodes[1].terminate()
        answered = []
        window_end = time.monotonic() + 3.0
        while time.monotonic() < window_end:
            answered.append(self.ask())
            time.sleep(0.02)
        self.assertEqual(self.nodes[1].proc.wait(timeout=h.STOP_TIMEOUT_S), 0, self.nodes[1].log())
        self.wait_for_states({"node1": "UP", "node2": "DOWN", "node3": "UP"})

        after = {}
        for _ in range(30):
            who = self.ask()
            after[who] = after.get(who, 0) + 1
        self.assertNotIn("node2", after, "the stopped node received requests")
        self.assertEqual(sorted(after), ["node1", "node3"], after)
        self.assertTrue(set(answered) <= {"node1", "node2", "node3"})



class HaproxyTls(HaproxyRoundRobin):
    """haproxy-tls.cfg: HAProxy terminates the clients' TLS and re-encrypts to nodes that serve HTTPS
    and require an API key; the same round-robin and failover checks, plus TLS-only ones."""
    CONFIG = TLS_CONFIG
    api_key = "haproxy-test-api-key-0123456789"

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vjhaproxy-pki-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.pki = h.TestPki(self.tmp)
        self.ca_file = self.pki.ca_crt
        crt, key = self.pki.issue("proxy", "vjvector.example", dns=["localhost"], ips=["127.0.0.1"],
                                  usages="serverAuth")
        self.pem = os.path.join(self.tmp, "proxy.pem")
        with open(self.pem, "w") as out, open(crt) as c, open(key) as k:
            out.write(c.read() + k.read())
        super().setUp()

    def node_env(self, i, pki=None):
        crt, key = (pki or self.pki).issue(f"node{i}", f"node{i}", dns=["localhost"], ips=["127.0.0.1"])
        return {"VJVECTOR_TLS_CERT_FILE": crt, "VJVECTOR_TLS_KEY_FILE": key,
                "VJVECTOR_SECURITY_API_KEY": self.api_key}

    def haproxy_env(self):
        # VJ_NODE*_NAME keep their default, localhost: the name in the nodes' certificates.
        return {"VJ_TLS_PEM": self.pem, "VJ_CA_FILE": self.ca_file}

    def test_keys_pass_through_and_plain_http_is_refused(self):
        status, body = h.http_get(self.listen_port, "/collections", ca_file=self.ca_file)
        self.assertEqual(status, 401, "the nodes check the key HAProxy forwards: " + body)
        status, body = h.http_get(self.listen_port, "/collections", ca_file=self.ca_file, api_key="wrong-key")
        self.assertIn(status, (401, 403), body)
        with self.assertRaises((OSError, http.client.HTTPException)):
            h.http_get(self.listen_port, "/collections", api_key=self.api_key)

    def test_node_with_an_untrusted_certificate_leaves_the_rotation(self):
        """node3 comes back, on the same port and ready, with a certificate from another CA: HAProxy's
        checks fail verification, it goes DOWN and gets no request."""
        port = self.nodes[2].port
        self.assertEqual(self.nodes[2].stop(), 0)
        self.nodes.pop()
        rogue = h.TestPki(os.path.join(self.tmp, "rogue"))
        node = h.Node(port=port, env=self.node_env(3, rogue), ca_file=rogue.ca_crt)
        self.nodes.append(node)
        self.assertTrue(node.wait_ready(), node.log())
        # L6RSP: the check connected and the TLS layer failed (a stopped node's is L4CON, refused).
        self.wait_for_states({"node3": "L6RSP"}, column="check_status")
        self.wait_for_states({"node1": "UP", "node2": "UP", "node3": "DOWN"})
        answered = {self.ask() for _ in range(20)}
        self.assertEqual(answered, {"node1", "node2"})


if __name__ == "__main__":
    h.main()

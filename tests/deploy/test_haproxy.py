"""deploy/haproxy/haproxy.cfg with the real HAProxy in front of three real vjvector nodes.

The committed file is used unchanged: its addresses come from environment variables (VJ_LISTEN,
VJ_NODE1..3, VJ_STATS), which the test points at free loopback ports. Each node gets a collection
named after it, so GET /collections through HAProxy says which node answered. Checks: requests spread
round-robin over all three; after one node is stopped with SIGTERM no request fails, and once the
health check has marked it DOWN the other two share the traffic.
"""

import json
import os
import subprocess
import tempfile
import time
import unittest

import deployharness as h

CONFIG = os.path.join(h.DEPLOY, "haproxy", "haproxy.cfg")
STATE_TIMEOUT_S = 15.0  # fall/rise 2 x inter 1 s, plus margin for a loaded machine


class HaproxyRoundRobin(unittest.TestCase):
    def setUp(self):
        if not h.HAPROXY:
            self.fail("haproxy not found: apt-get install haproxy (scripts/install-deps.sh)")
        self.nodes = []
        self.addCleanup(self.stop_all)
        for i in range(3):
            node = h.Node()
            self.nodes.append(node)
        for i, node in enumerate(self.nodes):
            self.assertTrue(node.wait_ready(), node.log())
            status, body = h.http_get(node.port, f"/collections/node{i + 1}", method="PUT",
                                      body=json.dumps({"vectors": {"size": 4, "distance": "Cosine"}}))
            self.assertEqual(status, 200, body)

        self.listen_port, self.stats_port = h.free_port(), h.free_port()
        env = dict(os.environ, VJ_LISTEN=f"127.0.0.1:{self.listen_port}",
                   VJ_STATS=f"127.0.0.1:{self.stats_port}")
        for i, node in enumerate(self.nodes):
            env[f"VJ_NODE{i + 1}"] = f"127.0.0.1:{node.port}"
        check = subprocess.run([h.HAPROXY, "-c", "-f", CONFIG], env=env, capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.haproxy_log = tempfile.NamedTemporaryFile(prefix="vjhaproxy-", suffix=".log", delete=False)
        self.addCleanup(os.unlink, self.haproxy_log.name)
        # -db: stay in the foreground, so the test owns the process.
        self.haproxy = subprocess.Popen([h.HAPROXY, "-db", "-f", CONFIG], env=env,
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

    def server_states(self):
        status, body = h.http_get(self.stats_port, "/stats;csv", timeout=2.0)
        self.assertEqual(status, 200, body)
        lines = body.strip().splitlines()
        header = lines[0].lstrip("# ").split(",")
        states = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == "vjvector_nodes" and row.get("svname", "").startswith("node"):
                states[row["svname"]] = row["status"].split()[0]  # "UP", "DOWN", "UP 1/2", ...
        return states

    def wait_for_states(self, wanted):
        deadline = time.monotonic() + STATE_TIMEOUT_S
        states = {}
        while time.monotonic() < deadline:
            if self.haproxy.poll() is not None:
                break
            try:
                states = self.server_states()
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
        status, body = h.http_get(self.listen_port, "/collections", timeout=10.0)
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


if __name__ == "__main__":
    h.main()

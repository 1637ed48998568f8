"""End-to-end: managed API keys and custom roles in a cluster live in etcd (<prefix>/security/state) and are
effective on every node within 2 s. A key created on n1 works on n2 and n3; revoked on n2, it is refused on
n1 and n3; keys created at the same moment on different nodes all survive (the etcd write is a
compare-and-swap); a custom role created on n3 is usable on n1; a node that finds a damaged state in etcd
refuses to start, naming the etcd key, while the running nodes keep their keys. Delays are printed.
"""

import base64
import json
import os
import threading
import time

import cluster_harness as ch
import vjharness as vh

ADMIN_KEY = "e2e-cluster-admin-key-0123456789"
SPREAD_S = 2.0  # the promise: a change is effective on every node within this
STATE_KEY = "/vjvector/security/state"


class ClusterKeysTest(ch.ClusterTestCase):
    api_key = ADMIN_KEY

    def keyed(self, name, secret):
        s = self.nodes[name]
        return vh.Client(s.host, s.port, api_key=secret)

    def status_with(self, name, secret):
        return self.keyed(name, secret).call("GET", "/collections").status

    def wait_status(self, name, secret, status, what):
        """Polls until GET /collections with `secret` on `name` answers `status`, at most SPREAD_S; returns
        the delay in seconds."""
        start = time.monotonic()
        deadline = start + SPREAD_S
        last = None
        while True:
            last = self.status_with(name, secret)
            if last == status:
                delay = time.monotonic() - start
                print(f"  {what} on {name}: {delay * 1000:.0f} ms")
                return delay
            if time.monotonic() >= deadline:
                self.fail(f"{what} on {name}: still HTTP {last} after {SPREAD_S} s")
            time.sleep(0.02)

    def create_key(self, name, body):
        return self.client(name).ok("POST", "/vjvector/keys", body)

    def key_ids(self, name):
        return {k["id"] for k in self.client(name).ok("GET", "/vjvector/keys")["keys"]}

    def test_keys_and_revocations_spread_within_two_seconds(self):
        key = self.create_key("n1", {"role": "reader", "name": "spread"})
        self.assertEqual(self.status_with("n1", key["key"]), 200)
        for name in ("n2", "n3"):
            self.wait_status(name, key["key"], 200, "new key accepted")
        self.client("n2").ok("DELETE", f"/vjvector/keys/{key['id']}")
        self.assertEqual(self.status_with("n2", key["key"]), 401)
        for name in ("n1", "n3"):
            self.wait_status(name, key["key"], 401, "revoked key refused")
        for name in self.nodes:
            self.assertNotIn(key["id"], self.key_ids(name))

    def test_concurrent_creations_on_different_nodes_all_survive(self):
        rounds = 5
        names = list(self.nodes)
        created, errors = [], []
        lock = threading.Lock()
        for _ in range(rounds):
            barrier = threading.Barrier(len(names))

            def create(name):
                try:
                    barrier.wait()
                    k = self.create_key(name, {"role": "reader", "name": f"from {name}"})
                    with lock:
                        created.append(k)
                except Exception as e:  # reported below
                    with lock:
                        errors.append(f"{name}: {e}")

            threads = [threading.Thread(target=create, args=(n,)) for n in names]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(created), rounds * len(names))
        ids = {k["id"] for k in created}
        for name in names:
            ch.wait_for(lambda: ids <= self.key_ids(name) or f"missing {sorted(ids - self.key_ids(name))}",
                        f"{name} to list every key", timeout=SPREAD_S)
            for k in created:
                self.assertEqual(self.status_with(name, k["key"]), 200, f"key {k['id']} on {name}")

    def test_custom_role_created_on_one_node_is_usable_on_another(self):
        admin = self.client("n1")
        admin.create_collection("team-a-docs")
        admin.create_collection("other")
        self.client("n3").ok("PUT", "/vjvector/roles/team-a",
                             {"grants": [{"collections": "team-a-*", "access": "write"}]})
        start = time.monotonic()
        # n1 refuses a key for a role it has not seen yet (400); it sees the role within SPREAD_S.
        while True:
            r = admin.call("POST", "/vjvector/keys", {"role": "team-a"})
            if r.status == 200:
                break
            self.assertEqual(r.status, 400, r.describe())
            self.assertLess(time.monotonic() - start, SPREAD_S, "n1 never saw role team-a")
            time.sleep(0.02)
        print(f"  role from n3 usable on n1: {(time.monotonic() - start) * 1000:.0f} ms")
        secret = r.json["result"]["key"]
        team = self.keyed("n1", secret)
        points = {"points": [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4], "payload": {"k": "v"}}]}
        team.ok("PUT", "/collections/team-a-docs/points?wait=true", points)
        team.err("PUT", "/collections/other/points?wait=true", points, status=403)
        # The role's grants reach n2 as well.
        self.wait_status("n2", secret, 200, "team-a key accepted")

    def test_node_refuses_to_start_on_a_damaged_state_in_etcd(self):
        key = self.create_key("n1", {"role": "reader"})
        for name in ("n2", "n3"):
            self.wait_status(name, key["key"], 200, "new key accepted")
        damaged = {"key": base64.b64encode(STATE_KEY.encode()).decode(),
                   "value": base64.b64encode(b"{not a security state").decode()}
        r = vh.Client("127.0.0.1", self.etcd.client_port).call("POST", "/v3/kv/put", damaged)
        self.assertEqual(r.status, 200, r.describe())
        server = vh.Server(data_dir=os.path.join(self.tmp, "n4"), log_dir=os.path.join(self.tmp, "log-n4"),
                           extra_args=["--etcd", self.etcd.url, "--node-id", "n4", "--p2p-port", "0"],
                           env={"VJVECTOR_SECURITY_API_KEY": ADMIN_KEY}, api_key=ADMIN_KEY)
        os.makedirs(server.log_dir, exist_ok=True)
        with self.assertRaises(AssertionError):
            server.start(retries=1)
        log = server.stderr_text() + server.stdout_text()
        self.assertNotEqual(server.exit_code, 0)
        self.assertIn("API keys and roles", log)
        self.assertIn("etcd key " + STATE_KEY, log)
        # The running nodes keep the last state they could read.
        for name in self.nodes:
            self.assertEqual(self.status_with(name, key["key"]), 200, name)


if __name__ == "__main__":
    vh.main()

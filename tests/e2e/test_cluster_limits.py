"""End-to-end: a cluster enforces limits.collections for the whole cluster, even when creates race on
several nodes (the count is guarded in the create's etcd transaction), and its peer port answers a
wrong internal token before it looks at the body's Content-Type."""

import threading

import cluster_harness as ch


class ClusterLimitsTest(ch.ClusterTestCase):
    node_names = ("n1", "n2")
    internal_token = "limits-test-token"
    node_env = {"VJVECTOR_LIMITS_COLLECTIONS": "2"}

    def test_concurrent_creates_on_two_nodes_stop_at_the_limit(self):
        answers = {}

        def create(i):
            node = self.node_names[i % 2]
            r = self.client(node).call("PUT", f"/collections/c{i}",
                                       {"vectors": {"size": 4, "distance": "Dot"}, "replication_factor": 1})
            answers[f"c{i}"] = (r.status, r.error)

        threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"  answers: {answers}")
        created = [name for name, (status, _) in answers.items() if status == 200]
        refused = [(name, error) for name, (status, error) in answers.items() if status != 200]
        self.assertLessEqual(len(created), 2, answers)
        for name, error in refused:
            status = answers[name][0]
            # Over the limit (400, naming the setting), or lost a race and asked to try again (409).
            self.assertIn(status, (400, 409), answers)
            if status == 400:
                self.assertIn("limits.collections", error, answers)
        for node in self.node_names:
            listed = sorted(c["name"] for c in self.client(node).ok("GET", "/collections")["collections"])
            self.assertLessEqual(len(listed), 2, f"{node} lists {listed}")
        # Full: one more is refused on either node, after the views caught up.
        while len(created) < 2:
            name = f"d{len(created)}"
            self.client("n1").ok("PUT", f"/collections/{name}", {"vectors": {"size": 4, "distance": "Dot"}})
            created.append(name)
        for node in self.node_names:
            self.client(node).err("PUT", "/collections/extra", {"vectors": {"size": 4, "distance": "Dot"}},
                                  status=400, mentions="limits.collections")

    def test_a_wrong_internal_token_is_answered_before_a_wrong_content_type(self):
        peer = self.peer_client("n1")
        bad = peer.call("POST", "/internal/replication/c/0", raw=b"xx",
                        headers={"Content-Type": "text/plain", "x-vjvector-internal-token": "wrong"})
        self.assertIn(bad.status, (401, 403), bad.describe())
        good = peer.call("POST", "/internal/replication/c/0", raw=b"xx",
                         headers={"Content-Type": "text/plain", "x-vjvector-internal-token": self.internal_token})
        self.assertEqual(good.status, 415, good.describe())


if __name__ == "__main__":
    import vjharness as vh
    vh.main()

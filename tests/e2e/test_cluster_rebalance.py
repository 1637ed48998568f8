"""End-to-end: rebalancing onto a node that joins, under load. Three nodes hold a collection of four
shards with two replicas each; a fourth node joins; POST /cluster/rebalance moves replicas to it (each
added, caught up by snapshot + log, then removed from its old node) while writers keep writing with
wait=true. Afterwards the fourth node holds its share, the old copies are gone, every acknowledged
point is readable through every node and every shard's replicas agree. And repair: after a node is
lost for good, POST /cluster/rebalance?replace_dead=true puts its replicas back on live nodes.
"""

import time

import cluster_harness as ch
import vjharness as vh


class ClusterRebalanceTest(ch.ClusterTestCase):
    internal_token = "e2e-internal-token-rebalance"

    def test_rebalance_onto_a_new_node_under_load(self):
        self.client("n1").create_collection("r", body={"vectors": {"size": 4, "distance": "Dot"},
                                                       "shard_number": 4, "replication_factor": 2,
                                                       "write_consistency_factor": 2})
        # Nothing to move while the three nodes are balanced (8 replicas: 3/3/2).
        self.assertEqual(self.client("n1").ok("POST", "/cluster/rebalance")["moves"], [])

        writers = ch.Writers(self, "r", ["n1", "n2", "n3"]).start()
        time.sleep(2)
        self.nodes["n4"] = self.start_node("n4")
        result = self.client("n2").ok("POST", "/cluster/rebalance", timeout=300)
        time.sleep(1)
        writers.stop()

        moves = result["moves"]
        self.assertGreaterEqual(len(moves), 2, result)
        self.assertTrue(all(m["to"] == "n4" for m in moves), result)
        shards = self.shard_map("r", via="n4")
        load = {n: 0 for n in self.nodes}
        for shard in shards:
            replicas = [r["peer_id"] for r in shard["replicas"]]
            self.assertEqual(len(replicas), 2, shard)
            self.assertEqual(len(set(replicas)), 2, shard)
            for r in replicas:
                load[r] += 1
        self.assertEqual(sorted(load.values()), [2, 2, 2, 2], load)
        self.assertGreater(len(writers.acked), 50, writers.errors[:5])
        self.assertEqual(writers.errors[:5], [])
        ch.wait_for(lambda: self.replicas_agree("r"), "the replicas to agree", timeout=40)
        self.assert_readable_everywhere("r", writers.acked, self.nodes)
        # The nodes that gave a replica away dropped their copy.
        for m in moves:
            r = self.peer_client(m["from"]).call("POST", f"/internal/shards/r/{m['shard_id']}/points/count",
                                            {"exact": True}, headers=self.internal_headers())
            self.assertEqual(r.status, 503, r.describe())


    def test_replace_dead_restores_the_replication_factor(self):
        self.client("n1").create_collection("d", body={"vectors": {"size": 4, "distance": "Dot"},
                                                       "shard_number": 3, "replication_factor": 2,
                                                       "write_consistency_factor": 1})
        self.client("n1").err("POST", "/cluster/rebalance?replace_dead=maybe", status=400, mentions="replace_dead")
        self.client("n1").upsert("d", [{"id": i, "vector": [1, 0, 0, i]} for i in range(1, 201)])
        self.nodes["n3"].kill9()
        # Wait for the elections of the shards n3 led, then replace its replicas.
        ch.wait_for(lambda: all(s["primary"] not in (None, "n3") for s in self.shard_map("d")),
                    "new primaries for n3's shards", timeout=30)
        writers = ch.Writers(self, "d", ["n1", "n2"]).start()
        result = self.client("n2").ok("POST", "/cluster/rebalance?replace_dead=true", timeout=300)
        writers.stop()
        replaced = [m for m in result["moves"] if m.get("replaced_dead")]
        self.assertTrue(replaced and all(m["from"] == "n3" for m in replaced), result)
        for shard in self.shard_map("d"):
            replicas = [r["peer_id"] for r in shard["replicas"]]
            self.assertEqual(sorted(replicas), ["n1", "n2"], shard)
        ch.wait_for(lambda: self.replicas_agree("d"), "the replicas to agree", timeout=40)
        self.assert_readable_everywhere("d", set(range(1, 201)) | writers.acked, ["n1", "n2"])


if __name__ == "__main__":
    vh.main()

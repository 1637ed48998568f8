"""End-to-end sparse vectors in cluster mode (real etcd, three real nodes, shard_number 2,
replication_factor 2): the collection's sparse_vectors config travels through etcd and every node
returns it; points written through one node reach primaries and replicas on the others (the forwarded
upsert and the replication log carry sparse vectors); every node answers a sparse query (merged across
shards by score) with the exhaustive ranking, and returns the stored sparse vectors; after the primaries
are read directly on each replica, the replicas hold the same sparse vectors.
"""

import random

import cluster_harness as ch
import test_sparse_vectors as tsv
import vjharness as vh

BODY = {"vectors": {"dense": {"size": 4, "distance": "Dot"}},
        "sparse_vectors": {"text": {"modifier": "none", "index": {"full_scan_threshold": 10}}},
        "shard_number": 2, "replication_factor": 2}


class ClusterSparseTest(ch.ClusterTestCase):

    def test_sparse_config_writes_and_queries_on_every_node(self):
        def create():
            r = self.client("n1").call("PUT", "/collections/sp", BODY)
            return True if r.status == 200 else r.describe()

        ch.wait_for(create, "the collection to be created")
        for name in self.nodes:
            ch.wait_for(lambda: self.client(name).call("GET", "/collections/sp").status == 200,
                        f"{name} to see the collection")
            info = self.client(name).ok("GET", "/collections/sp")
            self.assertEqual(info["config"]["params"]["sparse_vectors"]["text"]["index"]["full_scan_threshold"], 10)

        rnd = random.Random(5)
        points = {}
        batch = []
        for pid in range(300):
            s = tsv.rsparse(rnd)
            points[pid] = (s, {"group": pid % 5})
            batch.append({"id": pid, "vector": {"dense": [1, 0, 0, 0], "text": s}, "payload": {"group": pid % 5}})
        self.client("n2").upsert("sp", batch)
        ch.wait_for(lambda: self.replicas_agree("sp"), "the replicas to agree")

        queries = [tsv.rsparse(rnd, 5) for _ in range(6)]
        for name in self.nodes:
            c = self.client(name)
            for qi, q in enumerate(queries):
                flt = {"must": [{"key": "group", "match": {"value": 2}}]} if qi % 2 else None
                want = tsv.expected(q, points, 10, flt=(lambda p: p["group"] == 2) if flt else None)
                body = {"query": q, "using": "text", "limit": 10}
                if flt:
                    body["filter"] = flt
                got = c.ok("POST", "/collections/sp/points/query", body)["points"]
                self.assertEqual(len(got), len(want), f"{name} query {qi}")
                for (wid, wscore), g in zip(want, got):
                    self.assertTrue(vh.score_close(g["score"], wscore), f"{name} query {qi}: {g} vs {wid} {wscore}")
            got = c.retrieve("sp", [7], with_vector=True)
            s = points[7][0]
            self.assertEqual(sorted(s["indices"]), got[7]["vector"]["text"]["indices"], name)

        # Every replica of every shard holds the same sparse vectors (read directly on each).
        for shard in self.shard_map("sp"):
            seen = {}
            for r in shard["replicas"]:
                res = self.peer_client(r["peer_id"]).ok(
                    "POST", f"/internal/shards/sp/{shard['shard_id']}/points/scroll",
                    {"limit": 1000, "with_vector": ["text"]}, headers=self.internal_headers())
                seen[r["peer_id"]] = {p["id"]: p["vector"]["text"]["indices"] for p in res["points"]}
            values = list(seen.values())
            self.assertTrue(values and all(v == values[0] for v in values), f"shard {shard['shard_id']}")
            self.assertGreater(len(values[0]), 50)


if __name__ == "__main__":
    vh.main()

"""End-to-end: collections with Qdrant's quantization_config (scalar int8, binary) search on codes and
re-rank with float vectors: recall against exact search stays high, params.quantization is honoured, the
config shows in GET /collections/{name} and survives a restart.
"""

import random

import vjharness as vh

N = 3000
DIM = 32


class QuantizationTest(vh.SharedServerTestCase):

    @classmethod
    def load(cls):
        rnd = random.Random(99)
        centers = [[rnd.gauss(0, 1) for _ in range(DIM)] for _ in range(30)]
        def vec():
            c = rnd.choice(centers)
            return vh.f32vec([x + rnd.gauss(0, 0.5) for x in c])
        cls.points = [{"id": i, "vector": vec()} for i in range(N)]
        cls.queries = [vec() for _ in range(40)]
        for name, q in (("sq8", {"scalar": {"type": "int8"}}),
                        ("sq8q", {"scalar": {"type": "int8", "quantile": 0.99}}),
                        ("bin", {"binary": {"always_ram": True}})):
            cls.client.create_collection(name, body={"vectors": {"size": DIM, "distance": "Cosine"},
                                                     "quantization_config": q,
                                                     "hnsw_config": {"full_scan_threshold": 1}})
            for start in range(0, N, 500):
                cls.client.upsert(name, cls.points[start:start + 500])

    def recall(self, name, params):
        hits = total = 0
        for q in self.queries:
            exact = self.client.ok("POST", f"/collections/{name}/points/query",
                                   {"query": q, "limit": 10, "params": {"exact": True}})["points"]
            got = self.client.ok("POST", f"/collections/{name}/points/query",
                                 {"query": q, "limit": 10, "params": params})["points"]
            want = {p["id"] for p in exact}
            hits += sum(p["id"] in want for p in got)
            total += len(want)
        return hits / total

    def test_recall_with_rescoring(self):
        self.assertGreaterEqual(self.recall("sq8", {"hnsw_ef": 128}), 0.95)
        # A trimmed range clamps the tails: more candidates must be re-ranked.
        self.assertGreaterEqual(self.recall("sq8q", {"hnsw_ef": 128, "quantization": {"oversampling": 4.0}}), 0.9)
        # One bit per dimension is very lossy at 32 dimensions (binary suits high dimensions): it needs a
        # deep re-rank; a broken code path would give near-random recall (~0.003).
        self.assertGreaterEqual(
            self.recall("bin", {"hnsw_ef": 256, "quantization": {"rescore": True, "oversampling": 10.0}}), 0.8)
        self.assertGreaterEqual(self.recall("bin", {"hnsw_ef": 128, "quantization": {"ignore": True}}), 0.9)

    def test_bad_quantization_params_are_rejected(self):
        self.client.err("POST", "/collections/sq8/points/query",
                        {"query": self.queries[0], "params": {"quantization": {"oversampling": 0.5}}},
                        status=400, mentions="oversampling")
        self.client.err("PUT", "/collections/bad", {"vectors": {"size": 4, "distance": "Dot"},
                                                    "quantization_config": {"scalar": {"type": "int4"}}},
                        status=400, mentions="int8")

    def test_config_is_reported_and_survives_restart(self):
        info = self.client.ok("GET", "/collections/sq8")
        self.assertEqual(info["config"]["quantization_config"]["scalar"]["type"], "int8")
        self.server.stop()
        self.server.start()
        info = self.client.ok("GET", "/collections/bin")
        self.assertIn("binary", info["config"]["quantization_config"])
        self.assertEqual(info["points_count"], N)
        self.assertGreaterEqual(self.recall("sq8", {"hnsw_ef": 128}), 0.95)


if __name__ == "__main__":
    vh.main()

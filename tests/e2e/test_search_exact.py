"""End-to-end: exact search equals Python brute force; HNSW search has recall@10 >= 0.9.

2000 random vectors of dimension 16 per metric (Cosine, Dot, Euclid, Manhattan), 50 queries each.
"""

import random

import vjharness as vh

N = 2000
DIM = 16
K = 10
QUERIES = 50
METRICS = ("Cosine", "Dot", "Euclid", "Manhattan")
MIN_RECALL = 0.9
TIE_EPS = 1e-4


def gen_vectors(rnd, n):
    return [vh.f32vec([rnd.gauss(0.0, 1.0) for _ in range(DIM)]) for _ in range(n)]


class SearchExactTest(vh.SharedServerTestCase):

    @classmethod
    def load(cls):
        rnd = random.Random(20240611)
        cls.data = {}
        cls.queries = {}
        cls.truth = {}
        cls.vec_of = {}
        for m in METRICS:
            name = "v_" + m.lower()
            cls.client.create_collection(name, size=DIM, distance=m)
            vecs = gen_vectors(rnd, N)
            # Ids are not dense from 0: 1..N shuffled with gaps.
            ids = [i * 3 + 1 for i in range(N)]
            points = list(zip(ids, vecs))
            for start in range(0, N, 250):
                chunk = points[start:start + 250]
                cls.client.upsert(name, [{"id": pid, "vector": v, "payload": {"i": pid}} for pid, v in chunk])
            cls.data[m] = points
            cls.vec_of[m] = dict(points)
            qs = gen_vectors(rnd, QUERIES)
            cls.queries[m] = qs
            cls.truth[m] = [vh.brute_force(m, q, points, K + 1) for q in qs]

    def check_exact(self, metric, q, got_points, truth, ctx):
        """got ids must equal brute force top-K (swaps allowed only between near-equal scores)."""
        got_ids = [p["id"] for p in got_points]
        exp = truth[:K]
        self.assertEqual(len(got_ids), K, f"{ctx}: expected {K} results, got {len(got_ids)}")
        self.assertEqual(len(set(got_ids)), K, f"{ctx}: duplicate ids {got_ids}")
        vec_of = self.vec_of[metric]
        for rank, (p, (eid, es)) in enumerate(zip(got_points, exp)):
            self.assertTrue(vh.score_close(p["score"], es),
                            f"{ctx}: rank {rank}: score {p['score']} expected {es} (id {p['id']} vs {eid})")
            if p["id"] != eid:
                # Only acceptable when the two candidates tie within float32 noise.
                true_s = vh.score(metric, q, vec_of[p["id"]]) if p["id"] in vec_of else None
                self.assertTrue(true_s is not None and abs(true_s - es) <= TIE_EPS * max(1.0, abs(es)),
                                f"{ctx}: rank {rank}: got id {p['id']} (score {p['score']}), "
                                f"expected id {eid} (score {es}); got ids {got_ids}, "
                                f"expected {[e[0] for e in exp]}")
        scores = [p["score"] for p in got_points]
        self.assertEqual(scores, sorted(scores, reverse=vh.higher_is_better(metric)),
                         f"{ctx}: scores not sorted best first: {scores}")

    def _run_exact(self, metric, body_fn, path, extract):
        name = "v_" + metric.lower()
        for qi, q in enumerate(self.queries[metric]):
            res = self.client.ok("POST", f"/collections/{name}/{path}", body_fn(q))
            self.check_exact(metric, q, extract(res), self.truth[metric][qi], f"{metric} {path} query #{qi}")

    def test_exact_query_api(self):
        for m in METRICS:
            with self.subTest(metric=m):
                self._run_exact(m, lambda q: {"query": q, "limit": K, "params": {"exact": True}},
                                "points/query", lambda r: r["points"])

    def test_exact_legacy_search(self):
        for m in METRICS:
            with self.subTest(metric=m):
                self._run_exact(m, lambda q: {"vector": q, "limit": K, "params": {"exact": True}},
                                "points/search", lambda r: r)

    def test_exact_batch(self):
        for m in METRICS:
            with self.subTest(metric=m):
                name = "v_" + m.lower()
                qs = self.queries[m][:10]
                res = self.client.ok("POST", f"/collections/{name}/points/query/batch", {"searches": [
                    {"query": q, "limit": K, "params": {"exact": True}} for q in qs]})
                self.assertEqual(len(res), len(qs))
                for qi, (q, r) in enumerate(zip(qs, res)):
                    self.check_exact(m, q, r["points"], self.truth[m][qi], f"{m} query/batch #{qi}")
                res = self.client.ok("POST", f"/collections/{name}/points/search/batch", {"searches": [
                    {"vector": q, "limit": K, "params": {"exact": True}} for q in qs]})
                self.assertEqual(len(res), len(qs))
                for qi, (q, r) in enumerate(zip(qs, res)):
                    self.check_exact(m, q, r, self.truth[m][qi], f"{m} search/batch #{qi}")

    def test_exact_offset_pages(self):
        # Pages of an exact search concatenate to the top-30.
        m = "Euclid"
        name = "v_euclid"
        q = self.queries[m][0]
        full = vh.brute_force(m, q, self.data[m], 30)
        got = []
        for off in (0, 10, 20):
            res = self.client.ok("POST", f"/collections/{name}/points/query",
                                 {"query": q, "limit": 10, "offset": off, "params": {"exact": True}})
            got.extend(p["id"] for p in res["points"])
        self.assertEqual(got, [e[0] for e in full])

    def test_hnsw_recall(self):
        for m in METRICS:
            with self.subTest(metric=m):
                name = "v_" + m.lower()
                hits = 0
                for qi, q in enumerate(self.queries[m]):
                    res = self.client.ok("POST", f"/collections/{name}/points/query", {"query": q, "limit": K})
                    ids = [p["id"] for p in res["points"]]
                    self.assertEqual(len(ids), K, f"{m} HNSW query #{qi}: {len(ids)} results")
                    self.assertEqual(len(set(ids)), K, f"{m} HNSW query #{qi}: duplicate ids {ids}")
                    hits += len(set(ids) & {e[0] for e in self.truth[m][qi][:K]})
                recall = hits / (K * len(self.queries[m]))
                print(f"\n{m}: HNSW recall@{K} = {recall:.3f}")
                self.assertGreaterEqual(recall, MIN_RECALL, f"{m}: HNSW recall@{K} {recall:.3f} < {MIN_RECALL}")

    def test_hnsw_recall_with_hnsw_ef(self):
        m = "Cosine"
        name = "v_cosine"
        hits = 0
        for qi, q in enumerate(self.queries[m]):
            res = self.client.ok("POST", f"/collections/{name}/points/query",
                                 {"query": q, "limit": K, "params": {"hnsw_ef": 256}})
            hits += len({p["id"] for p in res["points"]} & {e[0] for e in self.truth[m][qi][:K]})
        recall = hits / (K * len(self.queries[m]))
        self.assertGreaterEqual(recall, 0.95, f"hnsw_ef=256 recall@{K} {recall:.3f} < 0.95")

    def test_self_query_finds_itself(self):
        # A stored vector queried exactly returns itself first (distance 0 / max similarity).
        for m in ("Euclid", "Manhattan", "Cosine"):
            name = "v_" + m.lower()
            for pid, v in self.data[m][:20]:
                res = self.client.ok("POST", f"/collections/{name}/points/query",
                                     {"query": v, "limit": 1, "params": {"exact": True}})
                self.assertEqual(res["points"][0]["id"], pid, f"{m}: self query of {pid}")

    def test_count(self):
        for m in METRICS:
            self.assertEqual(self.client.count("v_" + m.lower()), N)


if __name__ == "__main__":
    vh.main()

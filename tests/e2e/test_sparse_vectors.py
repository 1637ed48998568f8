"""End-to-end sparse vectors: create with sparse_vectors (alone and beside a dense vector), upsert in
both shapes, search (/points/search and /points/query), hybrid rrf/dbsf over a sparse and a dense
prefetch, retrieve/scroll with vectors in Qdrant's shape, idf, filters, several shards, validation 400s,
and a kill -9 restart after which every answer is the same.

Expected rankings are computed here by brute force (dot products, Qdrant's idf formula).
"""

import math
import random

import vjharness as vh

COLL = "sp"
VOCAB = 400


def rsparse(rnd, nnz_max=25):
    n = rnd.randint(1, nnz_max)
    # Zipf-like: small indices are common, as frequent words are.
    idx = set()
    while len(idx) < n:
        idx.add(min(int(rnd.paretovariate(1.2)) - 1, VOCAB - 1))
    idx = list(idx)
    rnd.shuffle(idx)
    return {"indices": idx, "values": [vh.f32(rnd.uniform(0.1, 3.0)) for _ in idx]}


def sdot(q, v, weights=None):
    d = dict(zip(v["indices"], v["values"]))
    s = 0.0
    for i, x in zip(q["indices"], q["values"]):
        if i in d:
            s += x * (weights.get(i, 1.0) if weights else 1.0) * d[i]
    return s


def shares(q, v):
    return bool(set(q["indices"]) & set(v["indices"]))


def idf_weights(q, docs):
    n_total = len(docs)
    out = {}
    for i in q["indices"]:
        n = sum(1 for v in docs if i in v["indices"])
        out[i] = math.log((n_total - n + 0.5) / (n + 0.5) + 1)
    return out


def expected(q, points, k, idf=False, flt=None):
    """points: id -> (sparse or None, payload)."""
    docs = [s for s, _ in points.values() if s is not None]
    w = idf_weights(q, docs) if idf else None
    scored = [(-sdot(q, s, w), pid) for pid, (s, p) in points.items()
              if s is not None and shares(q, s) and (flt is None or flt(p))]
    scored.sort()
    return [(pid, -neg) for neg, pid in scored[:k]]


class SparseVectorsTest(vh.ServerTestCase):

    def create(self, shards=1, idf=False):
        self.client.create_collection(COLL, body={
            "vectors": {"dense": {"size": 4, "distance": "Dot"}},
            "sparse_vectors": {"text": {"index": {"on_disk": False, "full_scan_threshold": 50},
                                        "modifier": "idf" if idf else "none"}},
            "shard_number": shards})

    def load(self, rnd, n=600):
        points = {}
        batch = []
        for pid in range(n):
            s = rsparse(rnd) if pid % 9 != 4 else None
            payload = {"group": pid % 5}
            vec = {"dense": [vh.f32(rnd.uniform(-1, 1)) for _ in range(4)]}
            if s is not None:
                vec["text"] = s
            batch.append({"id": pid, "vector": vec, "payload": payload})
            points[pid] = (s, payload)
        for i in range(0, n, 200):
            self.client.upsert(COLL, batch[i:i + 200])
        # The batch shape too, for ids beyond.
        ids = [n, n + 1]
        s0, s1 = rsparse(rnd), rsparse(rnd)
        self.client.ok("PUT", f"/collections/{COLL}/points?wait=true", {"batch": {
            "ids": ids, "vectors": {"dense": [[1, 0, 0, 0], [0, 1, 0, 0]], "text": [s0, s1]},
            "payloads": [{"group": 0}, {"group": 1}]}})
        points[n] = (s0, {"group": 0})
        points[n + 1] = (s1, {"group": 1})
        # Deletes and a replaced sparse vector.
        self.client.ok("POST", f"/collections/{COLL}/points/delete?wait=true", {"points": [1, 2, 3]})
        for pid in (1, 2, 3):
            del points[pid]
        s5 = rsparse(rnd)
        self.client.ok("PUT", f"/collections/{COLL}/points/vectors?wait=true",
                       {"points": [{"id": 5, "vector": {"text": s5}}]})
        points[5] = (s5, points[5][1])
        return points

    def check_searches(self, points, queries, idf=False):
        answers = []
        for qi, q in enumerate(queries):
            flt = None
            body_filter = None
            if qi % 2 == 1:
                body_filter = {"must": [{"key": "group", "match": {"any": [1, 2]}}]}
                flt = lambda p: p["group"] in (1, 2)
            want = expected(q, points, 10, idf=idf, flt=flt)
            search = {"vector": {"name": "text", "vector": q}, "limit": 10}
            query = {"query": q, "using": "text", "limit": 10}
            if body_filter:
                search["filter"] = body_filter
                query["filter"] = body_filter
            got_s = self.client.ok("POST", f"/collections/{COLL}/points/search", search)
            got_q = self.client.ok("POST", f"/collections/{COLL}/points/query", query)["points"]
            for got in (got_s, got_q):
                self.assertEqual(len(got), len(want), f"query {qi}")
                for (wid, wscore), g in zip(want, got):
                    self.assertTrue(vh.score_close(g["score"], wscore), f"query {qi}: {g} vs {wid} {wscore}")
                self.assertEqual([g["id"] for g in got][:3], [w[0] for w in want][:3], f"query {qi}")
            answers.append([(g["id"], round(g["score"], 4)) for g in got_q])
        return answers

    def test_create_upsert_search_retrieve_restart(self):
        rnd = random.Random(1)
        self.create(shards=2)
        info = self.client.ok("GET", f"/collections/{COLL}")
        sv = info["config"]["params"]["sparse_vectors"]
        self.assertEqual(sv["text"]["modifier"], "none")
        self.assertEqual(sv["text"]["index"]["full_scan_threshold"], 50)
        points = self.load(rnd)
        queries = [rsparse(rnd, 6) for _ in range(10)]
        before = self.check_searches(points, queries)

        # Retrieve and scroll: Qdrant's shape, indices sorted.
        got = self.client.retrieve(COLL, [5, 4], with_vector=True)
        s5 = points[5][0]
        order = sorted(range(len(s5["indices"])), key=lambda i: s5["indices"][i])
        self.assertEqual(got[5]["vector"]["text"]["indices"], [s5["indices"][i] for i in order])
        self.assertEqual(got[5]["vector"]["text"]["values"], [s5["values"][i] for i in order])
        self.assertEqual(len(got[5]["vector"]["dense"]), 4)
        self.assertNotIn("text", got[4]["vector"])  # id 4 has no sparse vector
        only = self.client.ok("POST", f"/collections/{COLL}/points",
                              {"ids": [5], "with_vector": ["text"]})
        self.assertEqual(set(only[0]["vector"].keys()), {"text"})
        page = self.client.ok("POST", f"/collections/{COLL}/points/scroll",
                              {"limit": 3, "with_vector": True})["points"]
        self.assertIn("indices", page[0]["vector"]["text"])

        # kill -9, restart: the same answers.
        self.server.kill9()
        self.server = self.start_server()
        self.client = self.server.client
        info = self.client.ok("GET", f"/collections/{COLL}")
        self.assertEqual(info["config"]["params"]["sparse_vectors"]["text"]["index"]["full_scan_threshold"], 50)
        after = self.check_searches(points, queries)
        self.assertEqual(before, after)

    def test_idf_modifier(self):
        rnd = random.Random(2)
        self.create(idf=True)
        points = self.load(rnd, n=300)
        self.check_searches(points, [rsparse(rnd, 5) for _ in range(6)], idf=True)

    def test_sparse_only_collection(self):
        self.client.create_collection("only", body={"sparse_vectors": {"s": {}}})
        self.client.upsert("only", [{"id": 1, "vector": {"s": {"indices": [3, 1], "values": [1.0, 2.0]}}},
                                    {"id": 2, "vector": {"s": {"indices": [1], "values": [5.0]}}},
                                    {"id": 3, "vector": {}}])
        res = self.client.ok("POST", "/collections/only/points/query",
                             {"query": {"indices": [1], "values": [1.0]}, "using": "s", "with_vector": True})
        self.assertEqual([p["id"] for p in res["points"]], [2, 1])
        self.assertEqual(res["points"][1]["vector"]["s"], {"indices": [1, 3], "values": [2.0, 1.0]})
        self.assertEqual(self.client.count("only"), 3)

    def test_hybrid_rrf_and_dbsf(self):
        rnd = random.Random(3)
        self.create()
        points = self.load(rnd, n=200)
        q = rsparse(rnd, 6)
        dense_q = [0.5, -0.25, 1.0, 0.0]
        sparse_list = self.client.ok("POST", f"/collections/{COLL}/points/query",
                                     {"query": q, "using": "text", "limit": 20})["points"]
        dense_list = self.client.ok("POST", f"/collections/{COLL}/points/query",
                                    {"query": dense_q, "using": "dense", "limit": 20})["points"]
        self.assertEqual(len(sparse_list), 20)
        # RRF by hand: sum of 1 / (k + position), position from 0, k = 2 (Qdrant's default).
        fused = {}
        for lst in (sparse_list, dense_list):
            for rank, p in enumerate(lst):
                fused[p["id"]] = fused.get(p["id"], 0.0) + 1.0 / (2 + rank)
        want = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        res = self.client.ok("POST", f"/collections/{COLL}/points/query", {
            "prefetch": [{"query": q, "using": "text", "limit": 20},
                         {"query": dense_q, "using": "dense", "limit": 20}],
            "query": {"fusion": "rrf"}, "limit": 10})["points"]
        self.assertEqual(len(res), 10)
        for (wid, wscore), g in zip(want, res):
            self.assertTrue(vh.score_close(g["score"], wscore), f"{g} vs {wid} {wscore}")
        self.assertEqual({g["id"] for g in res if g["score"] > want[-1][1] + 1e-6},
                         {w[0] for w in want if w[1] > want[-1][1] + 1e-6})
        dbsf = self.client.ok("POST", f"/collections/{COLL}/points/query", {
            "prefetch": [{"query": q, "using": "text", "limit": 20},
                         {"query": dense_q, "using": "dense", "limit": 20}],
            "query": {"fusion": "dbsf"}, "limit": 5})["points"]
        self.assertEqual(len(dbsf), 5)
        # A sparse query re-scoring a dense prefetch's candidates.
        rescored = self.client.ok("POST", f"/collections/{COLL}/points/query", {
            "prefetch": {"query": dense_q, "using": "dense", "limit": 30},
            "query": q, "using": "text", "limit": 5})["points"]
        cand = {p["id"] for p in self.client.ok("POST", f"/collections/{COLL}/points/query",
                                                {"query": dense_q, "using": "dense", "limit": 30})["points"]}
        sub = {pid: points[pid] for pid in cand}
        want = expected(q, sub, 5)
        self.assertEqual([g["id"] for g in rescored], [w[0] for w in want])

    def test_validation(self):
        self.create()
        bad_points = [
            ({"indices": [1, 1], "values": [1, 2]}, "unique"),
            ({"indices": [1, 2], "values": [1]}, "same length"),
            ({"indices": [-1], "values": [1]}, "indices[0]"),
            ({"indices": [4294967296], "values": [1]}, "4294967295"),
            ({"indices": [1.5], "values": [1]}, "indices[0]"),
            ({"indices": [1], "values": ["x"]}, "values[0]"),
            ({"indices": [1], "values": [1e39]}, "values[0]"),
            ({"indices": [1]}, "values"),
            ({"indices": [1], "values": [1], "extra": 1}, "extra"),
        ]
        for v, mention in bad_points:
            self.client.err("PUT", f"/collections/{COLL}/points?wait=true",
                            {"points": [{"id": 1, "vector": {"text": v}}]}, status=400, mentions=mention)
        self.client.err("PUT", f"/collections/{COLL}/points?wait=true",
                        {"points": [{"id": 1, "vector": {"nope": {"indices": [1], "values": [1]}}}]},
                        status=400, mentions="nope")
        self.client.err("PUT", f"/collections/{COLL}/points?wait=true",
                        {"points": [{"id": 1, "vector": {"dense": {"indices": [1], "values": [1]}}}]},
                        status=400, mentions="dense")
        big = {"indices": list(range(16385)), "values": [1.0] * 16385}
        self.client.err("PUT", f"/collections/{COLL}/points?wait=true",
                        {"points": [{"id": 1, "vector": {"text": big}}]}, status=400,
                        mentions="sparse_vector_nnz")
        self.assertEqual(self.client.count(COLL), 0)
        # Queries.
        self.client.err("POST", f"/collections/{COLL}/points/query",
                        {"query": {"indices": [1, 1], "values": [1, 1]}, "using": "text"}, status=400,
                        mentions="unique")
        self.client.err("POST", f"/collections/{COLL}/points/query",
                        {"query": {"indices": [1], "values": [1]}, "using": "dense"}, status=400,
                        mentions="dense")
        self.client.err("POST", f"/collections/{COLL}/points/query",
                        {"query": [1, 2, 3, 4], "using": "text"}, status=400, mentions="sparse")
        self.client.err("POST", f"/collections/{COLL}/points/search",
                        {"vector": {"name": "nope", "vector": {"indices": [1], "values": [1]}}}, status=400,
                        mentions="nope")
        # Config.
        self.client.err("PUT", "/collections/bad", {"sparse_vectors": {"s": {"modifier": "bm25"}}}, status=400,
                        mentions="modifier")
        self.client.err("PUT", "/collections/bad", {"vectors": {"s": {"size": 2, "distance": "Dot"}},
                                                    "sparse_vectors": {"s": {}}}, status=400, mentions="same name")
        self.assertTrue(self.server.alive())


if __name__ == "__main__":
    vh.main()

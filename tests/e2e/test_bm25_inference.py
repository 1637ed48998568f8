"""End-to-end: server-side BM25 (Qdrant's Document objects, {"text", "model": "qdrant/bm25"}) in place of
sparse vectors, in upserts (point lists and batches), /points/query (also as a prefetch fused with a dense
one) and /points/search.

- A document is stored as its BM25 term-frequency weights: the test recomputes them from the tokens the
  node reports for a one-word-per-token control document, and checks every stored vector has the
  saturation formula's values for its term counts (k1 1.2, b 0.75, avg_len 256).
- A query's ranking equals BM25 computed here from the stored vectors: sum over the query's tokens of
  idf * document weight, with the collection's `modifier: idf` (Qdrant's formula).
- Both sides tokenize alike: a query finds a document by a word in another inflection ("cookies" and
  "cookie" stem alike), and stop words find nothing.
- Refusals: an unknown model, an unknown option, a Document for a dense vector: 400 naming the field,
  and nothing stored.
"""

import math

import vjharness as vh

COLL = "bm"
DOCS = {
    1: "Recipe for baking chocolate chip cookies",
    2: "Chocolate cake with chocolate frosting and chocolate chips",
    3: "A guide to baking bread at home",
    4: "Cookies and milk: the history of a snack",
    5: "Vector databases store embeddings for semantic search",
    6: "Full text search ranks documents with BM25",
    7: "The cookie jar was empty again",
    8: "Baking soda versus baking powder in cookies and cakes",
}


def doc(text, **options):
    d = {"text": text, "model": "qdrant/bm25"}
    if options:
        d["options"] = options
    return d


def tf_weight(tf, doc_len, k=1.2, b=0.75, avg_len=256.0):
    return tf * (k + 1) / (tf + k * (1 - b + b * doc_len / avg_len))


class Bm25InferenceTest(vh.ServerTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.client
        self.c.ok("PUT", f"/collections/{COLL}", {"vectors": {"dense": {"size": 2, "distance": "Dot"}},
                                                  "sparse_vectors": {"bm25": {"modifier": "idf"}}})
        points = [{"id": i, "vector": {"bm25": doc(t), "dense": [1.0, float(i)]}, "payload": {"t": t}}
                  for i, t in DOCS.items() if i != 8]
        self.c.ok("PUT", f"/collections/{COLL}/points?wait=true", {"points": points})
        # The batch shape too.
        self.c.ok("PUT", f"/collections/{COLL}/points?wait=true",
                  {"batch": {"ids": [8], "vectors": {"bm25": [doc(DOCS[8])], "dense": [[1.0, 8.0]]},
                             "payloads": [{"t": DOCS[8]}]}})

    def stored(self):
        got = self.c.ok("POST", f"/collections/{COLL}/points", {"ids": list(DOCS), "with_vector": True})
        return {p["id"]: p["vector"]["bm25"] for p in got}

    def test_documents_are_stored_as_bm25_term_weights(self):
        vectors = self.stored()
        for pid, v in vectors.items():
            self.assertEqual(v["indices"], sorted(v["indices"]), pid)
            self.assertTrue(v["values"], f"point {pid} has no tokens")
        # Point 2 says "chocolate" three times among 6 tokens ("with" and "and" are stop words): its
        # largest weight is the formula's for tf 3 and its smallest for tf 1, at doc_len 6.
        v2 = vectors[2]
        n_tokens = 6  # chocolate x3, cake, frosting, chip(s): "with" and "and" dropped
        self.assertAlmostEqual(max(v2["values"]), tf_weight(3, n_tokens), places=4)
        self.assertAlmostEqual(min(v2["values"]), tf_weight(1, n_tokens), places=4)
        self.assertEqual(len(v2["indices"]), 4)
        # "chip" (1) and "chips" (2), "cookies" (1, 4, 8) and "cookie" (7) stem alike: shared indices.
        self.assertTrue(set(vectors[1]["indices"]) & set(vectors[2]["indices"]))
        shared = set(vectors[1]["indices"]) & set(vectors[4]["indices"]) & set(vectors[7]["indices"]) & \
            set(vectors[8]["indices"])
        self.assertEqual(len(shared), 1, "cookie(s) should be one token in points 1, 4, 7 and 8")

    def expected_ranking(self, query_indices, vectors):
        n = len(vectors)
        scores = {}
        for pid, v in vectors.items():
            weights = dict(zip(v["indices"], v["values"]))
            s = 0.0
            for i in query_indices:
                if i in weights:
                    df = sum(1 for w in vectors.values() if i in w["indices"])
                    s += math.log((n - df + 0.5) / (df + 0.5) + 1) * weights[i]
            if s > 0:
                scores[pid] = s
        return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))

    def query_indices(self, text):
        # The query side has the document side's indices (one entry per distinct token): a throwaway
        # point shows them.
        self.c.ok("PUT", f"/collections/{COLL}/points?wait=true",
                  {"points": [{"id": 999, "vector": {"bm25": doc(text), "dense": [0.0, 0.0]}}]})
        got = self.c.ok("POST", f"/collections/{COLL}/points", {"ids": [999], "with_vector": ["bm25"]})
        self.c.ok("POST", f"/collections/{COLL}/points/delete?wait=true", {"points": [999]})
        return got[0]["vector"]["bm25"]["indices"]

    def test_query_ranking_is_bm25_over_the_stored_vectors(self):
        vectors = self.stored()
        for text in ("baking cookies", "chocolate", "search with BM25", "cookie jar bread"):
            q = self.query_indices(text)
            want = self.expected_ranking(q, vectors)
            got = self.c.ok("POST", f"/collections/{COLL}/points/query",
                            {"query": doc(text), "using": "bm25", "limit": 10})["points"]
            self.assertEqual([p["id"] for p in got], [pid for pid, _ in want], text)
            for p, (_, score) in zip(got, want):
                self.assertAlmostEqual(p["score"], score, places=4)
        # /points/search takes a Document too.
        got = self.c.ok("POST", f"/collections/{COLL}/points/search",
                        {"vector": {"name": "bm25", "vector": doc("cookies")}, "limit": 10})
        self.assertEqual(sorted(p["id"] for p in got), [1, 4, 7, 8])

    def test_inflections_match_and_stop_words_do_not(self):
        got = self.c.ok("POST", f"/collections/{COLL}/points/query",
                        {"query": doc("cookie"), "using": "bm25", "limit": 10})["points"]
        self.assertEqual(sorted(p["id"] for p in got), [1, 4, 7, 8])
        got = self.c.ok("POST", f"/collections/{COLL}/points/query",
                        {"query": doc("the and with"), "using": "bm25", "limit": 10})["points"]
        self.assertEqual(got, [])
        # With language "none" nothing is stemmed or dropped: "cookie" no longer finds "cookies".
        self.c.ok("PUT", f"/collections/{COLL}/points?wait=true",
                  {"points": [{"id": 50, "vector": {"bm25": doc("cookies", language="none"), "dense": [0.0, 1.0]}}]})
        got = self.c.ok("POST", f"/collections/{COLL}/points/query",
                        {"query": doc("cookie", language="none"), "using": "bm25", "limit": 10})["points"]
        self.assertNotIn(50, [p["id"] for p in got])

    def test_hybrid_prefetch_fuses_bm25_with_dense(self):
        got = self.c.ok("POST", f"/collections/{COLL}/points/query", {
            "prefetch": [{"query": doc("baking"), "using": "bm25", "limit": 5},
                         {"query": [0.0, 1.0], "using": "dense", "limit": 3}],
            "query": {"fusion": "rrf"}, "limit": 10})["points"]
        ids = [p["id"] for p in got]
        # Every BM25 hit for "baking" (1, 3, 8) and the three largest dense scores (8, 7, 6) are fused.
        self.assertEqual(set(ids), {1, 3, 8, 7, 6})
        self.assertEqual(ids[0], 8, "8 is in both lists and should lead the fusion")

    def test_refusals_name_the_field_and_store_nothing(self):
        before = self.c.count(COLL)
        cases = [
            ({"points": [{"id": 70, "vector": {"bm25": {"text": "x", "model": "openai/text-embedding-3"},
                                              "dense": [0.0, 1.0]}}]}, "model"),
            ({"points": [{"id": 70, "vector": {"bm25": {"text": "x", "model": "qdrant/bm25",
                                                        "options": {"k1": 2}}, "dense": [0.0, 1.0]}}]}, "k1"),
            ({"points": [{"id": 70, "vector": {"bm25": {"text": 5, "model": "qdrant/bm25"},
                                              "dense": [0.0, 1.0]}}]}, "text"),
            ({"points": [{"id": 70, "vector": {"dense": doc("x")}}]}, "dense"),
        ]
        for body, word in cases:
            r = self.c.call("PUT", f"/collections/{COLL}/points?wait=true", body)
            self.assertEqual(r.status, 400, r.describe())
            self.assertIn(word, r.error or "", r.describe())
        self.assertEqual(self.c.count(COLL), before)
        r = self.c.call("POST", f"/collections/{COLL}/points/query",
                        {"query": {"text": "x", "model": "bert"}, "using": "bm25"})
        self.assertEqual(r.status, 400, r.describe())


if __name__ == "__main__":
    vh.main()

"""End-to-end: the Query API's plans (prefetch, rrf, dbsf, recommend, mmr) and /points/recommend against
a brute force computed here, on a collection of 3 shards, and bad plans refused with a clear 400.

Every reference follows the definitions in docs/api.md ("Query API"): RRF with Qdrant's k = 2 and
1 / ((pos + 1) / w + k - 1); DBSF by mean +- 3 sample standard deviations; MMR greedily with
lambda = 1 - diversity; recommend best_score with Qdrant's sigmoid, sum_scores as sums, average_vector
as 2 avg(pos) - avg(neg).
"""

import math
import random

import cluster_harness as ch
import vjharness as vh

COLL = "qa"
N = 300
DIM_A = 8   # "a": Cosine
DIM_B = 4   # "b": Euclid
GROUPS = 5


def cos(a, b):
    return vh.dot(vh.normalize(a), vh.normalize(b))


def euclid(a, b):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def sigmoid(x):
    return 0.5 * (x / (1.0 + abs(x)) + 1.0)


def rank(scored, higher=True):
    """[(id, score)] best first, ties by id."""
    return sorted(scored, key=lambda t: ((-t[1] if higher else t[1]), t[0]))


def rrf(lists, k=2, weights=None):
    total = {}
    for i, lst in enumerate(lists):
        w = 1.0 if weights is None else weights[i]
        for pos, (pid, _) in enumerate(lst):
            total[pid] = total.get(pid, 0.0) + (0.0 if w <= 0 else 1.0 / ((pos + 1) / w + k - 1))
    return rank(total.items())


def dbsf(lists):
    total = {}
    for lst in lists:
        scores = [s for _, s in lst]
        n = len(scores)
        mean = sum(scores) / n if n else 0.0
        sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1)) if n >= 2 else 0.0
        low, high = mean - 3 * sd, mean + 3 * sd
        for pid, s in lst:
            norm = 0.5 if (n < 2 or high == low) else (s - low) / (high - low)
            total[pid] = total.get(pid, 0.0) + norm
    return rank(total.items())


def mmr(candidates, vec_of, diversity, limit):
    """candidates: [(id, relevance)] best first; similarity = cosine of the stored vectors."""
    lam = 1.0 - diversity
    chosen = []
    left = list(range(len(candidates)))
    max_sim = [-math.inf] * len(candidates)
    while left and len(chosen) < limit:
        if not chosen:
            best = max(left, key=lambda i: (candidates[i][1], -i))
        else:
            best = max(left, key=lambda i: (lam * candidates[i][1] - diversity * max_sim[i], -i))
        left.remove(best)
        chosen.append(best)
        for i in left:
            max_sim[i] = max(max_sim[i], cos(vec_of[candidates[i][0]], vec_of[candidates[best][0]]))
    return [candidates[i] for i in chosen]


class QueryApiTest(vh.SharedServerTestCase):

    @classmethod
    def load(cls):
        rnd = random.Random(20261207)
        cls.client.create_collection(COLL, body={
            "vectors": {"a": {"size": DIM_A, "distance": "Cosine"}, "b": {"size": DIM_B, "distance": "Euclid"}},
            "shard_number": 3})
        cls.a = {}
        cls.b = {}
        cls.group = {}
        points = []
        for i in range(N):
            pid = i * 7 + 1
            cls.a[pid] = vh.f32vec([rnd.gauss(0, 1) for _ in range(DIM_A)])
            cls.b[pid] = vh.f32vec([rnd.gauss(0, 1) for _ in range(DIM_B)])
            cls.group[pid] = i % GROUPS
            points.append({"id": pid, "vector": {"a": cls.a[pid], "b": cls.b[pid]},
                           "payload": {"group": i % GROUPS, "i": i}})
        for start in range(0, N, 100):
            cls.client.upsert(COLL, points[start:start + 100])
        cls.rnd = rnd

    # ---- helpers
    def qa(self):
        return vh.f32vec([self.rnd.gauss(0, 1) for _ in range(DIM_A)])

    def qb(self):
        return vh.f32vec([self.rnd.gauss(0, 1) for _ in range(DIM_B)])

    def ids(self, group=None, exclude=()):
        return [p for p in self.a if (group is None or self.group[p] == group) and p not in exclude]

    def nearest_a(self, q, limit, group=None, exclude=()):
        return rank([(p, cos(q, self.a[p])) for p in self.ids(group, exclude)])[:limit]

    def nearest_b(self, q, limit, group=None, exclude=()):
        return rank([(p, euclid(q, self.b[p])) for p in self.ids(group, exclude)], higher=False)[:limit]

    def query(self, body, path="/points/query"):
        return self.client.ok("POST", f"/collections/{COLL}{path}", body)

    def assert_ranking(self, got, expected, ctx):
        """got: server points; expected: [(id, score)] best first. Equal within float noise: every rank's
        score matches, and every returned id has the score the reference gives it (ties may swap)."""
        self.assertEqual(len(got), len(expected), f"{ctx}: {len(got)} points, expected {len(expected)}: "
                         f"{[p['id'] for p in got]} vs {[e[0] for e in expected]}")
        ref = dict(expected)
        for i, (p, (eid, es)) in enumerate(zip(got, expected)):
            self.assertTrue(vh.score_close(p["score"], es, 1e-4),
                            f"{ctx}: rank {i}: score {p['score']} expected {es} (id {p['id']} vs {eid})")
            if p["id"] != eid:
                self.assertIn(p["id"], ref, f"{ctx}: rank {i}: id {p['id']} not in the reference")
                self.assertTrue(vh.score_close(ref[p["id"]], es, 1e-4), f"{ctx}: rank {i}: {p['id']} vs {eid}")
        self.assertEqual(len({p["id"] for p in got}), len(got), f"{ctx}: duplicate ids")

    # ---- fusion
    def test_rrf_default_k(self):
        for trial in range(5):
            q1, q2 = self.qa(), self.qb()
            got = self.query({"prefetch": [{"query": q1, "using": "a", "limit": 20},
                                           {"query": q2, "using": "b", "limit": 20}],
                              "query": {"fusion": "rrf"}, "limit": 10})["points"]
            expected = rrf([self.nearest_a(q1, 20), self.nearest_b(q2, 20)])[:10]
            self.assert_ranking(got, expected, f"rrf trial {trial}")

    def test_rrf_k_and_weights_and_offset(self):
        q1, q2, q3 = self.qa(), self.qb(), self.qa()
        got = self.query({"prefetch": [{"query": q1, "using": "a", "limit": 15},
                                       {"query": q2, "using": "b", "limit": 25},
                                       {"query": q3, "using": "a", "limit": 10}],
                          "query": {"rrf": {"k": 10, "weights": [3.0, 1.0, 0.5]}}, "limit": 7, "offset": 3,
                          "with_payload": True})["points"]
        expected = rrf([self.nearest_a(q1, 15), self.nearest_b(q2, 25), self.nearest_a(q3, 10)], 10,
                       [3.0, 1.0, 0.5])[3:10]
        self.assert_ranking(got, expected, "weighted rrf")
        for p in got:
            self.assertEqual(p["payload"]["group"], self.group[p["id"]])
            self.assertNotIn("vector", p)

    def test_dbsf(self):
        for trial in range(3):
            q1, q2 = self.qa(), self.qb()
            got = self.query({"prefetch": [{"query": q1, "using": "a", "limit": 30},
                                           {"query": q2, "using": "b", "limit": 30}],
                              "query": {"fusion": "dbsf"}, "limit": 12})["points"]
            # Euclid distances are negated first, so that every list is higher-is-better.
            lb = [(p, -s) for p, s in self.nearest_b(q2, 30)]
            expected = dbsf([self.nearest_a(q1, 30), lb])[:12]
            self.assert_ranking(got, expected, f"dbsf trial {trial}")

    def test_fusion_score_threshold(self):
        q1, q2 = self.qa(), self.qb()
        got = self.query({"prefetch": [{"query": q1, "using": "a", "limit": 20},
                                       {"query": q2, "using": "b", "limit": 20}],
                          "query": {"fusion": "rrf"}, "limit": 50, "score_threshold": 0.3})["points"]
        expected = [e for e in rrf([self.nearest_a(q1, 20), self.nearest_b(q2, 20)]) if e[1] >= 0.3]
        self.assert_ranking(got, expected, "rrf threshold")

    # ---- re-scoring, nesting, filters
    def test_nested_prefetch_rescore_with_filter(self):
        q1, q2, q3 = self.qa(), self.qb(), self.qa()
        flt = {"must": [{"key": "group", "match": {"any": [1, 3]}}]}
        got = self.query({
            "prefetch": {"prefetch": [{"query": q1, "using": "a", "limit": 60}],
                         "query": q2, "using": "b", "limit": 25},
            "query": q3, "using": "a", "filter": flt, "limit": 10, "with_vector": ["a"]})["points"]
        # The top filter applies to every prefetch below it.
        allowed = {p for p in self.a if self.group[p] in (1, 3)}
        level2 = [p for p, _ in rank([(p, cos(q1, self.a[p])) for p in allowed])[:60]]
        level1 = [p for p, _ in rank([(p, euclid(q2, self.b[p])) for p in level2], higher=False)[:25]]
        expected = rank([(p, cos(q3, self.a[p])) for p in level1])[:10]
        self.assert_ranking(got, expected, "nested re-score")
        for p in got:
            self.assertTrue(vh.vectors_equal_f32(p["vector"]["a"], vh.f32vec(vh.normalize(self.a[p["id"]])))
                            or all(abs(x - y) < 1e-5 for x, y in zip(p["vector"]["a"], vh.normalize(self.a[p["id"]]))))

    def test_single_prefetch_without_query_and_filter_only_prefetch(self):
        q1 = self.qa()
        got = self.query({"prefetch": {"query": q1, "using": "a", "limit": 9}, "limit": 5})["points"]
        self.assert_ranking(got, self.nearest_a(q1, 9)[:5], "pass-through prefetch")
        # A filter-only prefetch lists points in id order; RRF ranks them so.
        q2 = self.qb()
        flt = {"must": [{"key": "group", "match": {"value": 2}}]}
        got = self.query({"prefetch": [{"filter": flt, "limit": 10}, {"query": q2, "using": "b", "limit": 10}],
                          "query": {"fusion": "rrf"}, "limit": 20})["points"]
        by_id = [(p, 0.0) for p in sorted(self.ids(group=2))[:10]]
        self.assert_ranking(got, rrf([by_id, self.nearest_b(q2, 10)])[:20], "filter-only prefetch")

    def test_no_query_lists_points_in_id_order_with_score_zero(self):
        # Qdrant answers a body without "query" and "prefetch" with points in id order, after `offset`,
        # each a ScoredPoint with score 0 and a version.
        flt = {"must": [{"key": "group", "match": {"value": 2}}]}
        ids = sorted(self.ids(group=2))
        got = self.query({"filter": flt, "limit": 4, "offset": 3})["points"]
        self.assertEqual([p["id"] for p in got], ids[3:7])
        for p in got:
            self.assertEqual(p["score"], 0, p)
            self.assertIn("version", p)

    def test_query_by_id_excludes_the_point(self):
        pid = sorted(self.a)[17]
        got = self.query({"query": pid, "using": "a", "limit": 5, "prefetch": {"query": self.qa(), "using": "a",
                                                                                 "limit": 100}})["points"]
        self.assertNotIn(pid, [p["id"] for p in got])
        self.assertEqual(len(got), 5)

    # ---- recommend
    def test_recommend_strategies(self):
        pos_ids = sorted(self.a)[3:6]
        neg_ids = sorted(self.a)[40:42]
        raw_pos = self.qa()
        flt = {"must_not": [{"key": "group", "match": {"value": 0}}]}
        examples = set(pos_ids) | set(neg_ids)
        pos_vecs = [vh.normalize(self.a[p]) for p in pos_ids] + [raw_pos]
        neg_vecs = [vh.normalize(self.a[p]) for p in neg_ids]
        cands = [p for p in self.a if self.group[p] != 0 and p not in examples]
        for strategy in ("average_vector", "best_score", "sum_scores"):
            got = self.query({"query": {"recommend": {"positive": pos_ids + [raw_pos], "negative": neg_ids,
                                                      "strategy": strategy}},
                              "using": "a", "filter": flt, "limit": 10})["points"]
            if strategy == "average_vector":
                avg_p = [sum(v[i] for v in pos_vecs) / len(pos_vecs) for i in range(DIM_A)]
                avg_n = [sum(v[i] for v in neg_vecs) / len(neg_vecs) for i in range(DIM_A)]
                target = [2 * x - y for x, y in zip(avg_p, avg_n)]
                expected = rank([(p, cos(target, self.a[p])) for p in cands])[:10]
            elif strategy == "best_score":
                def best(p):
                    bp = max(cos(v, self.a[p]) for v in pos_vecs)
                    bn = max(cos(v, self.a[p]) for v in neg_vecs)
                    return sigmoid(bp) if bp > bn else -sigmoid(bn)
                expected = rank([(p, best(p)) for p in cands])[:10]
            else:
                expected = rank([(p, sum(cos(v, self.a[p]) for v in pos_vecs)
                                  - sum(cos(v, self.a[p]) for v in neg_vecs)) for p in cands])[:10]
            self.assert_ranking(got, expected, f"recommend {strategy}")

    def test_recommend_negative_only_best_score(self):
        neg = [self.qa()]
        got = self.query({"query": {"recommend": {"negative": neg, "strategy": "best_score"}}, "using": "a",
                          "limit": 5})["points"]
        expected = rank([(p, -sigmoid(cos(neg[0], self.a[p]))) for p in self.a])[:5]
        self.assert_ranking(got, expected, "negative-only best_score")

    def test_old_recommend_endpoint_and_batch(self):
        pos_ids = sorted(self.a)[50:52]
        neg_ids = sorted(self.a)[60:61]
        body = {"positive": pos_ids, "negative": neg_ids, "using": "a", "limit": 6, "with_payload": ["i"],
                "strategy": "sum_scores"}
        got = self.query(body, "/points/recommend")
        cands = [p for p in self.a if p not in pos_ids + neg_ids]
        pos_vecs = [self.a[p] for p in pos_ids]
        neg_vecs = [self.a[p] for p in neg_ids]
        expected = rank([(p, sum(cos(v, self.a[p]) for v in pos_vecs) - sum(cos(v, self.a[p]) for v in neg_vecs))
                         for p in cands])[:6]
        self.assert_ranking(got, expected, "/points/recommend")
        self.assertEqual(set(got[0]["payload"]), {"i"})
        batch = self.query({"searches": [body, dict(body, strategy="average_vector", limit=3)]},
                           "/points/recommend/batch")
        self.assertEqual(len(batch), 2)
        self.assertEqual([p["id"] for p in batch[0]], [p["id"] for p in got])
        self.assertEqual(len(batch[1]), 3)
        self.client.err("POST", f"/collections/{COLL}/points/recommend", {"positive": [999999], "using": "a"},
                        status=404, mentions="999999")

    def test_discover_and_context(self):
        ids = sorted(self.a)
        target = self.qa()
        raw = self.qa()
        pairs = [(ids[5], ids[9]), (raw, ids[30])]
        examples = {ids[5], ids[9], ids[30]}

        def vec(x):
            return x if isinstance(x, list) else self.a[x]

        def sides(p):
            return [(cos(vec(pos), self.a[p]), cos(vec(neg), self.a[p])) for pos, neg in pairs]
        cands = [p for p in self.a if p not in examples and self.group[p] != 4]
        flt = {"must_not": [{"key": "group", "match": {"value": 4}}]}
        context = [{"positive": pos, "negative": neg} for pos, neg in pairs]
        got = self.query({"query": {"discover": {"target": target, "context": context}}, "using": "a",
                          "filter": flt, "limit": 10})["points"]
        expected = rank([(p, sum(1 if sp > sn else -1 for sp, sn in sides(p)) + sigmoid(cos(target, self.a[p])))
                         for p in cands])[:10]
        self.assert_ranking(got, expected, "discover")
        eps = 1.1920929e-07
        got = self.query({"query": {"context": context}, "using": "a", "filter": flt, "limit": 15})["points"]

        def loss(p):
            total = 0.0
            for sp, sn in sides(p):
                d = min(sp - sn - eps, 0.0)
                total += d / (1 + abs(d))
            return total
        self.assert_ranking(got, rank([(p, loss(p)) for p in cands])[:15], "context")
        # The older /points/discover: with a target a discover query, without one a context query.
        old = self.query({"target": target, "context": context, "using": "a", "filter": flt, "limit": 10},
                         "/points/discover")
        self.assert_ranking(old, expected, "/points/discover")
        batch = self.query({"searches": [{"context": context, "using": "a", "filter": flt, "limit": 15}]},
                           "/points/discover/batch")
        self.assert_ranking(batch[0], rank([(p, loss(p)) for p in cands])[:15], "/points/discover/batch context")
        self.client.err("POST", f"/collections/{COLL}/points/discover", {"using": "a"}, status=400, mentions="target")
        # A single pair object is a context of one pair.
        got = self.query({"query": {"context": context[0]}, "using": "a", "limit": 3})["points"]
        self.assertEqual(len(got), 3)

    # ---- mmr
    def test_mmr(self):
        for diversity in (0.0, 0.5, 0.9):
            q = self.qa()
            got = self.query({"query": {"nearest": q, "mmr": {"diversity": diversity, "candidates_limit": 40}},
                              "using": "a", "limit": 8})["points"]
            expected = mmr(self.nearest_a(q, 40), self.a, diversity, 8)
            self.assertEqual([p["id"] for p in got], [e[0] for e in expected], f"mmr diversity {diversity}")
            for p, (_, s) in zip(got, expected):
                self.assertTrue(vh.score_close(p["score"], s, 1e-4))

    def test_mmr_over_prefetch_in_batch(self):
        q1, q2 = self.qa(), self.qb()
        body = {"prefetch": {"query": q2, "using": "b", "limit": 50},
                "query": {"nearest": q1, "mmr": {"diversity": 0.7}}, "using": "a", "limit": 6}
        res = self.query({"searches": [body, {"query": q1, "using": "a", "limit": 3}]}, "/points/query/batch")
        pool = [p for p, _ in self.nearest_b(q2, 50)]
        cands = rank([(p, cos(q1, self.a[p])) for p in pool])[:6]  # candidates_limit defaults to limit
        expected = mmr(cands, self.a, 0.7, 6)
        self.assertEqual([p["id"] for p in res[0]["points"]], [e[0] for e in expected])
        self.assert_ranking(res[1]["points"], self.nearest_a(q1, 3), "plain query in batch")

    # ---- bad plans
    def test_bad_plans_are_refused(self):
        path = f"/collections/{COLL}/points/query"
        q = self.qa()
        cases = [
            ({"query": {"discover": {"context": []}}, "using": "a"}, "query.discover.target"),
            ({"query": {"context": []}, "using": "a"}, "needs at least one pair"),
            ({"query": {"context": [{"positive": q}]}, "using": "a"}, "\"positive\" and \"negative\""),
            ({"query": {"order_by": "i"}}, "order_by"),
            ({"query": {"formula": {"sum": []}}}, "formula"),
            ({"query": {"bogus": 1}}, "unknown query operator \"bogus\""),
            ({"query": {"fusion": "max"}}, "unknown fusion"),
            ({"query": {"fusion": "rrf"}}, "needs prefetches"),
            ({"prefetch": [{"query": q, "using": "a"}, {"query": q, "using": "a"}]}, "several prefetches"),
            ({"prefetch": [{"query": q, "using": "a"}], "query": {"rrf": {"weights": [1, 2]}}}, "one weight per"),
            ({"prefetch": [{"query": q, "using": "a"}], "query": {"rrf": {"k": 0}}}, "query.rrf.k"),
            ({"query": {"nearest": q, "mmr": {"diversity": 2}}, "using": "a"}, "query.mmr.diversity"),
            ({"query": {"recommend": {"positive": []}}, "using": "a"}, "positive"),
            ({"query": {"recommend": {"positive": [q], "strategy": "median"}}, "using": "a"}, "unknown strategy"),
            ({"prefetch": {"query": q, "using": "a", "offset": 3}, "query": q, "using": "a"}, "prefetch: unknown field"),
            ({"prefetch": {"query": q, "using": "a", "lookup_from": {"collection": "x"}}, "query": q}, "lookup_from"),
            ({"query": {"indices": [1], "values": [0.5]}}, "sparse"),
            ({"prefetch": [{"query": q, "using": "a", "limit": 6000}, {"query": q, "using": "a", "limit": 6000}],
              "query": {"fusion": "rrf"}}, "query_candidates"),
            ({"prefetch": [{"query": q, "using": "a", "limit": 1}] * 65, "query": {"fusion": "rrf"}}, "limits.prefetches"),
            ({"query": {"recommend": {"positive": [q] * 300}}, "using": "a"}, "recommend_examples"),
        ]
        nested = {"query": q, "using": "a", "limit": 1}
        for _ in range(9):
            nested = {"prefetch": nested, "query": q, "using": "a", "limit": 1}
        cases.append((dict(nested), "prefetch_depth"))
        for body, mention in cases:
            self.client.err("POST", path, body, status=400, mentions=mention)
        # A plan at the depth limit runs.
        nested = {"query": q, "using": "a", "limit": 3}
        for _ in range(8):
            nested = {"prefetch": nested, "query": q, "using": "a", "limit": 3}
        self.assertEqual(len(self.query(dict(nested, limit=3))["points"]), 3)
        # Wrong vector names or dimensions in a prefetch are the shard's 400s.
        self.client.err("POST", path, {"prefetch": {"query": q, "using": "zzz"}, "query": q, "using": "a"},
                        status=400, mentions="zzz")
        self.client.err("POST", path, {"prefetch": {"query": [1.0, 2.0], "using": "a"}, "query": {"fusion": "dbsf"}},
                        status=400, mentions="dimension")
        self.client.err("POST", path, {"prefetch": {"query": 123456789, "using": "a"}, "query": {"fusion": "rrf"}},
                        status=404, mentions="123456789")
        self.assertEqual(self.client.count(COLL), N)


class ClusterQueryApiTest(ch.ClusterTestCase):
    """The same plans on two nodes with a real etcd: the 3 shards live on both nodes, so retrievers run
    on peers through the internal query route (recommend best_score included) and fusion and mmr run at
    the node that took the request."""

    node_names = ("n1", "n2")

    def test_plans_through_either_node(self):
        body = {"vectors": {"size": DIM_A, "distance": "Cosine"}, "shard_number": 3, "replication_factor": 1}
        ch.wait_for(lambda: self.client("n1").call("PUT", "/collections/cq", body).status == 200 or None,
                    "the collection to be created")
        rnd = random.Random(77)
        vec = {i + 1: vh.f32vec([rnd.gauss(0, 1) for _ in range(DIM_A)]) for i in range(150)}
        self.client("n1").upsert("cq", [{"id": pid, "vector": v} for pid, v in vec.items()])
        owners = {self.primary_of("cq", s) for s in range(3)}
        self.assertEqual(owners, {"n1", "n2"}, "the shards should live on both nodes")

        def nearest(q, limit):
            return rank([(p, cos(q, v)) for p, v in vec.items()])[:limit]

        def check(got, expected, ctx):
            self.assertEqual(len(got), len(expected), ctx)
            for i, (p, (eid, es)) in enumerate(zip(got, expected)):
                self.assertTrue(vh.score_close(p["score"], es, 1e-4), f"{ctx}: rank {i}: {p} vs {(eid, es)}")

        for via in ("n1", "n2"):
            c = self.client(via)
            q1, q2 = [vh.f32vec([rnd.gauss(0, 1) for _ in range(DIM_A)]) for _ in range(2)]
            got = c.ok("POST", "/collections/cq/points/query",
                       {"prefetch": [{"query": q1, "limit": 20}, {"query": q2, "limit": 20}],
                        "query": {"fusion": "rrf"}, "limit": 10})["points"]
            check(got, rrf([nearest(q1, 20), nearest(q2, 20)])[:10], f"rrf via {via}")
            pos, neg = q1, q2
            got = c.ok("POST", "/collections/cq/points/query",
                       {"query": {"recommend": {"positive": [pos, 5], "negative": [neg], "strategy": "best_score"}},
                        "limit": 8})["points"]

            def best(p):
                bp = max(cos(pos, vec[p]), cos(vec[5], vec[p]))
                bn = cos(neg, vec[p])
                return sigmoid(bp) if bp > bn else -sigmoid(bn)
            check(got, rank([(p, best(p)) for p in vec if p != 5])[:8], f"best_score via {via}")
            got = c.ok("POST", "/collections/cq/points/query",
                       {"query": {"nearest": q1, "mmr": {"diversity": 0.5, "candidates_limit": 30}},
                        "limit": 5})["points"]
            self.assertEqual([p["id"] for p in got], [e[0] for e in mmr(nearest(q1, 30), vec, 0.5, 5)],
                             f"mmr via {via}")
            got = c.ok("POST", "/collections/cq/points/query",
                       {"query": {"discover": {"target": q2, "context": [{"positive": 7, "negative": q1}]}},
                        "limit": 6})["points"]

            def disc(p):
                return (1 if cos(vec[7], vec[p]) > cos(q1, vec[p]) else -1) + sigmoid(cos(q2, vec[p]))
            check(got, rank([(p, disc(p)) for p in vec if p != 7])[:6], f"discover via {via}")
            got = c.ok("POST", "/collections/cq/points/recommend", {"positive": [3, 4], "limit": 4})
            avg = [(a + b) / 2 for a, b in zip(vh.normalize(vec[3]), vh.normalize(vec[4]))]
            check(got, rank([(p, cos(avg, vec[p])) for p in vec if p not in (3, 4)])[:4], f"recommend via {via}")


if __name__ == "__main__":
    vh.main()

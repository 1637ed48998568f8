"""End-to-end: cost limits and deadlines (issue 11). Each request an attacker used to burn a node's CPU,
threads or disk is refused with 400 and Qdrant's error envelope naming the field and the limit, before
any work and without changing what is stored; Qdrant's ?timeout= stops heavy reads with its 408 timeout
answer, while the same read without a timeout still answers correctly. Bounds on time below are
liveness bounds with a wide margin, not performance assertions."""

import os
import time

import vjharness as vh

COLL = "lim"
N_POINTS = 5000


def threads_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads line")


def point(i):
    return {"id": i, "vector": [float(i % 17), float(i % 5), 1.0, float(i % 3)], "payload": {"tag": i % 100}}


class RequestLimitsTest(vh.ServerTestCase):

    def setUp(self):
        super().setUp()
        self.client.create_collection(COLL, size=4, distance="Euclid")
        self.client.upsert(COLL, [point(i) for i in range(1, 21)])

    def assertStored(self, ctx):
        self.assertTrue(self.server.alive(), f"server died after {ctx}")
        self.assertEqual(self.client.count(COLL), 20, f"points changed after {ctx}")

    def refused(self, method, path, body, mentions, bound_s=20):
        start = time.monotonic()
        r = self.client.err(method, path, body, status=400, mentions=mentions)
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, bound_s, f"refusal took {elapsed:.1f}s: {r.describe()}")
        self.assertStored(f"{method} {path}")
        return r

    # ------------------------------------------------------------------ filters

    def test_huge_match_any_is_refused_quickly(self):
        huge = {"must": [{"key": "tag", "match": {"any": list(range(1_000_000))}}]}
        for path in ("/points/count", "/points/scroll"):
            r = self.refused("POST", f"/collections/{COLL}{path}", {"filter": huge}, "filter_match_values")
            self.assertIn("filter.must[0].match.any", r.error)
            self.assertIn("1000000", r.error)
            self.assertIn("10000", r.error)
        self.refused("POST", f"/collections/{COLL}/points/search",
                     {"vector": [0, 0, 0, 0], "filter": {"must_not": [{"key": "tag", "match": {"except": list(range(20000))}}]}},
                     "filter.must_not[0].match.except")
        self.refused("POST", f"/collections/{COLL}/points/delete?wait=true",
                     {"filter": {"must": [{"has_id": list(range(20000))}]}}, "filter_has_id")

    def test_match_any_at_the_limit_answers_correctly(self):
        # 10,000 values (the limit), of which the tags 3 and 7 are stored: ids 3 and 7.
        values = list(range(1000, 10998)) + [3, 7]
        self.assertEqual(len(values), 10000)
        flt = {"must": [{"key": "tag", "match": {"any": values}}]}
        self.assertEqual(self.client.count(COLL, flt), 2)
        names = [f"n{i}" for i in range(10000)]
        self.assertEqual(self.client.count(COLL, {"must": [{"key": "tag", "match": {"any": names}}]}), 0)
        flt = {"must_not": [{"key": "tag", "match": {"except": values}}]}
        self.assertEqual(self.client.count(COLL, flt), 2)

    def test_should_with_50k_conditions_is_refused(self):
        should = [{"key": "tag", "match": {"value": i}} for i in range(50000)]
        self.refused("POST", f"/collections/{COLL}/points/count", {"filter": {"should": should}},
                     ["filter.should: 50000 conditions"])
        # Spread over many clauses, the total is bounded too.
        nested = {"should": [{"should": [{"key": "tag", "match": {"value": i}} for i in range(900)]}
                             for _ in range(8)]}
        self.refused("POST", f"/collections/{COLL}/points/count", {"filter": nested}, "filter_conditions")

    # ------------------------------------------------------------------ batches and sizes

    def test_search_batch_of_1000_is_refused_and_100_answers(self):
        one = {"vector": [1, 1, 1, 1], "limit": 1, "filter": {"must": [{"key": "tag", "match": {"value": 3}}]}}
        for path in ("/points/search/batch", "/points/query/batch"):
            body = {"searches": [one if path.endswith("search/batch") else
                                 {"query": [1, 1, 1, 1], "limit": 1, "filter": one["filter"]}] * 1000}
            self.refused("POST", f"/collections/{COLL}{path}", body, ["searches: 1000 queries", "batch_queries"])
        res = self.client.ok("POST", f"/collections/{COLL}/points/search/batch", {"searches": [one] * 100})
        self.assertEqual(len(res), 100)
        self.assertTrue(all(r[0]["id"] == 3 for r in res))

    def test_limit_offset_and_sizes_over_the_cap_are_refused(self):
        search = f"/collections/{COLL}/points/search"
        self.refused("POST", search, {"vector": [0, 0, 0, 0], "limit": 10001}, ["limit: 10001", "setting limits.limit"])
        self.refused("POST", search, {"vector": [0, 0, 0, 0], "offset": 10001}, ["offset: 10001"])
        self.refused("POST", f"/collections/{COLL}/points/query", {"query": [0, 0, 0, 0], "limit": 50000}, "limit")
        self.refused("POST", f"/collections/{COLL}/points/scroll", {"limit": 10001}, "limit")
        self.assertEqual(len(self.client.ok("POST", search, {"vector": [0, 0, 0, 0], "limit": 10000})), 20)
        self.refused("POST", f"/collections/{COLL}/points/scroll",
                     {"with_payload": [f"k{i}" for i in range(257)]}, "payload_keys")
        self.refused("PUT", f"/collections/{COLL}/points?wait=true",
                     {"points": [point(i) for i in range(100, 10101)]}, ["points: 10001 points"])
        self.refused("POST", f"/collections/{COLL}/points", {"ids": list(range(10001))}, "points_per_request")
        self.refused("POST", f"/collections/{COLL}/points/delete?wait=true", {"points": list(range(10001))},
                     "points_per_request")

    # ------------------------------------------------------------------ collections

    def test_shard_number_1024_is_refused_without_spawning_threads(self):
        pid = self.server.proc.pid
        before = threads_of(pid)
        self.refused("PUT", "/collections/many", {"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 1024},
                     ["shard_number: 1024", "setting limits.shard_number"])
        self.refused("PUT", "/collections/many", {"vectors": {"size": 4, "distance": "Dot"}, "replication_factor": 16},
                     "replication_factor")
        self.assertLessEqual(threads_of(pid), before + 4)
        self.assertFalse(self.client.ok("GET", "/collections/many/exists")["exists"])
        self.assertFalse(os.path.exists(os.path.join(self.data_dir, "collections", "many")))
        self.client.create_collection("fine", body={"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 64})

    def test_collections_per_node(self):
        s = self.start_server(data_dir=os.path.join(self.tmp, "few"), env={"VJVECTOR_LIMITS_COLLECTIONS": "3"})
        c = s.client
        for name in ("a", "b", "c"):
            c.create_collection(name)
        c.err("PUT", "/collections/d", {"vectors": {"size": 4, "distance": "Dot"}}, status=400,
              mentions=["collections: 4 collections is over the limit of 3"])
        self.assertEqual(sorted(x["name"] for x in c.ok("GET", "/collections")["collections"]), ["a", "b", "c"])
        c.ok("DELETE", "/collections/a")
        c.create_collection("d")


class RequestTimeoutTest(vh.ServerTestCase):
    """A read over 5,000 points with 1,000 unindexed conditions costs ~5M condition evaluations (tens to
    hundreds of ms); a 1 ms timeout stops it inside the scan with Qdrant's 408."""

    def setUp(self):
        super().setUp()
        self.client.create_collection(COLL, body={"vectors": {"size": 4, "distance": "Euclid"},
                                                  "hnsw_config": {"m": 4, "ef_construct": 8}})
        for start in range(0, N_POINTS, 1000):
            self.client.upsert(COLL, [point(i) for i in range(start + 1, start + 1001)])
        # 999 conditions that match nothing, then tag == 7: every point is tested against all of them.
        self.filter = {"should": [{"key": "tag", "match": {"value": 1000 + i}} for i in range(999)] +
                                 [{"key": "tag", "match": {"value": 7}}]}
        self.query = [7.0, 2.0, 1.0, 1.0]

    def expected_top(self, k):
        def dist(p):
            return sum((a - b) ** 2 for a, b in zip(p["vector"], self.query))
        matching = [point(i) for i in range(1, N_POINTS + 1) if i % 100 == 7]
        return sorted(matching, key=lambda p: (dist(p), p["id"]))[:k]

    def timed_out(self, method, path, body, op):
        start = time.monotonic()
        r = self.client.err(method, path, body, status=408, mentions="timed out")
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, 10, f"timeout answer took {elapsed:.1f}s: {r.describe()}")
        self.assertTrue(r.error.startswith(f"Timeout error: Operation '{op}' timed out after 0.001 seconds"), r.error)
        self.assertTrue(self.server.alive())

    def test_timeout_stops_heavy_reads_and_no_timeout_answers(self):
        base = f"/collections/{COLL}/points"
        search = {"vector": self.query, "limit": 5, "filter": self.filter, "params": {"exact": True}}
        self.timed_out("POST", f"{base}/search?timeout=0.001", search, "Search")
        self.timed_out("POST", f"{base}/query?timeout=0.001",
                       {"query": self.query, "limit": 5, "filter": self.filter, "params": {"exact": True}}, "Search")
        self.timed_out("POST", f"{base}/count?timeout=0.001", {"filter": self.filter}, "Count")
        self.timed_out("POST", f"{base}/scroll?timeout=0.001", {"filter": self.filter, "limit": 10}, "Scroll")
        self.timed_out("POST", f"{base}/search/batch?timeout=0.001", {"searches": [search] * 20}, "Search")

        # The same reads without a timeout (the server's default, 30 s) answer, and correctly.
        got = self.client.ok("POST", f"{base}/search", search)
        want = self.expected_top(5)
        self.assertEqual([p["id"] for p in got], [p["id"] for p in want])
        self.assertEqual(self.client.count(COLL, self.filter), N_POINTS // 100)
        got = self.client.ok("POST", f"{base}/search?timeout=60", dict(search, params={}))
        self.assertEqual([p["id"] for p in got], [p["id"] for p in want])

    def test_bad_timeout_is_refused(self):
        for bad in ("abc", "-1", "0", "nan"):
            self.client.err("POST", f"/collections/{COLL}/points/search?timeout={bad}",
                            {"vector": self.query}, status=400, mentions="timeout")


if __name__ == "__main__":
    vh.main()

"""End-to-end: Qdrant's strict_mode_config (issue 10) against the real binary. A collection created with
strict mode refuses a query over max_query_limit (400, naming the limit) and a filter on an unindexed
key; a burst of writes over write_rate_limit gets 429 with Retry-After, and writes are accepted again
once that many seconds have passed (polled with a bound, never a fixed sleep). PATCH changes the config,
GET returns it, and it survives a restart."""

import time

import vjharness as vh

COLL = "strict"
WRITES_PER_MINUTE = 30  # burst 30, then one token every 2 s


class StrictModeTest(vh.ServerTestCase):

    def setUp(self):
        super().setUp()
        self.client.create_collection(COLL, body={
            "vectors": {"size": 2, "distance": "Dot"},
            "strict_mode_config": {"enabled": True, "max_query_limit": 5, "unindexed_filtering_retrieve": False,
                                   "write_rate_limit": WRITES_PER_MINUTE},
        })

    def upsert_one(self, i):
        return self.client.call("PUT", f"/collections/{COLL}/points?wait=true",
                                {"points": [{"id": i, "vector": [1.0, float(i)], "payload": {"n": i}}]})

    def test_config_is_returned_and_patched(self):
        info = self.client.ok("GET", f"/collections/{COLL}")
        self.assertEqual(info["config"]["strict_mode_config"],
                         {"enabled": True, "max_query_limit": 5, "unindexed_filtering_retrieve": False,
                          "write_rate_limit": WRITES_PER_MINUTE})
        self.assertIs(self.client.ok("PATCH", f"/collections/{COLL}", {"strict_mode_config": {"max_query_limit": 7}}),
                      True)
        self.client.err("PATCH", f"/collections/{COLL}", {"optimizers_config": {"indexing_threshold": 8}}, status=400,
                        mentions="optimizers_config.indexing_threshold")
        self.client.err("PATCH", f"/collections/{COLL}", {"strict_mode_config": {"max_query_limit": -1}}, status=400,
                        mentions="strict_mode_config.max_query_limit")
        self.server.stop()
        self.server = self.start_server()
        self.client = self.server.client
        info = self.client.ok("GET", f"/collections/{COLL}")
        self.assertEqual(info["config"]["strict_mode_config"]["max_query_limit"], 7)
        self.assertEqual(info["config"]["strict_mode_config"]["write_rate_limit"], WRITES_PER_MINUTE)

    def test_query_shape_limits(self):
        self.assertEqual(self.upsert_one(1).status, 200)
        self.client.err("POST", f"/collections/{COLL}/points/query", {"query": [1.0, 0.0], "limit": 6},
                        status=400, mentions="max_query_limit")
        self.client.err("POST", f"/collections/{COLL}/points/scroll", {"limit": 100}, status=400,
                        mentions="max_query_limit")
        got = self.client.ok("POST", f"/collections/{COLL}/points/query", {"query": [1.0, 0.0], "limit": 5})
        self.assertEqual([p["id"] for p in got["points"]], [1])
        flt = {"must": [{"key": "n", "match": {"value": 1}}]}
        self.client.err("POST", f"/collections/{COLL}/points/query", {"query": [1.0, 0.0], "filter": flt, "limit": 5},
                        status=400, mentions='Index required but not found for "n"')
        self.client.ok("PUT", f"/collections/{COLL}/index?wait=true", {"field_name": "n", "field_schema": "integer"})
        got = self.client.ok("POST", f"/collections/{COLL}/points/query",
                             {"query": [1.0, 0.0], "filter": flt, "limit": 5})
        self.assertEqual([p["id"] for p in got["points"]], [1])

    def test_write_burst_is_limited_then_recovers(self):
        statuses = [self.upsert_one(i) for i in range(1, WRITES_PER_MINUTE + 6)]
        ok = [r for r in statuses if r.status == 200]
        limited = [r for r in statuses if r.status == 429]
        # The burst is the minute's allowance; a write or two may refill while the burst runs.
        self.assertGreaterEqual(len(ok), WRITES_PER_MINUTE, [r.describe() for r in statuses if r.status != 200])
        self.assertTrue(limited, "no write was refused")
        self.assertEqual(len(ok) + len(limited), len(statuses), [r.describe() for r in statuses])
        refusal = limited[-1]
        self.assertIn("write_rate_limit", refusal.error)
        retry_after = int(refusal.headers.get("Retry-After", "0"))
        self.assertGreaterEqual(retry_after, 1, refusal.headers)
        self.assertLessEqual(retry_after, 60 // WRITES_PER_MINUTE + 1)
        # Reads have their own (unset) limit.
        self.client.ok("POST", f"/collections/{COLL}/points/count", {})
        # Allowed again after Retry-After seconds: poll until then (bounded), never a fixed sleep.
        first = time.monotonic()
        deadline = first + retry_after + 10
        while True:
            r = self.upsert_one(1000)
            if r.status == 200:
                break
            self.assertEqual(r.status, 429, r.describe())
            self.assertLess(time.monotonic(), deadline, "writes still refused well after Retry-After")
            time.sleep(0.1)
        self.assertEqual(self.client.count(COLL), len(ok) + 1)


if __name__ == "__main__":
    vh.main()

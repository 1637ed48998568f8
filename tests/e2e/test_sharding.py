"""End-to-end: a collection with shard_number 3 answers exactly like one with a single shard, before and
after a restart (queries with exact=true, filtered queries, scroll pages, counts, retrieve, payload
updates and deletes routed to the owning shards).
"""

import random

import vjharness as vh

N = 900
DIM = 8


def points_for(rnd):
    pts = []
    for i in range(N):
        pid = i * 5 + 2 if i % 10 else f"00000000-0000-4000-8000-{i:012d}"
        pts.append({"id": pid,
                    "vector": vh.f32vec([rnd.gauss(0.0, 1.0) for _ in range(DIM)]),
                    "payload": {"group": i % 7, "name": f"p{i}"}})
    return pts


class ShardingTest(vh.SharedServerTestCase):

    @classmethod
    def load(cls):
        rnd = random.Random(77)
        cls.points = points_for(rnd)
        for name, shards in (("one", 1), ("three", 3)):
            cls.client.create_collection(name, body={"vectors": {"size": DIM, "distance": "Euclid"},
                                                     "shard_number": shards})
            for start in range(0, N, 200):
                cls.client.upsert(name, cls.points[start:start + 200])
        cls.queries = [vh.f32vec([rnd.gauss(0.0, 1.0) for _ in range(DIM)]) for _ in range(15)]

    def query_ids(self, name, q, **extra):
        body = {"query": q, "limit": 9, "offset": 2, "params": {"exact": True}}
        body.update(extra)
        res = self.client.ok("POST", f"/collections/{name}/points/query", body)
        return [(p["id"], round(p["score"], 4)) for p in res["points"]]

    def assert_same_answers(self):
        c = self.client
        for q in self.queries:
            self.assertEqual(self.query_ids("one", q), self.query_ids("three", q))
            flt = {"must": [{"key": "group", "match": {"any": [1, 4]}}]}
            self.assertEqual(self.query_ids("one", q, filter=flt), self.query_ids("three", q, filter=flt))
        for limit in (7, 100):
            one = [p["id"] for p in c.scroll_all("one", limit=limit)]
            three = [p["id"] for p in c.scroll_all("three", limit=limit)]
            self.assertEqual(one, three)
        flt = {"must_not": [{"key": "group", "match": {"value": 3}}]}
        self.assertEqual(c.count("one", flt), c.count("three", flt))
        ids = [self.points[i]["id"] for i in (0, 5, 17, 301, 899)] + [999999]
        self.assertEqual(c.retrieve("one", ids), c.retrieve("three", ids))
        self.assertEqual(c.ok("GET", "/collections/one")["points_count"],
                         c.ok("GET", "/collections/three")["points_count"])

    def test_same_answers_through_writes_and_restart(self):
        self.assert_same_answers()
        c = self.client
        for name in ("one", "three"):
            c.ok("POST", f"/collections/{name}/points/payload?wait=true",
                 {"payload": {"flag": True}, "points": [self.points[i]["id"] for i in range(0, 60, 3)]})
            c.ok("POST", f"/collections/{name}/points/delete?wait=true",
                 {"filter": {"must": [{"key": "group", "match": {"value": 6}}]}})
            c.ok("PUT", f"/collections/{name}/index?wait=true", {"field_name": "group", "field_schema": "integer"})
        self.assertEqual(c.count("three", {"must": [{"key": "flag", "match": {"value": True}}]}), 17)
        self.assert_same_answers()
        self.server.stop()
        self.server.start()
        self.assert_same_answers()
        info = c.ok("GET", "/collections/three")
        self.assertEqual(info["config"]["params"]["shard_number"], 3)
        self.assertIn("group", info["payload_schema"])


if __name__ == "__main__":
    vh.main()

"""End-to-end: search/query groups, scroll order_by, facet and the search matrix of a collection with
shard_number 3, each checked against a brute force computed here from the points the test wrote; bad
inputs answer 400 naming the field, and nothing stored changes. ClusterGroupsFacetsTest runs the same
checks on two nodes with a real etcd, through a node that holds only some of the shards (the others are
read from its peer through the /internal/shards routes).
"""

import datetime
import random

import cluster_harness as ch
import vjharness as vh

N = 400
DIM = 6
COLORS = [f"c{i}" for i in range(13)]


def points_for(rnd):
    pts = []
    for i in range(N):
        colors = [rnd.choice(COLORS)]
        if i % 4 == 0:
            colors.append(rnd.choice(COLORS))
        rank = rnd.randrange(30) if i % 6 else [rnd.randrange(30), 50]
        pts.append({"id": i * 3 + 1,
                    "vector": vh.f32vec([rnd.gauss(0.0, 1.0) for _ in range(DIM)]),
                    "payload": {"color": colors, "rank": rank, "odd": i % 2 == 1, "score": rnd.random(),
                                "at": f"2024-03-{rnd.randrange(1, 29):02d}T{rnd.randrange(24):02d}:30:00Z"}})
    return pts


def vh_datetime(text):
    """Seconds since the epoch of an RFC 3339 string (a date alone is midnight UTC)."""
    if len(text) == 10:
        text += "T00:00:00Z"
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def values(v):
    vals = v if isinstance(v, list) else [v]
    out = []
    for x in vals:
        if x not in out:
            out.append(x)
    return out


def load(cls, c):
    """Creates and fills collections g (3 shards) and colors through client c; keeps the points on cls."""
    rnd = random.Random(31)
    cls.points = points_for(rnd)
    cls.by_id = {p["id"]: p for p in cls.points}
    c.create_collection("g", body={"vectors": {"size": DIM, "distance": "Euclid"}, "shard_number": 3})
    for start in range(0, N, 200):
        c.upsert("g", cls.points[start:start + 200])
    for key, schema in (("rank", "integer"), ("color", "keyword"), ("score", "float"), ("at", "datetime")):
        c.ok("PUT", "/collections/g/index?wait=true", {"field_name": key, "field_schema": schema})
        # A cluster node's view of the config lags the etcd write: the next index created through a stale
        # view would write back a schema without this one (a known lost update of cluster configs).
        ch.wait_for(lambda: key in c.ok("GET", "/collections/g")["payload_schema"] or "waiting",
                    f"the index on {key} to reach the node's view")
    c.create_collection("colors", size=2, distance="Dot")
    c.upsert("colors", [{"id": i + 1, "vector": [1.0, 0.0], "payload": {"name": f"color {i}"}} for i in range(5)])
    cls.queries = [vh.f32vec([rnd.gauss(0.0, 1.0) for _ in range(DIM)]) for _ in range(4)]


class Checks:
    """The checks, through self.c (a client of the node under test)."""

    def expected_groups(self, q, key, group_size, limit, keep=lambda p: True):
        ranked = vh.brute_force("Euclid", q, [(p["id"], p["vector"]) for p in self.points if keep(p)], N)
        order, hits = [], {}
        for pid, _ in ranked:
            for v in values(self.by_id[pid]["payload"][key]):
                if v not in hits:
                    order.append(v)
                    hits[v] = []
                if len(hits[v]) < group_size:
                    hits[v].append(pid)
        return [(g, hits[g]) for g in order[:limit]]

    def check_search_and_query_groups_match_brute_force(self):
        c = self.c
        for q in self.queries:
            for group_size, limit in ((1, 3), (3, 5), (5, 13)):
                want = self.expected_groups(q, "color", group_size, limit)
                body = {"vector": q, "group_by": "color", "group_size": group_size, "limit": limit,
                        "params": {"exact": True}, "with_payload": ["odd"]}
                res = c.ok("POST", "/collections/g/points/search/groups", body)
                got = [(g["id"], [h["id"] for h in g["hits"]]) for g in res["groups"]]
                self.assertEqual(got, want)
                self.assertEqual(set(res["groups"][0]["hits"][0]["payload"]), {"odd"})
                res = c.ok("POST", "/collections/g/points/query/groups",
                           {"query": q, "group_by": "color", "group_size": group_size, "limit": limit,
                            "params": {"exact": True}})
                self.assertEqual([(g["id"], [h["id"] for h in g["hits"]]) for g in res["groups"]], want)
        # Integer groups, a filter, and the default group_size 3 / limit 10 of query/groups.
        q = self.queries[0]
        flt = {"must": [{"key": "odd", "match": {"value": True}}]}
        want = self.expected_groups(q, "rank", 3, 10, keep=lambda p: p["payload"]["odd"])
        res = c.ok("POST", "/collections/g/points/query/groups",
                   {"query": q, "group_by": "rank", "filter": flt, "params": {"exact": True}})
        self.assertEqual([(g["id"], [h["id"] for h in g["hits"]]) for g in res["groups"]], want)

    def check_groups_with_lookup(self):
        c = self.c
        res = c.ok("POST", "/collections/g/points/query/groups",
                   {"query": self.queries[1], "group_by": "rank", "group_size": 1, "limit": 40,
                    "params": {"exact": True},
                    "with_lookup": {"collection": "colors", "with_payload": True, "with_vectors": False}})
        self.assertEqual(len(res["groups"]), 31)  # ranks 0..29 and 50
        for g in res["groups"]:
            if 1 <= g["id"] <= 5:
                self.assertEqual(g["lookup"], {"id": g["id"], "payload": {"name": f"color {g['id'] - 1}"}})
            else:
                self.assertNotIn("lookup", g)
        c.err("POST", "/collections/g/points/search/groups",
              {"vector": self.queries[0], "group_by": "rank", "group_size": 1, "limit": 2, "with_lookup": "nope"},
              status=404)

    def check_scroll_order_by_matches_brute_force(self):
        c = self.c
        for direction in ("asc", "desc"):
            entries = sorted(((v, p["id"]) for p in self.points for v in values(p["payload"]["rank"])),
                             key=lambda e: ((-e[0] if direction == "desc" else e[0]), e[1]))
            for start in (None, 7, 50):
                for limit in (1, 25, 1000):
                    order_by = {"key": "rank", "direction": direction}
                    if start is not None:
                        order_by["start_from"] = start
                    res = c.ok("POST", "/collections/g/points/scroll",
                               {"order_by": order_by, "limit": limit, "with_payload": False})
                    want = [e for e in entries if start is None or
                            (e[0] >= start if direction == "asc" else e[0] <= start)][:limit]
                    self.assertEqual([(p["order_value"], p["id"]) for p in res["points"]], want)
                    self.assertIsNone(res["next_page_offset"])
        # A datetime index orders by instant; order_value is microseconds since the epoch.
        res = c.ok("POST", "/collections/g/points/scroll",
                   {"order_by": {"key": "at", "direction": "desc", "start_from": "2024-03-10T00:00:00+01:00"},
                    "limit": 20, "with_payload": ["at"]})
        start = vh_datetime("2024-03-10T00:00:00+01:00")
        want = sorted((p for p in self.points if vh_datetime(p["payload"]["at"]) <= start),
                      key=lambda p: (-vh_datetime(p["payload"]["at"]), p["id"]))[:20]
        self.assertEqual([p["id"] for p in res["points"]], [p["id"] for p in want])
        self.assertEqual([p["order_value"] for p in res["points"]],
                         [round(vh_datetime(p["payload"]["at"]) * 1e6) for p in want])
        # The plain key form, and a float index.
        res = c.ok("POST", "/collections/g/points/scroll", {"order_by": "score", "limit": 5})
        want = sorted(self.points, key=lambda p: (p["payload"]["score"], p["id"]))[:5]
        self.assertEqual([p["id"] for p in res["points"]], [p["id"] for p in want])

    def check_facet_counts_match_brute_force(self):
        c = self.c
        for key in ("color", "rank"):
            for flt in (None, {"must": [{"key": "odd", "match": {"value": False}}]}):
                counts = {}
                for p in self.points:
                    if flt is not None and p["payload"]["odd"]:
                        continue
                    for v in values(p["payload"][key]):
                        counts[v] = counts.get(v, 0) + 1
                body = {"key": key, "limit": 100, "exact": True}
                if flt is not None:
                    body["filter"] = flt
                hits = c.ok("POST", "/collections/g/facet", body)["hits"]
                self.assertEqual({h["value"]: h["count"] for h in hits}, counts)
                self.assertEqual([h["count"] for h in hits], sorted((h["count"] for h in hits), reverse=True))
                top = c.ok("POST", "/collections/g/facet", dict(body, limit=2))["hits"]
                self.assertEqual(top, hits[:2])

    def check_matrix_pairs_and_offsets_match_brute_force(self):
        c = self.c
        flt = {"must": [{"key": "odd", "match": {"value": True}}]}
        pairs = c.ok("POST", "/collections/g/points/search/matrix/pairs", {"sample": 30, "limit": 3, "filter": flt})["pairs"]
        offsets = c.ok("POST", "/collections/g/points/search/matrix/offsets", {"sample": 30, "limit": 3, "filter": flt})
        ids = offsets["ids"]
        self.assertEqual(len(ids), 30)
        self.assertTrue(all(self.by_id[i]["payload"]["odd"] for i in ids))
        self.assertEqual(len(pairs), 90)
        sample = [(i, self.by_id[i]["vector"]) for i in ids]
        want = []
        for i in ids:
            near = vh.brute_force("Euclid", self.by_id[i]["vector"], [s for s in sample if s[0] != i], 3)
            want.extend((i, j) for j, _ in near)
        self.assertEqual([(p["a"], p["b"]) for p in pairs], want)
        self.assertEqual([(ids[r], ids[col]) for r, col in zip(offsets["offsets_row"], offsets["offsets_col"])], want)
        for p, s in zip(pairs, offsets["scores"]):
            self.assertTrue(vh.score_close(p["score"], s))
            self.assertTrue(vh.score_close(p["score"], vh.score("Euclid", self.by_id[p["a"]]["vector"], self.by_id[p["b"]]["vector"])))

    def check_datetime_ranges_and_has_vector(self):
        c = self.c
        for gte, lt in (("2024-03-05T00:00:00Z", "2024-03-12"), ("2024-03-10T12:00:00+02:00", "2024-03-10T23:00:00Z")):
            lo, hi = vh_datetime(gte), vh_datetime(lt)
            want = sorted(p["id"] for p in self.points if lo <= vh_datetime(p["payload"]["at"]) < hi)
            flt = {"must": [{"key": "at", "range": {"gte": gte, "lt": lt}}]}
            self.assertEqual(c.count("g", flt), len(want))
            self.assertEqual(sorted(p["id"] for p in c.scroll_all("g", flt=flt)), want)
            # The filtered search still returns min(limit, matching) points.
            res = c.ok("POST", "/collections/g/points/query", {"query": self.queries[0], "filter": flt, "limit": 50})
            self.assertEqual(len(res["points"]), min(50, len(want)))
            self.assertTrue({p["id"] for p in res["points"]} <= set(want))
        self.assertEqual(c.count("g", {"must": [{"has_vector": ""}]}), N)
        self.assertEqual(c.count("g", {"must": [{"has_vector": "other"}]}), 0)
        self.assertEqual(c.count("g", {"must_not": [{"has_vector": "other"}]}), N)
        c.err("POST", "/collections/g/points/count", {"filter": {"must": [{"key": "at", "range": {"gte": "2024-02-30"}}]}},
              status=400, mentions="filter.must[0]")

    def check_bad_inputs_name_the_problem(self):
        c = self.c
        q = self.queries[0]
        before = c.count("g")
        c.err("POST", "/collections/g/points/search/groups", {"vector": q, "group_size": 2, "limit": 2}, status=400, mentions="group_by")
        c.err("POST", "/collections/g/points/search/groups", {"vector": q, "group_by": "color", "limit": 2}, status=400, mentions="group_size")
        c.err("POST", "/collections/g/points/query/groups", {"query": q, "group_by": "color", "group_size": 0}, status=400, mentions="group_size")
        c.err("POST", "/collections/g/points/query/groups", {"query": q, "group_by": "a..b"}, status=400, mentions="group_by")
        c.err("POST", "/collections/g/points/query/groups", {"query": q, "group_by": "color", "with_lookup": {"with_payload": True}}, status=400, mentions="with_lookup.collection")
        c.err("POST", "/collections/g/points/scroll", {"order_by": {"key": "odd"}}, status=400, mentions="odd")
        c.err("POST", "/collections/g/points/scroll", {"order_by": {"key": "rank", "direction": "up"}}, status=400, mentions="order_by.direction")
        c.err("POST", "/collections/g/points/scroll", {"order_by": "rank", "offset": 1}, status=400, mentions="offset")
        c.err("POST", "/collections/g/facet", {"key": "odd"}, status=400, mentions="index")
        c.err("POST", "/collections/g/facet", {"key": "score"}, status=400, mentions="index")
        c.err("POST", "/collections/g/facet", {"limit": 3}, status=400, mentions="key")
        c.err("POST", "/collections/g/facet", {"key": "color", "limit": 0}, status=400, mentions="limit")
        c.err("POST", "/collections/g/points/search/matrix/pairs", {"sample": 1}, status=400, mentions="sample")
        c.err("POST", "/collections/g/points/search/matrix/offsets", {"sample": 10**6}, status=400, mentions="sample")
        c.err("POST", "/collections/g/points/search/matrix/pairs", {"using": "nope"}, status=400, mentions="nope")
        c.err("POST", "/collections/g/points/search/matrix/pairs", {"typo": 1}, status=400, mentions="typo")
        self.assertEqual(c.count("g"), before)


class GroupsFacetsTest(Checks, vh.SharedServerTestCase):

    @classmethod
    def load(cls):
        load(cls, cls.client)
        cls.c = cls.client

    def test_search_and_query_groups_match_brute_force(self):
        self.check_search_and_query_groups_match_brute_force()

    def test_groups_with_lookup(self):
        self.check_groups_with_lookup()

    def test_scroll_order_by_matches_brute_force(self):
        self.check_scroll_order_by_matches_brute_force()

    def test_facet_counts_match_brute_force(self):
        self.check_facet_counts_match_brute_force()

    def test_matrix_pairs_and_offsets_match_brute_force(self):
        self.check_matrix_pairs_and_offsets_match_brute_force()

    def test_datetime_ranges_and_has_vector(self):
        self.check_datetime_ranges_and_has_vector()

    def test_bad_inputs_name_the_problem(self):
        self.check_bad_inputs_name_the_problem()


class ClusterGroupsFacetsTest(Checks, ch.ClusterTestCase):
    node_names = ("n1", "n2")

    def test_everything_through_a_node_with_remote_shards(self):
        self.c = self.client("n1")

        load(self, self.c)
        owners = {self.primary_of("g", shard) for shard in range(3)}
        self.assertEqual(owners, {"n1", "n2"}, "the shards should be spread over both nodes")
        self.check_search_and_query_groups_match_brute_force()
        self.check_groups_with_lookup()
        self.check_scroll_order_by_matches_brute_force()
        self.check_facet_counts_match_brute_force()
        self.check_matrix_pairs_and_offsets_match_brute_force()
        self.check_datetime_ranges_and_has_vector()
        self.check_bad_inputs_name_the_problem()


if __name__ == "__main__":
    vh.main()

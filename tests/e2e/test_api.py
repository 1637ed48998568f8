"""End-to-end: the whole Qdrant-compatible REST API on small data sets, against the real binary."""

import time
import unittest

import vjharness as vh

UUID_A = "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"
UUID_B = "0b1f5a3e-8e0d-4f55-b8b4-2b9f3c8d9a10"
UUID_C = "f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f"

BASE_POINTS = [
    {"id": 1, "vector": [1.0, 0.0, 0.0, 0.0], "payload": {"color": "red", "n": 1, "price": 1.5}},
    {"id": 2, "vector": [0.0, 1.0, 0.0, 0.0], "payload": {"color": "blue", "n": 2, "price": 2.5}},
    {"id": 3, "vector": [0.0, 0.0, 1.0, 0.0], "payload": {"color": "red", "n": 3, "tags": ["a", "b"]}},
    {"id": 4, "vector": [0.5, 0.5, 0.0, 0.0], "payload": {"color": "green", "n": 4, "obj": {"a": {"b": 1}}}},
    {"id": UUID_A, "vector": [0.0, 0.0, 0.0, 1.0], "payload": {"color": "blue", "n": 5, "flag": True}},
]


def payload_of(points, pid):
    for p in points:
        if p["id"] == pid:
            return p["payload"]
    raise KeyError(pid)


class ApiTest(vh.ServerTestCase):

    # ---------------------------------------------------------------- helpers

    def make_base(self, name="c", distance="Dot"):
        self.client.create_collection(name, size=4, distance=distance)
        res = self.client.upsert(name, BASE_POINTS)
        self.assertUpdateResult(res, wait=True)
        return name

    def assertUpdateResult(self, res, wait=True):
        self.assertIsInstance(res, dict, f"update result should be an object, got {res!r}")
        self.assertIsInstance(res.get("operation_id"), int, f"operation_id missing/not int in {res!r}")
        if wait:
            self.assertEqual(res.get("status"), "completed", f"wait=true must give status completed: {res!r}")
        else:
            self.assertIn(res.get("status"), ("acknowledged", "completed"), f"bad update status: {res!r}")

    def assertPoint(self, got, pid, vector=None, payload=None, vector_check=True):
        self.assertEqual(got.get("id"), pid)
        if payload is not None:
            self.assertEqual(got.get("payload"), payload, f"payload of point {pid}")
        if vector is not None and vector_check:
            if isinstance(vector, dict):
                self.assertIsInstance(got.get("vector"), dict, f"named vectors of point {pid}: {got!r}")
                self.assertEqual(set(got["vector"]), set(vector), f"vector names of point {pid}")
                for k in vector:
                    self.assertTrue(vh.vectors_equal_f32(got["vector"][k], vector[k]),
                                    f"vector {k} of point {pid}: got {got['vector'][k]} expected {vector[k]}")
            else:
                self.assertTrue(vh.vectors_equal_f32(got.get("vector"), vector),
                                f"vector of point {pid}: got {got.get('vector')} expected {vector}")

    def assertNoPayload(self, p, ctx=""):
        self.assertTrue("payload" not in p or p["payload"] is None,
                        f"{ctx}: payload must be absent/null when with_payload=false, got {p!r}")

    def assertNoVector(self, p, ctx=""):
        self.assertTrue("vector" not in p or p["vector"] is None,
                        f"{ctx}: vector must be absent/null when with_vector=false, got {p!r}")

    def query(self, name, body):
        res = self.client.ok("POST", f"/collections/{name}/points/query", body)
        self.assertIsInstance(res, dict, f"query result must be an object with 'points': {res!r}")
        self.assertIsInstance(res.get("points"), list, f"query result must have 'points' list: {res!r}")
        for p in res["points"]:
            self.assertIn("id", p)
            self.assertIsInstance(p.get("score"), (int, float), f"scored point lacks numeric score: {p!r}")
            self.assertIsInstance(p.get("version"), int, f"scored point lacks integer version: {p!r}")
        return res["points"]

    # ---------------------------------------------------------------- service endpoints

    def test_root_and_probes(self):
        r = self.client.call("GET", "/")
        self.assertEqual(r.status, 200, r.describe())
        self.assertIsInstance(r.json, dict, r.describe())
        self.assertTrue(str(r.json.get("title", "")).startswith("vjvector"),
                        f"GET / must be the bare object {{'title': 'vjvector...', 'version': ...}} (as Qdrant's): {r.describe()}")
        self.assertIsInstance(r.json.get("version"), str, r.describe())
        for path in ("/livez", "/healthz", "/readyz"):
            r = self.client.call("GET", path)
            self.assertEqual(r.status, 200, r.describe())
        r = self.client.call("GET", "/metrics")
        self.assertEqual(r.status, 200, r.describe())
        self.assertIn("vjvector_http_requests_total", r.raw.decode("utf-8", "replace"))

    # ---------------------------------------------------------------- collections

    def test_collection_lifecycle(self):
        c = self.client
        self.assertEqual(c.ok("GET", "/collections/lc/exists"), {"exists": False})
        body = {"vectors": {"size": 4, "distance": "Cosine"}, "hnsw_config": {"m": 16, "ef_construct": 100}}
        self.assertIs(c.ok("PUT", "/collections/lc", body), True)
        c.create_collection("other", size=8, distance="Euclid")

        lst = c.ok("GET", "/collections")
        names = sorted(x["name"] for x in lst["collections"])
        self.assertEqual(names, ["lc", "other"], f"GET /collections: {lst!r}")

        info = c.ok("GET", "/collections/lc")
        self.assertEqual(info.get("status"), "green", f"info: {info!r}")
        self.assertEqual(info.get("points_count"), 0, f"info: {info!r}")
        params = info["config"]["params"]
        self.assertEqual(params["vectors"], {"size": 4, "distance": "Cosine"}, f"config.params: {params!r}")
        hnsw = info["config"]["hnsw_config"]
        self.assertEqual((hnsw.get("m"), hnsw.get("ef_construct")), (16, 100), f"hnsw_config: {hnsw!r}")
        self.assertIn("payload_schema", info)
        self.assertEqual(info["payload_schema"], {}, f"payload_schema of a new collection: {info!r}")

        info2 = c.ok("GET", "/collections/other")
        self.assertEqual(info2["config"]["params"]["vectors"], {"size": 8, "distance": "Euclid"})

        self.assertEqual(c.ok("GET", "/collections/lc/exists"), {"exists": True})
        # Creating it again is refused; the existing collection is untouched.
        c.err("PUT", "/collections/lc", {"vectors": {"size": 7, "distance": "Dot"}}, mentions=["exist", "lc"])
        self.assertEqual(c.ok("GET", "/collections/lc")["config"]["params"]["vectors"],
                         {"size": 4, "distance": "Cosine"})

        c.upsert("lc", [{"id": 1, "vector": [1, 2, 3, 4]}])
        self.assertEqual(c.ok("GET", "/collections/lc")["points_count"], 1)

        self.assertIs(c.ok("DELETE", "/collections/lc"), True)
        self.assertEqual(c.ok("GET", "/collections/lc/exists"), {"exists": False})
        c.err("GET", "/collections/lc", status=404, mentions="lc")
        lst = c.ok("GET", "/collections")
        self.assertEqual([x["name"] for x in lst["collections"]], ["other"])
        # As Qdrant: deleting a collection that does not exist answers 200 with false.
        self.assertIs(c.ok("DELETE", "/collections/nosuchcoll"), False)

        # A re-created collection starts empty.
        c.create_collection("lc", size=4, distance="Dot")
        self.assertEqual(c.count("lc"), 0)

    def test_unknown_collection_404_everywhere(self):
        c = self.client
        name = "ghost_coll"
        calls = [
            ("GET", f"/collections/{name}", None),
            ("PUT", f"/collections/{name}/points?wait=true", {"points": [{"id": 1, "vector": [1, 2, 3, 4]}]}),
            ("POST", f"/collections/{name}/points", {"ids": [1]}),
            ("GET", f"/collections/{name}/points/1", None),
            ("POST", f"/collections/{name}/points/scroll", {"limit": 1}),
            ("POST", f"/collections/{name}/points/count", {"exact": True}),
            ("POST", f"/collections/{name}/points/delete?wait=true", {"points": [1]}),
            ("POST", f"/collections/{name}/points/payload?wait=true", {"payload": {"a": 1}, "points": [1]}),
            ("PUT", f"/collections/{name}/points/payload?wait=true", {"payload": {"a": 1}, "points": [1]}),
            ("POST", f"/collections/{name}/points/payload/delete?wait=true", {"keys": ["a"], "points": [1]}),
            ("POST", f"/collections/{name}/points/payload/clear?wait=true", {"points": [1]}),
            ("POST", f"/collections/{name}/points/query", {"query": [1, 2, 3, 4]}),
            ("POST", f"/collections/{name}/points/query/batch", {"searches": [{"query": [1, 2, 3, 4]}]}),
            ("POST", f"/collections/{name}/points/search", {"vector": [1, 2, 3, 4], "limit": 3}),
            ("POST", f"/collections/{name}/points/search/batch", {"searches": [{"vector": [1, 2, 3, 4], "limit": 3}]}),
            ("PUT", f"/collections/{name}/index?wait=true", {"field_name": "a", "field_schema": "keyword"}),
            ("DELETE", f"/collections/{name}/index/a?wait=true", None),
        ]
        for method, path, body in calls:
            with self.subTest(method=method, path=path):
                c.err(method, path, body, status=404, mentions=name)
        self.assertEqual(c.ok("GET", "/collections/ghost_coll/exists"), {"exists": False})
        # As Qdrant: deleting a missing collection is no error (recreateCollection deletes first).
        self.assertIs(c.ok("DELETE", f"/collections/{name}"), False)

    # ---------------------------------------------------------------- points

    def test_upsert_forms_and_retrieve(self):
        c = self.client
        self.make_base("c")
        # Batch form, with numeric and UUID ids.
        res = c.ok("PUT", "/collections/c/points?wait=true", {"batch": {
            "ids": [10, 11, UUID_B],
            "vectors": [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]],
            "payloads": [{"color": "black"}, {"color": "white", "n": 11}, {"k": [1, 2]}],
        }})
        self.assertUpdateResult(res, wait=True)
        self.assertEqual(c.count("c"), 8)

        got = c.retrieve("c", [1, UUID_A, 10, 11, UUID_B, 999])
        self.assertEqual(set(got), {1, UUID_A, 10, 11, UUID_B}, f"retrieve: missing ids are skipped: {got!r}")
        for p in BASE_POINTS:
            if p["id"] in got:
                self.assertPoint(got[p["id"]], p["id"], p["vector"], p["payload"])
        self.assertPoint(got[10], 10, [1, 1, 0, 0], {"color": "black"})
        self.assertPoint(got[11], 11, [0, 1, 1, 0], {"color": "white", "n": 11})
        self.assertPoint(got[UUID_B], UUID_B, [0, 0, 1, 1], {"k": [1, 2]})

        # Retrieve flags.
        res = c.ok("POST", "/collections/c/points", {"ids": [1, 2], "with_payload": False, "with_vector": False})
        self.assertEqual(sorted(p["id"] for p in res), [1, 2])
        for p in res:
            self.assertNoPayload(p, "retrieve")
            self.assertNoVector(p, "retrieve")
        res = c.ok("POST", "/collections/c/points", {"ids": [1], "with_payload": ["color"], "with_vector": False})
        self.assertEqual(res[0]["payload"], {"color": "red"}, f"with_payload list selects keys: {res!r}")

        # GET one point, numeric and UUID.
        p = c.ok("GET", "/collections/c/points/2")
        self.assertPoint(p, 2, [0, 1, 0, 0], payload_of(BASE_POINTS, 2))
        p = c.ok("GET", f"/collections/c/points/{UUID_A}")
        self.assertPoint(p, UUID_A, [0, 0, 0, 1], payload_of(BASE_POINTS, UUID_A))
        c.err("GET", "/collections/c/points/12345", status=404, mentions="12345")
        c.err("GET", f"/collections/c/points/{UUID_C}", status=404, mentions=UUID_C)

        # Upsert of an existing id replaces vector and the whole payload.
        c.upsert("c", [{"id": 1, "vector": [0.25, 0.25, 0.25, 0.25], "payload": {"replaced": True}}])
        p = c.ok("GET", "/collections/c/points/1")
        self.assertPoint(p, 1, [0.25, 0.25, 0.25, 0.25], {"replaced": True})
        self.assertEqual(c.count("c"), 8)

        # A point without payload has an empty payload.
        c.upsert("c", [{"id": 20, "vector": [1, 0, 1, 0]}])
        p = c.ok("GET", "/collections/c/points/20")
        self.assertIn(p.get("payload"), ({}, None), f"point without payload: {p!r}")

    def test_payload_round_trip(self):
        # Payload JSON comes back exactly as sent: doubles needing 17 significant digits, integers
        # beyond 2^53, unicode, empty containers, nesting.
        c = self.client
        c.create_collection("rt", size=2, distance="Dot")
        payloads = {
            1: {"f17": 0.30000000000000004, "f_a": 51.791000000000004, "f_b": 951.7909999999999,
                "f_c": 123456.78901234567, "tiny": 5e-324, "big": 1.7976931348623157e308, "neg": -2.5e-10},
            2: {"i53": 9007199254740993, "u64max": 18446744073709551615, "i64min": -9223372036854775808, "zero": 0},
            3: {"s": "héllo wörld ✓ 𝄞 \u0000 \" \\ \n\t", "empty_s": "", "empty_o": {}, "empty_a": [], "null": None,
                "t": True, "f": False},
            4: {"deep": {"a": [{"b": [1, [2, [3, {"c": "d"}]]]}]}, "mixed": [1, "a", None, 2.5, True, {"k": []}]},
        }
        c.upsert("rt", [{"id": pid, "vector": [1, 2], "payload": pl} for pid, pl in payloads.items()])
        got = c.retrieve("rt", list(payloads), with_vector=False)
        problems = []
        for pid, pl in payloads.items():
            g = got[pid]["payload"]
            for k, v in pl.items():
                if k not in g:
                    problems.append(f"point {pid}: key {k!r} lost")
                elif isinstance(v, float):
                    if not isinstance(g[k], float) or g[k].hex() != v.hex():
                        problems.append(f"point {pid}: double {k}: sent {v!r} ({v.hex()}), got {g[k]!r} "
                                        f"({float(g[k]).hex()}) - not bit-exact")
                elif g[k] != v or type(g[k]) is not type(v):
                    problems.append(f"point {pid}: {k}: sent {v!r}, got {g[k]!r}")
            if set(g) != set(pl):
                problems.append(f"point {pid}: keys {sorted(g)} != {sorted(pl)}")
        self.assertNoItems(problems, "payload JSON not returned as sent:\n" + "\n".join(problems))

    def test_upsert_without_wait(self):
        c = self.client
        c.create_collection("nw", size=4, distance="Euclid")
        res = c.upsert("nw", [{"id": i, "vector": [i, 0, 0, 1], "payload": {"i": i}} for i in range(1, 21)],
                       wait=False)
        self.assertUpdateResult(res, wait=False)
        deadline = time.monotonic() + 20
        while c.count("nw") != 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(c.count("nw"), 20, "points upserted without wait never became visible")
        got = c.retrieve("nw", [7])
        self.assertPoint(got[7], 7, [7, 0, 0, 1], {"i": 7})

    def test_named_vectors(self):
        c = self.client
        body = {"vectors": {"img": {"size": 4, "distance": "Dot"}, "txt": {"size": 3, "distance": "Euclid"}}}
        self.assertIs(c.ok("PUT", "/collections/nv", body), True)
        info = c.ok("GET", "/collections/nv")
        self.assertEqual(info["config"]["params"]["vectors"], body["vectors"], f"named vectors config: {info!r}")

        pts = [
            {"id": 1, "vector": {"img": [1, 0, 0, 0], "txt": [0, 0, 0]}, "payload": {"k": "a"}},
            {"id": 2, "vector": {"img": [0, 1, 0, 0], "txt": [1, 0, 0]}, "payload": {"k": "b"}},
            {"id": 3, "vector": {"img": [0.9, 0.1, 0, 0], "txt": [5, 5, 5]}, "payload": {"k": "c"}},
            {"id": UUID_A, "vector": {"img": [0, 0, 1, 0], "txt": [0.5, 0, 0]}, "payload": {"k": "d"}},
        ]
        c.upsert("nv", pts)
        got = c.retrieve("nv", [1, 2, 3, UUID_A])
        for p in pts:
            self.assertPoint(got[p["id"]], p["id"], p["vector"], p["payload"])

        # Batch form with named vectors.
        c.ok("PUT", "/collections/nv/points?wait=true", {"batch": {
            "ids": [4, 5], "vectors": {"img": [[0, 0, 0, 1], [0, 0, 0, 2]], "txt": [[9, 9, 9], [8, 8, 8]]},
            "payloads": [{"k": "e"}, {"k": "f"}]}})
        got = c.retrieve("nv", [4, 5])
        self.assertPoint(got[5], 5, {"img": [0, 0, 0, 2], "txt": [8, 8, 8]}, {"k": "f"})

        # with_vector as a list of names.
        res = c.ok("POST", "/collections/nv/points", {"ids": [2], "with_payload": False, "with_vector": ["txt"]})
        self.assertEqual(res[0].get("vector"), {"txt": [1.0, 0.0, 0.0]}, f"with_vector ['txt']: {res!r}")

        # Query by name: img is Dot (higher first), txt is Euclid (lower first).
        pts_img = self.query("nv", {"query": [1, 0, 0, 0], "using": "img", "limit": 2})
        self.assertEqual([p["id"] for p in pts_img], [1, 3], f"query using img: {pts_img!r}")
        self.assertTrue(vh.score_close(pts_img[0]["score"], 1.0) and vh.score_close(pts_img[1]["score"], 0.9))
        pts_txt = self.query("nv", {"query": [0, 0, 0], "using": "txt", "limit": 3, "with_vector": True})
        self.assertEqual([p["id"] for p in pts_txt], [1, UUID_A, 2], f"query using txt: {pts_txt!r}")
        self.assertTrue(vh.score_close(pts_txt[1]["score"], 0.5), f"euclid score: {pts_txt!r}")
        self.assertIsInstance(pts_txt[0].get("vector"), dict, f"named with_vector=true: {pts_txt[0]!r}")

        # Legacy search with a named vector.
        res = c.ok("POST", "/collections/nv/points/search",
                   {"vector": {"name": "txt", "vector": [5, 5, 5]}, "limit": 1, "with_payload": True})
        self.assertEqual([(p["id"], p["payload"]) for p in res], [(3, {"k": "c"})], f"named search: {res!r}")
        self.assertTrue(vh.score_close(res[0]["score"], 0.0))

        # Unknown vector name and missing name are errors naming the problem.
        c.err("POST", "/collections/nv/points/query", {"query": [1, 0, 0, 0], "using": "nope"}, mentions="nope")
        c.err("PUT", "/collections/nv/points?wait=true",
              {"points": [{"id": 9, "vector": {"img": [1, 0, 0, 0], "nope": [1, 2, 3]}}]}, mentions="nope")
        c.err("PUT", "/collections/nv/points?wait=true",
              {"points": [{"id": 9, "vector": {"img": [1, 0, 0], "txt": [1, 2, 3]}}]})
        self.assertEqual(c.count("nv"), 6)

    def test_scroll_pagination(self):
        c = self.client
        c.create_collection("s", size=4, distance="Euclid")
        uuids = ["%08x-0000-4000-8000-%012x" % (i * 7919, i) for i in range(1, 8)]
        ids = list(range(1, 31)) + [100, 57, 1000000] + uuids
        pts = [{"id": pid, "vector": [k, 0, 0, 1], "payload": {"k": k, "even": k % 2 == 0}}
               for k, pid in enumerate(ids)]
        # Upsert in a shuffled order to make sure order comes from the ids.
        import random
        rnd = random.Random(7)
        shuffled = pts[:]
        rnd.shuffle(shuffled)
        c.upsert("s", shuffled[:20])
        c.upsert("s", shuffled[20:])
        expected = sorted(ids, key=vh.id_sort_key)

        for limit in (1, 5, 7, 40, 100):
            with self.subTest(limit=limit):
                got = c.scroll_all("s", limit=limit, with_payload=True)
                self.assertEqual([p["id"] for p in got], expected)
        # Payload and vectors in scroll.
        res = c.ok("POST", "/collections/s/points/scroll", {"limit": 3, "with_payload": True, "with_vector": True})
        self.assertEqual([p["id"] for p in res["points"]], expected[:3])
        self.assertEqual(res["next_page_offset"], expected[3])
        for p in res["points"]:
            k = ids.index(p["id"])
            self.assertPoint(p, p["id"], [k, 0, 0, 1], {"k": k, "even": k % 2 == 0})
        res = c.ok("POST", "/collections/s/points/scroll", {"limit": 2, "with_payload": False, "with_vector": False})
        for p in res["points"]:
            self.assertNoPayload(p, "scroll")
            self.assertNoVector(p, "scroll")
        # Explicit offset: starts at that id (inclusive), even if it is a UUID.
        res = c.ok("POST", "/collections/s/points/scroll", {"limit": 3, "offset": 29})
        self.assertEqual([p["id"] for p in res["points"]], [29, 30, 57])
        # An offset id that does not exist starts at the next id.
        res = c.ok("POST", "/collections/s/points/scroll", {"limit": 2, "offset": 31})
        self.assertEqual([p["id"] for p in res["points"]], [57, 100])
        res = c.ok("POST", "/collections/s/points/scroll", {"limit": 2, "offset": uuids[0]})
        self.assertEqual([p["id"] for p in res["points"]], sorted(uuids)[sorted(uuids).index(uuids[0]):][:2])
        # Last page: next_page_offset is null.
        res = c.ok("POST", "/collections/s/points/scroll", {"limit": 100})
        self.assertIsNone(res.get("next_page_offset"), f"last page next_page_offset: {res.get('next_page_offset')!r}")
        self.assertIn("next_page_offset", res, "next_page_offset key must be present (null) on the last page")
        # Filtered scroll.
        flt = {"must": [{"key": "even", "match": {"value": True}}]}
        got = c.scroll_all("s", flt=flt, limit=4, with_payload=True)
        self.assertEqual([p["id"] for p in got],
                         [pid for pid in expected if ids.index(pid) % 2 == 0])

    def test_count_with_filter(self):
        c = self.client
        self.make_base("c")
        self.assertEqual(c.count("c"), 5)
        self.assertEqual(c.ok("POST", "/collections/c/points/count", {}), {"count": 5})
        self.assertEqual(c.count("c", {"must": [{"key": "color", "match": {"value": "red"}}]}), 2)
        self.assertEqual(c.count("c", {"should": [{"key": "color", "match": {"value": "red"}},
                                                  {"key": "n", "range": {"gte": 4}}]}), 4)
        self.assertEqual(c.count("c", {"must_not": [{"key": "color", "match": {"any": ["red", "blue"]}}]}), 1)
        self.assertEqual(c.count("c", {"must": [{"has_id": [1, UUID_A, 77]}]}), 2)
        self.assertEqual(c.count("c", {"must": [{"key": "obj.a.b", "match": {"value": 1}}]}), 1)
        self.assertEqual(c.count("c", {"must": [{"key": "tags", "match": {"value": "b"}}]}), 1)
        self.assertEqual(c.count("c", {"must": [{"is_empty": {"key": "tags"}}]}), 4)
        self.assertEqual(c.count("c", {"must": [{"key": "price", "range": {"gt": 1.5, "lte": 2.5}}]}), 1)

    def test_delete_points(self):
        c = self.client
        self.make_base("c")
        res = c.ok("POST", "/collections/c/points/delete?wait=true", {"points": [1, UUID_A, 424242]})
        self.assertUpdateResult(res)
        self.assertEqual(c.count("c"), 3)
        self.assertEqual(set(c.retrieve("c", [1, 2, 3, 4, UUID_A])), {2, 3, 4})
        c.err("GET", "/collections/c/points/1", status=404)

        res = c.ok("POST", "/collections/c/points/delete?wait=true",
                   {"filter": {"must": [{"key": "color", "match": {"value": "red"}}]}})
        self.assertUpdateResult(res)
        self.assertEqual(sorted(p["id"] for p in c.scroll_all("c")), [2, 4])
        # Deleted ids can be re-inserted.
        c.upsert("c", [{"id": 1, "vector": [1, 2, 3, 4], "payload": {"again": 1}}])
        self.assertPoint(c.ok("GET", "/collections/c/points/1"), 1, [1, 2, 3, 4], {"again": 1})
        # Deleted points no longer appear in search.
        pts = self.query("c", {"query": [0, 0, 1, 0], "limit": 10, "params": {"exact": True}})
        self.assertEqual(sorted(p["id"] for p in pts), [1, 2, 4])
        pts = self.query("c", {"query": [0, 0, 1, 0], "limit": 10})
        self.assertEqual(sorted(p["id"] for p in pts), [1, 2, 4])

    def test_payload_operations(self):
        c = self.client
        self.make_base("c")
        # Set (merge) payload on listed points.
        res = c.ok("POST", "/collections/c/points/payload?wait=true",
                   {"payload": {"new": "x", "n": 100}, "points": [1, UUID_A]})
        self.assertUpdateResult(res)
        got = c.retrieve("c", [1, 2, UUID_A], with_vector=False)
        self.assertEqual(got[1]["payload"], {"color": "red", "n": 100, "price": 1.5, "new": "x"})
        self.assertEqual(got[UUID_A]["payload"], {"color": "blue", "n": 100, "flag": True, "new": "x"})
        self.assertEqual(got[2]["payload"], payload_of(BASE_POINTS, 2))

        # Set payload by filter.
        c.ok("POST", "/collections/c/points/payload?wait=true",
             {"payload": {"hot": True}, "filter": {"must": [{"key": "color", "match": {"value": "red"}}]}})
        self.assertEqual(sorted(p["id"] for p in c.scroll_all("c", {"must": [{"key": "hot", "match": {"value": True}}]})),
                         [1, 3])

        # Overwrite payload: replaces the whole payload.
        res = c.ok("PUT", "/collections/c/points/payload?wait=true", {"payload": {"only": 1}, "points": [2, 3]})
        self.assertUpdateResult(res)
        got = c.retrieve("c", [2, 3], with_vector=False)
        self.assertEqual(got[2]["payload"], {"only": 1})
        self.assertEqual(got[3]["payload"], {"only": 1})

        # Delete keys.
        res = c.ok("POST", "/collections/c/points/payload/delete?wait=true",
                   {"keys": ["new", "color", "missing_key"], "points": [1]})
        self.assertUpdateResult(res)
        got = c.retrieve("c", [1], with_vector=False)
        self.assertEqual(got[1]["payload"], {"n": 100, "price": 1.5, "hot": True})

        # Delete keys by filter.
        c.ok("POST", "/collections/c/points/payload/delete?wait=true",
             {"keys": ["only"], "filter": {"must": [{"has_id": [2]}]}})
        got = c.retrieve("c", [2, 3], with_vector=False)
        self.assertIn(got[2]["payload"], ({}, None))
        self.assertEqual(got[3]["payload"], {"only": 1})

        # Clear payload.
        res = c.ok("POST", "/collections/c/points/payload/clear?wait=true", {"points": [1, UUID_A]})
        self.assertUpdateResult(res)
        got = c.retrieve("c", [1, UUID_A, 4])
        self.assertIn(got[1]["payload"], ({}, None))
        self.assertIn(got[UUID_A]["payload"], ({}, None))
        self.assertEqual(got[4]["payload"], payload_of(BASE_POINTS, 4))
        # Vectors are untouched by payload operations.
        self.assertPoint(got[1], 1, [1, 0, 0, 0])
        self.assertPoint(got[UUID_A], UUID_A, [0, 0, 0, 1])
        self.assertEqual(c.count("c"), 5)
        self.assertEqual(c.count("c", {"must": [{"key": "color", "match": {"value": "red"}}]}), 0)

        # Payload operations on missing points are errors (nothing changes) in Qdrant: 404.
        r = c.call("POST", "/collections/c/points/payload?wait=true", {"payload": {"z": 1}, "points": [777]})
        self.assertTrue(400 <= r.status < 500, f"set payload on a missing point: {r.describe()}")
        self.assertEqual(c.count("c", {"must": [{"key": "z", "match": {"value": 1}}]}), 0)

    def test_payload_index(self):
        c = self.client
        self.make_base("c")
        for field, schema in (("color", "keyword"), ("n", "integer"), ("price", "float"), ("flag", "bool")):
            res = c.ok("PUT", "/collections/c/index?wait=true", {"field_name": field, "field_schema": schema})
            self.assertIsInstance(res, dict, f"create index result: {res!r}")
            self.assertIn(res.get("status"), ("completed", "acknowledged"), f"create index result: {res!r}")
        res = c.ok("PUT", "/collections/c/index?wait=true", {"field_name": "u", "field_schema": "uuid"})
        info = c.ok("GET", "/collections/c")
        schema = info["payload_schema"]
        self.assertEqual({k: v.get("data_type") for k, v in schema.items()},
                         {"color": "keyword", "n": "integer", "price": "float", "flag": "bool", "u": "uuid"},
                         f"payload_schema: {schema!r}")
        # Indexed filters give the same answers.
        self.assertEqual(c.count("c", {"must": [{"key": "color", "match": {"value": "red"}}]}), 2)
        self.assertEqual(c.count("c", {"must": [{"key": "n", "range": {"gte": 2, "lt": 5}}]}), 3)
        self.assertEqual(c.count("c", {"must": [{"key": "price", "range": {"gte": 2.0}}]}), 1)
        self.assertEqual(c.count("c", {"must": [{"key": "flag", "match": {"value": True}}]}), 1)
        # Points written after the index exist are indexed too.
        c.upsert("c", [{"id": 50, "vector": [1, 1, 1, 1], "payload": {"color": "red", "n": 3}}])
        self.assertEqual(c.count("c", {"must": [{"key": "color", "match": {"value": "red"}}]}), 3)
        c.ok("POST", "/collections/c/points/payload?wait=true", {"payload": {"color": "blue"}, "points": [50]})
        self.assertEqual(c.count("c", {"must": [{"key": "color", "match": {"value": "red"}}]}), 2)
        self.assertEqual(c.count("c", {"must": [{"key": "n", "match": {"value": 3}}]}), 2)

        res = c.ok("DELETE", "/collections/c/index/color?wait=true")
        self.assertIsInstance(res, dict, f"delete index result: {res!r}")
        schema = c.ok("GET", "/collections/c")["payload_schema"]
        self.assertNotIn("color", schema, f"payload_schema after deleting the color index: {schema!r}")
        self.assertIn("n", schema)
        self.assertEqual(c.count("c", {"must": [{"key": "color", "match": {"value": "red"}}]}), 2)
        # Bad schema names the field.
        c.err("PUT", "/collections/c/index?wait=true", {"field_name": "x", "field_schema": "bogus_type"},
              mentions=["bogus_type", "field_schema", "schema"])

    # ---------------------------------------------------------------- search

    def test_query_forms(self):
        c = self.client
        self.make_base("c", distance="Dot")
        q = [1.0, 0.5, 0.25, 0.0]
        expected = vh.brute_force("Dot", q, [(p["id"], p["vector"]) for p in BASE_POINTS], 5)

        pts = self.query("c", {"query": q, "limit": 5})
        self.assertEqual([p["id"] for p in pts], [e[0] for e in expected], f"query order: {pts!r}")
        for p, (_, s) in zip(pts, expected):
            self.assertTrue(vh.score_close(p["score"], s), f"score {p['score']} != {s}")
        # Default limit is 10 in Qdrant; all 5 points come back.
        self.assertEqual(len(self.query("c", {"query": q})), 5)
        # Limit and offset.
        pts3 = self.query("c", {"query": q, "limit": 2, "offset": 1})
        self.assertEqual([p["id"] for p in pts3], [e[0] for e in expected[1:3]], "offset 1 limit 2")
        self.assertEqual(self.query("c", {"query": q, "limit": 3, "offset": 10}), [], "offset past the end")
        # score_threshold (Dot: higher is better; keep score >= threshold).
        thr = (expected[1][1] + expected[2][1]) / 2
        pts = self.query("c", {"query": q, "limit": 5, "score_threshold": thr})
        self.assertEqual([p["id"] for p in pts], [e[0] for e in expected[:2]], f"score_threshold {thr}")
        # Filter.
        pts = self.query("c", {"query": q, "limit": 5,
                               "filter": {"must": [{"key": "color", "match": {"value": "blue"}}]}})
        self.assertEqual([p["id"] for p in pts], [e[0] for e in expected if payload_of(BASE_POINTS, e[0])["color"] == "blue"])
        # with_payload / with_vector forms.
        pts = self.query("c", {"query": q, "limit": 1, "with_payload": True, "with_vector": True})
        top = expected[0][0]
        self.assertPoint(pts[0], top, next(p["vector"] for p in BASE_POINTS if p["id"] == top),
                         payload_of(BASE_POINTS, top))
        pts = self.query("c", {"query": q, "limit": 1, "with_payload": False, "with_vector": False})
        self.assertNoPayload(pts[0], "query")
        self.assertNoVector(pts[0], "query")
        pts = self.query("c", {"query": q, "limit": 1})
        self.assertNoVector(pts[0], "query default with_vector")
        pts = self.query("c", {"query": q, "limit": 1, "with_payload": ["color"]})
        self.assertEqual(pts[0]["payload"], {"color": payload_of(BASE_POINTS, top)["color"]})
        # params.
        pts_e = self.query("c", {"query": q, "limit": 5, "params": {"exact": True}})
        pts_h = self.query("c", {"query": q, "limit": 5, "params": {"hnsw_ef": 128, "exact": False}})
        self.assertEqual([p["id"] for p in pts_e], [e[0] for e in expected])
        self.assertEqual([p["id"] for p in pts_h], [e[0] for e in expected])

    def test_with_payload_include_exclude(self):
        c = self.client
        self.make_base("c")
        res = c.ok("POST", "/collections/c/points",
                   {"ids": [1], "with_payload": {"include": ["color", "n"]}})
        self.assertEqual(res[0]["payload"], {"color": "red", "n": 1})
        res = c.ok("POST", "/collections/c/points", {"ids": [1], "with_payload": {"exclude": ["color"]}})
        self.assertEqual(res[0]["payload"], {"n": 1, "price": 1.5})
        pts = self.query("c", {"query": [1, 0, 0, 0], "limit": 1, "with_payload": {"exclude": ["n", "price"]}})
        self.assertEqual(pts[0]["payload"], {"color": "red"})

    def test_query_batch(self):
        c = self.client
        self.make_base("c")
        searches = [
            {"query": [1, 0, 0, 0], "limit": 2},
            {"query": [0, 0, 0, 1], "limit": 1, "with_payload": True},
            {"query": [0, 1, 0, 0], "limit": 3, "filter": {"must": [{"key": "color", "match": {"value": "red"}}]}},
        ]
        res = c.ok("POST", "/collections/c/points/query/batch", {"searches": searches})
        self.assertIsInstance(res, list, f"query/batch result: {res!r}")
        self.assertEqual(len(res), 3)
        for single, batched in zip(searches, res):
            self.assertIsInstance(batched, dict)
            alone = self.query("c", single)
            self.assertEqual([p["id"] for p in batched["points"]], [p["id"] for p in alone])
        self.assertEqual(res[1]["points"][0]["payload"], payload_of(BASE_POINTS, UUID_A))
        self.assertEqual(c.ok("POST", "/collections/c/points/query/batch", {"searches": []}), [])

    def test_legacy_search_and_batch(self):
        c = self.client
        self.make_base("c", distance="Dot")
        q = [0.0, 0.3, 1.0, 0.2]
        expected = vh.brute_force("Dot", q, [(p["id"], p["vector"]) for p in BASE_POINTS], 5)
        res = c.ok("POST", "/collections/c/points/search", {"vector": q, "limit": 3})
        self.assertIsInstance(res, list, f"search result must be a list: {res!r}")
        self.assertEqual([p["id"] for p in res], [e[0] for e in expected[:3]])
        for p, (_, s) in zip(res, expected):
            self.assertTrue(vh.score_close(p["score"], s))
            self.assertIsInstance(p.get("version"), int, f"scored point version: {p!r}")
        res = c.ok("POST", "/collections/c/points/search",
                   {"vector": q, "limit": 2, "offset": 1, "with_payload": True, "with_vector": True})
        self.assertEqual([p["id"] for p in res], [e[0] for e in expected[1:3]])
        for p in res:
            self.assertEqual(p["payload"], payload_of(BASE_POINTS, p["id"]))
            self.assertTrue(vh.vectors_equal_f32(p["vector"], next(x["vector"] for x in BASE_POINTS if x["id"] == p["id"])))
        res = c.ok("POST", "/collections/c/points/search",
                   {"vector": q, "limit": 5, "score_threshold": expected[1][1] - 1e-4,
                    "params": {"exact": True}, "filter": {"must_not": [{"has_id": [expected[0][0]]}]}})
        self.assertEqual([p["id"] for p in res], [expected[1][0]])
        res = c.ok("POST", "/collections/c/points/search", {"vector": q, "limit": 1, "with_payload": False})
        self.assertNoPayload(res[0], "search")
        self.assertNoVector(res[0], "search")

        res = c.ok("POST", "/collections/c/points/search/batch", {"searches": [
            {"vector": q, "limit": 2}, {"vector": [1, 0, 0, 0], "limit": 1, "with_payload": True}]})
        self.assertIsInstance(res, list)
        self.assertEqual(len(res), 2)
        self.assertEqual([p["id"] for p in res[0]], [e[0] for e in expected[:2]])
        self.assertEqual(len(res[1]), 1)
        self.assertEqual(res[1][0]["payload"], payload_of(BASE_POINTS, res[1][0]["id"]))

    def test_distance_metrics_small(self):
        c = self.client
        vecs = {1: [1, 0, 0, 0], 2: [3, 4, 0, 0], 3: [-1, -1, 2, 0.5], 4: [0.1, 0.2, 0.3, 0.4], 5: [10, -10, 1, 0]}
        q = [1, 2, -0.5, 1]
        for metric in ("Cosine", "Dot", "Euclid", "Manhattan"):
            with self.subTest(metric=metric):
                name = "m_" + metric.lower()
                c.create_collection(name, size=4, distance=metric)
                c.upsert(name, [{"id": k, "vector": v} for k, v in vecs.items()])
                expected = vh.brute_force(metric, q, list(vecs.items()), 5)
                for params in ({"exact": True}, {}):
                    pts = self.query(name, {"query": q, "limit": 5, "params": params})
                    self.assertEqual([p["id"] for p in pts], [e[0] for e in expected], f"{metric} {params}: {pts!r}")
                    for p, (_, s) in zip(pts, expected):
                        self.assertTrue(vh.score_close(p["score"], s), f"{metric}: score {p['score']} expected {s}")
                # score_threshold: for distances keep score <= threshold.
                thr = (expected[1][1] + expected[2][1]) / 2
                pts = self.query(name, {"query": q, "limit": 5, "score_threshold": thr})
                self.assertEqual([p["id"] for p in pts], [e[0] for e in expected[:2]],
                                 f"{metric} score_threshold {thr}: {pts!r}")
                if metric == "Cosine":
                    # Cosine vectors may be stored normalized; either form is acceptable, direction must match.
                    got = c.retrieve(name, [2])[2]["vector"]
                    self.assertTrue(vh.score_close(vh.score("Cosine", got, vecs[2]), 1.0))


if __name__ == "__main__":
    vh.main()

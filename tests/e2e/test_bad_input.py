"""End-to-end: bad input gets a 4xx Qdrant error body naming the problem, the server stays up, and
nothing already stored changes (checked after every bad request: collections, count, every point)."""

import http.client
import json
import math
import os
import socket

import vjharness as vh

UUID_A = "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"
POINTS = [{"id": i, "vector": [float(i), 1.0, -0.5, 0.25 * i], "payload": {"color": ["red", "blue"][i % 2], "n": i,
                                                                       "nested": {"k": [i, {"z": "x"}]}}}
          for i in range(1, 10)]
POINTS.append({"id": UUID_A, "vector": [0.0, 0.0, 0.0, 1.0], "payload": {"u": True}})
COLL = "b"
VEC = [0.1, 0.2, 0.3, 0.4]

JSON_WORDS = ["json", "parse", "syntax", "malformed", "invalid", "expect", "unexpected", "body", "token"]
DIM_WORDS = ["dim", "size", "length", "expected 4", "4"]
ID_WORDS = ["id"]
FINITE_WORDS = ["nan", "inf", "finite", "number", "overflow", "range", "exponent"] + JSON_WORDS


def nested_arrays(depth):
    return "[" * depth + "]" * depth


def nested_objects(depth):
    return '{"a":' * depth + "1" + "}" * depth


class BadInputTest(vh.ServerTestCase):

    def setUp(self):
        super().setUp()
        self.client.create_collection(COLL, size=4, distance="Dot")
        self.client.ok("PUT", "/collections/named",
                       {"vectors": {"img": {"size": 4, "distance": "Dot"}, "txt": {"size": 2, "distance": "Euclid"}}})
        self.client.upsert(COLL, POINTS)
        self.client.upsert("named", [{"id": 1, "vector": {"img": VEC, "txt": [1, 2]}}])
        self.config_before = self.client.ok("GET", f"/collections/{COLL}")["config"]
        self.collections_before = sorted(c["name"] for c in self.client.ok("GET", "/collections")["collections"])

    # ------------------------------------------------------------------ helpers

    def assertUnchanged(self, ctx=""):
        c = self.client
        self.assertTrue(self.server.alive(), f"server died after {ctx}")
        r = c.call("GET", "/livez")
        self.assertEqual(r.status, 200, f"/livez after {ctx}: {r.describe()}")
        names = sorted(x["name"] for x in c.ok("GET", "/collections")["collections"])
        self.assertEqual(names, self.collections_before, f"collections changed after {ctx}")
        self.assertEqual(c.ok("GET", f"/collections/{COLL}")["config"], self.config_before, f"config changed after {ctx}")
        self.assertEqual(c.count(COLL), len(POINTS), f"point count changed after {ctx}")
        self.assertEqual(c.count("named"), 1, f"named collection changed after {ctx}")
        got = c.retrieve(COLL, [p["id"] for p in POINTS])
        for p in POINTS:
            g = got.get(p["id"])
            self.assertIsNotNone(g, f"point {p['id']} vanished after {ctx}")
            self.assertEqual(g.get("payload"), p["payload"], f"payload of {p['id']} changed after {ctx}")
            self.assertTrue(vh.vectors_equal_f32(g.get("vector"), p["vector"]),
                            f"vector of {p['id']} changed after {ctx}: {g.get('vector')}")

    def bad(self, method, path, body=None, raw=None, status=None, mentions=None):
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        ctx = f"{method} {path} {vh.truncate(raw.decode('utf-8', 'replace') if raw else json.dumps(body), 200)}"
        try:
            try:
                self.client.err(method, path, body, raw=raw, status=status, mentions=mentions)
            except (ConnectionError, http.client.HTTPException, socket.timeout) as e:
                raise AssertionError(f"{ctx}: no HTTP response ({e!r}); server alive={self.server.alive()}")
            self.assertUnchanged(ctx)
        except AssertionError:
            self.restore()  # so that one failure does not cascade into the next cases
            raise

    def restore(self):
        """Best effort: put the stored data back as setUp left it."""
        c = self.client
        try:
            for name in sorted(x["name"] for x in c.ok("GET", "/collections")["collections"]):
                if name not in self.collections_before:
                    c.call("DELETE", f"/collections/{name}")
            extra = [p["id"] for p in c.scroll_all(COLL) if p["id"] not in {q["id"] for q in POINTS}]
            if extra:
                c.call("POST", f"/collections/{COLL}/points/delete?wait=true", {"points": extra})
            c.upsert(COLL, POINTS)
            for field in c.ok("GET", f"/collections/{COLL}")["payload_schema"]:
                c.call("DELETE", f"/collections/{COLL}/index/{field}?wait=true")
        except Exception:  # noqa: BLE001 - the server may be down; the original failure is what matters
            pass

    def bad_many(self, cases, **kw):
        for case in cases:
            method, path = case[0], case[1]
            body = case[2] if len(case) > 2 else None
            opts = dict(kw)
            if len(case) > 3:
                opts.update(case[3])
            with self.subTest(method=method, path=path, body=vh.truncate(body if isinstance(body, (str, bytes)) else json.dumps(body), 150)):
                if isinstance(body, (str, bytes)):
                    self.bad(method, path, raw=body, **opts)
                else:
                    self.bad(method, path, body, **opts)

    # ------------------------------------------------------------------ malformed JSON

    def test_malformed_json(self):
        up = f"/collections/{COLL}/points?wait=true"
        cases = [
            ("PUT", up, '{"points": [{"id": 100, "vector": [1,2,3,4]}'),
            ("PUT", up, '{"points": [{"id": 100, "vector": [1,2,3,4],}]}'),
            ("PUT", up, "{points: []}"),
            ("PUT", up, ""),
            ("PUT", up, "[]"),
            ("PUT", up, '"points"'),
            ("PUT", up, "null"),
            ("PUT", up, '{"points": [{"id": 100, "vector": [1,2,3,4]}]} trailing'),
            ("PUT", up, '{"points": [{"id": 100, "vector": [1,2,3,4], "payload": {"s": "\xff\xfe"}}]}'.encode("latin-1")),
            ("PUT", up, '{"points": [{"id": 100, "vector": [1,2,3,4], "payload": {"s": "\\ud800"}}]}'),
            ("PUT", "/collections/newc", '{"vectors": {"size": 4, "distance": "Dot"'),
            ("POST", f"/collections/{COLL}/points/query", '{"query": [1,2,3,4], "limit": }'),
            ("POST", f"/collections/{COLL}/points/search", "{'vector': [1,2,3,4]}"),
            ("POST", f"/collections/{COLL}/points/scroll", '{"limit": 10'),
            ("POST", f"/collections/{COLL}/points/count", "{]"),
            ("POST", f"/collections/{COLL}/points/delete?wait=true", '{"points": [1, 2'),
            ("POST", f"/collections/{COLL}/points/payload?wait=true", '{"payload": {"a": 1}, "points": [1}'),
            ("PUT", f"/collections/{COLL}/points/payload?wait=true", "not json at all"),
            ("POST", f"/collections/{COLL}/points/payload/delete?wait=true", '{"keys": ["color"], "points": [1]'),
            ("POST", f"/collections/{COLL}/points/payload/clear?wait=true", '{"points": [1,,2]}'),
            ("PUT", f"/collections/{COLL}/index?wait=true", '{"field_name": "color", '),
            ("POST", f"/collections/{COLL}/points", '{"ids": [1, 2], "with_payload": tru}'),
        ]
        self.bad_many(cases, status=400, mentions=JSON_WORDS)
        self.assertEqual(self.client.ok("GET", "/collections/newc/exists"), {"exists": False})

    # ------------------------------------------------------------------ vectors

    def test_wrong_dimension(self):
        up = f"/collections/{COLL}/points?wait=true"
        cases = [
            ("PUT", up, {"points": [{"id": 100, "vector": [1, 2, 3]}]}),
            ("PUT", up, {"points": [{"id": 100, "vector": [1, 2, 3, 4, 5]}]}),
            ("PUT", up, {"points": [{"id": 100, "vector": []}]}),
            # One bad point among good ones: the whole request is refused, nothing is stored.
            ("PUT", up, {"points": [{"id": 100, "vector": [1, 2, 3, 4]}, {"id": 101, "vector": [1, 2]},
                                    {"id": 1, "vector": [9, 9, 9, 9], "payload": {"overwritten": True}}]}),
            ("PUT", up, {"batch": {"ids": [100, 101], "vectors": [[1, 2, 3, 4], [1, 2, 3]]}}),
            ("POST", f"/collections/{COLL}/points/query", {"query": [1, 2, 3]}),
            ("POST", f"/collections/{COLL}/points/query", {"query": [1, 2, 3, 4, 5], "params": {"exact": True}}),
            ("POST", f"/collections/{COLL}/points/search", {"vector": [1, 2], "limit": 3}),
            ("POST", f"/collections/{COLL}/points/query/batch", {"searches": [{"query": VEC}, {"query": [1]}]}),
            ("POST", f"/collections/{COLL}/points/search/batch", {"searches": [{"vector": [1, 2, 3, 4, 5], "limit": 1}]}),
            ("PUT", "/collections/named/points?wait=true", {"points": [{"id": 2, "vector": {"img": VEC, "txt": [1, 2, 3]}}]}),
            ("POST", "/collections/named/points/query", {"query": [1, 2, 3], "using": "txt"}),
        ]
        self.bad_many(cases, status=400, mentions=DIM_WORDS)

    def test_bad_vector_values(self):
        up = f"/collections/{COLL}/points?wait=true"
        cases = [
            ("PUT", up, {"points": [{"id": 100, "vector": ["a", "b", "c", "d"]}]}),
            ("PUT", up, {"points": [{"id": 100, "vector": [1, 2, None, 4]}]}),
            ("PUT", up, {"points": [{"id": 100, "vector": None}]}),
            ("PUT", up, {"points": [{"id": 100, "vector": 5}]}),
            ("PUT", up, {"points": [{"id": 100, "vector": [[1, 2], [3, 4]]}]}),
            ("PUT", up, {"points": [{"id": 100}]}),
            ("PUT", up, {"points": [{"id": 100, "vector": {"nope": [1, 2, 3, 4]}}]}),
            ("PUT", up, {"batch": {"ids": [100, 101], "vectors": [[1, 2, 3, 4]]}}),
            ("PUT", up, {"batch": {"ids": [100], "vectors": [[1, 2, 3, 4]], "payloads": [{}, {}]}}),
            ("PUT", up, {"points": "all"}),
            ("PUT", up, {}),
            ("POST", f"/collections/{COLL}/points/query", {"query": "abcd"}),
            ("POST", f"/collections/{COLL}/points/search", {"vector": {"name": "nope", "vector": VEC}}),
            ("POST", "/collections/named/points/query", {"query": VEC, "using": "nope"}),
            ("POST", "/collections/named/points/query", {"query": VEC}),
        ]
        self.bad_many(cases)

    def test_nan_and_infinity(self):
        up = f"/collections/{COLL}/points?wait=true"
        cases = [
            ("PUT", up, '{"points": [{"id": 100, "vector": [NaN, 1, 2, 3]}]}'),
            ("PUT", up, '{"points": [{"id": 100, "vector": [nan, 1, 2, 3]}]}'),
            ("PUT", up, '{"points": [{"id": 100, "vector": [Infinity, 1, 2, 3]}]}'),
            ("PUT", up, '{"points": [{"id": 100, "vector": [-Infinity, 1, 2, 3]}]}'),
            ("PUT", up, '{"points": [{"id": 100, "vector": [1e999, 1, 2, 3]}]}'),
            ("PUT", up, '{"points": [{"id": 100, "vector": [1, -1e999, 2, 3]}]}'),
            ("PUT", up, '{"points": [{"id": 1, "vector": [1, 2, 3, 4], "payload": {"x": NaN}}]}'),
            ("PUT", up, '{"batch": {"ids": [100], "vectors": [[1, 2, 1e999, 3]]}}'),
            ("POST", f"/collections/{COLL}/points/query", '{"query": [NaN, 0, 0, 0]}'),
            ("POST", f"/collections/{COLL}/points/query", '{"query": [1e999, 0, 0, 0], "params": {"exact": true}}'),
            ("POST", f"/collections/{COLL}/points/search", '{"vector": [0, 0, 0, 1e999], "limit": 1}'),
            ("POST", f"/collections/{COLL}/points/query", '{"query": [1, 0, 0, 0], "score_threshold": NaN}'),
        ]
        self.bad_many(cases, status=400, mentions=FINITE_WORDS)

    def test_float32_overflow(self):
        # Finite doubles that overflow float32 would be stored as inf.
        self.bad_many([
            ("PUT", f"/collections/{COLL}/points?wait=true", {"points": [{"id": 100, "vector": [1e39, 0, 0, 0]}]}),
            ("POST", f"/collections/{COLL}/points/query", {"query": [0, -1e300, 0, 0]}),
        ], status=400)

    def test_vectors_whose_scores_would_overflow(self):
        # Finite float32 values whose squared sum is over FLT_MAX / 4: the Dot score of [3e38, 3e38] with
        # itself is inf (written as Infinity, which is not JSON), and mixed signs give NaN, which has no order.
        up = f"/collections/{COLL}/points?wait=true"
        self.bad_many([
            ("PUT", up, {"points": [{"id": 100, "vector": [3e38, 3e38, 0, 0]}]}),
            ("PUT", up, {"points": [{"id": 100, "vector": [1e19, 1e19, 0, 0]}]}),
            ("PUT", up, {"batch": {"ids": [100], "vectors": [[0, 0, 0, -2e19]]}}),
            ("PUT", f"/collections/{COLL}/points/vectors?wait=true", {"points": [{"id": 1, "vector": [3e38, 0, 0, 0]}]}),
            ("POST", f"/collections/{COLL}/points/query", {"query": [3e38, -3e38, 0, 0], "params": {"exact": True}}),
            ("POST", f"/collections/{COLL}/points/search", {"vector": [0, 0, 1e20, 0], "limit": 1}),
        ], status=400, mentions=["too long"])
        # Long vectors under the bound are stored, and their scores are finite JSON numbers.
        c = self.client
        try:
            c.upsert(COLL, [{"id": 100, "vector": [4e18, 4e18, 0, 0]}])
            r = c.call("POST", f"/collections/{COLL}/points/query",
                       {"query": [4e18, 4e18, 0, 0], "limit": 1, "params": {"exact": True}})
            self.assertEqual(r.status, 200, r.describe())

            def refuse(token):
                raise AssertionError(f"answer holds {token}, which is not JSON: {r.describe()}")
            points = json.loads(r.raw.decode("utf-8"), parse_constant=refuse)["result"]["points"]
            self.assertEqual(points[0]["id"], 100)
            self.assertTrue(math.isfinite(points[0]["score"]) and points[0]["score"] > 3e37, points)
        finally:
            c.ok("POST", f"/collections/{COLL}/points/delete?wait=true", {"points": [100]})

    # ------------------------------------------------------------------ unknown collection

    def test_unknown_collection(self):
        cases = [
            ("PUT", "/collections/missing_c/points?wait=true", {"points": [{"id": 1, "vector": VEC}]}),
            ("POST", "/collections/missing_c/points/query", {"query": VEC}),
            ("POST", "/collections/missing_c/points/search", {"vector": VEC, "limit": 1}),
            ("POST", "/collections/missing_c/points/scroll", {}),
            ("POST", "/collections/missing_c/points/count", {}),
            ("GET", "/collections/missing_c", None),
            ("POST", "/collections/missing_c/points/delete?wait=true", {"points": [1]}),
        ]
        self.bad_many(cases, status=404, mentions="missing_c")

    # ------------------------------------------------------------------ ids

    def test_bad_ids(self):
        bad_ids = [-1, 1.5, "not-a-uuid", {"a": 1}, [1], True, None, "", 18446744073709551616,
                   "5c56c793-69f3-4fbf-87e6-c4bf54c28c2", "5c56c793-69f3-4fbf-87e6-c4bf54c28c26-ff"]
        up = f"/collections/{COLL}/points?wait=true"
        cases = []
        for bid in bad_ids:
            cases.append(("PUT", up, {"points": [{"id": bid, "vector": VEC}]}))
            cases.append(("PUT", up, {"points": [{"id": 100, "vector": VEC}, {"id": bid, "vector": VEC}]}))
            cases.append(("PUT", up, {"batch": {"ids": [100, bid], "vectors": [VEC, VEC]}}))
            cases.append(("POST", f"/collections/{COLL}/points", {"ids": [1, bid]}))
            cases.append(("POST", f"/collections/{COLL}/points/delete?wait=true", {"points": [1, bid]}))
            cases.append(("POST", f"/collections/{COLL}/points/payload?wait=true", {"payload": {"q": 1}, "points": [1, bid]}))
            cases.append(("POST", f"/collections/{COLL}/points/count", {"filter": {"must": [{"has_id": [1, bid]}]}}))
            if bid is not None:  # "offset": null means "from the start"
                cases.append(("POST", f"/collections/{COLL}/points/scroll", {"offset": bid, "limit": 2}))
        self.bad_many(cases, status=400, mentions=ID_WORDS + ["uuid", "integer", "unsigned"])

    def test_bad_id_in_path(self):
        for pid in ("-1", "1.5", "not-a-uuid", "%7B%7D", "18446744073709551616"):
            with self.subTest(id=pid):
                self.bad("GET", f"/collections/{COLL}/points/{pid}")

    # ------------------------------------------------------------------ oversized body

    def test_oversized_body(self):
        os.makedirs(self.data_dir + "-small")
        s = self.start_server(data_dir=self.data_dir + "-small", extra_args=["--max-body-bytes", "10000"])
        c = s.client
        c.create_collection("small", size=4, distance="Dot")
        c.upsert("small", [{"id": 1, "vector": VEC, "payload": {"a": 1}}])
        # A body under the limit works.
        body = {"points": [{"id": 2, "vector": VEC, "payload": {"pad": "x" * 5000}}]}
        self.assertLess(len(json.dumps(body)), 10000)
        c.ok("PUT", "/collections/small/points?wait=true", body)
        self.assertEqual(c.count("small"), 2)
        # 20000 bytes -> 413, and the server keeps serving.
        big = json.dumps({"points": [{"id": 3, "vector": VEC, "payload": {"pad": "y" * 20000}}]}).encode()
        self.assertGreater(len(big), 10000)
        try:
            r = c.call("PUT", "/collections/small/points?wait=true", raw=big)
        except (ConnectionError, http.client.HTTPException) as e:
            raise AssertionError(f"oversized body: connection dropped without a 413 response ({e!r})")
        self.assertEqual(r.status, 413, f"oversized body: {r.describe()}")
        self.assertTrue(s.alive())
        self.assertEqual(c.count("small"), 2)
        self.assertEqual(c.retrieve("small", [1])[1]["payload"], {"a": 1})
        # Also a big search body.
        big_q = json.dumps({"query": VEC, "filter": {"must": [{"has_id": list(range(5000))}]}}).encode()
        self.assertGreater(len(big_q), 10000)
        r = c.call("POST", "/collections/small/points/query", raw=big_q)
        self.assertEqual(r.status, 413, f"oversized query: {r.describe()}")
        self.assertEqual(c.count("small"), 2)

    def test_oversized_body_default_limit_server_survives(self):
        # A large body on the default server: either accepted or 413, never a crash.
        big = json.dumps({"points": [{"id": 500, "vector": VEC, "payload": {"pad": "z" * (64 << 20)}}]}).encode()
        try:
            r = self.client.call("PUT", f"/collections/{COLL}/points?wait=true", raw=big, timeout=120)
            self.assertIn(r.status, (200, 413), r.describe()[:300])
        except (ConnectionError, http.client.HTTPException):
            pass  # the server may close the connection on an oversized body
        self.assertTrue(self.server.alive(), "server died on a 64 MiB body")
        r = self.client.call("GET", "/livez")
        self.assertEqual(r.status, 200)

    # ------------------------------------------------------------------ unknown fields

    def test_unknown_fields(self):
        up = f"/collections/{COLL}/points?wait=true"
        cases = [
            ("PUT", up, {"points": [{"id": 100, "vector": VEC}], "bogus_top": 1}, {"mentions": "bogus_top"}),
            ("PUT", up, {"points": [{"id": 100, "vector": VEC, "bogus_point": 1}]}, {"mentions": "bogus_point"}),
            ("PUT", up, {"batch": {"ids": [100], "vectors": [VEC], "bogus_batch": 1}}, {"mentions": "bogus_batch"}),
            ("PUT", "/collections/newc", {"vectors": {"size": 4, "distance": "Dot"}, "bogus_cfg": 1}, {"mentions": "bogus_cfg"}),
            ("PUT", "/collections/newc", {"vectors": {"size": 4, "distance": "Dot", "bogus_vp": 1}}, {"mentions": "bogus_vp"}),
            ("PUT", "/collections/newc", {"vectors": {"size": 4, "distance": "Dot"}, "hnsw_config": {"mm": 3}}, {"mentions": "mm"}),
            ("POST", f"/collections/{COLL}/points/search", {"vector": VEC, "limti": 3}, {"mentions": "limti"}),
            ("POST", f"/collections/{COLL}/points/query", {"query": VEC, "bogus_q": True}, {"mentions": "bogus_q"}),
            ("POST", f"/collections/{COLL}/points/query", {"query": VEC, "params": {"hnsw_eff": 3}}, {"mentions": "hnsw_eff"}),
            ("POST", f"/collections/{COLL}/points/scroll", {"limit": 3, "bogus_s": 1}, {"mentions": "bogus_s"}),
            ("POST", f"/collections/{COLL}/points/count", {"bogus_c": 1}, {"mentions": "bogus_c"}),
            ("POST", f"/collections/{COLL}/points/count", {"filter": {"must": [{"key": "n", "match": {"value": 1}, "bogus_fc": 1}]}}, {"mentions": "bogus_fc"}),
            ("POST", f"/collections/{COLL}/points/count", {"filter": {"must": [{"key": "n", "match": {"valeu": 1}}]}}, {"mentions": "valeu"}),
            ("POST", f"/collections/{COLL}/points/count", {"filter": {"mustt": []}}, {"mentions": "mustt"}),
            ("POST", f"/collections/{COLL}/points/delete?wait=true", {"points": [1], "bogus_d": 1}, {"mentions": "bogus_d"}),
            ("POST", f"/collections/{COLL}/points/payload?wait=true", {"payload": {"a": 1}, "points": [1], "bogus_p": 1}, {"mentions": "bogus_p"}),
            ("PUT", f"/collections/{COLL}/index?wait=true", {"field_name": "color", "field_schema": "keyword", "bogus_i": 1}, {"mentions": "bogus_i"}),
        ]
        self.bad_many(cases, status=400)
        self.assertEqual(self.client.ok("GET", "/collections/newc/exists"), {"exists": False})
        self.assertEqual(self.client.ok("GET", f"/collections/{COLL}")["payload_schema"], {})

    # ------------------------------------------------------------------ deep nesting

    def test_deep_nesting(self):
        up = f"/collections/{COLL}/points?wait=true"
        deep_filter = '{"must": [' * 10000 + "]}" * 10000
        cases = [
            ("PUT", up, '{"points": [{"id": 100, "vector": [1,2,3,4], "payload": {"x": ' + nested_arrays(10000) + "}}]}"),
            ("PUT", up, '{"points": [{"id": 100, "vector": [1,2,3,4], "payload": {"x": ' + nested_arrays(200000) + "}}]}"),
            ("PUT", up, '{"points": [{"id": 1, "vector": [1,2,3,4], "payload": ' + nested_objects(10000) + "}]}"),
            ("POST", f"/collections/{COLL}/points/count", '{"filter": ' + deep_filter + "}"),
            ("POST", f"/collections/{COLL}/points/query", '{"query": [1,2,3,4], "filter": ' + deep_filter + "}"),
            ("POST", f"/collections/{COLL}/points/scroll", nested_arrays(100000)),
        ]
        self.bad_many(cases, status=400)
        # Moderate nesting is fine.
        pl = json.loads(nested_objects(20))
        self.client.upsert(COLL, [{"id": 200, "vector": VEC, "payload": pl}])
        self.assertEqual(self.client.retrieve(COLL, [200])[200]["payload"], pl)

    # ------------------------------------------------------------------ other invalid requests

    def test_bad_collection_config(self):
        cases = [
            ("PUT", "/collections/newc", {"vectors": {"size": 0, "distance": "Dot"}}),
            ("PUT", "/collections/newc", {"vectors": {"size": -4, "distance": "Dot"}}),
            ("PUT", "/collections/newc", {"vectors": {"size": "4", "distance": "Dot"}}),
            ("PUT", "/collections/newc", {"vectors": {"size": 4.5, "distance": "Dot"}}),
            ("PUT", "/collections/newc", {"vectors": {"size": 4, "distance": "Hamming"}}, {"mentions": "Hamming"}),
            ("PUT", "/collections/newc", {"vectors": {"size": 4}}),
            ("PUT", "/collections/newc", {"vectors": {"distance": "Dot"}}),
            ("PUT", "/collections/newc", {}),
            ("PUT", "/collections/newc", {"vectors": {"size": 4, "distance": "Dot"}, "hnsw_config": {"m": -1}}),
            ("PUT", "/collections/newc", {"vectors": {"size": 4, "distance": "Dot"}, "hnsw_config": {"ef_construct": 0}}),
            ("PUT", "/collections/newc", {"vectors": {"img": {"size": 4, "distance": "Dot"}, "txt": {"size": 0, "distance": "Dot"}}}),
            ("PUT", "/collections/newc", {"vectors": {"size": 10 ** 12, "distance": "Dot"}}),
            ("PUT", f"/collections/{COLL}", {"vectors": {"size": 4, "distance": "Dot"}}),
        ]
        self.bad_many(cases)
        self.assertEqual(self.client.ok("GET", "/collections/newc/exists"), {"exists": False})

    def test_bad_search_requests(self):
        q = f"/collections/{COLL}/points/query"
        s = f"/collections/{COLL}/points/search"
        cases = [
            ("POST", q, {"query": VEC, "limit": -1}, {"mentions": "limit"}),
            ("POST", q, {"query": VEC, "limit": "10"}, {"mentions": "limit"}),
            ("POST", q, {"query": VEC, "offset": -3}, {"mentions": "offset"}),
            ("POST", q, {"query": VEC, "with_payload": 5}, {"mentions": "with_payload"}),
            ("POST", q, {"query": VEC, "with_vector": "yes"}, {"mentions": "with_vector"}),
            ("POST", q, {"query": VEC, "params": {"hnsw_ef": -5}}, {"mentions": "hnsw_ef"}),
            ("POST", q, {"query": VEC, "score_threshold": "high"}, {"mentions": "score_threshold"}),
            ("POST", q, {"query": VEC, "filter": {"must": [{"bogus_condition": 1}]}}),
            ("POST", q, {"query": VEC, "filter": {"must": [{"key": "n", "match": {"value": 1.5}}]}}),
            ("POST", q, {"query": VEC, "filter": {"must": [{"key": "n", "range": {"gt": "a"}}]}}),
            ("POST", q, {"query": VEC, "filter": {"must": [{"key": "n"}]}}),
            ("POST", q, {"query": VEC, "filter": {"must": "n"}}),
            ("POST", q, {"query": VEC, "filter": {"min_should": {"min_count": 1}}}),
            ("POST", q, {"query": VEC, "filter": {"must": [{"key": "n", "match": {"any": [1, "a"]}}]}}),
            ("POST", q, {"query": VEC, "filter": {"must": [{"is_empty": {}}]}}),
            ("POST", q, {"query": VEC, "filter": 7}),
            ("POST", f"/collections/{COLL}/points/query/batch", {"searches": {"query": VEC}}),
            ("POST", s, {"limit": 3}),
            ("POST", s, {"vector": VEC, "limit": 0.5}),
            ("POST", f"/collections/{COLL}/points/search/batch", {"searches": [{"vector": VEC, "limit": -2}]}),
            ("POST", f"/collections/{COLL}/points/scroll", {"limit": -1}),
            ("POST", f"/collections/{COLL}/points/scroll", {"limit": 3, "filter": {"should": [{"key": 5, "match": {"value": 1}}]}}),
            ("POST", f"/collections/{COLL}/points/count", {"exact": "yes"}),
        ]
        self.bad_many(cases, status=400)

    def test_bad_updates(self):
        c = f"/collections/{COLL}"
        cases = [
            ("PUT", f"{c}/points?wait=true", {"points": [{"id": 100, "vector": VEC, "payload": [1, 2]}]}, {"mentions": "payload"}),
            ("PUT", f"{c}/points?wait=true", {"points": [{"id": 100, "vector": VEC, "payload": "str"}]}, {"mentions": "payload"}),
            ("POST", f"{c}/points/payload?wait=true", {"payload": {"a": 1}}),
            ("POST", f"{c}/points/payload?wait=true", {"payload": 5, "points": [1]}, {"mentions": "payload"}),
            ("POST", f"{c}/points/payload?wait=true", {"points": [1]}, {"mentions": "payload"}),
            ("PUT", f"{c}/points/payload?wait=true", {"payload": [], "points": [1]}, {"mentions": "payload"}),
            ("POST", f"{c}/points/payload/delete?wait=true", {"keys": "color", "points": [1]}, {"mentions": "keys"}),
            ("POST", f"{c}/points/payload/delete?wait=true", {"points": [1]}, {"mentions": "keys"}),
            ("POST", f"{c}/points/payload/clear?wait=true", {"points": "all"}),
            ("POST", f"{c}/points/delete?wait=true", {}),
            ("POST", f"{c}/points/delete?wait=true", {"points": 1}),
            ("POST", f"{c}/points/delete?wait=true", {"filter": {"must": [{"key": "n", "match": {}}]}}),
            ("PUT", f"{c}/index?wait=true", {"field_name": "color", "field_schema": "nonsense"}, {"mentions": "nonsense"}),
            ("PUT", f"{c}/index?wait=true", {"field_schema": "keyword"}, {"mentions": "field_name"}),
            ("PUT", f"{c}/index?wait=true", {"field_name": "", "field_schema": "keyword"}),
            ("PUT", f"{c}/points?wait=maybe", {"points": [{"id": 100, "vector": VEC}]}, {"mentions": "wait"}),
        ]
        self.bad_many(cases)
        self.assertEqual(self.client.ok("GET", f"/collections/{COLL}")["payload_schema"], {})

    def test_unknown_routes_and_methods(self):
        for method, path in (("GET", "/no/such/route"), ("POST", "/collections/b/points/frobnicate"),
                             ("PATCH", "/collections"), ("DELETE", "/collections"),
                             ("GET", "/collections/%FF%FE"), ("PUT", "/"), ("POST", "/livez")):
            with self.subTest(method=method, path=path):
                r = self.client.call(method, path, raw=b"{}" if method in ("POST", "PUT", "PATCH") else None)
                self.assertTrue(400 <= r.status < 500, f"{r.describe()}")
                self.assertUnchanged(f"{method} {path}")

    def test_garbage_on_socket(self):
        # Raw garbage and an HTTP request cut short: the server stays up.
        for payload in (b"\x00\x01\x02garbage\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
                        b"POST /collections/b/points/count HTTP/1.1\r\nContent-Length: -5\r\n\r\n{}",
                        b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n"):
            s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
            try:
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
                try:
                    s.recv(65536)
                except OSError:
                    pass
            finally:
                s.close()
            self.assertUnchanged(repr(payload[:40]))

    def test_big_limit_no_crash(self):
        for body in ({"query": VEC, "limit": 10 ** 12}, {"query": VEC, "limit": 2 ** 63 - 1, "offset": 2 ** 62},
                     {"query": VEC, "limit": 10, "params": {"hnsw_ef": 10 ** 9}}):
            r = self.client.call("POST", f"/collections/{COLL}/points/query", body)
            self.assertTrue(r.status == 200 or 400 <= r.status < 500, r.describe())
            if r.status == 200:
                self.assertLessEqual(len(r.json["result"]["points"]), len(POINTS))
            self.assertUnchanged(json.dumps(body))


if __name__ == "__main__":
    vh.main()

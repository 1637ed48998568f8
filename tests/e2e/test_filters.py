"""End-to-end: filters (Qdrant semantics) against a Python reference evaluation.

1500 points with random payloads (missing keys and nulls included). Many filters covering every
condition type are run through count (exact), scroll and exact filtered search, on a collection
without payload indexes and on an identical one with keyword/integer/float/bool indexes (created
half-way through loading). Selective filters (~1% of points) with the default (HNSW) search must
return exactly the exact filtered top-k.

Reference semantics follow Qdrant (lib/segment/src/payload_storage/condition_checker.rs):
  - a key path "a.b" walks objects, "a[].b" walks every element of array a; a leaf array is checked
    element by element (any element matching is enough);
  - a field condition (match/range) on a missing key or an empty array is false; on null it is false,
    including match.except;
  - match.except on a value of another type than the list is true;
  - is_empty: key missing, null or []; is_null: the value is null;
  - should: at least one; min_should: at least min_count; must: all; must_not: none.
"""

import random

import vjharness as vh

N = 1500
DIM = 8
METRIC = "Euclid"
SEED = 424242
COLORS = ["red", "green", "blue", "yellow", "black"]
TAGS = ["t%d" % i for i in range(8)]
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
INDEXES = [("color", "keyword"), ("tags", "keyword"), ("size", "integer"), ("bucket", "integer"),
           ("obj.a.b", "integer"), ("price", "float"), ("flag", "bool")]


# ------------------------------------------------------------------------------------ data


def gen_payload(rnd):
    p = {}

    def maybe(key, gen, missing=0.1, null=0.05):
        r = rnd.random()
        if r < missing:
            return
        p[key] = None if r < missing + null else gen()

    maybe("color", lambda: rnd.choice(COLORS))
    maybe("size", lambda: rnd.randint(0, 99))
    # Short decimals (exact payload round trip is tested in test_api.py); never integral.
    maybe("price", lambda: float("%d.%02d5" % (rnd.randint(0, 999), rnd.randint(0, 99))))
    maybe("flag", lambda: rnd.random() < 0.5)
    maybe("tags", lambda: rnd.sample(TAGS, rnd.randint(0, 3)))
    maybe("obj", lambda: {"a": {"b": rnd.randint(0, 9)}} if rnd.random() < 0.85 else {"a": {"c": 1}})
    maybe("items", lambda: [{"v": rnd.randint(0, 20)} if rnd.random() < 0.9 else {"w": 1}
                            for _ in range(rnd.randint(0, 3))])
    maybe("text", lambda: " ".join(rnd.sample(WORDS, 2)))
    p["bucket"] = rnd.randint(0, 99)
    return p


def gen_points(rnd):
    ids = rnd.sample(range(1, 10 * N), N)
    pts = []
    for pid in ids:
        vec = vh.f32vec([rnd.uniform(-1, 1) for _ in range(DIM)])
        pts.append((pid, vec, gen_payload(rnd)))
    return pts


# ------------------------------------------------------------------------------------ reference


def get_values(payload, key):
    cur = [payload]
    for seg in key.split("."):
        wildcard = seg.endswith("[]")
        name = seg[:-2] if wildcard else seg
        nxt = []
        for v in cur:
            if isinstance(v, dict) and name in v:
                nxt.append(v[name])
        if wildcard:
            nxt = [e for v in nxt if isinstance(v, list) for e in v]
        cur = nxt
    return cur


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def match_elem(m, e):
    if "value" in m:
        val = m["value"]
        if isinstance(val, bool):
            return isinstance(e, bool) and e == val
        if isinstance(val, str):
            return isinstance(e, str) and e == val
        return is_int(e) and e == val
    if "any" in m:
        lst = m["any"]
        if all(isinstance(x, str) for x in lst):
            return isinstance(e, str) and e in lst
        return is_int(e) and e in lst
    if "except" in m:
        lst = m["except"]
        strings = all(isinstance(x, str) for x in lst)
        if e is None:
            return False
        if isinstance(e, str):
            return e not in lst if strings else True
        if is_int(e):
            return e not in lst if not strings else True
        return True
    if "text" in m:
        return isinstance(e, str) and m["text"] in e
    raise ValueError(m)


def range_elem(r, e):
    if not is_num(e):
        return False
    if "gt" in r and r["gt"] is not None and not e > r["gt"]:
        return False
    if "gte" in r and r["gte"] is not None and not e >= r["gte"]:
        return False
    if "lt" in r and r["lt"] is not None and not e < r["lt"]:
        return False
    if "lte" in r and r["lte"] is not None and not e <= r["lte"]:
        return False
    return True


def eval_condition(c, pid, payload):
    if any(k in c for k in ("must", "should", "must_not", "min_should")):
        return eval_filter(c, pid, payload)
    if "has_id" in c:
        return pid in c["has_id"]
    if "is_empty" in c:
        vals = get_values(payload, c["is_empty"]["key"])
        return all(v is None or v == [] for v in vals)
    if "is_null" in c:
        vals = get_values(payload, c["is_null"]["key"])
        return any(v is None for v in vals)
    vals = get_values(payload, c["key"])
    if not vals:
        return False
    elems = []
    for v in vals:
        if isinstance(v, list):
            elems.extend(v)
        else:
            elems.append(v)
    if "match" in c:
        return any(match_elem(c["match"], e) for e in elems)
    if "range" in c:
        return any(range_elem(c["range"], e) for e in elems)
    raise ValueError(c)


def eval_filter(f, pid, payload):
    if f.get("should") is not None and not any(eval_condition(c, pid, payload) for c in f["should"]):
        return False
    ms = f.get("min_should")
    if ms is not None and sum(1 for c in ms["conditions"] if eval_condition(c, pid, payload)) < ms["min_count"]:
        return False
    if f.get("must") is not None and not all(eval_condition(c, pid, payload) for c in f["must"]):
        return False
    if f.get("must_not") is not None and any(eval_condition(c, pid, payload) for c in f["must_not"]):
        return False
    return True


# ------------------------------------------------------------------------------------ filters


class FilterGen:
    def __init__(self, rnd, ids):
        self.rnd = rnd
        self.ids = ids

    def atom_kinds(self):
        return [
            self.match_color, self.any_color, self.except_color, self.match_tag, self.any_tags,
            self.except_tags, self.match_size, self.any_size, self.except_size, self.match_flag,
            self.match_text, self.range_size, self.range_price, self.range_nested, self.range_items,
            self.match_nested, self.any_items, self.is_empty, self.is_null, self.has_id,
            self.range_open, self.match_missing_value, self.nested_filter,
        ]

    def match_color(self):
        return {"key": "color", "match": {"value": self.rnd.choice(COLORS + ["purple"])}}

    def any_color(self):
        return {"key": "color", "match": {"any": self.rnd.sample(COLORS, self.rnd.randint(1, 3))}}

    def except_color(self):
        return {"key": "color", "match": {"except": self.rnd.sample(COLORS, self.rnd.randint(1, 3))}}

    def match_tag(self):
        return {"key": "tags", "match": {"value": self.rnd.choice(TAGS)}}

    def any_tags(self):
        return {"key": "tags", "match": {"any": self.rnd.sample(TAGS, self.rnd.randint(1, 3))}}

    def except_tags(self):
        return {"key": "tags", "match": {"except": self.rnd.sample(TAGS, self.rnd.randint(1, 6))}}

    def match_size(self):
        return {"key": "size", "match": {"value": self.rnd.randint(0, 99)}}

    def any_size(self):
        return {"key": "size", "match": {"any": self.rnd.sample(range(100), self.rnd.randint(1, 20))}}

    def except_size(self):
        return {"key": "size", "match": {"except": self.rnd.sample(range(100), self.rnd.randint(1, 60))}}

    def match_flag(self):
        return {"key": "flag", "match": {"value": self.rnd.random() < 0.5}}

    def match_text(self):
        return {"key": "text", "match": {"text": self.rnd.choice(WORDS)}}

    def _range(self, lo, hi, integer):
        a = self.rnd.randint(lo, hi) if integer else round(self.rnd.uniform(lo, hi), 3)
        b = self.rnd.randint(lo, hi) if integer else round(self.rnd.uniform(lo, hi), 3)
        a, b = min(a, b), max(a, b)
        r = {}
        r["gt" if self.rnd.random() < 0.5 else "gte"] = a
        r["lt" if self.rnd.random() < 0.5 else "lte"] = b
        return r

    def range_size(self):
        return {"key": "size", "range": self._range(0, 99, True)}

    def range_price(self):
        return {"key": "price", "range": self._range(0, 1000, False)}

    def range_nested(self):
        return {"key": "obj.a.b", "range": self._range(0, 9, True)}

    def range_items(self):
        return {"key": "items[].v", "range": self._range(0, 20, True)}

    def range_open(self):
        key, hi = self.rnd.choice([("size", 99), ("price", 1000), ("bucket", 99)])
        op = self.rnd.choice(["gt", "gte", "lt", "lte"])
        return {"key": key, "range": {op: self.rnd.randint(0, hi)}}

    def match_nested(self):
        return {"key": "obj.a.b", "match": {"value": self.rnd.randint(0, 9)}}

    def any_items(self):
        return {"key": "items[].v", "match": {"any": self.rnd.sample(range(21), self.rnd.randint(1, 4))}}

    def is_empty(self):
        return {"is_empty": {"key": self.rnd.choice(["color", "tags", "obj", "obj.a.b", "size", "items"])}}

    def is_null(self):
        return {"is_null": {"key": self.rnd.choice(["color", "size", "tags", "price", "obj"])}}

    def has_id(self):
        return {"has_id": self.rnd.sample(self.ids, self.rnd.randint(1, 40)) + [10 * N + 7]}

    def match_missing_value(self):
        # A key no point has.
        return {"key": self.rnd.choice(["nokey", "obj.zzz", "items[].zzz"]), "match": {"value": "x"}}

    def nested_filter(self, depth=1):
        return self.filter(depth + 1)

    def atom(self, depth):
        kinds = self.atom_kinds()
        if depth >= 2:
            kinds = [k for k in kinds if k != self.nested_filter]
        k = self.rnd.choice(kinds)
        return k(depth) if k == self.nested_filter else k()

    def filter(self, depth=0):
        f = {}
        while not f:
            if self.rnd.random() < 0.6:
                f["must"] = [self.atom(depth) for _ in range(self.rnd.randint(1, 3))]
            if self.rnd.random() < 0.4:
                f["should"] = [self.atom(depth) for _ in range(self.rnd.randint(1, 3))]
            if self.rnd.random() < 0.3:
                f["must_not"] = [self.atom(depth) for _ in range(self.rnd.randint(1, 2))]
            if self.rnd.random() < 0.2:
                conds = [self.atom(depth) for _ in range(self.rnd.randint(2, 4))]
                f["min_should"] = {"conditions": conds, "min_count": self.rnd.randint(1, len(conds))}
        return f

    def all_filters(self, n_random):
        out = []
        # Every condition kind alone, in must and in must_not.
        for k in self.atom_kinds():
            atom = k() if k != self.nested_filter else k(1)
            out.append({"must": [atom]})
            out.append({"must_not": [atom]})
        out.append({"should": [self.match_color(), self.range_size(), self.is_null()]})
        out.append({"min_should": {"conditions": [self.match_tag(), self.match_tag(), self.match_flag(),
                                                  self.range_price()], "min_count": 2}})
        for _ in range(n_random):
            out.append(self.filter())
        return out


# ------------------------------------------------------------------------------------ test


class FiltersTest(vh.SharedServerTestCase):

    @classmethod
    def load(cls):
        rnd = random.Random(SEED)
        cls.points = gen_points(rnd)
        cls.by_id = {pid: (vec, pl) for pid, vec, pl in cls.points}
        gen = FilterGen(random.Random(SEED + 1), [p[0] for p in cls.points])
        cls.filters = gen.all_filters(40)
        cls.queries = [vh.f32vec([rnd.uniform(-1, 1) for _ in range(DIM)]) for _ in range(len(cls.filters))]
        c = cls.client
        for name in ("f_plain", "f_idx"):
            c.create_collection(name, size=DIM, distance=METRIC)
        body = [{"id": pid, "vector": vec, "payload": pl} for pid, vec, pl in cls.points]
        half = len(body) // 2
        for start in range(0, half, 250):
            c.upsert("f_plain", body[start:min(start + 250, half)])
            c.upsert("f_idx", body[start:min(start + 250, half)])
        for field, schema in INDEXES:
            c.ok("PUT", "/collections/f_idx/index?wait=true", {"field_name": field, "field_schema": schema})
        for start in range(half, len(body), 250):
            c.upsert("f_plain", body[start:start + 250])
            c.upsert("f_idx", body[start:start + 250])

    def reference(self, flt):
        return {pid for pid, _, pl in self.points if eval_filter(flt, pid, pl)}

    def check_count_and_scroll(self, coll):
        failures = []
        for i, flt in enumerate(self.filters):
            exp = self.reference(flt)
            n = self.client.count(coll, flt)
            got = {p["id"] for p in self.client.scroll_all(coll, flt=flt, limit=200)}
            if n != len(exp) or got != exp:
                missing = sorted(exp - got)[:5]
                extra = sorted(got - exp)[:5]
                example = ""
                if missing or extra:
                    pid = (missing or extra)[0]
                    example = f"; e.g. point {pid} payload {self.by_id[pid][1]}"
                failures.append(f"[{coll}] filter #{i} {flt}: count={n} scroll={len(got)} expected={len(exp)}; "
                                f"missing {missing} extra {extra}{example}")
        self.assertNoItems(failures, f"{len(failures)} of {len(self.filters)} filters disagree with the reference:\n"
                         + "\n".join(failures[:15]))

    def check_exact_filtered_search(self, coll):
        failures = []
        for i, flt in enumerate(self.filters):
            q = self.queries[i]
            allowed = self.reference(flt)
            exp = vh.brute_force(METRIC, q, [(pid, self.by_id[pid][0]) for pid in allowed], 10)
            res = self.client.ok("POST", f"/collections/{coll}/points/query",
                                 {"query": q, "filter": flt, "limit": 10, "params": {"exact": True}})
            got = [(p["id"], p["score"]) for p in res["points"]]
            if [g[0] for g in got] != [e[0] for e in exp] or not all(
                    vh.score_close(g[1], e[1]) for g, e in zip(got, exp)):
                failures.append(f"[{coll}] filter #{i} {flt}: got {[g[0] for g in got]} expected {[e[0] for e in exp]}")
        self.assertNoItems(failures, f"{len(failures)} exact filtered searches differ:\n" + "\n".join(failures[:10]))

    def test_count_and_scroll_plain(self):
        self.check_count_and_scroll("f_plain")

    def test_count_and_scroll_indexed(self):
        self.check_count_and_scroll("f_idx")

    def test_exact_filtered_search_plain(self):
        self.check_exact_filtered_search("f_plain")

    def test_exact_filtered_search_indexed(self):
        self.check_exact_filtered_search("f_idx")

    def test_filtered_legacy_search_exact(self):
        failures = []
        for i, flt in enumerate(self.filters[:20]):
            q = self.queries[i]
            allowed = self.reference(flt)
            exp = vh.brute_force(METRIC, q, [(pid, self.by_id[pid][0]) for pid in allowed], 5)
            res = self.client.ok("POST", "/collections/f_plain/points/search",
                                 {"vector": q, "filter": flt, "limit": 5, "params": {"exact": True}})
            if [p["id"] for p in res] != [e[0] for e in exp]:
                failures.append(f"filter #{i} {flt}: got {[p['id'] for p in res]} expected {[e[0] for e in exp]}")
        self.assertNoItems(failures, "\n".join(failures[:10]))

    def test_selective_filter_default_search(self):
        # ~1% (bucket == b) and ~0.2% (bucket == b and color == c): the default (HNSW) search must
        # return min(limit, matches) points, equal to the exact filtered top-k.
        rnd = random.Random(SEED + 2)
        selective = []
        for b in rnd.sample(range(100), 6):
            selective.append({"must": [{"key": "bucket", "match": {"value": b}}]})
        with_color = [pl for _, _, pl in self.points if isinstance(pl.get("color"), str)]
        for pl in rnd.sample(with_color, 4):
            selective.append({"must": [{"key": "bucket", "match": {"value": pl["bucket"]}},
                                       {"key": "color", "match": {"value": pl["color"]}}]})
        selective.append({"must": [{"key": "bucket", "range": {"gte": 10, "lt": 11}}]})
        selective.append({"must": [{"has_id": rnd.sample([p[0] for p in self.points], 7)}]})
        failures = []
        for coll in ("f_plain", "f_idx"):
            for i, flt in enumerate(selective):
                q = vh.f32vec([rnd.uniform(-1, 1) for _ in range(DIM)])
                allowed = self.reference(flt)
                self.assertTrue(0 < len(allowed) <= 40, f"selective filter matches {len(allowed)} points")
                for limit in (5, 10):
                    exp = vh.brute_force(METRIC, q, [(pid, self.by_id[pid][0]) for pid in allowed], limit)
                    res = self.client.ok("POST", f"/collections/{coll}/points/query",
                                         {"query": q, "filter": flt, "limit": limit})
                    got = [p["id"] for p in res["points"]]
                    if got != [e[0] for e in exp]:
                        failures.append(f"[{coll}] {flt} limit {limit}: {len(allowed)} matches; got {len(got)} "
                                        f"points {got}, expected {[e[0] for e in exp]}")
        self.assertNoItems(failures, "\n".join(failures))

    def test_filtered_default_search_recall(self):
        # Moderately selective filters with HNSW: every result satisfies the filter and recall is high.
        hits = total = 0
        bad = []
        for i, flt in enumerate(self.filters):
            q = self.queries[i]
            allowed = self.reference(flt)
            exp = vh.brute_force(METRIC, q, [(pid, self.by_id[pid][0]) for pid in allowed], 10)
            res = self.client.ok("POST", "/collections/f_idx/points/query", {"query": q, "filter": flt, "limit": 10})
            got = [p["id"] for p in res["points"]]
            outside = [g for g in got if g not in allowed]
            if outside:
                bad.append(f"filter #{i} {flt}: results {outside} do not satisfy the filter")
            if len(got) != len(exp):
                bad.append(f"filter #{i} {flt}: {len(got)} results, {len(exp)} expected")
            hits += len(set(got) & {e[0] for e in exp})
            total += len(exp)
        self.assertNoItems(bad, "\n".join(bad[:10]))
        recall = hits / max(1, total)
        print(f"\nfiltered HNSW recall@10 = {recall:.3f}")
        self.assertGreaterEqual(recall, 0.9)

    def test_scroll_with_payload_matches_stored(self):
        flt = {"must": [{"key": "color", "match": {"value": "red"}}]}
        for coll in ("f_plain", "f_idx"):
            got = self.client.scroll_all(coll, flt=flt, limit=64, with_payload=True, with_vector=True)
            self.assertEqual({p["id"] for p in got}, self.reference(flt))
            for p in got:
                vec, pl = self.by_id[p["id"]]
                self.assertEqual(p["payload"], pl, f"payload of {p['id']}")
                self.assertTrue(vh.vectors_equal_f32(p["vector"], vec), f"vector of {p['id']}")

    def test_filter_after_updates(self):
        # Payload updates and deletes are reflected by filters, with and without indexes. Uses its own
        # collections so the shared data stays intact.
        c = self.client
        subset = self.points[:300]
        body = [{"id": pid, "vector": vec, "payload": pl} for pid, vec, pl in subset]
        flt = {"must": [{"key": "color", "match": {"value": "violet"}}]}
        rng_flt = {"must": [{"key": "size", "range": {"gte": 1000}}]}
        ids = [p[0] for p in subset[:30]]
        for coll in ("u_plain", "u_idx"):
            c.create_collection(coll, size=DIM, distance=METRIC)
            if coll == "u_idx":
                for field, schema in INDEXES:
                    c.ok("PUT", f"/collections/{coll}/index?wait=true", {"field_name": field, "field_schema": schema})
            c.upsert(coll, body)
            c.ok("POST", f"/collections/{coll}/points/payload?wait=true",
                 {"payload": {"color": "violet", "size": 1234}, "points": ids})
            self.assertEqual(c.count(coll, flt), 30, coll)
            self.assertEqual(c.count(coll, rng_flt), 30, coll)
            self.assertEqual(c.count(coll, {"must": [{"key": "color", "match": {"value": "red"}}]}),
                             sum(1 for pid, _, pl in subset[30:] if pl.get("color") == "red"), coll)
            # Restore the original payloads (overwrite): the filters match nothing again.
            for pid in ids:
                c.ok("PUT", f"/collections/{coll}/points/payload?wait=true",
                     {"payload": self.by_id[pid][1], "points": [pid]})
            self.assertEqual(c.count(coll, flt), 0, coll)
            self.assertEqual(c.count(coll, rng_flt), 0, coll)
            # Clear and delete keys are visible to (indexed) filters.
            c.ok("POST", f"/collections/{coll}/points/payload/clear?wait=true", {"points": ids[:10]})
            c.ok("POST", f"/collections/{coll}/points/payload/delete?wait=true", {"keys": ["color"], "points": ids[10:20]})
            exp = {pid for pid, _, pl in subset if pid not in ids[:20] and pl.get("color") == "red"}
            self.assertEqual({p["id"] for p in c.scroll_all(coll, {"must": [{"key": "color", "match": {"value": "red"}}]})},
                             exp, coll)
            # Deleted points disappear from filtered results.
            c.ok("POST", f"/collections/{coll}/points/delete?wait=true", {"filter": {"must": [{"key": "color", "match": {"value": "red"}}]}})
            self.assertEqual(c.count(coll, {"must": [{"key": "color", "match": {"value": "red"}}]}), 0, coll)
            self.assertEqual(c.count(coll), 300 - len(exp), coll)

if __name__ == "__main__":
    vh.main()

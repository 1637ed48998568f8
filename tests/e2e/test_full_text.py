"""End-to-end: the full-text payload index (field_schema {"type": "text", ...}) and match.text,
match.text_any and match.phrase, against the real binary. Answers are checked against a model computed
here: without an index Qdrant's substring semantics, with one the tokens (word tokenizer, lowercase,
English stop words, Snowball English stems of the few words that have them); array payloads match when
one element does. The index survives a restart, follows upserts, payload edits and deletes, and bad
params answer 400 naming the field without changing the schema.
"""

import random
import re

import cluster_harness as ch
import vjharness as vh

COLL = "docs"
DIM = 4
WORDS = ["fox", "foxes", "dog", "dogs", "run", "running", "runs", "quick", "Quick", "QUICK", "brown", "lazy",
         "the", "a", "and", "jumps", "jump", "Ёлка", "ёлка", "café"]
STEMS = {"foxes": "fox", "dogs": "dog", "running": "run", "runs": "run", "jumps": "jump"}
STOP = {"the", "a", "and"}
SEPARATORS = [" ", ", ", "-", "! ", " (", ") "]
SCHEMA = {"type": "text", "tokenizer": "word", "lowercase": True, "phrase_matching": True,
          "stopwords": "english", "stemmer": {"type": "snowball", "language": "english"}}
QUERIES = ["quick fox", "QUICK FOXES", "running dog", "lazy", "the", "ЁЛКА café", "jump brown", "unicorn"]


def tokens(text):
    out = []
    for w in re.split(r"[^\w]+|_", text):
        w = w.lower()
        if not w or w in STOP:
            continue
        out.append(STEMS.get(w, w))
    return out


def indexed_match(kind, query, value):
    q, words = tokens(query), tokens(value)
    if not q:
        return False
    if kind == "text":
        return all(t in words for t in q)
    if kind == "text_any":
        return any(t in words for t in q)
    return any(words[i:i + len(q)] == q for i in range(len(words) - len(q) + 1))


def substring_match(kind, query, value):
    if kind == "text_any":
        return any(w in value for w in query.split())
    return query in value


def strings(payload):
    v = payload.get("body")
    vals = v if isinstance(v, list) else [v]
    return [s for s in vals if isinstance(s, str)]


def sentence(rnd):
    n = rnd.randrange(1, 8)
    return "".join(rnd.choice(WORDS) + rnd.choice(SEPARATORS) for _ in range(n)).strip()


class FullTextTest(vh.ServerTestCase):

    def setUp(self):
        super().setUp()
        self.rnd = random.Random(11)
        self.client.create_collection(COLL, body={"vectors": {"size": DIM, "distance": "Dot"}, "shard_number": 2})
        self.points = {}
        pts = []
        for i in range(1, 301):
            r = i % 10
            body = [sentence(self.rnd), sentence(self.rnd)] if r == 0 else (i if r == 1 else sentence(self.rnd))
            p = {"id": i, "vector": [self.rnd.random() for _ in range(DIM)], "payload": {"body": body}}
            pts.append(p)
            self.points[i] = p["payload"]
        self.client.upsert(COLL, pts)

    def expected(self, kind, query, indexed):
        match = indexed_match if indexed else substring_match
        return sorted(i for i, p in self.points.items() if any(match(kind, query, s) for s in strings(p)))

    def check_all(self, indexed, phrase_indexed=True):
        c = self.client
        for query in QUERIES:
            for kind in ("text", "text_any", "phrase"):
                tokenized = indexed and (kind != "phrase" or phrase_indexed)
                want = self.expected(kind, query, tokenized)
                flt = {"must": [{"key": "body", "match": {kind: query}}]}
                got = [p["id"] for p in c.scroll_all(COLL, flt, limit=37)]
                self.assertEqual(got, want, f"scroll {kind} {query!r} indexed={tokenized}")
                self.assertEqual(c.count(COLL, flt), len(want), f"count {kind} {query!r}")
                # The planner never returns fewer than limit when enough points match.
                hits = c.ok("POST", f"/collections/{COLL}/points/search",
                            {"vector": [1.0, 0.5, 0.25, 0.125], "limit": 10, "filter": flt})
                self.assertEqual(len(hits), min(10, len(want)), f"search {kind} {query!r}")
                self.assertTrue({h["id"] for h in hits} <= set(want))
                # must_not is the complement among all points.
                neg = c.count(COLL, {"must_not": [{"key": "body", "match": {kind: query}}]})
                self.assertEqual(neg, len(self.points) - len(want))

    def create_index(self, schema=SCHEMA):
        self.client.ok("PUT", f"/collections/{COLL}/index?wait=true", {"field_name": "body", "field_schema": schema})

    def test_index_answers_tokens_and_survives_restart(self):
        self.check_all(indexed=False)
        self.create_index()
        info = self.client.ok("GET", f"/collections/{COLL}")["payload_schema"]["body"]
        self.assertEqual(info["data_type"], "text")
        self.assertEqual(info["params"]["tokenizer"], "word")
        self.assertTrue(info["params"]["phrase_matching"])
        self.assertEqual(info["params"]["stemmer"], {"type": "snowball", "language": "english"})
        self.assertEqual(info["params"]["stopwords"]["languages"], ["english"])
        self.assertEqual(info["points"], sum(1 for p in self.points.values() if strings(p)))
        self.check_all(indexed=True)

        self.server.stop()
        self.server.start()
        self.assertEqual(self.client.ok("GET", f"/collections/{COLL}")["payload_schema"]["body"]["params"]["stemmer"],
                         {"type": "snowball", "language": "english"})
        self.check_all(indexed=True)

        # Writes keep the index in step: overwrite, set_payload, delete_payload, delete.
        c = self.client
        c.upsert(COLL, [{"id": 5, "vector": [1.0] * DIM, "payload": {"body": "Quick brown foxes running"}}])
        self.points[5] = {"body": "Quick brown foxes running"}
        c.ok("POST", f"/collections/{COLL}/points/payload?wait=true", {"payload": {"body": "lazy dogs"}, "points": [7, 8]})
        self.points[7] = {"body": "lazy dogs"}
        self.points[8] = {"body": "lazy dogs"}
        c.ok("POST", f"/collections/{COLL}/points/payload/delete?wait=true", {"keys": ["body"], "points": [9]})
        self.points[9] = {}
        c.ok("POST", f"/collections/{COLL}/points/delete?wait=true", {"points": [12, 13]})
        del self.points[12], self.points[13]
        self.check_all(indexed=True)

        # Dropping the index brings back substring semantics.
        c.ok("DELETE", f"/collections/{COLL}/index/body?wait=true")
        self.check_all(indexed=False)

    def test_phrase_without_phrase_matching_is_a_substring(self):
        self.create_index({"type": "text", "stopwords": "english",
                           "stemmer": {"type": "snowball", "language": "english"}})
        self.assertFalse(self.client.ok("GET", f"/collections/{COLL}")["payload_schema"]["body"]["params"]
                         ["phrase_matching"])
        self.check_all(indexed=True, phrase_indexed=False)

    def test_bad_params_are_refused(self):
        c = self.client
        for schema, field in [
            ({"type": "text", "tokenizer": "bogus"}, "field_schema.tokenizer"),
            ({"type": "text", "stemmer": {"type": "snowball", "language": "xx"}}, "field_schema.stemmer.language"),
            ({"type": "text", "stemmer": {"type": "lovins"}}, "field_schema.stemmer.type"),
            ({"type": "text", "stopwords": "klingon"}, "field_schema.stopwords"),
            ({"type": "text", "stopwords": {"custom": "the"}}, "field_schema.stopwords.custom"),
            ({"type": "text", "min_token_len": 9, "max_token_len": 2}, "min_token_len"),
            ({"type": "text", "max_token_len": -1}, "field_schema.max_token_len"),
            ({"type": "text", "lowercase": "yes"}, "field_schema.lowercase"),
            ({"type": "text", "ngram": 3}, "ngram"),
            ({"type": "fulltext"}, "field_schema"),
        ]:
            c.err("PUT", f"/collections/{COLL}/index?wait=true", {"field_name": "body", "field_schema": schema},
                  status=400, mentions=field)
        self.assertEqual(c.ok("GET", f"/collections/{COLL}")["payload_schema"], {})
        for match, field in [({"text": 5}, "match.text"), ({"phrase": ["a"]}, "match.phrase"),
                             ({"text_any": None}, "match"), ({"text": "x" * 5000}, "match.text")]:
            c.err("POST", f"/collections/{COLL}/points/count",
                  {"filter": {"must": [{"key": "body", "match": match}]}}, status=400, mentions=field)
        self.assertTrue(self.server.alive())


class ClusterFullTextTest(ch.ClusterTestCase):
    """The index's params reach the replicas on both nodes; conditions on remote shards use them."""
    node_names = ("n1", "n2")

    def test_text_index_through_a_node_with_remote_shards(self):
        rnd = random.Random(5)
        c1, c2 = self.client("n1"), self.client("n2")
        c1.create_collection(COLL, body={"vectors": {"size": DIM, "distance": "Dot"}, "shard_number": 2})
        points = {}
        pts = []
        for i in range(1, 201):
            body = [sentence(rnd), sentence(rnd)] if i % 9 == 0 else sentence(rnd)
            pts.append({"id": i, "vector": [rnd.random() for _ in range(DIM)], "payload": {"body": body}})
            points[i] = {"body": body}
        c1.upsert(COLL, pts)
        self.assertEqual({self.primary_of(COLL, shard) for shard in range(2)}, {"n1", "n2"})
        c1.ok("PUT", f"/collections/{COLL}/index?wait=true", {"field_name": "body", "field_schema": SCHEMA})
        ch.wait_for(lambda: "body" in c2.ok("GET", f"/collections/{COLL}")["payload_schema"] or "waiting",
                    "the text index to reach n2's view")
        self.assertEqual(c2.ok("GET", f"/collections/{COLL}")["payload_schema"]["body"]["params"]["stemmer"],
                         {"type": "snowball", "language": "english"})
        for query in QUERIES:
            for kind in ("text", "text_any", "phrase"):
                want = sorted(i for i, p in points.items() if any(indexed_match(kind, query, v) for v in strings(p)))
                flt = {"must": [{"key": "body", "match": {kind: query}}]}
                for c in (c1, c2):
                    self.assertEqual(sorted(p["id"] for p in c.scroll_all(COLL, flt, limit=50)), want,
                                     f"{kind} {query!r}")


if __name__ == "__main__":
    vh.main()

"""Collection aliases (Qdrant's API) on a standalone node: POST /collections/aliases applies an action list
all or none; GET /aliases and GET /collections/{name}/aliases list them; every collection route takes an
alias in place of the collection's name; aliases survive a restart; bad bodies change nothing; a switch
under concurrent queries fails none of them; a grant covers a collection under any of its names and a
grant on an alias name alone covers nothing.
"""

import threading
import time

import vjharness as h

VEC = [0.1, 0.2, 0.3, 0.4]
ADMIN_KEY = "alias-admin-" + "k" * 24


def aliases(client, path="/aliases", **kw):
    return sorted((a["alias_name"], a["collection_name"]) for a in client.ok("GET", path, **kw)["aliases"])


def act(client, *actions, **kw):
    return client.ok("POST", "/collections/aliases", {"actions": list(actions)}, **kw)


def create(alias, collection):
    return {"create_alias": {"collection_name": collection, "alias_name": alias}}


def delete(alias):
    return {"delete_alias": {"alias_name": alias}}


def rename(old, new):
    return {"rename_alias": {"old_alias_name": old, "new_alias_name": new}}


class Aliases(h.ServerTestCase):
    def setUp(self):
        super().setUp()
        c = self.client
        for name, offset in (("v1", 0), ("v2", 100)):
            c.create_collection(name, size=4, distance="Dot")
            c.upsert(name, [{"id": offset + i, "vector": [float(i == j) for j in range(4)],
                             "payload": {"generation": name}} for i in range(4)])

    def test_create_rename_delete_and_listings(self):
        c = self.client
        self.assertIs(act(c, create("prod", "v1"), create("staging", "v2"), create("prod-b", "v1")), True)
        self.assertEqual(aliases(c), [("prod", "v1"), ("prod-b", "v1"), ("staging", "v2")])
        self.assertEqual(aliases(c, "/collections/v1/aliases"), [("prod", "v1"), ("prod-b", "v1")])
        self.assertEqual(aliases(c, "/collections/prod/aliases"), [("prod", "v1"), ("prod-b", "v1")])
        act(c, rename("prod-b", "canary"))
        act(c, delete("staging"))
        self.assertEqual(aliases(c), [("canary", "v1"), ("prod", "v1")])
        c.err("GET", "/collections/missing/aliases", status=404)
        # Deleting a collection deletes its aliases; DELETE on an alias deletes nothing (as Qdrant).
        self.assertIs(c.ok("DELETE", "/collections/prod"), False)
        self.assertTrue(c.ok("GET", "/collections/v1/exists")["exists"])
        self.assertIs(c.ok("DELETE", "/collections/v1"), True)
        self.assertEqual(aliases(c), [])
        c.err("POST", "/collections/prod/points/count", {"exact": True}, status=404)

    def test_every_collection_route_through_an_alias(self):
        c = self.client
        act(c, create("prod", "v1"))
        info = c.ok("GET", "/collections/prod")
        self.assertEqual(info["points_count"], 4)
        self.assertTrue(c.ok("GET", "/collections/prod/exists")["exists"])
        c.ok("PATCH", "/collections/prod", {"strict_mode_config": {"enabled": True, "max_query_limit": 7}})
        self.assertEqual(c.ok("GET", "/collections/v1")["config"]["strict_mode_config"]["max_query_limit"], 7)
        c.err("POST", "/collections/prod/points/query", {"query": VEC, "limit": 8}, status=400)
        c.ok("PATCH", "/collections/prod", {"strict_mode_config": {"enabled": False}})
        c.ok("PUT", "/collections/prod/index?wait=true", {"field_name": "generation", "field_schema": "keyword"})
        self.assertIn("generation", c.ok("GET", "/collections/v1")["payload_schema"])
        c.ok("DELETE", "/collections/prod/index/generation?wait=true")
        c.upsert("prod", [{"id": 9, "vector": VEC, "payload": {"k": 1}}])
        self.assertEqual(c.count("v1"), 5)
        self.assertEqual(c.ok("GET", "/collections/prod/points/9")["payload"], {"k": 1})
        self.assertEqual(len(c.ok("POST", "/collections/prod/points", {"ids": [9, 1]})), 2)
        c.ok("POST", "/collections/prod/points/payload?wait=true", {"payload": {"j": 2}, "points": [9]})
        c.ok("PUT", "/collections/prod/points/payload?wait=true", {"payload": {"j": 3}, "points": [9]})
        c.ok("POST", "/collections/prod/points/payload/delete?wait=true", {"keys": ["j"], "points": [9]})
        c.ok("POST", "/collections/prod/points/payload/clear?wait=true", {"points": [9]})
        self.assertEqual(c.ok("GET", "/collections/v1/points/9")["payload"], {})
        self.assertEqual(len(c.ok("POST", "/collections/prod/points/scroll", {"limit": 10})["points"]), 5)
        self.assertEqual(c.ok("POST", "/collections/prod/points/count", {"exact": True})["count"], 5)
        q = c.ok("POST", "/collections/prod/points/query", {"query": [0, 1, 0, 0], "limit": 1})
        self.assertEqual(q["points"][0]["id"], 1)
        c.ok("POST", "/collections/prod/points/query/batch", {"searches": [{"query": VEC, "limit": 1}]})
        s = c.ok("POST", "/collections/prod/points/search", {"vector": [0, 0, 1, 0], "limit": 1})
        self.assertEqual(s[0]["id"], 2)
        c.ok("POST", "/collections/prod/points/search/batch", {"searches": [{"vector": VEC, "limit": 1}]})
        c.ok("GET", "/collections/prod/cluster")
        c.ok("POST", "/collections/prod/points/delete?wait=true", {"points": [9]})
        self.assertEqual(c.count("v1"), 4)
        # An alias and a collection never share a name.
        c.err("PUT", "/collections/prod", {"vectors": {"size": 4, "distance": "Dot"}}, status=409, mentions="alias")
        c.err("POST", "/collections/aliases", {"actions": [create("v2", "v1")]}, status=409, mentions="v2")

    def test_switch_under_concurrent_queries_fails_none(self):
        c = self.client
        act(c, create("prod", "v1"))
        stop = threading.Event()
        failures, seen, lock = [], set(), threading.Lock()
        answered = [0]

        def query():
            client = self.server.client
            while not stop.is_set():
                r = client.call("POST", "/collections/prod/points/query",
                                {"query": VEC, "limit": 1, "with_payload": True})
                with lock:
                    if r.status != 200:
                        failures.append(r.describe())
                    else:
                        answered[0] += 1
                        seen.add(r.json["result"]["points"][0]["payload"]["generation"])

        threads = [threading.Thread(target=query) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            # Switch back and forth until queries saw both generations (at least 40 switches).
            deadline = time.monotonic() + 60
            switches = 0
            while switches < 40 or (len(seen) < 2 and time.monotonic() < deadline):
                act(c, delete("prod"), create("prod", "v2" if switches % 2 == 0 else "v1"))
                switches += 1
        finally:
            stop.set()
            for t in threads:
                t.join()
        print(f"  alias switch: {switches} switches, {answered[0]} queries answered, {len(failures)} failed")
        self.assertNoItems(failures, f"{len(failures)} queries failed during the switch: {failures[:3]}")
        self.assertEqual(seen, {"v1", "v2"})

    def test_restart_keeps_aliases(self):
        c = self.client
        act(c, create("prod", "v1"), create("old", "v2"))
        act(c, delete("prod"), create("prod", "v2"), rename("old", "previous"))
        self.server.stop()
        self.server.start()
        c = self.server.client
        self.assertEqual(aliases(c), [("previous", "v2"), ("prod", "v2")])
        self.assertEqual(c.count("prod"), 4)
        self.server.kill9()
        self.server.start()
        self.assertEqual(aliases(self.server.client), [("previous", "v2"), ("prod", "v2")])

    def test_bad_bodies_are_refused_and_change_nothing(self):
        c = self.client
        act(c, create("prod", "v1"))
        before = aliases(c)
        bad = [
            (None, 400, "body"),
            ({}, 400, "actions"),
            ({"actions": {}}, 400, "actions"),
            ({"actions": [create("a", "v1")], "extra": 1}, 400, "extra"),
            ({"actions": [1]}, 400, "actions[0]"),
            ({"actions": [{}]}, 400, "actions[0]"),
            ({"actions": [{"drop_alias": {"alias_name": "prod"}}]}, 400, "drop_alias"),
            ({"actions": [create("a", "v1"), {"create_alias": {"alias_name": "b"}}]}, 400, "collection_name"),
            ({"actions": [create("a", "v1"), {"create_alias": {"collection_name": "v1", "alias_name": 5}}]}, 400,
             "alias_name"),
            ({"actions": [create("a", "v1"), {"delete_alias": {"alias_name": "prod", "x": 1}}]}, 400, "x"),
            ({"actions": [create("a", "v1"), {"rename_alias": {"old_alias_name": "prod"}}]}, 400, "new_alias_name"),
            ({"actions": [create("a", "v1"), create("b/c", "v1")]}, 400, "actions[1]"),
            ({"actions": [delete("prod"), create("a", "missing")]}, 404, "actions[1] (create_alias)"),
            ({"actions": [create("a", "v1"), delete("nope")]}, 404, "actions[1] (delete_alias)"),
            ({"actions": [create("a", "v1"), rename("nope", "b")]}, 404, "actions[1] (rename_alias)"),
            ({"actions": [create("a", "v1"), rename("a", "prod")]}, 409, "actions[1] (rename_alias)"),
            ({"actions": [create("a", "v1"), rename("prod", "v2")]}, 409, "actions[1] (rename_alias)"),
            ({"actions": [create("a", "v1")] * 5000}, 400, "limit"),
        ]
        for body, status, mentions in bad:
            with self.subTest(body=str(body)[:120]):
                if body is None:
                    c.err("POST", "/collections/aliases", raw=b"{not json", status=status)
                else:
                    c.err("POST", "/collections/aliases", body, status=status, mentions=mentions)
                self.assertEqual(aliases(c), before)
        self.assertTrue(self.server.alive())


class AliasAuthorization(h.ServerTestCase):
    """A grant covers a collection under any of its names (the alias is resolved before authorization);
    a grant on an alias's name alone covers nothing; alias changes need manage on every collection."""

    server_env = {"VJVECTOR_SECURITY_API_KEY": ADMIN_KEY}

    def setUp(self):
        super().setUp()
        self.client.api_key = ADMIN_KEY
        for name in ("public-docs", "secret"):
            self.client.create_collection(name, size=4, distance="Dot")
            self.client.upsert(name, [{"id": 1, "vector": VEC}])
        act(self.client, create("docs", "public-docs"), create("prod", "secret"))

    def key(self, role, collections):
        res = self.client.ok("POST", "/vjvector/keys", {"role": role, "collections": collections, "name": role})
        return {"api-key": res["key"]}

    def test_alias_cannot_reach_a_collection_without_a_grant(self):
        c = self.client
        reader = self.key("reader", ["public-docs", "prod"])  # "prod" is an alias's name, not a collection
        count = {"exact": True}
        self.assertEqual(c.ok("POST", "/collections/docs/points/count", count, headers=reader)["count"], 1)
        self.assertEqual(c.ok("POST", "/collections/public-docs/points/count", count, headers=reader)["count"], 1)
        r = c.err("POST", "/collections/prod/points/count", count, status=403, headers=reader)
        self.assertNotIn("secret", r.error)  # the refusal does not tell what the alias names
        c.err("POST", "/collections/secret/points/count", count, status=403, headers=reader)
        c.err("GET", "/collections/prod", status=403, headers=reader)
        # Listings show only aliases of collections the principal may read.
        self.assertEqual(aliases(c, headers=reader), [("docs", "public-docs")])
        self.assertEqual(aliases(c), [("docs", "public-docs"), ("prod", "secret")])
        # Alias changes need manage on every collection (as Qdrant: global manage access).
        manager = self.key("manager", ["public-docs"])
        for who in (reader, manager):
            c.err("POST", "/collections/aliases", {"actions": [create("mine", "public-docs")]}, status=403,
                  headers=who)
            c.err("POST", "/collections/aliases", {"actions": [delete("prod")]}, status=403, headers=who)
        self.assertEqual(aliases(c), [("docs", "public-docs"), ("prod", "secret")])
        # Repointing "docs" at the secret collection takes the reader's access through it away.
        act(c, create("docs", "secret"))
        c.err("POST", "/collections/docs/points/count", count, status=403, headers=reader)


if __name__ == "__main__":
    h.main()

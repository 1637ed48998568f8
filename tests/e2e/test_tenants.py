"""Tenants against the real binary (docs/tenancy.md): namespaced collections, isolation, quotas.

- Two tenants both create `docs` through the unchanged Qdrant API and each sees only its own data; an
  admin sees the stored names ("acme~docs"); a principal of no tenant sees neither.
- Tenant A tries every collection route of `vjvector routes` on tenant B's collection (by B's name and by
  its stored name) and on a collection of no tenant: each answer is exactly the answer for a name that
  exists nowhere (404; snapshots 403 for every name), and nothing of B's or the shared data changes.
- Node-wide routes are refused to tenant principals (403), whatever their role.
- Quotas: max_collections and max_points (403 naming the quota), read_per_s (429 with Retry-After);
  GET /vjvector/tenants/{t}/usage.
- A Qdrant JWT with a `tenant` claim acts for the tenant; an unknown or malformed tenant is refused (401).
- Deleting a tenant that owns collections: 409, then ?force=true deletes them and revokes its keys.
- Tenants and tenant keys survive a restart.
"""

import json
import subprocess
import time

import authkit as ak
import vjharness as h
from test_auth import ADMIN_KEY, BODIES, KEY_ENV, VEC, AuthTestCase, api_key, bearer

ADMIN = api_key(ADMIN_KEY)
SNAPSHOT_REFUSAL = "snapshots are not available to tenant principals yet"
MARKER_B = "bob-private-marker"
MARKER_SHARED = "shared-private-marker"


class Tenants(AuthTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start(env=dict(KEY_ENV, VJVECTOR_SECURITY_JWT_RBAC="true"))
        self.c = self.server.client

    # -- helpers ------------------------------------------------------------------------------------
    def tenant(self, tid, quotas=None):
        body = {"id": tid}
        if quotas is not None:
            body["quotas"] = quotas
        return self.c.ok("POST", "/vjvector/tenants", body, headers=ADMIN)

    def key(self, tenant, role="admin"):
        k = self.create_key(self.c, {"role": role, "tenant": tenant, "name": f"{tenant} {role}"})
        self.assertEqual(k["tenant"], tenant)
        return api_key(k["key"])

    def make(self, headers, name, points):
        self.c.ok("PUT", f"/collections/{name}", {"vectors": {"size": 4, "distance": "Dot"}}, headers=headers)
        if points:
            self.c.ok("PUT", f"/collections/{name}/points?wait=true", {"points": points}, headers=headers)

    def names(self, headers):
        return sorted(c["name"] for c in self.c.ok("GET", "/collections", headers=headers)["collections"])

    def count(self, headers, name):
        return self.c.ok("POST", f"/collections/{name}/points/count", {"exact": True}, headers=headers)["count"]

    def two_tenants(self):
        self.tenant("acme")
        self.tenant("bob")
        self.acme, self.bob = self.key("acme"), self.key("bob")
        self.make(self.acme, "docs", [{"id": 1, "vector": VEC, "payload": {"owner": "acme"}}])
        self.make(self.bob, "docs", [{"id": i, "vector": VEC, "payload": {"owner": MARKER_B}} for i in (1, 2)])
        self.make(self.bob, "secret", [{"id": i, "vector": VEC, "payload": {"f": MARKER_B}} for i in (1, 2, 3)])
        self.make(ADMIN, "shared", [{"id": i, "vector": VEC, "payload": {"f": MARKER_SHARED}} for i in (1, 2)])

    # -- tests --------------------------------------------------------------------------------------
    def test_same_name_in_two_tenants(self):
        self.two_tenants()
        self.assertEqual(self.names(self.acme), ["docs"])
        self.assertEqual(self.names(self.bob), ["docs", "secret"])
        self.assertEqual(self.names(ADMIN), ["acme~docs", "bob~docs", "bob~secret", "shared"])
        reader = api_key(self.create_key(self.c, {"role": "reader", "name": "no tenant"})["key"])
        self.assertEqual(self.names(reader), ["shared"])
        self.assertEqual(self.c.call("GET", "/collections/acme~docs", headers=reader).status, 404)

        self.assertEqual(self.count(self.acme, "docs"), 1)
        self.assertEqual(self.count(self.bob, "docs"), 2)
        scrolled = self.c.ok("POST", "/collections/docs/points/scroll", {"limit": 10, "with_payload": True},
                             headers=self.acme)
        self.assertEqual([p["payload"]["owner"] for p in scrolled["points"]], ["acme"])
        self.assertEqual(self.count(ADMIN, "bob~docs"), 2)

        # Aliases live in the namespace too, and show the tenant's names.
        self.c.ok("POST", "/collections/aliases",
                  {"actions": [{"create_alias": {"alias_name": "current", "collection_name": "docs"}}]},
                  headers=self.acme)
        self.assertEqual(self.c.ok("GET", "/aliases", headers=self.acme)["aliases"],
                         [{"alias_name": "current", "collection_name": "docs"}])
        self.assertEqual(self.c.ok("GET", "/collections/docs/aliases", headers=self.acme)["aliases"],
                         [{"alias_name": "current", "collection_name": "docs"}])
        self.assertEqual(self.c.ok("GET", "/aliases", headers=self.bob)["aliases"], [])
        self.assertEqual(self.count(self.acme, "current"), 1)
        self.assertEqual(self.c.call("POST", "/collections/current/points/count", {}, headers=self.bob).status, 404)
        self.assertIn({"alias_name": "acme~current", "collection_name": "acme~docs"},
                      self.c.ok("GET", "/aliases", headers=ADMIN)["aliases"])
        # An alias of another namespace's collection cannot be made.
        for target in ("shared", "secret", "bob~secret"):
            r = self.c.call("POST", "/collections/aliases",
                            {"actions": [{"create_alias": {"alias_name": "sneak", "collection_name": target}}]},
                            headers=self.acme)
            self.assertIn(r.status, (400, 404), r.describe())
            self.assertNotIn("acme~", r.raw.decode(), r.describe())
        # Errors show the tenant's names, never the stored ones.
        r = self.c.call("PUT", "/collections/docs/points?wait=true",
                        {"points": [{"id": 5, "vector": [1.0, 2.0]}]}, headers=self.acme)
        self.assertEqual(r.status, 400, r.describe())
        r = self.c.call("PUT", "/collections/docs", {"vectors": {"size": 4, "distance": "Dot"}}, headers=self.acme)
        self.assertEqual(r.status, 409, r.describe())
        self.assertNotIn("acme~", r.raw.decode(), r.describe())
        # Answers about its own collection never show the stored name.
        self.c.ok("PUT", "/collections/docs/index?wait=true", {"field_name": "owner", "field_schema": "keyword"},
                  headers=self.acme)
        for method, path, body in (("GET", "/collections/docs", None), ("GET", "/collections/docs/cluster", None),
                                   ("GET", "/collections/current", None), ("GET", "/collections", None),
                                   ("POST", "/collections/docs/facet", {"key": "owner"}),
                                   ("POST", "/collections/docs/points/scroll", {"limit": 5})):
            r = self.c.call(method, path, body, headers=self.acme)
            self.assertEqual(r.status, 200, r.describe())
            self.assertNotIn("acme~", r.raw.decode(), r.describe())
        # with_lookup names a collection in a body: mapped the same way.
        r = self.c.ok("POST", "/collections/docs/points/search/groups",
                      {"vector": VEC, "group_by": "owner", "group_size": 1, "limit": 1,
                       "with_lookup": {"collection": "docs"}}, headers=self.acme)
        self.assertEqual(len(r["groups"]), 1)
        r = self.c.call("POST", "/collections/docs/points/search/groups",
                        {"vector": VEC, "group_by": "owner", "group_size": 1, "limit": 1,
                         "with_lookup": {"collection": "secret"}}, headers=self.acme)
        self.assertEqual(r.status, 404, r.describe())

    def test_every_collection_route_is_404_across_tenants(self):
        self.two_tenants()
        routes = json.loads(subprocess.run([h.BINARY, "routes"], capture_output=True, check=True, timeout=30).stdout)
        collection_routes = [r for r in routes if r["port"] == "public" and r["scope"] == "collection"]
        self.assertGreater(len(collection_routes), 30)
        before = {(who, name): self.count(who_h, name)
                  for who, who_h, name in (("bob", self.bob, "secret"), ("bob", self.bob, "docs"),
                                           ("admin", ADMIN, "shared"))}
        failures, checked = [], 0
        for route in collection_routes:
            key = (route["method"], route["path"])
            if key == ("PUT", "/collections/{name}"):
                continue  # creates the tenant's own collection of that name: checked below
            body = None if key[1].endswith("/upload") else BODIES.get(key, {})
            for target in ("secret", "bob~secret", "shared", "bob~docs"):
                def path_for(name):
                    p = route["path"].replace("{name}", name).replace("{field_name}", "f")
                    return p.replace("/points/{id}", "/points/1").replace("{snapshot_name}", "x.snapshot")
                r = self.c.call(route["method"], path_for(target), body, headers=self.acme)
                ghost = self.c.call(route["method"], path_for("nothing-here"), body, headers=self.acme)
                checked += 1
                text = r.raw.decode("utf-8", "replace")
                want = 403 if "/snapshots" in route["path"] else 404
                if route["path"].endswith("/exists"):
                    want = 200  # Qdrant's answer for any name: {"exists": false}
                    if r.result != {"exists": False}:
                        failures.append(f"expected exists false: {r.describe()}")
                if key == ("DELETE", "/collections/{name}"):
                    want = 200  # Qdrant's answer for a name of nothing: false
                    if r.result is not False:
                        failures.append(f"expected false: {r.describe()}")
                if r.status != want:
                    failures.append(f"expected {want}: {r.describe()}")
                def seen(resp, name):
                    return (resp.status, (resp.error or "").replace(name, "X"), json.dumps(resp.result, sort_keys=True))
                if seen(ghost, "nothing-here") != seen(r, target):
                    failures.append(f"differs from a name that exists nowhere: {r.describe()} vs {ghost.describe()}")
                if want == 403 and SNAPSHOT_REFUSAL not in (r.error or ""):
                    failures.append(f"snapshot refusal: {r.describe()}")
                for leak in (MARKER_B, MARKER_SHARED, "acme~"):
                    if leak in text:
                        failures.append(f"leaks {leak}: {r.describe()}")
        self.assertNoItems(failures, f"{len(failures)} of {checked} wrong:\n" + "\n".join(failures[:30]))
        # Nothing of bob's or the shared data changed.
        for (who, name), n in before.items():
            self.assertEqual(self.count(self.bob if who == "bob" else ADMIN, name), n, name)
        # Creating "secret" or "shared" makes the tenant's own; the others' stay as they were.
        self.make(self.acme, "secret", [{"id": 9, "vector": VEC}])
        self.assertEqual(self.count(self.acme, "secret"), 1)
        self.assertEqual(self.count(self.bob, "secret"), 3)
        r = self.c.call("PUT", "/collections/bob~x", {"vectors": {"size": 4, "distance": "Dot"}}, headers=self.acme)
        self.assertEqual(r.status, 400, r.describe())
        r = self.c.call("PUT", "/collections/acme~x", {"vectors": {"size": 4, "distance": "Dot"}}, headers=ADMIN)
        self.assertEqual(r.status, 400, r.describe())  # '~' names are the store's, never a client's

    def test_keys_of_no_tenant_never_reach_a_tenant_collection(self):
        # Built-in manager and reader keys (grants on "*") of no tenant see the shared namespace: a stored
        # name such as "bob~secret" is a collection that does not exist for them on every route, the
        # snapshot routes included (the snapshot store works on the node's whole database; a manager
        # could snapshot and download a tenant's collection through them before).
        self.two_tenants()
        manager = api_key(self.create_key(self.c, {"role": "manager", "name": "ops"})["key"])
        reader = api_key(self.create_key(self.c, {"role": "reader", "name": "ro"})["key"])
        for headers, want_create in ((manager, 404), (reader, 403)):
            for method, path, body, want in (
                    ("POST", "/collections/bob~secret/snapshots", None, want_create),
                    ("GET", "/collections/bob~secret/snapshots", None, 404),
                    ("GET", "/collections/bob~secret/snapshots/x.snapshot", None, 404),
                    ("POST", "/collections/bob~secret/points/count", {"exact": True}, 404),
                    ("GET", "/collections/bob~secret", None, 404)):
                r = self.c.call(method, path, body, headers=headers)
                self.assertEqual(r.status, want, r.describe())
                self.assertNotIn(MARKER_B, r.raw.decode("utf-8", "replace"))
        self.assertEqual(self.c.ok("GET", "/collections/bob~secret/snapshots", headers=ADMIN), [],
                         "a snapshot of a tenant's collection was taken by a key of no tenant")
        # Their own (shared) collections keep their snapshots.
        self.c.ok("POST", "/collections/shared/snapshots", headers=manager)
        self.assertEqual(len(self.c.ok("GET", "/collections/shared/snapshots", headers=reader)), 1)

    def test_node_routes_are_refused_to_tenant_principals(self):
        self.tenant("acme")
        acme = self.key("acme", role="admin")
        for method, path in (("GET", "/vjvector/keys"), ("GET", "/vjvector/tenants"), ("GET", "/metrics"),
                             ("GET", "/cluster"), ("GET", "/snapshots"), ("POST", "/vjvector/tenants"),
                             ("GET", "/vjvector/tenants/acme/usage")):
            r = self.c.call(method, path, {"id": "x"} if method == "POST" else None, headers=acme)
            self.check_refusal(r, 403)
            self.assertIn("tenant acme", r.error)
        self.assertEqual(self.c.call("GET", "/", headers=acme).status, 200)

    def test_quotas(self):
        self.tenant("small", {"max_collections": 1, "max_points": 3})
        small = self.key("small", role="manager")
        self.make(small, "c1", [{"id": i, "vector": VEC} for i in (1, 2)])
        r = self.c.call("PUT", "/collections/c2", {"vectors": {"size": 4, "distance": "Dot"}}, headers=small)
        self.check_refusal(r, 403)
        self.assertIn("max_collections", r.error)
        # A batch's upserts count together: two of one point each would make 4 (each alone passed before).
        r = self.c.call("POST", "/collections/c1/points/batch?wait=true",
                        {"operations": [{"upsert": {"points": [{"id": 3, "vector": VEC}]}},
                                        {"upsert": {"points": [{"id": 4, "vector": VEC}]}}]}, headers=small)
        self.check_refusal(r, 403)
        self.assertIn("max_points", r.error)
        self.assertEqual(self.count(small, "c1"), 2)
        self.c.ok("PUT", "/collections/c1/points?wait=true", {"points": [{"id": 3, "vector": VEC}]}, headers=small)
        for body in ({"points": [{"id": 4, "vector": VEC}]},
                     {"batch": {"ids": [5, 6], "vectors": [VEC, VEC]}}):
            r = self.c.call("PUT", "/collections/c1/points?wait=true", body, headers=small)
            self.check_refusal(r, 403)
            self.assertIn("max_points", r.error)
        r = self.c.call("POST", "/collections/c1/points/batch?wait=true",
                        {"operations": [{"upsert": {"points": [{"id": 7, "vector": VEC}]}}]}, headers=small)
        self.check_refusal(r, 403)
        self.assertEqual(self.count(small, "c1"), 3)
        usage = self.c.ok("GET", "/vjvector/tenants/small/usage", headers=ADMIN)
        self.assertEqual((usage["collections"], usage["points"], usage["vector_bytes"]), (1, 3, 3 * 4 * 4), usage)
        self.assertEqual(usage["quotas"]["max_points"], 3)
        # A deleted collection frees its share of the quota.
        self.c.ok("DELETE", "/collections/c1", headers=small)
        self.make(small, "c2", [{"id": i, "vector": VEC} for i in (1, 2, 3)])

        # Request rates: one read a hundred seconds leaves no doubt that the second is refused.
        self.tenant("slow", {"read_per_s": 0.01})
        slow = self.key("slow", role="reader")
        self.assertEqual(self.c.call("GET", "/collections", headers=slow).status, 200)
        r = self.c.call("GET", "/collections", headers=slow)
        self.check_refusal(r, 429)
        self.assertIn("read_per_s", r.error)
        self.assertGreaterEqual(int(r.headers.get("Retry-After", "0")), 1, r.describe())
        # The bucket is the tenant's: another key of the tenant shares it; other tenants do not.
        r = self.c.call("GET", "/collections", headers=self.key("slow", role="reader"))
        self.assertEqual(r.status, 429, r.describe())
        self.assertEqual(self.c.call("GET", "/collections", headers=small).status, 200)

        for bad in ({"id": "Bad"}, {"id": "x" * 33}, {"id": "a~b"}, {"id": "ok", "quotas": {"max_points": -1}},
                    {"id": "ok", "quotas": {"read_per_s": 1e9}}, {"id": "ok", "quotas": {"nope": 1}}):
            self.assertEqual(self.c.call("POST", "/vjvector/tenants", bad, headers=ADMIN).status, 400, bad)
        self.assertEqual(self.c.call("POST", "/vjvector/tenants", {"id": "small"}, headers=ADMIN).status, 409)

    def test_jwt_tenant_claim(self):
        self.two_tenants()
        token = ak.hs256_token({"tenant": "acme", "access": "r", "subject": "app"}, ADMIN_KEY)
        self.assertEqual(self.names(bearer(token)), ["docs"])
        self.assertEqual(self.count(bearer(token), "docs"), 1)
        self.assertEqual(self.c.call("POST", "/collections/secret/points/count", {}, headers=bearer(token)).status,
                         404)
        # Full access ("m") in a tenant is full access to the tenant's collections only.
        full = bearer(ak.hs256_token({"tenant": "bob", "access": "m"}, ADMIN_KEY))
        self.assertEqual(self.names(full), ["docs", "secret"])
        self.check_refusal(self.c.call("GET", "/vjvector/keys", headers=full), 403)
        # Per-collection grants name the tenant's own collections.
        scoped = bearer(ak.hs256_token({"tenant": "bob", "access": [{"collection": "secret", "access": "r"}]},
                                       ADMIN_KEY))
        self.assertEqual(self.names(scoped), ["secret"])
        self.check_refusal(self.c.call("POST", "/collections/docs/points/count", {}, headers=scoped), 403)
        r = self.c.call("GET", "/collections", headers=bearer(ak.hs256_token({"tenant": "ghost"}, ADMIN_KEY)))
        self.check_refusal(r, 401)
        self.assertIn("ghost", r.error)
        self.assertIn("does not exist", r.error)
        r = self.c.call("GET", "/collections", headers=bearer(ak.hs256_token({"tenant": "Not Valid"}, ADMIN_KEY)))
        self.check_refusal(r, 401)
        self.assertIn("tenant", r.error)

    def test_delete_tenant_refuses_then_forces(self):
        self.two_tenants()
        r = self.c.call("POST", "/vjvector/keys", {"role": "reader", "tenant": "ghost"}, headers=ADMIN)
        self.assertEqual(r.status, 400, r.describe())
        r = self.c.call("DELETE", "/vjvector/tenants/bob", headers=ADMIN)
        self.assertEqual(r.status, 409, r.describe())
        self.assertIn("force=true", r.error)
        self.assertEqual(self.count(self.bob, "secret"), 3)  # nothing changed
        gone = self.c.ok("DELETE", "/vjvector/tenants/bob?force=true", headers=ADMIN)
        self.assertEqual(sorted(gone["deleted_collections"]), ["docs", "secret"])
        self.assertEqual(gone["revoked_keys"], 1)
        self.check_refusal(self.c.call("GET", "/collections", headers=self.bob), 401)
        self.assertEqual(self.names(ADMIN), ["acme~docs", "shared"])
        self.assertEqual(self.c.call("GET", "/vjvector/tenants/bob", headers=ADMIN).status, 404)
        self.assertEqual(self.c.call("DELETE", "/vjvector/tenants/bob", headers=ADMIN).status, 404)
        # A tenant without collections goes without force; a new tenant of the old id starts empty.
        self.tenant("bob")
        self.assertEqual(self.names(self.key("bob")), [])
        self.c.ok("DELETE", "/vjvector/tenants/bob", headers=ADMIN)

    def test_tenants_survive_a_restart(self):
        self.tenant("acme", {"max_points": 10, "write_per_s": 5})
        acme = self.key("acme")
        self.make(acme, "docs", [{"id": 1, "vector": VEC}])
        listed = self.c.ok("GET", "/vjvector/tenants", headers=ADMIN)["tenants"]
        self.server.stop()
        self.server.start()
        self.c = self.server.client
        self.assertEqual(self.c.ok("GET", "/vjvector/tenants", headers=ADMIN)["tenants"], listed)
        self.assertEqual(self.names(acme), ["docs"])
        self.assertEqual(self.count(acme, "docs"), 1)


if __name__ == "__main__":
    h.main()

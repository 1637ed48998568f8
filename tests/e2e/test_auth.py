"""The front door against the real binary: authentication, authorization, keys, tokens and rate limits.

- Every public route of `vjvector routes` x every kind of principal (none, a wrong key, the static keys,
  managed keys of each built-in role, a key limited to "logs-*"): 401, 403 or served, as the route's
  permission says. A route this test has no expectation for fails it (a new route must be considered).
- GET /collections lists what the principal may read.
- Managed keys (secret shown once, expiry, revocation) and custom roles.
- Qdrant's JWT RBAC tokens (HS256 signed with the API key), made here with hmac.
- OIDC RS256 tokens signed with openssl, checked against a JWKS served by a local HTTP server, with a
  key rotation.
- Secure by default (a node on 0.0.0.0 without a key does not start), /metrics access, the refusal counter.
- Per-principal rate limits: 429 with Retry-After, served again after the wait.
"""

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time

import authkit as ak
import vjharness as h

ADMIN_KEY = "admin-" + secrets.token_hex(12)
ALT_KEY = "alt-" + secrets.token_hex(12)
RO_KEY = "readonly-" + secrets.token_hex(12)
WRONG_KEY = "wrong-" + secrets.token_hex(12)
KEY_ENV = {"VJVECTOR_SECURITY_API_KEY": ADMIN_KEY, "VJVECTOR_SECURITY_ALT_API_KEY": ALT_KEY,
           "VJVECTOR_SECURITY_READ_ONLY_API_KEY": RO_KEY}
WAIT_S = 15.0

LEVELS = {"read": 1, "write": 2, "manage": 3, "admin": 4}
VEC = [0.1, 0.2, 0.3, 0.4]

# What this test expects of each public route: (permission, scope). It must agree with the route table
# (`vjvector routes`), and a route missing here fails the test.
EXPECTED_ROUTES = {
    ("GET", "/livez"): ("public", "node"),
    ("GET", "/readyz"): ("public", "node"),
    ("GET", "/healthz"): ("public", "node"),
    ("GET", "/metrics"): ("read", "node"),
    ("GET", "/"): ("public", "node"),
    ("GET", "/dashboard"): ("public", "node"),
    ("GET", "/dashboard/{file}"): ("public", "node"),
    ("GET", "/openapi.json"): ("public", "node"),
    ("GET", "/cluster"): ("read", "node"),
    ("POST", "/cluster/rebalance"): ("admin", "node"),
    ("GET", "/collections"): ("read", "any_collection"),
    ("GET", "/collections/{name}"): ("read", "collection"),
    ("PUT", "/collections/{name}"): ("manage", "collection"),
    ("DELETE", "/collections/{name}"): ("manage", "collection"),
    ("PATCH", "/collections/{name}"): ("manage", "collection"),
    ("GET", "/collections/{name}/exists"): ("read", "collection"),
    ("PUT", "/collections/{name}/index"): ("manage", "collection"),
    ("DELETE", "/collections/{name}/index/{field_name}"): ("manage", "collection"),
    ("PUT", "/collections/{name}/points"): ("write", "collection"),
    ("POST", "/collections/{name}/points"): ("read", "collection"),
    ("POST", "/collections/{name}/points/delete"): ("write", "collection"),
    ("POST", "/collections/{name}/points/payload"): ("write", "collection"),
    ("PUT", "/collections/{name}/points/payload"): ("write", "collection"),
    ("POST", "/collections/{name}/points/payload/delete"): ("write", "collection"),
    ("POST", "/collections/{name}/points/payload/clear"): ("write", "collection"),
    ("PUT", "/collections/{name}/points/vectors"): ("write", "collection"),
    ("POST", "/collections/{name}/points/vectors/delete"): ("write", "collection"),
    ("POST", "/collections/{name}/points/batch"): ("write", "collection"),
    ("POST", "/collections/{name}/points/scroll"): ("read", "collection"),
    ("POST", "/collections/{name}/points/count"): ("read", "collection"),
    ("POST", "/collections/{name}/points/query"): ("read", "collection"),
    ("POST", "/collections/{name}/points/query/batch"): ("read", "collection"),
    ("POST", "/collections/{name}/points/recommend"): ("read", "collection"),
    ("POST", "/collections/{name}/points/recommend/batch"): ("read", "collection"),
    ("POST", "/collections/{name}/points/discover"): ("read", "collection"),
    ("POST", "/collections/{name}/points/discover/batch"): ("read", "collection"),
    ("POST", "/collections/{name}/points/search"): ("read", "collection"),
    ("POST", "/collections/{name}/points/search/batch"): ("read", "collection"),
    ("POST", "/collections/{name}/points/search/groups"): ("read", "collection"),
    ("POST", "/collections/{name}/points/query/groups"): ("read", "collection"),
    ("POST", "/collections/{name}/points/search/matrix/pairs"): ("read", "collection"),
    ("POST", "/collections/{name}/points/search/matrix/offsets"): ("read", "collection"),
    ("POST", "/collections/{name}/facet"): ("read", "collection"),
    ("GET", "/collections/{name}/points/{id}"): ("read", "collection"),
    ("GET", "/collections/{name}/cluster"): ("read", "collection"),
    ("POST", "/collections/aliases"): ("manage", "node"),
    ("GET", "/aliases"): ("read", "any_collection"),
    ("GET", "/collections/{name}/aliases"): ("read", "collection"),
    ("POST", "/collections/{name}/snapshots"): ("manage", "collection"),
    ("GET", "/collections/{name}/snapshots"): ("read", "collection"),
    ("PUT", "/collections/{name}/snapshots/recover"): ("manage", "collection"),
    ("POST", "/collections/{name}/snapshots/upload"): ("manage", "collection"),
    ("GET", "/collections/{name}/snapshots/{snapshot_name}"): ("read", "collection"),
    ("DELETE", "/collections/{name}/snapshots/{snapshot_name}"): ("manage", "collection"),
    ("POST", "/snapshots"): ("admin", "node"),
    ("GET", "/snapshots"): ("admin", "node"),
    ("GET", "/snapshots/{snapshot_name}"): ("admin", "node"),
    ("DELETE", "/snapshots/{snapshot_name}"): ("admin", "node"),
    ("POST", "/vjvector/backups"): ("admin", "node"),
    ("POST", "/vjvector/keys"): ("admin", "node"),
    ("GET", "/vjvector/keys"): ("admin", "node"),
    ("DELETE", "/vjvector/keys/{id}"): ("admin", "node"),
    ("GET", "/vjvector/roles"): ("admin", "node"),
    ("PUT", "/vjvector/roles/{name}"): ("admin", "node"),
    ("DELETE", "/vjvector/roles/{name}"): ("admin", "node"),
    ("POST", "/vjvector/tenants"): ("admin", "node"),
    ("GET", "/vjvector/tenants"): ("admin", "node"),
    ("GET", "/vjvector/tenants/{tenant}/usage"): ("admin", "node"),
    ("GET", "/vjvector/tenants/{tenant}"): ("admin", "node"),
    ("DELETE", "/vjvector/tenants/{tenant}"): ("admin", "node"),
}
PROBES = {"/livez", "/readyz", "/healthz"}  # served by the transport, open to all
# Routes that create or drop collections run on scratch collections (one in logs-*, one outside).
SCRATCH = {("PUT", "/collections/{name}"), ("DELETE", "/collections/{name}")}

# Valid bodies, so that an authorized request is usually served (2xx), not only "not 401/403".
BODIES = {
    ("POST", "/cluster/rebalance"): {},
    ("PUT", "/collections/{name}"): {"vectors": {"size": 4, "distance": "Dot"}},
    ("PATCH", "/collections/{name}"): {"optimizers_config": {}},
    ("PUT", "/collections/{name}/index"): {"field_name": "f", "field_schema": "keyword"},
    ("PUT", "/collections/{name}/points"): {"points": [{"id": 1, "vector": VEC, "payload": {"f": "a"}}]},
    ("POST", "/collections/{name}/points"): {"ids": [1]},
    ("POST", "/collections/{name}/points/delete"): {"points": [2]},
    ("POST", "/collections/{name}/points/payload"): {"payload": {"g": 1}, "points": [1]},
    ("PUT", "/collections/{name}/points/payload"): {"payload": {"f": "a"}, "points": [1]},
    ("POST", "/collections/{name}/points/payload/delete"): {"keys": ["g"], "points": [1]},
    ("POST", "/collections/{name}/points/payload/clear"): {"points": [2]},
    ("PUT", "/collections/{name}/points/vectors"): {"points": [{"id": 1, "vector": VEC}]},
    ("POST", "/collections/{name}/points/vectors/delete"): {"filter": {"must": [{"key": "f", "match": {"value": "zz"}}]},
                                                          "vector": [""]},
    ("POST", "/collections/{name}/points/batch"): {"operations": [{"set_payload": {"payload": {"h": 1},
                                                                                   "filter": {"must": []}}}]},
    ("POST", "/collections/{name}/points/scroll"): {"limit": 1},
    ("POST", "/collections/{name}/points/count"): {"exact": True},
    ("POST", "/collections/{name}/points/query"): {"query": VEC, "limit": 1},
    ("POST", "/collections/{name}/points/query/batch"): {"searches": [{"query": VEC, "limit": 1}]},
    ("POST", "/collections/{name}/points/recommend"): {"positive": [VEC], "limit": 1},
    ("POST", "/collections/{name}/points/recommend/batch"): {"searches": [{"positive": [VEC], "limit": 1}]},
    ("POST", "/collections/{name}/points/discover"): {"target": VEC, "limit": 1},
    ("POST", "/collections/{name}/points/discover/batch"): {"searches": [{"target": VEC, "limit": 1}]},
    ("POST", "/collections/{name}/points/search"): {"vector": VEC, "limit": 1},
    ("POST", "/collections/{name}/points/search/batch"): {"searches": [{"vector": VEC, "limit": 1}]},
    ("POST", "/collections/{name}/points/search/groups"): {"vector": VEC, "group_by": "f", "group_size": 1, "limit": 1},
    ("POST", "/collections/{name}/points/query/groups"): {"query": VEC, "group_by": "f"},
    ("POST", "/collections/{name}/points/search/matrix/pairs"): {"sample": 2, "limit": 1},
    ("POST", "/collections/{name}/points/search/matrix/offsets"): {"sample": 2, "limit": 1},
    ("POST", "/collections/{name}/facet"): {"key": "f"},
    ("POST", "/vjvector/keys"): {"role": "reader", "name": "matrix"},
    ("POST", "/vjvector/tenants"): {"id": "matrix"},
    ("POST", "/collections/aliases"): {"actions": []},
    ("PUT", "/collections/{name}/snapshots/recover"): {"location": "file:///nonexistent.snapshot"},
    ("PUT", "/vjvector/roles/{name}"): {"grants": [{"collections": "matrix-*", "access": "read"}]},
}


def api_key(key):
    return {"api-key": key}


def bearer(token):
    return {"Authorization": "Bearer " + token}


def allows(grants, permission, scope, collection):
    """The authorization model this test expects: grants [(pattern, level)]; levels include lower ones;
    node-wide routes need a grant on "*"; listing needs any grant."""
    need = LEVELS[permission]

    def match(pattern, name):
        return pattern == name or pattern == "*" or (pattern.endswith("*") and name.startswith(pattern[:-1]))

    if scope == "any_collection":
        return any(level >= need for _, level in grants)
    if scope == "node":
        return any(level >= need and pattern == "*" for pattern, level in grants)
    return any(level >= need and match(pattern, collection) for pattern, level in grants)


def wait_until(predicate, what, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


class AuthTestCase(h.TestCase):
    """Helpers to start servers with credentials and to check refusals."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vj-e2e-auth-")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()
        if h._test_failed(self):
            for s in self.servers:
                print(f"\n===== {self.id()}: server logs =====\n{s.dump_logs()}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, env=None, config=None, host="127.0.0.1", extra_args=()):
        data_dir = tempfile.mkdtemp(prefix="data-", dir=self.tmp)
        args = list(extra_args)
        if config is not None:
            path = os.path.join(self.tmp, f"config-{len(self.servers)}.yaml")
            with open(path, "w") as f:
                f.write(config)
            args += ["--config", path]
        server = h.Server(data_dir=data_dir, log_dir=self.tmp, env=env, host=host, extra_args=args)
        self.servers.append(server)
        server.start()
        return server

    def check_refusal(self, r, status, secret=None):
        """A refusal in Qdrant's envelope that does not quote the credential."""
        self.assertEqual(r.status, status, r.describe())
        self.assertIsInstance(r.json, dict, r.describe())
        self.assertEqual(set(r.json), {"status", "time"}, r.describe())
        self.assertIsInstance(r.error, str, r.describe())
        self.assertTrue(r.error.strip(), r.describe())
        self.assertIsInstance(r.json["time"], (int, float), r.describe())
        self.assertTrue(r.headers.get("X-Request-Id"), r.describe())
        if status == 401:
            self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer", r.describe())
        if secret:
            self.assertNotIn(secret, r.raw.decode("utf-8", "replace"), r.describe())
            self.assertNotIn(secret, json.dumps(r.headers), r.describe())

    def create_key(self, client, body):
        res = client.ok("POST", "/vjvector/keys", body, headers=api_key(ADMIN_KEY))
        self.assertTrue(res["key"].startswith("vjk_" + res["id"] + "_"), res)
        return res


class RouteMatrix(AuthTestCase):
    """One node with the three static keys and managed keys of each role."""

    @classmethod
    def setUpClass(cls):
        cls.routes = json.loads(subprocess.run([h.BINARY, "routes"], capture_output=True, check=True,
                                               timeout=30).stdout)

    def setUp(self):
        super().setUp()
        self.server = self.start(env=KEY_ENV)
        c = self.client = self.server.client
        for name in ("logs-1", "docs"):
            c.ok("PUT", f"/collections/{name}", {"vectors": {"size": 4, "distance": "Dot"}},
                 headers=api_key(ADMIN_KEY))
            c.ok("PUT", f"/collections/{name}/points?wait=true",
                 {"points": [{"id": i, "vector": VEC, "payload": {"f": "a"}} for i in (1, 2)]},
                 headers=api_key(ADMIN_KEY))
        everything = [("*", LEVELS["admin"])]
        # name -> (headers, grants this test expects, secret that must never be echoed)
        self.principals = {
            "none": ({}, None, None),
            "wrong key": (api_key(WRONG_KEY), None, WRONG_KEY),
            "admin key": (api_key(ADMIN_KEY), everything, ADMIN_KEY),
            "alt key (Bearer)": (bearer(ALT_KEY), everything, ALT_KEY),
            "read-only key": (api_key(RO_KEY), [("*", LEVELS["read"])], RO_KEY),
        }
        for role in ("reader", "writer", "manager", "admin"):
            k = self.create_key(c, {"role": role, "name": f"matrix {role}"})
            level = {"reader": "read", "writer": "write", "manager": "manage", "admin": "admin"}[role]
            self.principals[f"managed {role}"] = (api_key(k["key"]), [("*", LEVELS[level])], k["key"])
        k = self.create_key(c, {"role": "writer", "collections": ["logs-*"], "name": "logs shipper"})
        self.principals["managed writer on logs-*"] = (bearer(k["key"]), [("logs-*", LEVELS["write"])], k["key"])

    def test_every_route_for_every_principal(self):
        public = [r for r in self.routes if r["port"] == "public"]
        unconsidered = [f"{r['method']} {r['path']}" for r in public
                        if (r["method"], r["path"]) not in EXPECTED_ROUTES]
        self.assertNoItems(unconsidered, f"routes without an expectation in this test: {unconsidered}")
        gone = set(EXPECTED_ROUTES) - {(r["method"], r["path"]) for r in public}
        self.assertNoItems(gone, f"expected routes missing from `vjvector routes`: {sorted(gone)}")

        failures, served, requests = [], 0, 0
        for route in public:
            key = (route["method"], route["path"])
            permission, scope = EXPECTED_ROUTES[key]
            if (route["permission"], route["scope"]) != (permission, scope):
                failures.append(f"{key}: the table says {route['permission']}/{route['scope']}, "
                                f"this test expects {permission}/{scope}")
                continue
            if route["path"] in PROBES:
                r = self.client.call("GET", route["path"])
                if r.status != 200:
                    failures.append(f"probe {r.describe()}")
                continue
            if scope == "collection":
                targets = ["logs-scratch", "scratch"] if key in SCRATCH else ["logs-1", "docs"]
            else:
                targets = [None]
            for collection in targets:
                path = route["path"].replace("{field_name}", "f").replace("/points/{id}", "/points/1")
                path = path.replace("{id}", "0123456789abcdef")  # a managed key's id
                path = path.replace("{file}", "app.js")  # a file of the web console
                path = path.replace("{tenant}", "matrix")
                if scope == "collection":
                    path = path.replace("{name}", collection)
                else:
                    path = path.replace("{name}", "matrix-role")
                body = BODIES.get(key)
                for who, (headers, grants, secret) in self.principals.items():
                    requests += 1
                    r = self.client.call(route["method"], path, body, headers=headers)
                    if grants is None:
                        want = None if permission == "public" and who == "none" else 401
                    else:
                        want = None if permission == "public" or allows(grants, permission, scope, collection) \
                            else 403
                    if want is None:
                        if r.status in (401, 403):
                            failures.append(f"{who}: expected to be let through: {r.describe()}")
                        served += 200 <= r.status < 300
                        continue
                    try:
                        self.check_refusal(r, want, secret)
                    except AssertionError as e:
                        failures.append(f"{who}: expected {want}: {str(e)[:600]}")
        self.assertNoItems(failures, f"{len(failures)} of {requests} requests wrong:\n" + "\n".join(failures[:40]))
        # The bodies are valid: most authorized requests are served, not merely let past the door.
        print(f"route matrix: {requests} requests, {served} served 2xx")
        self.assertGreater(served, requests // 4)

    def test_collections_listing_shows_only_what_the_principal_may_read(self):
        seen = {}
        for who, (headers, grants, secret) in self.principals.items():
            r = self.client.call("GET", "/collections", headers=headers)
            if grants is None:
                self.check_refusal(r, 401, secret)
                continue
            self.assertEqual(r.status, 200, f"{who}: {r.describe()}")
            seen[who] = sorted(c["name"] for c in r.result["collections"])
        for who in ("admin key", "alt key (Bearer)", "read-only key", "managed reader", "managed admin"):
            self.assertEqual(seen[who], ["docs", "logs-1"], who)
        self.assertEqual(seen["managed writer on logs-*"], ["logs-1"])

    def test_peer_routes_are_not_on_the_public_port(self):
        peer = [r for r in self.routes if r["port"] == "peer"]
        self.assertTrue(peer)
        for route in peer:
            self.assertIn(route["permission"], ("internal", "public"), route)
            if route["permission"] == "public":
                continue
            path = route["path"].replace("{name}", "docs").replace("{shard}", "0").replace("{field_name}", "f")
            self.check_refusal(self.client.call(route["method"], path, {}), 401)
            r = self.client.call(route["method"], path, {}, headers=api_key(ADMIN_KEY))
            self.assertEqual(r.status, 404, r.describe())


class ManagedKeys(AuthTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start(env=KEY_ENV)
        self.client = self.server.client
        for name in ("team-a-1", "shared", "other"):
            self.client.ok("PUT", f"/collections/{name}", {"vectors": {"size": 4, "distance": "Dot"}},
                           headers=api_key(ADMIN_KEY))

    def upsert(self, key, collection):
        return self.client.call("PUT", f"/collections/{collection}/points?wait=true",
                                {"points": [{"id": 1, "vector": VEC}]}, headers=api_key(key))

    def test_create_list_expire_revoke(self):
        c = self.client
        # Only an admin creates keys.
        self.check_refusal(c.call("POST", "/vjvector/keys", {"role": "reader"}, headers=api_key(RO_KEY)), 403, RO_KEY)
        expires_at = int(time.time()) + 4
        k = self.create_key(c, {"role": "writer", "expires_at": expires_at, "name": "short-lived"})
        self.assertEqual(k["expires_at"], expires_at)
        # The secret is shown once: the listing has no secret (nor a hash of it).
        listing = c.ok("GET", "/vjvector/keys", headers=api_key(ADMIN_KEY))
        raw = json.dumps(listing)
        self.assertIn(k["id"], raw)
        self.assertNotIn(k["key"], raw)
        # The secret part: "vjk_" + id + "_" + 43 base64url characters (which may hold "_" too).
        self.assertNotIn(k["key"].split("_", 2)[2], raw)
        entry = [e for e in listing["keys"] if e["id"] == k["id"]][0]
        self.assertNotIn("key", entry)
        self.assertEqual(self.upsert(k["key"], "other").status, 200)
        # Expiry: refused once expires_at has passed (bounded wait; no fixed sleep).
        r = wait_until(lambda: (lambda r: r if r.status == 401 else None)(self.upsert(k["key"], "other")),
                       "the key to expire", timeout=WAIT_S)
        self.assertGreaterEqual(time.time(), expires_at - 1)
        self.check_refusal(r, 401, k["key"])
        self.assertIn("expired", r.error)
        # Revocation takes effect on the next request.
        k2 = self.create_key(c, {"role": "reader"})
        self.assertEqual(c.call("GET", "/collections/other", headers=api_key(k2["key"])).status, 200)
        self.assertIs(c.ok("DELETE", f"/vjvector/keys/{k2['id']}", headers=api_key(ADMIN_KEY)), True)
        r = c.call("GET", "/collections/other", headers=api_key(k2["key"]))
        self.check_refusal(r, 401, k2["key"])
        self.assertEqual(r.error, "invalid API key")
        self.assertNotIn(k2["id"], json.dumps(c.ok("GET", "/vjvector/keys", headers=api_key(ADMIN_KEY))))
        c.err("DELETE", f"/vjvector/keys/{k2['id']}", status=404, headers=api_key(ADMIN_KEY))
        # A bad request stores nothing.
        before = c.ok("GET", "/vjvector/keys", headers=api_key(ADMIN_KEY))
        c.err("POST", "/vjvector/keys", {"role": "reader", "expires_at": int(time.time()) - 10}, status=400,
              mentions="expires_at", headers=api_key(ADMIN_KEY))
        c.err("POST", "/vjvector/keys", {"role": "no-such-role"}, status=400, mentions="role",
              headers=api_key(ADMIN_KEY))
        self.assertEqual(c.ok("GET", "/vjvector/keys", headers=api_key(ADMIN_KEY)), before)

    def test_custom_role(self):
        c = self.client
        role = {"grants": [{"collections": "team-a-*", "access": "write"}, {"collections": "shared", "access": "read"}]}
        res = c.ok("PUT", "/vjvector/roles/team-a", role, headers=api_key(ADMIN_KEY))
        self.assertEqual(res["name"], "team-a")
        k = self.create_key(c, {"role": "team-a"})["key"]
        self.assertEqual(self.upsert(k, "team-a-1").status, 200)
        self.assertEqual(c.call("POST", "/collections/shared/points/count", {}, headers=api_key(k)).status, 200)
        self.check_refusal(self.upsert(k, "shared"), 403, k)
        self.check_refusal(c.call("GET", "/collections/other", headers=api_key(k)), 403, k)
        self.check_refusal(c.call("DELETE", "/collections/team-a-1", headers=api_key(k)), 403, k)
        self.check_refusal(c.call("GET", "/vjvector/keys", headers=api_key(k)), 403, k)
        listed = sorted(x["name"] for x in c.ok("GET", "/collections", headers=api_key(k))["collections"])
        self.assertEqual(listed, ["shared", "team-a-1"])
        # An edited role applies on the next request.
        c.ok("PUT", "/vjvector/roles/team-a", {"grants": [{"collections": "shared", "access": "write"}]},
             headers=api_key(ADMIN_KEY))
        self.assertEqual(self.upsert(k, "shared").status, 200)
        self.check_refusal(self.upsert(k, "team-a-1"), 403, k)
        # A deleted role leaves the key able to do nothing.
        self.assertIs(c.ok("DELETE", "/vjvector/roles/team-a", headers=api_key(ADMIN_KEY)), True)
        self.check_refusal(c.call("GET", "/collections/shared", headers=api_key(k)), 403, k)
        c.err("DELETE", "/vjvector/roles/reader", status=400, headers=api_key(ADMIN_KEY))


class QdrantJwt(AuthTestCase):
    def setUp(self):
        super().setUp()
        env = dict(KEY_ENV, VJVECTOR_SECURITY_JWT_RBAC="true")
        self.server = self.start(env=env)
        self.client = self.server.client
        for name in ("docs", "other"):
            self.client.ok("PUT", f"/collections/{name}", {"vectors": {"size": 4, "distance": "Dot"}},
                           headers=api_key(ADMIN_KEY))

    def token(self, claims, secret=ADMIN_KEY):
        claims = dict(claims)
        claims.setdefault("exp", int(time.time()) + 600)
        return ak.hs256_token(claims, secret)

    def test_access_levels(self):
        c = self.client
        upsert = {"points": [{"id": 1, "vector": VEC}]}
        for send in (api_key, bearer):
            read = send(self.token({"access": "r", "subject": "reporting"}))
            self.assertEqual(c.call("GET", "/collections/docs", headers=read).status, 200)
            self.assertEqual(c.call("GET", "/collections", headers=read).status, 200)
            self.check_refusal(c.call("PUT", "/collections/docs/points?wait=true", upsert, headers=read), 403)
            self.check_refusal(c.call("PUT", "/collections/new", {"vectors": {"size": 4, "distance": "Dot"}},
                                      headers=read), 403)
            manage = send(self.token({"access": "m"}))
            self.assertEqual(c.call("PUT", "/collections/docs/points?wait=true", upsert, headers=manage).status, 200)
            self.assertEqual(c.call("GET", "/vjvector/keys", headers=manage).status, 200)
            full = send(self.token({}))  # no access claim: full access, as in Qdrant
            self.assertEqual(c.call("GET", "/vjvector/roles", headers=full).status, 200)
            # Alt key signs too.
            alt = send(self.token({"access": "r"}, secret=ALT_KEY))
            self.assertEqual(c.call("GET", "/collections/docs", headers=alt).status, 200)
        per = bearer(self.token({"access": [{"collection": "docs", "access": "rw"}]}))
        self.assertEqual(c.call("PUT", "/collections/docs/points?wait=true", upsert, headers=per).status, 200)
        self.assertEqual(c.call("POST", "/collections/docs/points/count", {}, headers=per).status, 200)
        self.check_refusal(c.call("PUT", "/collections/other/points?wait=true", upsert, headers=per), 403)
        self.check_refusal(c.call("GET", "/collections/other", headers=per), 403)
        self.check_refusal(c.call("DELETE", "/collections/docs", headers=per), 403)
        self.check_refusal(c.call("GET", "/metrics", headers=per), 403)
        listed = [x["name"] for x in c.ok("GET", "/collections", headers=per)["collections"]]
        self.assertEqual(listed, ["docs"])
        none = bearer(self.token({"access": []}))
        self.check_refusal(c.call("GET", "/collections/docs", headers=none), 403)

    def test_value_exists_is_checked_on_every_request(self):
        """Qdrant's value_exists claim: the token is valid while `docs` holds a point with user=alice (and
        role=admin), so deleting that point revokes it at once."""
        c = self.client
        token = bearer(self.token({"access": "r", "value_exists": {
            "collection": "docs", "matches": [{"key": "user", "value": "alice"}, {"key": "role", "value": "admin"}]}}))
        self.check_refusal(c.call("GET", "/collections/docs", headers=token), 401)
        admin = api_key(ADMIN_KEY)
        c.ok("PUT", "/collections/docs/points?wait=true",
             {"points": [{"id": 7, "vector": VEC, "payload": {"user": "alice", "role": "reader"}}]}, headers=admin)
        self.check_refusal(c.call("GET", "/collections/docs", headers=token), 401)  # role differs
        c.ok("PUT", "/collections/docs/points?wait=true",
             {"points": [{"id": 7, "vector": VEC, "payload": {"user": "alice", "role": "admin"}}]}, headers=admin)
        self.assertEqual(c.call("GET", "/collections/docs", headers=token).status, 200)
        self.check_refusal(c.call("PUT", "/collections/docs/points?wait=true", {"points": [{"id": 8, "vector": VEC}]},
                                  headers=token), 403)  # still only "r"
        c.ok("POST", "/collections/docs/points/delete?wait=true", {"points": [7]}, headers=admin)
        self.check_refusal(c.call("GET", "/collections/docs", headers=token), 401)
        missing = bearer(self.token({"access": "r", "value_exists": {
            "collection": "nope", "matches": [{"key": "user", "value": "alice"}]}}))
        self.check_refusal(c.call("GET", "/collections/docs", headers=missing), 401)
        self.assertGreaterEqual(ak.auth_failures(self.metrics()).get("value_exists", 0), 4)

    def test_invalid_tokens(self):
        c = self.client
        now = int(time.time())
        cases = {
            "expired": self.token({"access": "r", "exp": now - 120}),
            "not_yet_valid": self.token({"access": "r", "nbf": now + 120}),
            "bad_signature": self.token({"access": "r"}, secret="not-the-api-key-0123456789"),
            "alg_refused": ak.unsigned_token({"access": "m", "exp": now + 600}),
        }
        # A forged token: a valid one with its payload swapped for a more generous one.
        good = self.token({"access": "r"})
        forged_payload = ak.b64url(json.dumps({"access": "m", "exp": now + 600}))
        cases["bad_signature (payload swapped)"] = ".".join([good.split(".")[0], forged_payload, good.split(".")[2]])
        for reason, token in cases.items():
            for send in (api_key, bearer):
                r = c.call("GET", "/collections/docs", headers=send(token))
                self.check_refusal(r, 401, token)
        metrics = ak.auth_failures(self.metrics())
        for reason in ("expired", "not_yet_valid", "bad_signature", "alg_refused"):
            self.assertGreaterEqual(metrics.get(reason, 0), 2, f"{reason}: {metrics}")
        self.assertEqual(metrics.get("bad_signature"), 4, metrics)

    def metrics(self):
        r = self.client.call("GET", "/metrics", headers=api_key(ADMIN_KEY))
        self.assertEqual(r.status, 200, r.describe())
        return r.raw.decode()


class Oidc(AuthTestCase):
    ISSUER = "https://idp.test/realms/vj"
    AUDIENCE = "vjvector"

    def setUp(self):
        super().setUp()
        if ak.OPENSSL is None:
            self.fail("the openssl command is needed")
        self.key1 = ak.RsaKey(self.tmp, "k1", "kid-1")
        self.key2 = ak.RsaKey(self.tmp, "k2", "kid-2")
        self.jwks = ak.JwksServer([self.key1.jwk()])
        self.addCleanup(self.jwks.close)
        config = f"""security:
  api_key: "{ADMIN_KEY}"
  oidc:
    issuer: {self.ISSUER}
    audience: {self.AUDIENCE}
    jwks_url: {self.jwks.url}
    jwks_min_refresh_s: 1
    roles_claim: realm_access.roles
    role_grants:
      vj-reader: [{{collections: "*", level: read}}]
      vj-logs: [{{collections: "logs-*", level: write}}]
"""
        self.server = self.start(config=config)
        self.client = self.server.client
        for name in ("logs-1", "docs"):
            self.client.ok("PUT", f"/collections/{name}", {"vectors": {"size": 4, "distance": "Dot"}},
                           headers=api_key(ADMIN_KEY))

    def claims(self, **over):
        now = int(time.time())
        c = {"iss": self.ISSUER, "aud": [self.AUDIENCE, "account"], "sub": "alice", "iat": now, "exp": now + 300,
             "realm_access": {"roles": ["vj-logs", "offline_access"]}}
        c.update(over)
        return c

    def test_tokens_and_key_rotation(self):
        c = self.client
        upsert = {"points": [{"id": 1, "vector": VEC}]}
        good = self.key1.token(self.claims())
        self.assertEqual(c.call("PUT", "/collections/logs-1/points?wait=true", upsert, headers=bearer(good)).status,
                         200)
        self.assertEqual(c.call("PUT", "/collections/logs-1/points?wait=true", upsert, headers=api_key(good)).status,
                         200)
        self.check_refusal(c.call("PUT", "/collections/docs/points?wait=true", upsert, headers=bearer(good)), 403)
        listed = [x["name"] for x in c.ok("GET", "/collections", headers=bearer(good))["collections"]]
        self.assertEqual(listed, ["logs-1"])
        reader = self.key1.token(self.claims(sub="bob", realm_access={"roles": ["vj-reader"]}))
        self.assertEqual(c.call("GET", "/collections/docs", headers=bearer(reader)).status, 200)
        self.check_refusal(c.call("PUT", "/collections/docs/points?wait=true", upsert, headers=bearer(reader)), 403)

        now = int(time.time())
        hs256 = ak.hs256_token(self.claims(), self.key1.public_pem(), header={"alg": "HS256", "kid": "kid-1"})
        refused = {
            "bad_audience": self.key1.token(self.claims(aud="someone-else")),
            "bad_issuer": self.key1.token(self.claims(iss="https://evil.test/realms/vj")),
            "expired": self.key1.token(self.claims(exp=now - 120, iat=now - 600)),
            "alg_refused": hs256,
            "no_access": self.key1.token(self.claims(realm_access={"roles": ["offline_access"]})),
            "bad_signature": self.key2.token(self.claims(), kid="kid-1"),
        }
        for reason, token in refused.items():
            r = c.call("GET", "/collections/logs-1", headers=bearer(token))
            self.check_refusal(r, 401, token)
        # Unknown kids: refused; the node re-reads the JWKS at most once per jwks_min_refresh_s (1 s).
        fetches, t0 = self.jwks.fetch_count(), time.monotonic()
        for i in range(5):
            r = c.call("GET", "/collections/logs-1", headers=bearer(self.key1.token(self.claims(), kid=f"made-up-{i}")))
            self.check_refusal(r, 401)
        extra = self.jwks.fetch_count() - fetches
        self.assertLessEqual(extra, int(time.monotonic() - t0) + 1, "the JWKS was re-read on every unknown kid")
        failures = ak.auth_failures(self.metrics())
        for reason in list(refused) + ["unknown_kid"]:
            self.assertGreaterEqual(failures.get(reason, 0), 1, f"{reason}: {failures}")

        # Key rotation: the provider publishes kid-2 (and keeps kid-1); a kid-2 token is accepted once the
        # node has re-read the set, which the unknown kid itself triggers.
        rotated = self.key2.token(self.claims())
        self.check_refusal(c.call("GET", "/collections/logs-1", headers=bearer(rotated)), 401, rotated)
        self.jwks.set_keys([self.key1.jwk(), self.key2.jwk()])
        r = wait_until(lambda: (lambda r: r if r.status == 200 else None)(
            c.call("GET", "/collections/logs-1", headers=bearer(rotated))), "the kid-2 token to be accepted",
            timeout=10)
        self.assertEqual(r.status, 200)
        self.assertEqual(c.call("GET", "/collections/logs-1", headers=bearer(good)).status, 200)
        # kid-1 retired: once the set no longer has it, its tokens are refused after the next refresh.
        self.jwks.set_keys([self.key2.jwk()])
        trigger = self.key2.token(self.claims(), kid="made-up-after-rotation")  # makes the node re-read the set
        wait_until(lambda: c.call("GET", "/collections/logs-1", headers=bearer(trigger)).status == 401
                   and c.call("GET", "/collections/logs-1", headers=bearer(good)).status == 401,
                   "kid-1 tokens to be refused after the rotation", timeout=10)
        self.assertEqual(c.call("GET", "/collections/logs-1", headers=bearer(rotated)).status, 200)

    def metrics(self):
        r = self.client.call("GET", "/metrics", headers=api_key(ADMIN_KEY))
        self.assertEqual(r.status, 200, r.describe())
        return r.raw.decode()


class SecureByDefault(AuthTestCase):
    def test_public_address_without_a_key_does_not_start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("VJVECTOR_")}
        p = subprocess.run([h.BINARY, "serve", "--data-dir", os.path.join(self.tmp, "d"), "--host", "0.0.0.0",
                            "--http-port", str(h.free_port())], env=env, capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("security.api_key", p.stdout + p.stderr)
        s = self.start(env={"VJVECTOR_SECURITY_ALLOW_UNAUTHENTICATED": "true"}, host="0.0.0.0")
        self.assertEqual(s.client.call("GET", "/collections").status, 200)

    def test_any_one_key_closes_the_door(self):
        for env in ({"VJVECTOR_SECURITY_API_KEY": ADMIN_KEY}, {"VJVECTOR_SECURITY_ALT_API_KEY": ALT_KEY},
                    {"VJVECTOR_SECURITY_READ_ONLY_API_KEY": RO_KEY}):
            s = self.start(env=env, host="0.0.0.0")
            self.check_refusal(s.client.call("GET", "/collections"), 401)
            key = next(iter(env.values()))
            self.assertEqual(s.client.call("GET", "/collections", headers=api_key(key)).status, 200, env)
            s.stop()

    def test_metrics_access_and_refusal_counter(self):
        s = self.start(env=KEY_ENV)
        c = s.client

        def failures():
            r = c.call("GET", "/metrics", headers=api_key(RO_KEY))
            self.assertEqual(r.status, 200, r.describe())
            self.assertIn("text/plain", r.headers.get("Content-Type", ""))
            return ak.auth_failures(r.raw.decode())

        before = failures()
        self.check_refusal(c.call("GET", "/metrics"), 401)  # missing
        self.check_refusal(c.call("GET", "/collections"), 401)  # missing
        for _ in range(3):
            self.check_refusal(c.call("GET", "/metrics", headers=api_key(WRONG_KEY)), 401, WRONG_KEY)  # unknown_key
        self.check_refusal(c.call("PUT", "/collections/x", {"vectors": {"size": 4, "distance": "Dot"}},
                                  headers=api_key(RO_KEY)), 403, RO_KEY)  # forbidden
        after = failures()
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)}
        delta = {k: v for k, v in delta.items() if v}
        self.assertEqual(delta, {"missing": 2, "unknown_key": 3, "forbidden": 1}, f"before {before}, after {after}")

        public = self.start(env=dict(KEY_ENV, VJVECTOR_SECURITY_METRICS_PUBLIC="true"))
        r = public.client.call("GET", "/metrics")
        self.assertEqual(r.status, 200, r.describe())
        self.assertIn("vjvector_auth_failures_total", r.raw.decode())
        self.check_refusal(public.client.call("GET", "/collections"), 401)  # only /metrics is opened


class RateLimits(AuthTestCase):
    def test_burst_over_the_limit_then_served_after_retry_after(self):
        config = f"""security:
  api_key: "{ADMIN_KEY}"
  read_only_api_key: "{RO_KEY}"
  rate_limits:
    read_per_s: 1
    read_burst: 3
    keys:
      "api-key:main": {{read_per_s: 0, write_per_s: 0}}
"""
        s = self.start(config=config)
        c = s.client
        c.ok("PUT", "/collections/docs", {"vectors": {"size": 4, "distance": "Dot"}}, headers=api_key(ADMIN_KEY))
        statuses, limited = [], None
        for _ in range(8):
            r = c.call("POST", "/collections/docs/points/count", {}, headers=api_key(RO_KEY))
            statuses.append(r.status)
            if r.status == 429:
                limited = r
                break
        self.assertIsNotNone(limited, f"no 429 in a burst of reads: {statuses}")
        self.assertGreaterEqual(statuses.count(200), 3, statuses)
        self.check_refusal(limited, 429, RO_KEY)
        wait = int(limited.headers.get("Retry-After", "0"))
        self.assertGreaterEqual(wait, 1, limited.headers)
        self.assertLessEqual(wait, 2, limited.headers)
        # The key with its own unlimited entry is not limited meanwhile.
        for _ in range(10):
            self.assertEqual(c.call("POST", "/collections/docs/points/count", {},
                                    headers=api_key(ADMIN_KEY)).status, 200)
        time.sleep(wait)  # what the server asked for: honouring Retry-After is the behaviour under test
        r = c.call("POST", "/collections/docs/points/count", {}, headers=api_key(RO_KEY))
        self.assertEqual(r.status, 200, r.describe())
        self.assertIn("rate_limited", ak.auth_failures(
            c.call("GET", "/metrics", headers=api_key(ADMIN_KEY)).raw.decode()))


if __name__ == "__main__":
    h.main()

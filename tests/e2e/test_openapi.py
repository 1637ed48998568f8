#!/usr/bin/env python3
"""The OpenAPI document (GET /openapi.json) against the route table and a live node.

One real node with security on (an admin API key, so /vjvector/keys, roles and tenants are served):
- the document it serves is the committed src/api/openapi/openapi.json, which is what
  src/api/openapi/make_openapi.py writes, and @apidevtools/swagger-parser (tests/openapi, pinned) finds
  it a valid OpenAPI 3.1 document;
- its (method, path) set is the public port's routes of `vjvector routes`: a route without an operation
  or an operation without a route fails, and so does an `x-vjvector-permission` / `x-vjvector-scope`
  that is not the route's;
- every JSON request schema is closed and the node agrees: the first example plus an unknown field is a
  400 naming it;
- every operation is called on the node (bodies: the document's own examples; path parameters: a
  collection, point, index, snapshot, key, role and tenant made on the way), and must be served (2xx,
  but for the few answers listed in REFUSED, which are checked too); never an unmatched 404 or a 405;
- each JSON answer validates against the operation's response schema (ajv, JSON Schema 2020-12), and
  so do a few refusals (400, 404) and every request example against its request schema.

And a two-node cluster (real etcd): its answers to the operations whose answers show cluster mode
(/cluster, a collection's shard placement, rebalance, reads with ?consistency=, snapshots' 501) validate
against the same document.

Needs node and tests/openapi/node_modules (scripts/install-deps.sh).
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import unittest

import cluster_harness as ch
import vjharness as h

REPO = h.REPO_ROOT
SPEC_FILE = os.path.join(REPO, "src", "api", "openapi", "openapi.json")
GENERATOR = os.path.join(REPO, "src", "api", "openapi", "make_openapi.py")
CHECKER_DIR = os.path.join(REPO, "tests", "openapi")
NODE = shutil.which("node")
ADMIN_KEY = "admin-" + secrets.token_hex(12)
COLLECTION = "openapi_test"
ALIAS = "openapi_alias"
ROLE = "openapi-role"
TENANT = "openapi-tenant"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

# The order operations are called in: what later calls need comes first (the collection, its points and
# index, a snapshot, a key...), what removes it last. Unlisted operations (reads, updates) run at 50.
RANK = {
    ("PUT", "/collections/{name}"): 0,
    ("PUT", "/collections/{name}/points"): 1,
    ("PUT", "/collections/{name}/index"): 2,
    ("POST", "/collections/aliases"): 3,
    ("POST", "/collections/{name}/snapshots"): 3,
    ("POST", "/snapshots"): 3,
    ("POST", "/vjvector/keys"): 3,
    ("PUT", "/vjvector/roles/{name}"): 3,
    ("POST", "/vjvector/tenants"): 3,
    ("PUT", "/collections/{name}/snapshots/recover"): 60,
    ("POST", "/collections/{name}/snapshots/upload"): 61,
    ("POST", "/collections/{name}/points/payload/delete"): 70,
    ("POST", "/collections/{name}/points/payload/clear"): 71,
    ("POST", "/collections/{name}/points/vectors/delete"): 72,
    ("POST", "/collections/{name}/points/delete"): 73,
    ("DELETE", "/collections/{name}/index/{field_name}"): 80,
    ("DELETE", "/collections/{name}/snapshots/{snapshot_name}"): 85,
    ("DELETE", "/snapshots/{snapshot_name}"): 85,
    ("DELETE", "/vjvector/keys/{id}"): 85,
    ("DELETE", "/vjvector/roles/{name}"): 85,
    ("DELETE", "/vjvector/tenants/{tenant}"): 85,
    ("DELETE", "/collections/{name}"): 99,
}
# Values sent for the query parameters an operation documents (read_consistency: its older spelling,
# which may not be given with consistency; priority and checksum of an upload change what is checked).
QUERY_VALUES = {"wait": "true", "ordering": "strong", "timeout": "30", "consistency": "majority",
                "force": "true", "replace_dead": "false"}
# Answers other than 2xx that a standalone node gives on purpose: (status, words of the message).
REFUSED = {
    ("POST", "/cluster/rebalance"): (404, "not in a cluster"),
}


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), path, op


def run_checker(spec_path, answers_path=None):
    argv = [NODE, os.path.join(CHECKER_DIR, "check.mjs"), spec_path] + ([answers_path] if answers_path else [])
    done = subprocess.run(argv, cwd=CHECKER_DIR, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"check.mjs failed ({done.returncode}): {done.stderr[-3000:]}")
    return json.loads(done.stdout)


class OpenApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if NODE is None:
            raise AssertionError("node is not installed: run scripts/install-deps.sh")
        if not os.path.isdir(os.path.join(CHECKER_DIR, "node_modules", "@apidevtools", "swagger-parser")):
            raise AssertionError("tests/openapi/node_modules is missing: run scripts/install-deps.sh")
        cls.tmp = tempfile.mkdtemp(prefix="vj-e2e-openapi-")
        cls.data_dir = os.path.join(cls.tmp, "data")
        cls.server = h.Server(data_dir=cls.data_dir, log_dir=cls.tmp, api_key=ADMIN_KEY,
                              env={"VJVECTOR_SECURITY_API_KEY": ADMIN_KEY})
        cls.server.start()
        anonymous = h.Client(cls.server.host, cls.server.port)
        r = anonymous.call("GET", "/openapi.json")  # public: no credentials
        if r.status != 200:
            raise AssertionError(f"GET /openapi.json: {r.describe()}")
        cls.served_raw = r.raw
        cls.served_headers = {k.lower(): v for k, v in r.headers.items()}
        cls.spec = json.loads(r.raw)
        cls.spec_path = os.path.join(cls.tmp, "served-openapi.json")
        with open(cls.spec_path, "wb") as f:
            f.write(r.raw)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -------------------------------------------------------------------------------------------
    def test_served_document_is_the_committed_valid_one(self):
        self.assertTrue(self.served_headers.get("content-type", "").startswith("application/json"))
        with open(SPEC_FILE, "rb") as f:
            self.assertEqual(self.served_raw, f.read(), "the binary serves another openapi.json than the "
                             "committed one: rebuild")
        fresh = subprocess.run([sys.executable, GENERATOR, "--check"], capture_output=True, text=True)
        self.assertEqual(fresh.returncode, 0, f"openapi.json is stale: {fresh.stderr}")
        self.assertEqual(self.spec["openapi"], "3.1.0")
        out = run_checker(self.spec_path)
        self.assertTrue(out["valid"], f"swagger-parser: {out['error']}")
        self.assertEqual(out["failures"], [], "request examples that do not match their own schema")
        self.assertGreaterEqual(out["examples"], 30)

    def test_checker_rejects_broken_documents_and_answers(self):
        """The checks are no rubber stamp: a dangling $ref, a parameter of no location and an answer
        unlike its schema all fail."""
        path = os.path.join(self.tmp, "broken.json")
        broken = json.loads(self.served_raw)
        op = broken["paths"]["/collections/{name}/points/query"]["post"]
        op["requestBody"]["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/NoSuchThing"}
        with open(path, "w") as f:
            json.dump(broken, f)
        self.assertFalse(run_checker(path)["valid"])
        broken = json.loads(self.served_raw)
        broken["paths"]["/collections/{name}/exists"]["get"]["parameters"] = [{"name": "name", "in": "body"}]
        with open(path, "w") as f:
            json.dump(broken, f)
        self.assertFalse(run_checker(path)["valid"])
        answers = os.path.join(self.tmp, "bad-answers.json")
        bad = [{"method": "POST", "path": "/collections/{name}/points/count", "status": 200,
                "body": {"result": {"count": "three"}, "status": "ok", "time": 0.1}},
               {"method": "POST", "path": "/collections/{name}/points/search", "status": 200,
                "body": {"result": [{"id": -1, "score": 0.5, "version": 0}], "status": "ok", "time": 0.1}},
               {"method": "GET", "path": "/collections/{name}", "status": 200,
                "body": {"result": {"status": "purple", "config": {}, "payload_schema": {}}, "status": "ok",
                         "time": 0.1}}]
        with open(answers, "w") as f:
            json.dump(bad, f)
        out = run_checker(self.spec_path, answers)
        self.assertEqual(out["checked"], 3)
        self.assertEqual(len(out["failures"]), 3, out["failures"])

    def test_operations_are_the_public_routes(self):
        done = subprocess.run([h.BINARY, "routes"], capture_output=True, text=True, check=True)
        routes = {(r["method"], r["path"]): r for r in json.loads(done.stdout) if r["port"] == "public"}
        ops = {(m, p): op for m, p, op in operations(self.spec)}
        self.assertEqual(sorted(set(routes) - set(ops)), [], "routes without an operation in openapi.json")
        self.assertEqual(sorted(set(ops) - set(routes)), [], "operations in openapi.json without a route")
        for key, op in ops.items():
            self.assertEqual(op.get("x-vjvector-permission"), routes[key]["permission"], f"{key}: permission")
            self.assertEqual(op.get("x-vjvector-scope"), routes[key]["scope"], f"{key}: scope")
            if routes[key]["permission"] == "public":
                self.assertEqual(op.get("security"), [], f"{key}: a public route needs no credentials")
            else:
                self.assertNotIn("security", op, f"{key}: needs the document's credentials")
            declared = {p.get("name") for p in self.parameters(op) if p.get("in") == "path"}
            wanted = {s[1:-1] for s in key[1].split("/") if s.startswith("{")}
            self.assertEqual(declared, wanted, f"{key}: path parameters")
        self.assertFalse(any(p.startswith("/internal") for _, p in ops), "peer routes are not public")

    def parameters(self, op):
        out = []
        for p in op.get("parameters", []):
            if "$ref" in p:
                p = self.spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
            out.append(p)
        return out

    # -------------------------------------------------------------------------------------------
    def test_every_operation_is_served_and_answers_its_schema(self):
        client = self.server.client
        state = {"name": COLLECTION, "field_name": "city", "id": "1", "file": "app.js", "tenant": TENANT}
        ops = sorted(operations(self.spec), key=lambda t: (RANK.get((t[0], t[1]), 50), t[1], t[0]))
        answers = []
        for method, path, op in ops:
            url, bodies, raw, headers = self.request_for(method, path, op, state)
            if isinstance(bodies[0][1], dict):
                with self.subTest(op=f"{method} {path}", example="unknown field"):
                    # The request schemas are closed, as the server is: an unknown field is a 400 naming it.
                    self.assertIs(self.body_schema_closed(op), True, f"{method} {path}: request schema not closed")
                    r = client.call(method, url, body={**bodies[0][1], "zz_unknown": 1})
                    self.assertEqual(r.status, 400, r.describe())
                    self.assertIn("zz_unknown", r.error, r.describe())
            for n, (example, body) in enumerate(bodies):
                with self.subTest(op=f"{method} {path}", example=example):
                    r = self.call_checked(client, method, path, op, url, body, raw, headers)
                    if r.headers_ci.get("content-type", "").startswith("application/json"):
                        answers.append({"method": method, "path": path, "status": r.status, "body": r.json})
                    if n == 0:
                        self.remember(state, method, path, r)
        # Refusals answer the documented error shape too.
        for method, path, url, body in (
                ("POST", "/collections/{name}/points/query", f"/collections/{ALIAS}x/points/query", {}),
                ("POST", "/collections/{name}/points/count", f"/collections/{COLLECTION}/points/count",
                 {"filter": {"must": [{"key": "city", "nope": 1}]}}),
                ("PUT", "/collections/{name}/points", f"/collections/{COLLECTION}/points", {"points": [{"id": -1}]}),
                ("GET", "/vjvector/tenants/{tenant}", "/vjvector/tenants/nobody", None)):
            r = client.call(method, url, body=body)
            self.assertIn(r.status, (400, 404), r.describe())
            answers.append({"method": method, "path": path, "status": r.status, "body": r.json})
        called = {(a["method"], a["path"]) for a in answers}
        self.assertIn(("POST", "/collections/{name}/points/query"), called)
        answers_path = os.path.join(self.tmp, "answers.json")
        with open(answers_path, "w") as f:
            json.dump(answers, f)
        out = run_checker(self.spec_path, answers_path)
        self.assertEqual(out["failures"], [], "answers that do not match their documented schema")
        self.assertGreaterEqual(out["checked"], 60, "too few answers validated")

    def body_schema_closed(self, op):
        """Whether the operation's JSON body schema allows no other top-level fields (each branch of an anyOf)."""
        def closed(schema):
            if "$ref" in schema:
                schema = self.spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
            if "anyOf" in schema:
                return all(closed(branch) for branch in schema["anyOf"])
            return schema.get("type") == "object" and schema.get("additionalProperties") is False
        return closed(op["requestBody"]["content"]["application/json"]["schema"])

    def call_checked(self, client, method, path, op, url, body, raw, headers):
        """One call: served (or refused as REFUSED says), never unmatched or 405, in a documented media type."""
        r = client.call(method, url, body=body, raw=raw, headers=headers)
        r.headers_ci = {k.lower(): v for k, v in r.headers.items()}
        message = ""
        if r.status >= 400:
            try:
                message = r.error or ""
            except Exception:  # a non-JSON error body
                message = r.raw[:200].decode("utf-8", "replace")
        self.assertFalse(r.status == 404 and "no such endpoint" in message, f"unmatched: {r.describe()}")
        self.assertNotEqual(r.status, 405, r.describe())
        if (method, path) in REFUSED:
            status, words = REFUSED[(method, path)]
            self.assertEqual(r.status, status, r.describe())
            self.assertIn(words, message, r.describe())
        else:
            self.assertTrue(200 <= r.status < 300, f"not served: {r.describe()}")
        documented = op["responses"].get(str(r.status), {})
        if "$ref" in documented:
            documented = self.spec["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
        media = list(documented.get("content", {}))
        content_type = r.headers_ci.get("content-type", "")
        self.assertTrue(media, f"{method} {path}: status {r.status} is not documented")
        self.assertTrue(any(content_type.startswith(m) for m in media),
                        f"{method} {path}: content type {content_type!r}, documented {media}")
        return r

    def remember(self, state, method, path, r):
        """What later calls need from this answer: names and ids made, a snapshot's bytes."""
        result = r.json.get("result") if r.headers_ci.get("content-type", "").startswith("application/json") \
            and isinstance(r.json, dict) else None
        if (method, path) == ("POST", "/collections/{name}/snapshots"):
            state["snapshot_name"] = result["name"]
            state["snapshot_file"] = os.path.join(self.data_dir, "snapshots", COLLECTION, result["name"])
        elif (method, path) == ("POST", "/snapshots"):
            state["full_snapshot_name"] = result["name"]
        elif (method, path) == ("POST", "/vjvector/keys"):
            state["key_id"] = result["id"]
        elif (method, path) == ("GET", "/collections/{name}/snapshots/{snapshot_name}"):
            state["snapshot_bytes"] = r.raw

    def request_for(self, method, path, op, state):
        """(url, [(example name, JSON body)], raw body, headers) of one operation's calls."""
        values = dict(state)
        if path.startswith("/vjvector/keys/"):
            values["id"] = state["key_id"]
        if path.startswith("/vjvector/roles/"):
            values["name"] = ROLE
        if path.startswith("/snapshots/"):
            values["snapshot_name"] = state["full_snapshot_name"]
        url = path
        for segment in path.split("/"):
            if segment.startswith("{"):
                url = url.replace(segment, str(values[segment[1:-1]]))
        # Every documented query parameter that has a harmless value is sent, so each must be accepted.
        query = [f"{p['name']}={QUERY_VALUES[p['name']]}" for p in self.parameters(op)
                 if p.get("in") == "query" and p["name"] in QUERY_VALUES]
        if query:
            url += "?" + "&".join(query)
        bodies = [("none", None)]
        raw = headers = None
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            media = content["application/json"]
            if "examples" in media:
                bodies = [(name, e["value"]) for name, e in media["examples"].items()]
            else:
                self.assertIn("example", media, f"{method} {path}: the request body has no example")
                bodies = [("example", media["example"])]
            if (method, path) == ("PUT", "/collections/{name}/snapshots/recover"):
                bodies = [("example", {"location": "file://" + state["snapshot_file"]})]
            if (method, path) == ("POST", "/vjvector/backups"):
                bodies = [("example", {"to": "file://" + os.path.join(self.tmp, "backups")})]
        elif "multipart/form-data" in content:
            boundary = "vj" + secrets.token_hex(8)
            raw = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"snapshot\"; filename=\"s.snapshot\"\r\n"
                   f"Content-Type: application/octet-stream\r\n\r\n").encode() + state["snapshot_bytes"] + \
                f"\r\n--{boundary}--\r\n".encode()
            headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return url, bodies, raw, headers


class ClusterOpenApiTest(ch.ClusterTestCase):
    """Cluster mode answers differently (peers, etcd, shards placed on other nodes): its answers to the
    operations that show it validate against the same document."""

    node_names = ("n1", "n2")

    def test_cluster_answers_match_the_document(self):
        spec_raw = self.client("n1").call("GET", "/openapi.json").raw
        spec_path = os.path.join(self.tmp, "openapi.json")
        with open(spec_path, "wb") as f:
            f.write(spec_raw)
        c = self.client("n1")
        c.create_collection(COLLECTION, body={"vectors": {"size": 4, "distance": "Cosine"}, "shard_number": 2,
                                              "replication_factor": 2, "write_consistency_factor": 2})
        c.upsert(COLLECTION, [{"id": i, "vector": [0.1 * i, 0.2, 0.3, 0.4], "payload": {"city": "Berlin"}}
                              for i in range(1, 9)])
        calls = [("GET", "/cluster", "/cluster", None),
                 ("GET", "/collections/{name}/cluster", f"/collections/{COLLECTION}/cluster", None),
                 ("GET", "/collections/{name}", f"/collections/{COLLECTION}", None),
                 ("POST", "/cluster/rebalance", "/cluster/rebalance", None),
                 ("POST", "/collections/{name}/points/query", f"/collections/{COLLECTION}/points/query?consistency=all",
                  {"query": [0.1, 0.2, 0.3, 0.4], "limit": 3, "with_payload": True}),
                 ("POST", "/collections/{name}/points/scroll", f"/collections/{COLLECTION}/points/scroll?consistency=majority",
                  {"limit": 3, "with_vector": True}),
                 ("POST", "/collections/{name}/points/count", f"/collections/{COLLECTION}/points/count", {"exact": True}),
                 ("POST", "/collections/{name}/snapshots", f"/collections/{COLLECTION}/snapshots", None)]
        answers = []
        for method, path, url, body in calls:
            r = self.client("n2").call(method, url, body=body)
            if path == "/collections/{name}/snapshots":
                self.assertEqual(r.status, 501, r.describe())  # not in cluster mode yet (docs/backup.md)
            else:
                self.assertEqual(r.status, 200, r.describe())
            answers.append({"method": method, "path": path, "status": r.status, "body": r.json})
        self.assertEqual(answers[0]["body"]["result"]["status"], "enabled")
        self.assertTrue(answers[1]["body"]["result"]["remote_shards"], "a shard replica lives on n1")
        answers_path = os.path.join(self.tmp, "answers.json")
        with open(answers_path, "w") as f:
            json.dump(answers, f)
        out = run_checker(spec_path, answers_path)
        self.assertEqual(out["failures"], [], "cluster answers that do not match their documented schema")
        self.assertEqual(out["checked"], len(calls))


if __name__ == "__main__":
    h.main()

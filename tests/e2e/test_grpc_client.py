"""The official Qdrant gRPC client (@qdrant/js-client-grpc, pinned in tests/clients/package.json) against
VJVector's gRPC port, over TLS with API keys: tests/clients/qdrant_js_grpc.mjs creates a collection,
upserts, queries and searches with a filter, scrolls, counts, gets and deletes points, and this test asks
the REST port the same questions and compares the answers. Refusals: no key or a wrong key is
UNAUTHENTICATED, the read-only key cannot upsert (PERMISSION_DENIED), bad input and a field VJVector does
not serve are INVALID_ARGUMENT, a missing collection NOT_FOUND; nothing changes and the server stays up.

Skipped only when node is not installed; the npm packages come from scripts/install-deps.sh.
"""

import json
import os
import secrets
import shutil
import ssl
import subprocess
import tempfile
import unittest

import vjharness as h
from tlspki import Pki

NODE = shutil.which("node")
CLIENTS = os.path.join(h.REPO_ROOT, "tests", "clients")
SCRIPT = os.path.join(CLIENTS, "qdrant_js_grpc.mjs")
API_KEY = "grpc-rw-" + secrets.token_hex(12)
READ_KEY = "grpc-ro-" + secrets.token_hex(12)
RED = {"must": [{"key": "color", "match": {"value": "red"}}]}

# gRPC status codes (grpc/status.h)
INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, UNAUTHENTICATED = 3, 5, 6, 7, 8, 16


def vector_of(i):
    import math
    return [math.cos(i), math.sin(i), (i % 5) / 5, 1]


@unittest.skipIf(NODE is None, "node is not installed")
class GrpcClient(h.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.isdir(os.path.join(CLIENTS, "node_modules", "@qdrant", "js-client-grpc")):
            raise AssertionError("tests/clients/node_modules is missing: run scripts/install-deps.sh")
        cls.pki = Pki()
        cls.pki.issue("server", "node-1", 0x1001)
        cls.data_dir = tempfile.mkdtemp(prefix="vj-e2e-grpc-")
        cls.grpc_port = h.free_port()
        ctx = ssl.create_default_context(cafile=cls.pki.path("ca.crt"))
        cls.server = h.Server(data_dir=cls.data_dir, log_dir=cls.pki.dir, port=h.free_port(),
                              extra_args=["--grpc-port", str(cls.grpc_port)], api_key=API_KEY, ssl_context=ctx,
                              env={"VJVECTOR_TLS_CERT_FILE": cls.pki.path("server.crt"),
                                   "VJVECTOR_TLS_KEY_FILE": cls.pki.path("server.key"),
                                   "VJVECTOR_SECURITY_API_KEY": API_KEY,
                                   "VJVECTOR_SECURITY_READ_ONLY_API_KEY": READ_KEY})
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.pki.cleanup()
        shutil.rmtree(cls.data_dir, ignore_errors=True)

    def node(self, step, collection, port=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("VJVECTOR_")}
        env.update({"NODE_EXTRA_CA_CERTS": self.pki.path("ca.crt"), "VJ_GRPC_URL": f"https://127.0.0.1:{port or self.grpc_port}",
                    "VJ_API_KEY": API_KEY, "VJ_READ_KEY": READ_KEY, "VJ_COLLECTION": collection, "VJ_STEP": step})
        r = subprocess.run([NODE, SCRIPT], cwd=CLIENTS, env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, f"{r.stdout}\n{r.stderr}\n{self.server.dump_logs()}")
        self.assertNotIn(API_KEY, r.stdout + r.stderr)
        return json.loads(r.stdout.strip().splitlines()[-1])

    def assertSamePoints(self, grpc_points, rest_points, scored=True):
        self.assertEqual([p["id"] for p in grpc_points], [p["id"] for p in rest_points], (grpc_points, rest_points))
        for g, r in zip(grpc_points, rest_points):
            self.assertEqual(g["payload"], r["payload"], g["id"])
            if scored:
                self.assertAlmostEqual(g["score"], r["score"], places=5)
            if "vector" in r:
                self.assertEqual(len(g["vector"]), len(r["vector"]))
                for a, b in zip(g["vector"], r["vector"]):
                    self.assertAlmostEqual(a, b, places=5)

    def test_cycle_matches_rest_and_refusals(self):
        c = "grpc-cycle"
        rest = self.server.client
        out = self.node("cycle", c)
        self.assertEqual(out["health"], "1.18.0")
        self.assertTrue(out["create"])
        self.assertTrue(out["exists"])
        self.assertEqual(out["upsert_status"], 2)  # Completed
        self.assertIn(c, out["list"])
        q = vector_of(2.5)
        self.assertEqual(len(out["query"]), 5)
        self.assertSamePoints(out["query"], rest.ok("POST", f"/collections/{c}/points/query",
                                                    {"query": q, "filter": RED, "limit": 5, "with_payload": True})["points"])
        self.assertSamePoints(out["search"], rest.ok("POST", f"/collections/{c}/points/search",
                                                     {"vector": q, "filter": RED, "limit": 5, "with_payload": True}))
        scroll = rest.ok("POST", f"/collections/{c}/points/scroll", {"filter": RED, "limit": 4, "with_payload": True})
        self.assertSamePoints(out["scroll"], scroll["points"], scored=False)
        self.assertEqual(out["scroll_next"], scroll["next_page_offset"])
        self.assertEqual(out["count"], 10)
        self.assertEqual(out["count"], rest.ok("POST", f"/collections/{c}/points/count", {"filter": RED, "exact": True})["count"])
        got = rest.ok("POST", f"/collections/{c}/points", {"ids": [3, 4], "with_payload": True, "with_vector": True})
        self.assertSamePoints(out["get"], got, scored=False)

        # Refusals, each with the code a Qdrant client expects, and nothing changed.
        out = self.node("refuse_and_delete", c)
        self.assertEqual(out["read_only_count"], 30)
        self.assertEqual(out["bearer_count"], 30)  # authorization: Bearer <key>
        self.assertEqual(out["read_only_upsert"]["code"], PERMISSION_DENIED, out["read_only_upsert"])
        self.assertEqual(out["no_key"]["code"], UNAUTHENTICATED, out["no_key"])
        self.assertEqual(out["wrong_key"]["code"], UNAUTHENTICATED, out["wrong_key"])
        self.assertEqual(out["bad_dimension"]["code"], INVALID_ARGUMENT, out["bad_dimension"])
        self.assertEqual(out["nan_vector"]["code"], INVALID_ARGUMENT, out["nan_vector"])
        self.assertIn("finite", out["nan_vector"]["message"])
        self.assertEqual(out["bad_key"]["code"], INVALID_ARGUMENT, out["bad_key"])
        self.assertEqual(out["unsupported_field"]["code"], INVALID_ARGUMENT, out["unsupported_field"])
        self.assertIn("field 6 of qdrant.UpsertPoints", out["unsupported_field"]["message"])
        self.assertEqual(out["missing_collection"]["code"], NOT_FOUND, out["missing_collection"])
        self.assertEqual(out["create_again"]["code"], ALREADY_EXISTS, out["create_again"])
        self.assertEqual(out["create_zero_size"]["code"], INVALID_ARGUMENT, out["create_zero_size"])
        self.assertIn("vectors_config.params.size", out["create_zero_size"]["message"])
        self.assertFalse(out["zero_size_exists"])
        # A named vector "size" would be stored as a config the node cannot read back at start-up.
        self.assertEqual(out["create_reserved_name"]["code"], INVALID_ARGUMENT, out["create_reserved_name"])
        self.assertFalse(out["reserved_name_exists"])
        self.assertEqual(out["count_after_refusals"], 30)
        self.assertIsNone(rest.call("GET", f"/collections/{c}/points/99").json.get("result"))

        # Deleted over gRPC: gone over REST too.
        self.assertEqual(out["delete_status"], 2)
        self.assertEqual(out["count_after_delete"], 8)
        self.assertEqual(rest.ok("POST", f"/collections/{c}/points/count", {"filter": RED})["count"], 8)
        self.assertEqual(rest.call("GET", f"/collections/{c}/points/3").status, 404)

        metrics = rest.call("GET", "/metrics").raw.decode()
        counted = [l for l in metrics.splitlines() if l.startswith("vjvector_grpc_requests_total{")]
        self.assertTrue(any('/qdrant.Points/Upsert' in l and 'PERMISSION_DENIED' in l for l in counted), counted)
        self.assertTrue(any('/qdrant.Points/Query' in l and '"OK"' in l for l in counted), counted)

        done = self.node("cleanup", c)
        self.assertEqual(done, {"delete_collection": True, "exists_after": False})
        self.assertEqual(rest.call("GET", f"/collections/{c}").status, 404)
        self.assertTrue(self.server.alive(), self.server.dump_logs())

    def test_a_grpc_port_in_use_stops_the_start(self):
        # gRPC's default SO_REUSEPORT would let a second node share the port silently.
        env = {k: v for k, v in os.environ.items() if not k.startswith("VJVECTOR_")}
        tmp = tempfile.mkdtemp(prefix="vj-e2e-grpc-busy-")
        try:
            r = subprocess.run([h.BINARY, "serve", "--data-dir", os.path.join(tmp, "d"), "--host", "127.0.0.1",
                                "--http-port", str(h.free_port()), "--grpc-port", str(self.grpc_port)],
                               env=env, capture_output=True, text=True, timeout=60)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("cannot start the gRPC port", r.stdout + r.stderr)
        self.assertTrue(self.server.alive(), self.server.dump_logs())

    def test_rate_limit_is_resource_exhausted_with_retry_after(self):
        grpc_port = h.free_port()
        ctx = ssl.create_default_context(cafile=self.pki.path("ca.crt"))
        limited = h.Server(data_dir=tempfile.mkdtemp(prefix="vj-e2e-grpc-rl-"), log_dir=self.pki.dir,
                           port=h.free_port(), extra_args=["--grpc-port", str(grpc_port)], api_key=API_KEY,
                           ssl_context=ctx,
                           env={"VJVECTOR_TLS_CERT_FILE": self.pki.path("server.crt"),
                                "VJVECTOR_TLS_KEY_FILE": self.pki.path("server.key"),
                                "VJVECTOR_SECURITY_API_KEY": API_KEY,
                                "VJVECTOR_SECURITY_RATE_LIMITS_WRITE_PER_S": "0.001",
                                "VJVECTOR_SECURITY_RATE_LIMITS_WRITE_BURST": "1"})
        limited.start()
        try:
            out = self.node("rate_limited", "grpc-rl", port=grpc_port)
            self.assertTrue(out["create"])
            self.assertEqual(out["upsert"]["code"], RESOURCE_EXHAUSTED, out)
            self.assertGreaterEqual(out["upsert"]["retry_after"], 1, out)
            self.assertEqual(out["count"], 0)  # reads have their own bucket; the refused write wrote nothing
            self.assertTrue(limited.alive(), limited.dump_logs())
        finally:
            limited.stop()
            shutil.rmtree(limited.data_dir, ignore_errors=True)


if __name__ == "__main__":
    h.main()

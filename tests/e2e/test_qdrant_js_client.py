"""The official Qdrant JS client (@qdrant/js-client-rest, pinned in tests/clients/package.json) over HTTPS
with an API key: tests/clients/qdrant_js_cycle.mjs creates a collection, upserts, queries, searches,
deletes points and the collection. With a wrong key the same script fails with 401.
tests/clients/qdrant_js_aliases.mjs manages aliases (updateCollectionAliases, getAliases,
getCollectionAliases), queries through them, runs recreateCollection on a first run, and checks that the
client's server version check prints no warning.

The node serves TLS with a certificate made by `openssl` (tlspki.Pki); node trusts its CA through
NODE_EXTRA_CA_CERTS. Skipped only when node is not installed; the npm packages come from
scripts/install-deps.sh (npm ci in tests/clients).
"""

import http.client
import os
import secrets
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

import vjharness as h
from tlspki import Pki

NODE = shutil.which("node")
CLIENTS = os.path.join(h.REPO_ROOT, "tests", "clients")
SCRIPT = os.path.join(CLIENTS, "qdrant_js_cycle.mjs")
ALIASES_SCRIPT = os.path.join(CLIENTS, "qdrant_js_aliases.mjs")
SNAPSHOTS_SCRIPT = os.path.join(CLIENTS, "qdrant_js_snapshots.mjs")
SPARSE_SCRIPT = os.path.join(CLIENTS, "qdrant_js_sparse.mjs")
API_KEY = "js-client-" + secrets.token_hex(12)


@unittest.skipIf(NODE is None, "node is not installed")
class QdrantJsClient(h.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.isdir(os.path.join(CLIENTS, "node_modules", "@qdrant", "js-client-rest")):
            raise AssertionError("tests/clients/node_modules is missing: run scripts/install-deps.sh")
        cls.pki = Pki()
        cls.pki.issue("server", "node-1", 0x1001)
        cls.data_dir = tempfile.mkdtemp(prefix="vj-e2e-js-")
        cls.server = h.Server(data_dir=cls.data_dir, log_dir=cls.pki.dir, port=h.free_port(), env={
            "VJVECTOR_TLS_CERT_FILE": cls.pki.path("server.crt"),
            "VJVECTOR_TLS_KEY_FILE": cls.pki.path("server.key"),
            "VJVECTOR_SECURITY_API_KEY": API_KEY})
        cls.server.start(wait_ready=False)  # the harness polls plain HTTP; wait_ready polls HTTPS

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.pki.cleanup()
        shutil.rmtree(cls.data_dir, ignore_errors=True)

    def cycle(self, key, collection, script=SCRIPT):
        env = {k: v for k, v in os.environ.items() if not k.startswith("VJVECTOR_")}
        env.update({"NODE_EXTRA_CA_CERTS": self.pki.path("ca.crt"), "VJ_URL": f"https://127.0.0.1:{self.server.port}",
                    "VJ_API_KEY": key, "VJ_COLLECTION": collection, "VJ_DATA_DIR": os.path.realpath(self.data_dir)})
        return subprocess.run([NODE, script], cwd=CLIENTS, env=env, capture_output=True, text=True, timeout=120)

    def wait_ready(self):
        ctx = ssl.create_default_context(cafile=self.pki.path("ca.crt"))
        deadline = time.monotonic() + h.READY_TIMEOUT_S
        while time.monotonic() < deadline:
            self.assertTrue(self.server.alive(), self.server.dump_logs())
            conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, timeout=5, context=ctx)
            try:
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.05)
        self.fail("the node did not become ready over HTTPS")

    def test_cycle_with_the_api_key_and_refused_with_a_wrong_one(self):
        self.wait_ready()
        ok = self.cycle(API_KEY, "js-cycle")
        self.assertEqual(ok.returncode, 0, f"{ok.stdout}\n{ok.stderr}\n{self.server.dump_logs()}")
        self.assertIn("qdrant js cycle ok", ok.stdout)
        wrong = self.cycle("wrong-" + secrets.token_hex(12), "js-cycle-2")
        self.assertEqual(wrong.returncode, 1, f"{wrong.stdout}\n{wrong.stderr}")
        self.assertIn("status=401", wrong.stderr)
        self.assertNotIn(API_KEY, wrong.stdout + wrong.stderr)

    def test_aliases_recreate_and_no_version_warning(self):
        self.wait_ready()
        r = self.cycle(API_KEY, "js-alias", script=ALIASES_SCRIPT)
        self.assertEqual(r.returncode, 0, f"{r.stdout}\n{r.stderr}\n{self.server.dump_logs()}")
        self.assertIn("qdrant js aliases ok", r.stdout)
        self.assertNotIn("incompatible", r.stderr + r.stdout)

    def test_snapshots_create_list_recover_delete_and_full(self):
        self.wait_ready()
        ok = self.cycle(API_KEY, "js-snap", SNAPSHOTS_SCRIPT)
        self.assertEqual(ok.returncode, 0, f"{ok.stdout}\n{ok.stderr}\n{self.server.dump_logs()}")
        self.assertIn("qdrant js snapshots ok", ok.stdout)

    def test_sparse_vectors_upsert_query_hybrid_retrieve(self):
        self.wait_ready()
        r = self.cycle(API_KEY, "js-sparse", SPARSE_SCRIPT)
        self.assertEqual(r.returncode, 0, f"{r.stdout}\n{r.stderr}\n{self.server.dump_logs()}")
        self.assertIn("qdrant js sparse ok", r.stdout)


if __name__ == "__main__":
    h.main()

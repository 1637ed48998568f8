"""The web console (/dashboard) against the real binary.

- Serving (no browser): every embedded file with its Content-Type and the security headers (a strict
  Content-Security-Policy, nosniff, X-Frame-Options DENY, no-cache); unknown files and path traversal
  are 404; the files are public on a node that requires a key (they carry no data) while the API is not;
  a foreign Origin is still refused.
- In Debian's chromium, driven by tests/dashboard/dashboard.mjs (playwright-core, pinned in
  tests/dashboard/package.json): the whole standalone cycle (create a collection in the UI, points upserted
  through the API listed with their count, a query whose shown ids equal the API's, browse with a filter
  and the next page, payload index, snapshots, the 2-D map, the REST console, delete in the UI); a node
  with an API key (the page asks for it, a wrong one is asked again, a read-only key sees a 403 message);
  a three-node cluster with a real etcd (every shard's replicas shown; a node killed with -9 shows as gone
  and its replicas Dead, waited for, without a reload; "Replace dead replicas" moves them off it).
Screenshots of the main pages go to <build dir>/dashboard-screenshots/ (artifacts, not committed).

chromium (/usr/bin/chromium, or $VJ_CHROMIUM) and tests/dashboard/node_modules come from
scripts/install-deps.sh. Without them the browser tests fail; VJ_SKIP_BROWSER=1 skips them (saying so).
"""

import http.client
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import unittest

import cluster_harness as ch
import vjharness as h

NODE = shutil.which("node")
CHROMIUM = os.environ.get("VJ_CHROMIUM", "/usr/bin/chromium")
SCRIPT_DIR = os.path.join(h.REPO_ROOT, "tests", "dashboard")
SCRIPT = os.path.join(SCRIPT_DIR, "dashboard.mjs")
WEB_DIR = os.path.join(h.REPO_ROOT, "web", "dashboard")
SHOTS = os.path.join(os.path.dirname(h.BINARY), "dashboard-screenshots")
ADMIN_KEY = "dash-admin-" + secrets.token_hex(12)
RO_KEY = "dash-ro-" + secrets.token_hex(12)
SCRIPT_TIMEOUT_S = 240


def browser_missing():
    """Why the browser tests cannot run, or None."""
    if NODE is None:
        return "node is not installed"
    if not os.access(CHROMIUM, os.X_OK):
        return f"chromium is not installed at {CHROMIUM}"
    if not os.path.isdir(os.path.join(SCRIPT_DIR, "node_modules", "playwright-core")):
        return "tests/dashboard/node_modules is missing"
    return None


def require_browser(test):
    missing = browser_missing()
    if missing is None:
        return
    if os.environ.get("VJ_SKIP_BROWSER") == "1":
        test.skipTest(f"VJ_SKIP_BROWSER=1: browser tests skipped ({missing})")
    raise AssertionError(f"{missing}: run scripts/install-deps.sh (or set VJ_SKIP_BROWSER=1 to skip)")


def run_script(test, scenario, port, env=None, stdin=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("VJVECTOR_")}
    e.update({"VJ_URL": f"http://127.0.0.1:{port}", "VJ_SCENARIO": scenario, "VJ_SCREENSHOTS": SHOTS,
              "VJ_CHROMIUM": CHROMIUM})
    e.update(env or {})
    return subprocess.Popen([NODE, SCRIPT], cwd=SCRIPT_DIR, env=e, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(test, proc):
    try:
        out, _ = proc.communicate(timeout=SCRIPT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        test.fail(f"the browser script timed out:\n{out[-6000:]}")
    print(out[-3000:], flush=True)
    test.assertEqual(proc.returncode, 0, out[-6000:])
    test.assertTrue(out.rstrip().endswith("ok"), out[-3000:])


def get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


class DashboardServing(h.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vj-e2e-dash-")
        cls.server = h.Server(data_dir=os.path.join(cls.tmp, "data"), log_dir=cls.tmp,
                              env={"VJVECTOR_SECURITY_API_KEY": ADMIN_KEY}, api_key=ADMIN_KEY)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_every_file_is_served_with_its_type_and_the_security_headers(self):
        types = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8"}
        files = sorted(os.listdir(WEB_DIR))
        self.assertIn("index.html", files)
        for name in files + [""]:
            path = "/dashboard/" + name if name else "/dashboard"
            status, headers, body = get(self.server.port, path)  # no credentials: the files are public
            self.assertEqual(status, 200, f"{path}: {body[:300]}")
            with open(os.path.join(WEB_DIR, name or "index.html"), "rb") as f:
                self.assertEqual(body, f.read(), f"{path}: the embedded bytes differ from the file")
            self.assertEqual(headers["content-type"], types[os.path.splitext(name or "index.html")[1]], path)
            csp = headers.get("content-security-policy", "")
            self.assertIn("default-src 'none'", csp)
            self.assertIn("script-src 'self'", csp)
            self.assertIn("frame-ancestors 'none'", csp)
            self.assertNotIn("unsafe-inline", csp)
            self.assertNotIn("unsafe-eval", csp)
            self.assertEqual(headers.get("x-content-type-options"), "nosniff", path)
            self.assertEqual(headers.get("x-frame-options"), "DENY", path)
            self.assertEqual(headers.get("cache-control"), "no-cache", path)

    def test_no_inline_script_or_external_resource_in_the_files(self):
        for name in os.listdir(WEB_DIR):
            with open(os.path.join(WEB_DIR, name), encoding="utf-8") as f:
                text = f.read()
            self.assertNotRegex(text, r"https?://(?!\$\{)", f"{name} refers to another site")
            if name.endswith(".html"):
                for tag in re.findall(r"<script[^>]*>", text):
                    self.assertIn("src=", tag, f"{name}: inline script {tag}")
                self.assertNotIn("style=", text, f"{name}: inline style")

    def test_unknown_files_and_traversal_are_404(self):
        for path in ("/dashboard/nope.js", "/dashboard/..", "/dashboard/%2e%2e", "/dashboard/%2e%2e%2fREADME.md",
                     "/dashboard/../README.md", "/dashboard/sub/index.html", "/dashboard/index.html%00.js",
                     "/dashboard/INDEX.HTML", "/dashboard/.", "/dashboard/app.js/x", "/dashboard/CMakeLists.txt"):
            # Without credentials a path that names no route is refused before routing (401); with them, 404.
            status, headers, body = get(self.server.port, path)
            self.assertIn(status, (401, 404), f"{path}: {status} {body[:200]}")
            self.assertNotIn(b"<html", body, path)
            status, headers, body = get(self.server.port, path, {"api-key": ADMIN_KEY})
            self.assertEqual(status, 404, f"{path}: {status} {body[:200]}")
            self.assertNotIn(b"<html", body, path)
        for method in ("POST", "PUT", "DELETE"):
            r = self.server.client.call(method, "/dashboard/app.js", {})
            self.assertEqual(r.status, 405, r.describe())

    def test_the_api_still_needs_credentials_and_refuses_foreign_origins(self):
        port = self.server.port
        status, _, _ = get(port, "/collections")
        self.assertEqual(status, 401)
        own = {"Origin": f"http://127.0.0.1:{port}", "Host": f"127.0.0.1:{port}", "api-key": ADMIN_KEY}
        self.assertEqual(get(port, "/collections", own)[0], 200)
        evil = dict(own, Origin="http://evil.example")
        self.assertEqual(get(port, "/collections", evil)[0], 403)
        self.assertEqual(get(port, "/dashboard", dict(evil))[0], 403)


class DashboardInBrowser(h.TestCase):
    def setUp(self):
        require_browser(self)
        self.tmp = tempfile.mkdtemp(prefix="vj-e2e-dash-")
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()
            if h._test_failed(self):
                print(self.server.dump_logs())
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_standalone_cycle(self):
        self.server = h.Server(data_dir=os.path.join(self.tmp, "data"), log_dir=self.tmp)
        self.server.start()
        finish(self, run_script(self, "standalone", self.server.port))
        self.assertEqual(self.server.client.ok("GET", "/collections")["collections"], [])

    def test_api_key_is_asked_for_and_used(self):
        self.server = h.Server(data_dir=os.path.join(self.tmp, "data"), log_dir=self.tmp, api_key=ADMIN_KEY,
                               env={"VJVECTOR_SECURITY_API_KEY": ADMIN_KEY,
                                    "VJVECTOR_SECURITY_READ_ONLY_API_KEY": RO_KEY})
        self.server.start()
        self.server.client.create_collection("secured")
        finish(self, run_script(self, "auth", self.server.port, env={"VJ_API_KEY": ADMIN_KEY, "VJ_READ_ONLY_KEY": RO_KEY}))
        # The read-only key's delete was refused: the collection is still there.
        self.assertEqual([c["name"] for c in self.server.client.ok("GET", "/collections")["collections"]], ["secured"])


class DashboardCluster(ch.ClusterTestCase):
    def setUp(self):
        require_browser(self)
        super().setUp()

    def test_cluster_page_shows_replicas_and_a_killed_node(self):
        c = self.client("n1")
        c.create_collection("spread", body={"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 3,
                                            "replication_factor": 2})
        c.create_collection("everywhere", body={"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 1,
                                                "replication_factor": 3})
        # The victim holds replicas of both collections (every node holds "everywhere"'s shard).
        victim = next(r["peer_id"] for s in self.shard_map("spread") for r in s["replicas"] if r["peer_id"] != "n1")
        proc = run_script(self, "cluster", self.nodes["n1"].port, env={"VJ_VICTIM": victim}, stdin=subprocess.PIPE)
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.strip() == "ready-to-kill":
                break
        else:
            proc.wait()
            self.fail("the script ended before the kill:\n" + "".join(lines)[-6000:])
        self.nodes[victim].kill9()
        out, _ = proc.communicate(input="killed\n", timeout=SCRIPT_TIMEOUT_S)
        out = "".join(lines) + out
        print(out[-3000:], flush=True)
        self.assertEqual(proc.returncode, 0, out[-6000:])
        self.assertTrue(out.rstrip().endswith("ok"), out[-3000:])
        # The page's "Replace dead replicas" moved the victim's replicas of "spread" to live nodes.
        holders = {r["peer_id"] for s in self.shard_map("spread") for r in s["replicas"]}
        self.assertNotIn(victim, holders)


if __name__ == "__main__":
    h.main()

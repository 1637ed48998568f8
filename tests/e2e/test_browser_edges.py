"""End-to-end: a web page cannot use a browser to change a node's data (cross-site posts, DNS
rebinding), CORS works for configured origins only, and the edges: a 255-character collection can be
deleted for good, error bodies carry no server file paths, data files are readable by the server only."""

import os
import stat

import cluster_harness as ch
import vjharness as vh

COLL = "c"
POINTS = [{"id": i, "vector": [float(i), 1.0, 0.5, -1.0], "payload": {"n": i}} for i in range(1, 6)]
EVIL = "https://evil.example"
APP = "https://app.example.com"


def header(r, name):
    for k, v in r.headers.items():
        if k.lower() == name.lower():
            return v
    return None


class BrowserPolicyTest(vh.ServerTestCase):

    def setUp(self):
        super().setUp()
        self.client.create_collection(COLL, size=4, distance="Dot")
        self.client.upsert(COLL, POINTS)

    def assertUntouched(self, ctx):
        self.assertTrue(self.server.alive(), f"server died after {ctx}")
        names = sorted(c["name"] for c in self.client.ok("GET", "/collections")["collections"])
        self.assertEqual(names, [COLL], f"collections changed after {ctx}")
        self.assertEqual(self.client.count(COLL), len(POINTS), f"points changed after {ctx}")

    def test_cross_site_text_plain_requests_are_refused(self):
        # What <form enctype="text/plain"> or fetch(..., {mode: "no-cors"}) on evil.example sends.
        attacks = [
            ("POST", f"/collections/{COLL}/points/delete?wait=true", b'{"points": [1, 2, 3]}'),
            ("PUT", f"/collections/{COLL}/points?wait=true",
             b'{"points": [{"id": 99, "vector": [1, 1, 1, 1]}]}'),
            ("POST", f"/collections/{COLL}/points/payload/clear?wait=true", b'{"points": [1]}'),
            ("PUT", "/collections/planted", b'{"vectors": {"size": 4, "distance": "Dot"}}'),
        ]
        for method, path, raw in attacks:
            r = self.client.err(method, path, raw=raw, status=403, mentions=["origin"],
                                headers={"Content-Type": "text/plain", "Origin": EVIL})
            self.assertIn(EVIL, r.error, r.describe())
            self.assertUntouched(f"{method} {path} from {EVIL}")
        # Without a body too: a page can send DELETE through fetch once CORS would let it.
        self.client.err("DELETE", f"/collections/{COLL}", status=403, mentions=["origin"],
                        headers={"Origin": EVIL})
        self.client.err("GET", f"/collections/{COLL}", status=403, headers={"Origin": "null"})
        self.assertUntouched("DELETE from a foreign origin")
        # The node's own origin is not cross-site.
        own = f"http://127.0.0.1:{self.server.port}"
        self.assertEqual(self.client.ok("POST", f"/collections/{COLL}/points/count", {"exact": True},
                                        headers={"Origin": own})["count"], len(POINTS))

    def test_bodies_that_are_not_json_are_415(self):
        for ctype, raw in [("application/x-www-form-urlencoded", b'{"points": [1]}'),
                           ("multipart/form-data; boundary=x", b'--x\r\n\r\n{"points": [1]}\r\n--x--\r\n'),
                           ("text/plain", b'{"points": [1]}')]:
            r = self.client.err("POST", f"/collections/{COLL}/points/delete?wait=true", raw=raw, status=415,
                                mentions=["application/json"], headers={"Content-Type": ctype})
            self.assertIn(ctype.split(";")[0], r.error, r.describe())
            self.assertUntouched(f"a {ctype} body")
        # Parameters of the JSON media type are fine.
        self.client.ok("POST", f"/collections/{COLL}/points/count", raw=b'{"exact": true}',
                       headers={"Content-Type": "application/json; charset=utf-8"})

    def test_dns_rebinding_host_is_refused(self):
        port = self.server.port
        for host in [f"evil.example:{port}", "evil.example", f"127.0.0.1.nip.io:{port}"]:
            r = self.client.err("GET", "/collections", status=403, mentions=["host"], headers={"Host": host})
            self.assertIn("allowed_hosts", r.error, r.describe())
            self.client.err("PUT", f"/collections/{COLL}/points?wait=true", {"points": [{"id": 77, "vector": [1, 1, 1, 1]}]},
                            status=403, headers={"Host": host})
            self.assertUntouched(f"Host {host}")
        for host in [f"localhost:{port}", f"127.0.0.1:{port}", "LOCALHOST"]:
            self.client.ok("GET", "/collections", headers={"Host": host})

    def test_cors_is_off_by_default(self):
        r = self.client.call("OPTIONS", f"/collections/{COLL}/points/query",
                             headers={"Origin": APP, "Access-Control-Request-Method": "POST",
                                      "Access-Control-Request-Headers": "content-type"})
        self.assertEqual(r.status, 403, r.describe())
        r = self.client.call("POST", f"/collections/{COLL}/points/count", {"exact": True}, headers={"Origin": APP})
        self.assertEqual(r.status, 403, r.describe())
        for resp in (r, self.client.call("GET", "/collections")):
            for name in ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Vary"):
                self.assertIsNone(header(resp, name), f"{name} without cors_origins: {resp.headers}")


class CorsConfiguredTest(vh.ServerTestCase):
    server_env = {"VJVECTOR_HTTP_CORS_ORIGINS": f"{APP}, http://localhost:3000"}
    server_args = ("--allowed-hosts", "db.example.com")

    def test_preflight_and_headers_for_configured_origins_only(self):
        self.client.create_collection(COLL, size=4, distance="Dot")
        self.client.upsert(COLL, POINTS)
        r = self.client.call("OPTIONS", f"/collections/{COLL}/points/query",
                             headers={"Origin": APP, "Access-Control-Request-Method": "POST",
                                      "Access-Control-Request-Headers": "content-type, api-key"})
        self.assertIn(r.status, (200, 204), r.describe())
        self.assertEqual(header(r, "Access-Control-Allow-Origin"), APP, r.headers)
        self.assertIn("POST", header(r, "Access-Control-Allow-Methods") or "", r.headers)
        allowed = [h.strip().lower() for h in (header(r, "Access-Control-Allow-Headers") or "").split(",")]
        for h in ("content-type", "api-key", "authorization"):
            self.assertIn(h, allowed, r.headers)
        self.assertIn("Origin", header(r, "Vary") or "", r.headers)

        r = self.client.call("POST", f"/collections/{COLL}/points/query", {"query": [1, 1, 1, 1], "limit": 2},
                             headers={"Origin": "http://localhost:3000"})
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(header(r, "Access-Control-Allow-Origin"), "http://localhost:3000", r.headers)
        self.assertIn("Origin", header(r, "Vary") or "", r.headers)

        r = self.client.call("POST", f"/collections/{COLL}/points/delete?wait=true", {"points": [1]},
                             headers={"Origin": EVIL})
        self.assertEqual(r.status, 403, r.describe())
        self.assertIsNone(header(r, "Access-Control-Allow-Origin"), r.headers)
        self.assertEqual(self.client.count(COLL), len(POINTS))
        # Without an Origin (SDKs, curl) nothing changes but Vary.
        r = self.client.call("GET", "/collections")
        self.assertEqual(r.status, 200, r.describe())
        self.assertIsNone(header(r, "Access-Control-Allow-Origin"), r.headers)
        # allowed_hosts adds names to the loopback ones.
        self.client.ok("GET", "/collections", headers={"Host": f"db.example.com:{self.server.port}"})
        self.client.err("GET", "/collections", status=403, headers={"Host": "other.example.com"})


class EdgesTest(vh.ServerTestCase):

    def test_longest_name_is_created_deleted_and_stays_deleted(self):
        name = "n" * 255
        self.client.create_collection(name, size=4)
        self.client.upsert(name, POINTS)
        self.assertTrue(self.client.ok("DELETE", f"/collections/{name}"))
        self.client.err("GET", f"/collections/{name}", status=404)
        self.server.stop()
        self.server.start()
        self.client = self.server.client
        names = [c["name"] for c in self.client.ok("GET", "/collections")["collections"]]
        self.assertNotIn(name, names, "a deleted collection came back after a restart")
        self.client.err("GET", f"/collections/{name}", status=404)
        leftovers = os.listdir(os.path.join(self.data_dir, "collections"))
        self.assertEqual(leftovers, [], f"files left after the delete: {leftovers}")
        # The name can be used again; one character more is refused at create, naming the limit.
        self.client.create_collection(name, size=4)
        self.assertEqual(self.client.count(name), 0)
        self.client.err("PUT", f"/collections/{name}x", {"vectors": {"size": 4, "distance": "Dot"}}, status=400,
                        mentions=["255"])

    def test_error_bodies_carry_no_server_paths(self):
        self.client.create_collection(COLL, size=4)
        # The collections directory is replaced by a file: creating a collection fails in storage.
        root = os.path.join(self.data_dir, "collections")
        os.rename(root, root + ".moved")
        try:
            with open(root, "w") as f:
                f.write("not a directory")
            r = self.client.call("PUT", "/collections/other", {"vectors": {"size": 4, "distance": "Dot"}})
        finally:
            os.remove(root)
            os.rename(root + ".moved", root)
        self.assertGreaterEqual(r.status, 500, r.describe())
        self.assertIsNotNone(r.error, r.describe())
        text = r.raw.decode("utf-8", "replace")
        for leak in (self.tmp, os.path.realpath(self.tmp), "/tmp/"):
            self.assertNotIn(leak, text, f"error body names a server path: {r.describe()}")
        self.assertIn(os.path.join(root, "other"), self.server.stderr_text(),
                      "the full error is not in the server's log")
        self.client.ok("GET", f"/collections/{COLL}")

    def test_data_files_are_private_to_the_server(self):
        self.client.create_collection(COLL, size=4)
        self.client.upsert(COLL, POINTS)
        self.client.ok("PUT", f"/collections/{COLL}/index", {"field_name": "n", "field_schema": "integer"})
        self.client.create_collection("gone", size=4)
        self.client.ok("DELETE", "/collections/gone")

        def check(when):
            seen = 0
            bad = []
            for dirpath, dirnames, filenames in os.walk(self.data_dir):
                for d in dirnames:
                    mode = stat.S_IMODE(os.lstat(os.path.join(dirpath, d)).st_mode)
                    seen += 1
                    if mode != 0o700:
                        bad.append(f"dir {os.path.join(dirpath, d)} {oct(mode)}")
                for f in filenames:
                    mode = stat.S_IMODE(os.lstat(os.path.join(dirpath, f)).st_mode)
                    seen += 1
                    if mode != 0o600:
                        bad.append(f"file {os.path.join(dirpath, f)} {oct(mode)}")
            self.assertGreater(seen, 5, f"{when}: expected the collection's files under {self.data_dir}")
            self.assertNoItems(bad, f"{when}: not 0600/0700:\n" + "\n".join(bad[:30]))

        check("while serving")
        self.server.stop()  # the shutdown flush writes the index snapshots
        check("after shutdown")
        self.server.start()
        self.client = self.server.client
        self.client.upsert(COLL, [{"id": 100, "vector": [1, 2, 3, 4]}])
        check("after a restart and a write")


class ClusterNamesTest(ch.ClusterTestCase):
    node_names = ("n1",)

    def test_cluster_names_fit_the_replica_directories(self):
        # A replica's directory is <name>@<incarnation>: 235 characters is the longest name that fits.
        c = self.client("n1")
        name = "r" * 235
        c.create_collection(name, size=4)
        c.upsert(name, POINTS)
        self.assertEqual(c.count(name), len(POINTS))
        self.assertTrue(c.ok("DELETE", f"/collections/{name}"))
        # Longer names were created, then every write was 503 (no replica could open its directory).
        for longer in (236, 255):
            c.err("PUT", f"/collections/{'r' * longer}", {"vectors": {"size": 4, "distance": "Dot"}}, status=400,
                  mentions=["235"])
        self.assertEqual(c.ok("GET", "/collections")["collections"], [])


if __name__ == "__main__":
    vh.main()

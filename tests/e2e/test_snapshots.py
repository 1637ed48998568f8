"""Collection and full snapshots (docs/backup.md), on real processes.

- A snapshot taken while a writer keeps upserting is recovered (multipart upload) into a NEW node: every
  point acknowledged before the snapshot call is there with its vector and payload, and every point there
  is one the writer wrote, unchanged. The list's checksum is the sha256 of the downloaded bytes.
- Recovery by http:// URL (a local http.server), by file://, wait=false (202, listed once complete),
  delete, full snapshots.
- Corrupt, truncated, wrong-checksum, garbage, unknown-version and path-escaping archives are refused with
  400 and the collection they targeted is unchanged; snapshot names that leave the directory are refused.
- A node killed (SIGKILL at the crash point between a snapshot's checksum and its rename) restarts with no
  snapshot visible and no leftovers.
"""

import hashlib
import http.server
import io
import json
import os
import random
import tarfile
import threading
import time
import uuid

import vjharness as vh

DIM = 6


def vec(rnd):
    return vh.f32vec([rnd.uniform(-1, 1) for _ in range(DIM)])


def multipart(field, filename, data):
    boundary = "----vjsnap" + uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


class Writer(threading.Thread):
    """Upserts new points (wait=true) until stopped; `acked` holds every acknowledged point."""

    def __init__(self, client, coll, rnd, first_id):
        super().__init__(daemon=True)
        self.client, self.coll, self.rnd, self.next_id = client, coll, rnd, first_id
        self.acked = {}
        self.written = {}
        self.stop_flag = False
        self.errors = []

    def run(self):
        while not self.stop_flag:
            batch = []
            for _ in range(20):
                pid = self.next_id
                self.next_id += 1
                batch.append({"id": pid, "vector": vec(self.rnd), "payload": {"i": pid, "w": True}})
            for p in batch:
                self.written[p["id"]] = p
            r = self.client.call("PUT", f"/collections/{self.coll}/points?wait=true", {"points": batch})
            if r.status != 200:
                self.errors.append(r.describe())
                return
            for p in batch:
                self.acked[p["id"]] = p


class Snapshots(vh.ServerTestCase):
    def load(self, client, coll, n, shards=2, seed=1):
        client.create_collection(coll, body={"vectors": {"size": DIM, "distance": "Dot"}, "shard_number": shards})
        rnd = random.Random(seed)
        points = {}
        for start in range(0, n, 500):
            batch = [{"id": i, "vector": vec(rnd), "payload": {"i": i, "tag": rnd.choice("abc"), "n": {"x": [i]}}}
                     for i in range(start, min(n, start + 500))]
            client.upsert(coll, batch)
            points.update({p["id"]: p for p in batch})
        return points

    def contents(self, client, coll):
        return {p["id"]: p for p in client.scroll_all(coll, with_payload=True, with_vector=True, limit=1000)}

    def assert_same(self, got, want, what):
        self.assertEqual(set(got), set(want), f"{what}: ids differ")
        for pid, p in want.items():
            self.assertTrue(vh.vectors_equal_f32(got[pid]["vector"], p["vector"]), f"{what}: vector of {pid}")
            self.assertEqual(got[pid]["payload"], p["payload"], f"{what}: payload of {pid}")

    def download(self, client, path):
        r = client.call("GET", path)
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(r.headers.get("Content-Type"), "application/octet-stream")
        return r.raw

    def create(self, client, coll):
        info = client.ok("POST", f"/collections/{coll}/snapshots?wait=true")
        self.assertTrue(info["name"].endswith(".snapshot"), info)
        return info

    def test_snapshot_during_writes_recovers_on_a_new_node(self):
        c = self.client
        base = self.load(c, "src", 3000)
        writer = Writer(vh.Client("127.0.0.1", self.server.port), "src", random.Random(7), 100000)
        writer.start()
        while len(writer.acked) < 200 and writer.is_alive():
            time.sleep(0.01)
        acked_before = dict(writer.acked)
        info = self.create(c, "src")
        while len(writer.acked) < len(acked_before) + 200 and writer.is_alive():
            time.sleep(0.01)  # writes went on after the snapshot
        writer.stop_flag = True
        writer.join()
        self.assertEqual(writer.errors, [])

        listed = c.ok("GET", "/collections/src/snapshots")
        self.assertIn(info["name"], [s["name"] for s in listed])
        data = self.download(c, f"/collections/src/snapshots/{info['name']}")
        entry = [s for s in listed if s["name"] == info["name"]][0]
        self.assertEqual(entry["checksum"], hashlib.sha256(data).hexdigest())
        self.assertEqual(entry["size"], len(data))
        self.assertRegex(entry["creation_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")

        other = self.start_server(data_dir=os.path.join(self.tmp, "data2"))
        body, headers = multipart("snapshot", info["name"], data)
        r = other.client.call("POST", f"/collections/dst/snapshots/upload?priority=snapshot&checksum={entry['checksum']}",
                              raw=body, headers=headers)
        self.assertEqual(r.status, 200, r.describe())
        self.assertIs(r.json["result"], True)
        got = self.contents(other.client, "dst")
        want = dict(base)
        want.update(acked_before)
        for pid, p in want.items():
            self.assertIn(pid, got, f"point {pid} was acknowledged before the snapshot and is missing")
        extra = {pid: writer.written[pid] for pid in got if pid not in want}
        self.assertNoItems([pid for pid in extra if pid not in writer.written], "points nobody wrote")
        want.update(extra)
        self.assert_same(got, want, "recovered")
        info_dst = other.client.ok("GET", "/collections/dst")
        self.assertEqual(info_dst["config"]["params"]["shard_number"], 2)
        # The snapshot carries each shard's index snapshot: the recovered shards load it and replay the
        # writes made between it and the store's copy, rather than rebuilding.
        logs = other.stderr_text() + other.stdout_text()
        self.assertEqual(logs.count("from the index snapshot at sequence"), 2, logs[-3000:])
        self.assertNotIn("rebuilt the indexes", logs)
        q = other.client.ok("POST", "/collections/dst/points/query", {"query": base[5]["vector"], "limit": 3})
        self.assertEqual(len(q["points"]), 3)

    def test_url_file_wait_false_delete_and_full_snapshots(self):
        c = self.client
        base = self.load(c, "a", 500, shards=1)
        info = self.create(c, "a")
        data = self.download(c, f"/collections/a/snapshots/{info['name']}")

        serve_dir = os.path.join(self.tmp, "www")
        os.makedirs(serve_dir)
        with open(os.path.join(serve_dir, "a.snapshot"), "wb") as f:
            f.write(data)
        handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=serve_dir)  # noqa: E731
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{httpd.server_address[1]}/a.snapshot"
            self.assertIs(c.ok("PUT", "/collections/viaurl/snapshots/recover",
                               {"location": url, "priority": "snapshot", "checksum": info["checksum"]}), True)
            self.assert_same(self.contents(c, "viaurl"), base, "recovered by URL")
            c.err("PUT", "/collections/viaurl2/snapshots/recover",
                  {"location": url.replace("a.snapshot", "missing.snapshot")}, status=400, mentions="404")
        finally:
            httpd.shutdown()
        self.assertIs(c.ok("PUT", "/collections/viafile/snapshots/recover",
                           {"location": f"file://{self.data_dir}/snapshots/a/{info['name']}"}), True)
        self.assert_same(self.contents(c, "viafile"), base, "recovered by file://")
        # Recovering over an existing collection replaces it.
        c.upsert("viafile", [{"id": 99999, "vector": [1] * DIM, "payload": {}}])
        c.ok("PUT", "/collections/viafile/snapshots/recover", {"location": f"file://{self.data_dir}/snapshots/a/{info['name']}"})
        self.assert_same(self.contents(c, "viafile"), base, "replaced by recovery")

        # wait=false: accepted at once, listed once complete.
        before = {s["name"] for s in c.ok("GET", "/collections/a/snapshots")}
        r = c.call("POST", "/collections/a/snapshots?wait=false")
        self.assertEqual(r.status, 202, r.describe())
        self.assertEqual(r.json["status"], "accepted")
        deadline = time.monotonic() + 60
        while True:
            listed = c.ok("GET", "/collections/a/snapshots")
            new = [s for s in listed if s["name"] not in before]
            if new:
                break
            self.assertLess(time.monotonic(), deadline, "the background snapshot never appeared")
            time.sleep(0.05)
        self.assertEqual(new[0]["checksum"],
                         hashlib.sha256(self.download(c, f"/collections/a/snapshots/{new[0]['name']}")).hexdigest())

        # Delete.
        self.assertIs(c.ok("DELETE", f"/collections/a/snapshots/{info['name']}"), True)
        self.assertNotIn(info["name"], [s["name"] for s in c.ok("GET", "/collections/a/snapshots")])
        c.err("GET", f"/collections/a/snapshots/{info['name']}", status=404)
        c.err("DELETE", f"/collections/a/snapshots/{info['name']}", status=404)
        c.err("POST", "/collections/nope/snapshots", status=404)

        # Full snapshots: every collection, nested.
        full = c.ok("POST", "/snapshots?wait=true")
        self.assertIn(full["name"], [s["name"] for s in c.ok("GET", "/snapshots")])
        blob = self.download(c, f"/snapshots/{full['name']}")
        self.assertEqual(hashlib.sha256(blob).hexdigest(), full["checksum"])
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
            self.assertEqual(manifest["kind"], "full")
            self.assertEqual(sorted(x["name"] for x in manifest["collections"]), ["a", "viafile", "viaurl"])
        self.assertIs(c.ok("DELETE", f"/snapshots/{full['name']}"), True)
        self.assertEqual(c.ok("GET", "/snapshots"), [])

    def test_bad_archives_and_names_are_refused_and_change_nothing(self):
        c = self.client
        base = self.load(c, "c", 400, shards=2)
        info = self.create(c, "c")
        data = self.download(c, f"/collections/c/snapshots/{info['name']}")

        def upload(blob, query=""):
            body, headers = multipart("snapshot", "x.snapshot", blob)
            return c.call("POST", f"/collections/c/snapshots/upload{query}", raw=body, headers=headers)

        def rebuilt(transform):
            """The snapshot with its members passed through transform(name, bytes) -> [(name, bytes)]."""
            out = io.BytesIO()
            with tarfile.open(fileobj=io.BytesIO(data)) as src, tarfile.open(fileobj=out, mode="w") as dst:
                for m in src.getmembers():
                    for name, blob in transform(m.name, src.extractfile(m).read()):
                        ti = tarfile.TarInfo(name)
                        ti.size = len(blob)
                        dst.addfile(ti, io.BytesIO(blob))
            return out.getvalue()

        def manifest_with(**changes):
            def t(name, blob):
                if name == "manifest.json":
                    m = json.loads(blob)
                    m.update(changes)
                    blob = json.dumps(m).encode()
                return [(name, blob)]
            return rebuilt(t)

        cases = {
            "truncated": (data[: len(data) // 2], ["truncated", "corrupt"]),
            "garbage": (os.urandom(20000), ["archive"]),
            "empty": (b"", ["archive", "multipart", "manifest"]),
            "unknown version": (manifest_with(format_version=99), ["format_version"]),
            "bad config": (manifest_with(config={"vectors": {"size": -1, "distance": "Dot"}}), ["config"]),
            "shard count": (manifest_with(shards=[{"shard": 0, "sequence": 1}]), ["shard"]),
            "wrong sequence": (manifest_with(shards=[{"shard": 0, "sequence": 1}, {"shard": 1, "sequence": 1}]),
                               ["sequence"]),
            "escaping name": (rebuilt(lambda n, b: [("../evil" if n == "manifest.json" else n, b)]), ["not allowed"]),
            "unexpected file": (rebuilt(lambda n, b: [(n, b), ("shards/0/other", b"x")]), ["unexpected"]),
            "no manifest": (rebuilt(lambda n, b: [] if n == "manifest.json" else [(n, b)]), ["manifest"]),
        }
        # Corrupt content inside the stores: bytes flipped in the middle of each SST file's data blocks.
        flipped = []

        def flip(name, blob):
            if name.endswith(".sst") and len(blob) > 4096:
                at = len(blob) // 3
                blob = blob[:at] + bytes(x ^ 0xFF for x in blob[at:at + 64]) + blob[at + 64:]
                flipped.append(name)
            return [(name, blob)]
        cases["corrupt store"] = (rebuilt(flip), ["corrupt", "checksum", "does not open", "store"])
        self.assertTrue(flipped, "no SST file to corrupt")
        for what, (blob, mentions) in cases.items():
            r = upload(blob)
            self.assertEqual(r.status, 400, f"{what}: {r.describe()}")
            self.assertTrue(any(m in (r.error or "").lower() for m in mentions), f"{what}: {r.describe()}")
        r = upload(data, "?checksum=" + "0" * 64)
        self.assertEqual(r.status, 400, r.describe())
        self.assertIn("checksum", r.error)
        c.err("PUT", "/collections/c/snapshots/recover", {"location": "file:///etc/passwd"}, status=400,
              mentions="snapshots directory")
        c.err("PUT", "/collections/c/snapshots/recover",
              {"location": f"file://{self.data_dir}/snapshots/../collections/c/config.json"}, status=400)
        c.err("PUT", "/collections/c/snapshots/recover", {"location": "ftp://x/y"}, status=400, mentions="location")
        c.err("PUT", "/collections/c/snapshots/recover", {"location": "file:///x", "priority": "all"}, status=400,
              mentions="priority")
        c.err("PUT", "/collections/c/snapshots/recover", {"location": "file:///x", "extra": 1}, status=400)
        self.assert_same(self.contents(c, "c"), base, "after refused recoveries")
        self.assertEqual(c.ok("GET", "/collections"), {"collections": [{"name": "c"}]})

        for name in ["..", ".hidden.snapshot", "x%5Cy.snapshot", "a.tar", "..%2F..%2Fcollections%2Fc%2Fconfig.json"]:
            for method in ["GET", "DELETE"]:
                r = c.call(method, f"/collections/c/snapshots/{name}")
                self.assertIn(r.status, (400, 404), f"{method} {name}: {r.describe()}")
                self.assertNotEqual(r.headers.get("Content-Type"), "application/octet-stream")
        c.err("GET", "/collections/c/snapshots/.hidden.snapshot", status=400, mentions="snapshot name")
        self.assertTrue(os.path.exists(os.path.join(self.data_dir, "collections", "c", "config.json")))
        self.assertIn(info["name"], [s["name"] for s in c.ok("GET", "/collections/c/snapshots")])

    def test_kill9_mid_snapshot_leaves_no_snapshot_visible(self):
        c = self.client
        base = self.load(c, "k", 300, shards=1)
        self.server.stop()
        self.server.env = {"VJVECTOR_TEST_CRASH_POINTS": "collection_snapshot:1"}
        self.server.start()
        try:
            r = self.server.client.call("POST", "/collections/k/snapshots?wait=true")
            self.fail(f"the node answered instead of dying: {r.describe()}")
        except (ConnectionError, OSError, http.client.HTTPException):
            pass
        deadline = time.monotonic() + 10
        while self.server.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertFalse(self.server.alive())
        self.assertIn("crash point collection_snapshot", self.server.stderr_text())
        snap_dir = os.path.join(self.data_dir, "snapshots", "k")
        self.assertTrue(any(n.startswith(".tmp-") for n in os.listdir(snap_dir)), os.listdir(snap_dir))
        self.server.env = {}
        self.server.start()
        c = self.server.client
        self.assertEqual(c.ok("GET", "/collections/k/snapshots"), [])
        self.assertEqual(os.listdir(snap_dir), [])
        self.assertEqual(os.listdir(os.path.join(self.data_dir, "snapshots")), ["k"])
        self.assert_same(self.contents(c, "k"), base, "after the crash")
        self.create(c, "k")  # and snapshots work again


import http.client  # noqa: E402  (used in the kill test's except clause)

if __name__ == "__main__":
    vh.main()

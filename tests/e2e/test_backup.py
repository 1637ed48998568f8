#!/usr/bin/env python3
"""Node backups (docs/backup.md) on real processes: the vjvector binary, a real S3-compatible server
(s3rver, tests/s3) behind a proxy that checks every SigV4 signature (sigv4_proxy.py), and the official
AWS SDK (@aws-sdk/client-s3) reading the bucket back.

- S3: `vjvector backup create` (CLI -> POST /vjvector/backups) stores every collection; the SDK finds
  the manifest and every blob it names; after 1% of the points change a second backup (REST) uploads a
  fraction of the bytes; `backup list` and `backup verify` agree; the node is stopped and `vjvector
  restore` into a fresh data directory gives a node that serves every point (id, vector, payload) and
  alias as the original did. A wrong secret is refused by the signature check, and the secret is never
  in the node's logs.
- A corrupt blob (rewritten through the SDK) is caught by `backup verify`, naming the blob.
- kill -9 mid-backup (SIGKILL at the crash point after the blobs, before the manifest): no backup is
  listed, and the next backup succeeds and reuses the blobs already stored.
- A directory target: backup, prune (keep 1, unreferenced blobs deleted), restore, compare; bad
  requests are 400 naming the field.

Needs node and tests/s3/node_modules (scripts/install-deps.sh).
"""

import json
import os
import shutil
import subprocess
import time
import unittest

import sigv4_proxy
import vjharness as vh

NODE = shutil.which("node")
S3_DIR = os.path.join(vh.REPO_ROOT, "tests", "s3")
BUCKET = "vjbackups"
KEY = "S3RVER"  # s3rver's built-in access key id
# s3rver does not check SigV4 signatures, the proxy does, with this secret: the node must sign with it.
SECRET = "vjtest-" + os.urandom(12).hex()


def points(first, n, salt=0.0):
    return [{"id": i, "vector": [((i * 7919) % 1000) / 1000.0 + salt, 0.5, (i % 13) / 13.0, 1.0],
             "payload": {"i": i, "city": ["Paris", "Oslo", "Lima"][i % 3], "salt": salt}}
            for i in range(first, first + n)]


@unittest.skipIf(NODE is None, "node is not installed")
class BackupTest(vh.ServerTestCase):
    def setUp(self):
        if not os.path.isdir(os.path.join(S3_DIR, "node_modules", "s3rver")):
            raise AssertionError("tests/s3/node_modules is missing: run scripts/install-deps.sh")
        self.s3_proc = None
        self.proxy = None
        super().setUp()
        self.s3_store = os.path.join(self.tmp, "s3rver")
        os.makedirs(self.s3_store)
        self.s3_proc = subprocess.Popen([NODE, "s3_server.mjs", self.s3_store, BUCKET], cwd=S3_DIR,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.s3_proc.stdout.readline()
        self.s3_port = json.loads(line)["port"]
        self.proxy = sigv4_proxy.SigV4Proxy(self.s3_port, SECRET)
        self.endpoint = f"http://127.0.0.1:{self.proxy.port}"
        self.s3_env = {"VJVECTOR_BACKUP_S3_ENDPOINT": self.endpoint,
                       "VJVECTOR_BACKUP_S3_ACCESS_KEY_ID": KEY, "VJVECTOR_BACKUP_S3_SECRET_ACCESS_KEY": SECRET}
        # The node backs up to S3 with these settings.
        self.server.stop()
        self.server.env = dict(self.s3_env)
        self.server.start()
        self.client = self.server.client

    def tearDown(self):
        if self.proxy:
            self.proxy.close()
        if self.s3_proc:
            self.s3_proc.kill()
            self.s3_proc.wait()
        super().tearDown()

    # helpers -----------------------------------------------------------------------------------
    def cli(self, *args, env=None, check=True):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("VJVECTOR_", "AWS_"))}
        full_env.update(self.s3_env if env is None else env)
        done = subprocess.run([vh.BINARY] + list(args), env=full_env, capture_output=True, text=True, timeout=300)
        if check and done.returncode != 0:
            raise AssertionError(f"vjvector {' '.join(args)} exited {done.returncode}: {done.stderr}")
        return done

    def cli_json(self, *args, **kw):
        return json.loads(self.cli(*args, **kw).stdout)

    def sdk(self, op, arg):
        done = subprocess.run([NODE, "s3_objects.mjs", f"http://127.0.0.1:{self.s3_port}", BUCKET, op, arg],
                              cwd=S3_DIR, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise AssertionError(f"s3_objects.mjs {op} {arg}: {done.stderr}")
        return json.loads(done.stdout)

    def load(self, c):
        c.create_collection("docs", body={"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 2})
        c.create_collection("small", body={"vectors": {"size": 4, "distance": "Euclid"}})
        for first in range(0, 2000, 500):
            c.upsert("docs", points(first, 500))
        c.upsert("small", points(0, 30))
        c.ok("POST", "/collections/aliases", {"actions": [{"create_alias": {"collection_name": "docs",
                                                                             "alias_name": "live"}}]})

    def contents(self, c, name):
        return {p["id"]: (p["vector"], p["payload"])
                for p in c.scroll_all(name, limit=500, with_payload=True, with_vector=True)}

    def restore_and_compare(self, uri, backup_id, expected):
        data = os.path.join(self.tmp, f"restored-{backup_id}")
        out = self.cli_json("restore", "--from", uri, "--backup", backup_id, "--data-dir", data)
        self.assertEqual(out["collections"], len(expected))
        node = self.start_server(data_dir=data)
        c = node.client
        for name, want in expected.items():
            got = self.contents(c, name)
            self.assertEqual(len(got), len(want), name)
            self.assertEqual(got, want, f"{name}: restored points differ")
        self.assertEqual(c.ok("GET", "/aliases")["aliases"], [{"alias_name": "live", "collection_name": "docs"}])
        # The restored node serves searches too (its indexes are loaded or rebuilt).
        hits = c.ok("POST", "/collections/docs/points/search", {"vector": [1, 0.5, 0.5, 1], "limit": 3})
        self.assertEqual(len(hits), 3)
        node.stop()

    # tests -------------------------------------------------------------------------------------
    def test_s3_backup_incremental_verify_restore(self):
        c = self.client
        self.load(c)
        uri = f"s3://{BUCKET}/prod/node-1"
        first = self.cli_json("backup", "create", "--to", uri, "--url", f"http://127.0.0.1:{self.server.port}")
        self.assertEqual(first["collections"], 2)
        self.assertEqual(first["points"], 2030)
        self.assertGreater(first["bytes_uploaded"], first["bytes"] // 2)  # all but chunks repeated within it
        self.assertGreater(self.proxy.checked, first["chunks_uploaded"])
        self.assertEqual(self.proxy.rejected, [])

        # Read back with the AWS SDK: the manifest, and every blob it names.
        objects = {o["key"]: o["size"] for o in self.sdk("list", "prod/node-1/")["objects"]}
        manifest_key = f"prod/node-1/backups/{first['id']}.json"
        self.assertIn(manifest_key, objects)
        manifest = json.loads(self.sdk("get", manifest_key)["body"])
        self.assertEqual(sorted(c_["name"] for c_ in manifest["collections"]), ["docs", "small"])
        docs = next(col for col in manifest["collections"] if col["name"] == "docs")
        self.assertEqual(sum(s["points"] for s in docs["shards"]), 2000)
        self.assertEqual(len(docs["shards"]), 2)
        named = {h for col in manifest["collections"] for f in col["files"] for h in f["chunks"]}
        named |= {h for f in manifest["node_files"] for h in f["chunks"]}
        stored = {k.rsplit("/", 1)[1] for k in objects if k.startswith("prod/node-1/blobs/sha256/")}
        self.assertEqual(named, stored)
        self.assertEqual(len(stored), first["chunks_uploaded"])

        # 1% of the points change (20 of 2000) and 10 are added: the second backup (over REST) stores
        # only a part of the bytes.
        c.upsert("docs", points(0, 20, salt=0.25))
        c.upsert("docs", points(5000, 10))
        original = {"docs": self.contents(c, "docs"), "small": self.contents(c, "small")}
        second = c.ok("POST", "/vjvector/backups", {"to": uri})
        self.assertEqual(second["points"], 2040)
        self.assertLess(second["bytes_uploaded"], second["bytes"])
        print(f"\nsecond backup after 1% changed: {second['bytes_uploaded']} of {second['bytes']} bytes uploaded "
              f"({second['chunks_uploaded']} of {second['chunks']} chunks)")

        listed = self.cli_json("backup", "list", "--from", uri)
        self.assertEqual([b["id"] for b in listed["backups"]], [first["id"], second["id"]])
        verified = self.cli_json("backup", "verify", "--from", uri, "--backup", second["id"])
        self.assertEqual((verified["ok"], verified["points"], verified["shards_opened"]), (True, 2040, 3))
        self.assertEqual(self.proxy.rejected, [])

        # The secret never reaches the logs; a wrong secret is refused by the signature check.
        self.server.stop()
        with open(self.server.stderr_path, errors="replace") as f:
            log = f.read()
        self.assertIn(second["id"], log)
        self.assertNotIn(SECRET, log)
        bad = self.cli("backup", "list", "--from", uri, check=False,
                       env={**self.s3_env, "VJVECTOR_BACKUP_S3_SECRET_ACCESS_KEY": "not-the-secret"})
        self.assertEqual(bad.returncode, 1, bad.stderr)
        self.assertIn("SignatureDoesNotMatch", bad.stderr)
        self.assertNotIn("not-the-secret", bad.stderr)
        self.proxy.rejected.clear()

        # Restore into a fresh data directory: the new node serves the same points.
        self.restore_and_compare(uri, second["id"], original)
        self.assertEqual(self.proxy.rejected, [])

    def test_corrupt_blob_is_caught_by_verify(self):
        c = self.client
        self.load(c)
        uri = f"s3://{BUCKET}/corrupt"
        made = c.ok("POST", "/vjvector/backups", {"to": uri})
        manifest = json.loads(self.sdk("get", f"corrupt/backups/{made['id']}.json")["body"])
        docs = next(col for col in manifest["collections"] if col["name"] == "docs")
        victim = max((f for f in docs["files"] if "/store/" in f["path"]), key=lambda f: f["size"])
        blob = victim["chunks"][0]
        self.sdk("corrupt", f"corrupt/blobs/sha256/{blob}")
        done = self.cli("backup", "verify", "--from", uri, "--backup", made["id"], check=False)
        self.assertEqual(done.returncode, 1, done.stdout)
        self.assertIn(blob, done.stderr)
        self.assertIn("corrupt", done.stderr)
        # A restore refuses it too, and leaves nothing half-written behind.
        data = os.path.join(self.tmp, "half")
        refused = self.cli("restore", "--from", uri, "--backup", made["id"], "--data-dir", data, check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertNotIn("docs", os.listdir(os.path.join(data, "collections")))

    def test_kill9_mid_backup_leaves_no_backup_visible(self):
        c = self.client
        self.load(c)
        original = {"docs": self.contents(c, "docs"), "small": self.contents(c, "small")}
        self.server.stop()
        self.server.env = {**self.s3_env, "VJVECTOR_TEST_CRASH_POINTS": "backup_manifest:1"}
        self.server.start()
        uri = f"s3://{BUCKET}/crash"
        try:
            r = self.server.client.call("POST", "/vjvector/backups", {"to": uri})
            self.fail(f"the node answered instead of dying: {r.describe()}")
        except (ConnectionError, OSError, vh.http.client.HTTPException):
            pass
        deadline = time.monotonic() + 10
        while self.server.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertFalse(self.server.alive())
        self.assertIn("crash point backup_manifest", self.server.stderr_text())
        # The blobs were stored, the backup is not visible.
        objects = [o["key"] for o in self.sdk("list", "crash/")["objects"]]
        self.assertTrue(any(k.startswith("crash/blobs/") for k in objects), objects)
        self.assertFalse(any(k.startswith("crash/backups/") for k in objects), objects)
        self.assertEqual(self.cli_json("backup", "list", "--from", uri)["backups"], [])
        refused = self.cli("restore", "--from", uri, "--data-dir", os.path.join(self.tmp, "none"), check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("no backup", refused.stderr)
        # Restarted, the node backs up again, reusing the blobs already there.
        self.server.env = dict(self.s3_env)
        self.server.start()
        made = self.server.client.ok("POST", "/vjvector/backups", {"to": uri})
        self.assertLess(made["bytes_uploaded"], made["bytes"])
        self.assertEqual([b["id"] for b in self.cli_json("backup", "list", "--from", uri)["backups"]], [made["id"]])
        self.server.stop()
        self.restore_and_compare(uri, made["id"], original)

    def test_directory_target_prune_and_restore(self):
        c = self.client
        self.load(c)
        target = os.path.join(self.tmp, "backups")
        uri = "file://" + target
        first = c.ok("POST", "/vjvector/backups", {"to": uri})
        c.upsert("docs", points(100, 40, salt=0.5))
        original = {"docs": self.contents(c, "docs"), "small": self.contents(c, "small")}
        second = self.cli_json("backup", "create", "--to", target, "--url", f"http://127.0.0.1:{self.server.port}")
        self.assertLess(second["bytes_uploaded"], second["bytes"])
        self.assertTrue(os.path.isfile(os.path.join(target, "backups", second["id"] + ".json")))
        blobs_before = len(os.listdir(os.path.join(target, "blobs", "sha256")))
        pruned = self.cli_json("backup", "prune", "--from", uri, "--keep", "1")
        self.assertEqual(pruned["deleted_backups"], [first["id"]])
        self.assertGreater(pruned["blobs_deleted"], 0)
        self.assertEqual(len(os.listdir(os.path.join(target, "blobs", "sha256"))), blobs_before - pruned["blobs_deleted"])
        self.assertEqual(self.cli_json("backup", "verify", "--from", uri)["id"], second["id"])

        # Refusals: 400 naming the field; nothing stored.
        c.err("POST", "/vjvector/backups", {}, status=400, mentions="to")
        c.err("POST", "/vjvector/backups", {"to": "ftp://x/y"}, status=400, mentions="uri")
        c.err("POST", "/vjvector/backups", {"to": uri, "extra": 1}, status=400, mentions="extra")
        no_bucket = c.call("POST", "/vjvector/backups", {"to": "s3://other-bucket/x"})
        self.assertIn(no_bucket.status, (400, 409, 412), no_bucket.describe())
        self.assertIn("NoSuchBucket", no_bucket.error)
        self.assertEqual(len(self.cli_json("backup", "list", "--from", uri)["backups"]), 1)

        self.server.stop()
        self.restore_and_compare(uri, second["id"], original)
        # Restoring over existing collections is refused.
        data = os.path.join(self.tmp, f"restored-{second['id']}")
        again = self.cli("restore", "--from", uri, "--backup", second["id"], "--data-dir", data, check=False)
        self.assertEqual(again.returncode, 1)
        self.assertIn("exists", again.stderr)


if __name__ == "__main__":
    vh.main()

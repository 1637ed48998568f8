"""End-to-end: AES-256 encryption at rest (docs/compliance.md, "Encryption at rest").

- With encryption on, points with marker payload strings and distinctive vector bytes are written, an
  alias named with a marker is made, index snapshots are written in the background, a collection snapshot
  and a full snapshot are taken, and the node restarts (its memtables flushed to SST files): then EVERY file
  under the data directory (RocksDB's WAL, SST, MANIFEST, OPTIONS; our config, ids, index, aliases,
  snapshot archives and manifests) is searched for the marker strings and the raw vector bytes: none is
  found. The same run with encryption off finds them in RocksDB's files, the index files, aliases.json and
  the snapshot archive, so the search can fail.
- A wrong master key, a missing one, a key file others can read, and no key at all on an encrypted
  directory each refuse to start with a clear message, and the data directory is byte-identical after.
- `vjvector keys rotate-master` rewraps the data keys without touching the data: the old key is then
  refused and the new one serves every point.
- kill -9 under a stream of acknowledged writes (power-loss mode, encryption on): every acknowledged point
  is there after the restart.
- A collection snapshot of an encrypted node is recovered into a new collection on the same node.
- A two-node cluster with encryption on both nodes: the replicas' files (under replicas/, encrypted with
  the node key) hold no marker and no vector bytes on either node, and a restarted node serves its data.
"""

import hashlib
import os
import struct
import subprocess
import threading
import time

import cluster_harness as ch
import vjharness as vh

DIM = 8
MARKER = "zq-secret-marker-4f1d9"
# Two floats at the head of every vector: their 8 bytes appear wherever a vector is stored in the clear.
HEAD = [1337.3125, -4242.0625]
HEAD_BYTES = struct.pack("<2f", *HEAD)
POINTS = 300
EVERY = 100  # index snapshot every this many mutations


def write_key(path, byte):
    with open(path, "w") as f:
        f.write(bytes([byte] * 32).hex() + "\n")
    os.chmod(path, 0o600)
    return path


def tree(root):
    """{relative path: sha256} of every file under root."""
    out = {}
    for d, _, files in os.walk(root):
        for name in files:
            p = os.path.join(d, name)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def files_containing(root, needle):
    found = []
    for d, _, files in os.walk(root):
        for name in files:
            p = os.path.join(d, name)
            with open(p, "rb") as f:
                if needle in f.read():
                    found.append(os.path.relpath(p, root))
    return sorted(found)


def vector(i):
    return HEAD + [float(i % 13), 0.5, -0.25, float(i) / 7.0, 3.0, 1.0]


class EncryptionTestBase(vh.ServerTestCase):
    encrypted = True

    def setUp(self):
        self.keys_dir = vh.tempfile.mkdtemp(prefix="vj-e2e-keys-")
        self.key_a = write_key(os.path.join(self.keys_dir, "a.key"), 0xA1)
        self.key_b = write_key(os.path.join(self.keys_dir, "b.key"), 0xB2)
        super().setUp()

    @property
    def server_env(self):
        return self.env_for(self.key_a)

    def env_for(self, key_file, **extra):
        env = {"VJVECTOR_STORAGE_INDEX_SNAPSHOT_EVERY_MUTATIONS": str(EVERY),
               "VJVECTOR_STORAGE_INDEX_SNAPSHOT_INTERVAL_S": "0"}
        if self.encrypted:
            env["VJVECTOR_ENCRYPTION_ENABLED"] = "true"
            env["VJVECTOR_ENCRYPTION_MASTER_KEY_FILE"] = key_file
        env.update(extra)
        return env

    def restart(self, env):
        self.server.stop()
        self.server = self.start_server(env=env)
        self.client = self.server.client

    def refused_start(self, env, mentions):
        """Starts a node that must refuse; returns its stderr."""
        s = vh.Server(data_dir=self.data_dir, log_dir=self.tmp, env=env)
        s.log_dir = os.path.join(self.tmp, f"refused-{time.monotonic_ns()}")
        os.makedirs(s.log_dir)
        s.port = vh.free_port()
        s._spawn()
        try:
            s.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            s.stop()
            self.fail("the node started, it should have refused: " + mentions)
        self.assertNotEqual(s.proc.returncode, 0)
        err = s.stderr_text()
        self.assertIn(mentions, err)
        return err

    def load(self):
        c = self.client
        c.create_collection("secret", size=DIM, distance="Dot",
                            body={"vectors": {"size": DIM, "distance": "Dot"},
                                  "hnsw_config": {"m": 8, "ef_construct": 32}})
        for start in range(0, POINTS, 50):
            c.upsert("secret", [{"id": i, "vector": vector(i), "payload": {"text": f"{MARKER} number {i}"}}
                                for i in range(start, start + 50)])
        c.ok("POST", "/collections/aliases", {"actions": [
            {"create_alias": {"collection_name": "secret", "alias_name": MARKER + "-alias"}}]})

    def wait_for_index_snapshot(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(f.endswith("ids.bin") for f in tree(self.data_dir)):
                return
            time.sleep(0.1)
        self.fail("no index snapshot (ids.bin) was written within 60 s")

    def check_served(self, c):
        self.assertEqual(c.count("secret"), POINTS)
        hits = c.ok("POST", "/collections/secret/points/search",
                    {"vector": vector(5), "limit": 3, "with_payload": True})
        self.assertEqual(len(hits), 3)
        self.assertTrue(hits[0]["payload"]["text"].startswith(MARKER))

    def write_everything(self):
        """Every kind of file the node writes, then a clean restart; returns the files with markers."""
        self.load()
        self.wait_for_index_snapshot()
        self.client.ok("POST", "/collections/secret/snapshots?wait=true")
        self.client.ok("POST", "/snapshots?wait=true")
        self.restart(self.server_env)
        self.check_served(self.client)
        self.server.stop()
        return files_containing(self.data_dir, MARKER.encode()), files_containing(self.data_dir, HEAD_BYTES)


class EncryptedDataDirTest(EncryptionTestBase):
    encrypted = True

    def test_no_marker_and_no_vector_bytes_in_any_file(self):
        with_marker, with_vector = self.write_everything()
        files = tree(self.data_dir)
        kinds = {"sst": any(f.endswith(".sst") for f in files), "wal": any(f.endswith(".log") for f in files),
                 "manifest": any("MANIFEST" in f for f in files), "ids": any(f.endswith("ids.bin") for f in files),
                 "snapshot": any(f.endswith(".snapshot") for f in files),
                 "aliases": "aliases.json" in files, "keys": "keys.json" in files}
        self.assertTrue(all(kinds.values()), f"the run did not write every kind of file: {kinds}")
        self.assertNoItems(with_marker, f"payload marker found in the clear in {with_marker}")
        self.assertNoItems(with_vector, f"raw vector bytes found in the clear in {with_vector}")

    def test_wrong_or_missing_key_refuses_and_changes_nothing(self):
        self.load()
        self.wait_for_index_snapshot()
        self.server.stop()
        before = tree(self.data_dir)
        err = self.refused_start(self.env_for(self.key_b), "does not open")
        self.assertNotIn(bytes([0xA1] * 32).hex(), err)  # no key material in the message
        self.refused_start(self.env_for(os.path.join(self.keys_dir, "absent.key")), "absent.key")
        loose = write_key(os.path.join(self.keys_dir, "loose.key"), 0xA1)
        os.chmod(loose, 0o644)
        self.refused_start(self.env_for(loose), "0600")
        plain = {"VJVECTOR_STORAGE_INDEX_SNAPSHOT_INTERVAL_S": "0"}
        self.refused_start(plain, "is encrypted")
        self.assertEqual(tree(self.data_dir), before, "a refused start changed the data directory")
        # And the right key still serves everything.
        self.server = self.start_server(env=self.env_for(self.key_a))
        self.check_served(self.server.client)

    def test_rotate_master_then_new_key_serves(self):
        self.load()
        self.server.stop()
        data_before = {p: h for p, h in tree(self.data_dir).items() if not p.endswith("keys.json")}
        r = subprocess.run([vh.BINARY, "keys", "rotate-master", "--old-key-file", self.key_a,
                            "--new-key-file", self.key_b, "--data", self.data_dir],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("rewrapped 2 data keys", r.stdout)
        after = tree(self.data_dir)
        self.assertEqual({p: h for p, h in after.items() if not p.endswith("keys.json")}, data_before,
                         "rotation rewrote data files")
        # A wrong old key: refused, nothing changed.
        r = subprocess.run([vh.BINARY, "keys", "rotate-master", "--old-key-file", self.key_a,
                            "--new-key-file", write_key(os.path.join(self.keys_dir, "c.key"), 0xC3),
                            "--data", self.data_dir], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(tree(self.data_dir), after)
        self.refused_start(self.env_for(self.key_a), "does not open")
        self.server = self.start_server(env=self.env_for(self.key_b))
        self.check_served(self.server.client)

    def test_snapshot_recovers_into_a_new_collection(self):
        self.load()
        c = self.client
        snap = c.ok("POST", "/collections/secret/snapshots?wait=true")
        path = os.path.join(self.data_dir, "snapshots", "secret", snap["name"])
        with open(path, "rb") as f:
            self.assertNotIn(MARKER.encode(), f.read())
        self.assertIs(c.ok("PUT", "/collections/copy/snapshots/recover", {"location": f"file://{path}"}), True)
        self.assertEqual(c.count("copy"), POINTS)
        got = c.retrieve("copy", [7])
        self.assertEqual(got[7]["payload"]["text"], f"{MARKER} number 7")
        self.restart(self.server_env)
        self.assertEqual(self.client.count("copy"), POINTS)


class EncryptedPowerLossTest(EncryptionTestBase):
    encrypted = True

    @property
    def server_env(self):
        return self.env_for(self.key_a, VJVECTOR_TEST_POWER_LOSS="1")

    def test_acknowledged_writes_survive_kill9(self):
        c = self.client
        c.create_collection("w", size=DIM, distance="Dot", body={"vectors": {"size": DIM, "distance": "Dot"}})
        acked = {}
        stop = threading.Event()

        def writer():
            wc = vh.Client("127.0.0.1", self.server.port, timeout=30)
            i = 0
            while not stop.is_set():
                batch = list(range(i, i + 20))
                i += 20
                try:
                    r = wc.call("PUT", "/collections/w/points?wait=true",
                                {"points": [{"id": j, "vector": vector(j), "payload": {"j": j}} for j in batch]})
                except (ConnectionError, OSError):
                    return
                if r.status != 200:
                    return
                for j in batch:
                    acked[j] = True

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        deadline = time.monotonic() + 60
        while len(acked) < 1000 and time.monotonic() < deadline and t.is_alive():
            time.sleep(0.01)
        self.server.kill9()
        stop.set()
        t.join(timeout=30)
        self.assertGreaterEqual(len(acked), 1000)
        self.server = self.start_server(env=self.server_env)
        got = {p["id"] for p in self.server.client.scroll_all("w")}
        missing = sorted(set(acked) - got)
        self.assertNoItems(missing, f"{len(missing)} acknowledged points lost after kill -9: {missing[:10]}")


class EncryptedClusterTest(ch.ClusterTestCase):
    node_names = ("n1", "n2")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keys_dir = vh.tempfile.mkdtemp(prefix="vj-e2e-keys-")
        cls.node_env = {"VJVECTOR_ENCRYPTION_ENABLED": "true",
                        "VJVECTOR_ENCRYPTION_MASTER_KEY_FILE": write_key(os.path.join(cls.keys_dir, "m.key"), 0x5C)}

    @classmethod
    def tearDownClass(cls):
        vh.shutil.rmtree(cls.keys_dir, ignore_errors=True)
        super().tearDownClass()

    def test_replicas_are_encrypted_on_every_node(self):
        c = self.client("n1")
        c.ok("PUT", "/collections/secret", {"vectors": {"size": DIM, "distance": "Dot"}, "shard_number": 2,
                                            "replication_factor": 2, "write_consistency_factor": 2})
        for start in range(0, POINTS, 50):
            c.upsert("secret", [{"id": i, "vector": vector(i), "payload": {"text": f"{MARKER} number {i}"}}
                                for i in range(start, start + 50)])
        ch.wait_for(lambda: self.replicas_agree("secret"), "the replicas to agree")
        for name in self.node_names:
            self.nodes[name].stop()
        for name in self.node_names:
            root = os.path.join(self.tmp, name)
            files = tree(root)
            self.assertTrue(any(f.startswith("replicas/") and (f.endswith(".log") or f.endswith(".sst"))
                                for f in files), f"{name}: no replica store files: {sorted(files)[:20]}")
            found = files_containing(root, MARKER.encode()) + files_containing(root, HEAD_BYTES)
            self.assertNoItems(found, f"{name}: marker or vector bytes in the clear in {found}")
        self.nodes["n1"] = self.start_node("n1")
        self.nodes["n2"] = self.start_node("n2")
        self.wait_for_members()
        ch.wait_for(lambda: self.client("n1").count("secret") == POINTS or "count differs", "n1 to serve")


class PlaintextDataDirTest(EncryptionTestBase):
    """The same run without encryption finds the markers: the search above can fail."""
    encrypted = False

    def test_markers_found_without_encryption(self):
        with_marker, with_vector = self.write_everything()
        self.assertTrue(any(f.endswith(".sst") or f.endswith(".log") for f in with_marker), with_marker)
        self.assertIn("aliases.json", with_marker)
        self.assertTrue(any(f.endswith(".snapshot") for f in with_marker), with_marker)
        self.assertTrue(any("/index/" in f for f in with_vector), with_vector)


if __name__ == "__main__":
    vh.main()

"""End-to-end: poison pills. A payload key or patch that would store a record the node cannot read back is
refused with 400 (and the node stays up and restarts with all its data); payload key paths follow Qdrant's
JSON path grammar; and a record that does not decode at start-up is quarantined instead of keeping the node
from starting: the other points are served and /metrics counts the quarantined record.
"""

import glob
import os
import shutil
import struct
import subprocess
import unittest

import cluster_harness as ch
import vjharness as vh

COLL = "p"
POINTS = [{"id": i, "vector": [float(i), 1.0, 0.5, -1.0], "payload": {"n": i, "a": [{"b": 1}, {"b": 2}]}}
          for i in range(1, 6)]
LDB = shutil.which("ldb")  # Debian's rocksdb-tools
MAX_PAYLOAD_DEPTH = 64     # core/payload_limits.h


def dotted(segments):
    return ".".join("k%d" % (i % 10) for i in range(segments))


def nested(depth):
    """An object nesting `depth` levels (the object itself counting as one)."""
    v = {"leaf": 1}
    for _ in range(depth - 1):
        v = {"n": v}
    return v


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def point_key(pid):
    return b"n" + struct.pack(">Q", pid)


def encode_record(pid, vector, payload_text):
    """A point record as storage/point_record.cc lays it out, checksum and all."""
    body = bytes([1, 0]) + struct.pack("<Q", pid)
    body += struct.pack("<I", 1) + struct.pack("<I", 0) + struct.pack("<I", len(vector))
    body += struct.pack("<%df" % len(vector), *vector)
    text = payload_text.encode()
    body += struct.pack("<I", len(text)) + text
    return body + struct.pack("<I", crc32c(body))


class PoisonPayloadTest(vh.ServerTestCase):

    def setUp(self):
        super().setUp()
        self.client.create_collection(COLL, body={"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 1})
        self.client.upsert(COLL, POINTS)

    def payload_of(self, pid):
        return self.client.retrieve(COLL, [pid])[pid]["payload"]

    def restart(self):
        self.server.stop()
        self.server.start()
        self.client = self.server.client

    def assert_all_points(self, ctx):
        self.assertTrue(self.server.alive(), f"server died after {ctx}")
        got = self.client.retrieve(COLL, [p["id"] for p in POINTS])
        for p in POINTS:
            self.assertIn(p["id"], got, f"point {p['id']} missing after {ctx}")
            self.assertEqual(got[p["id"]]["payload"], p["payload"], f"payload of {p['id']} changed after {ctx}")

    def set_payload(self, body):
        return self.client.call("POST", f"/collections/{COLL}/points/payload?wait=true", body)

    # ------------------------------------------------------------------ the attacker's keys

    def test_keys_with_1030_and_50000_segments_are_refused(self):
        # 33 segments is one over the limit; the attacker's keys are also over the length limit.
        for segments in (33, 1030, 50000):
            key = dotted(segments)
            self.client.err("POST", f"/collections/{COLL}/points/payload?wait=true",
                            {"payload": {"x": 1}, "points": [1], "key": key}, status=400,
                            mentions=["segments", "longer than"])
            self.client.err("POST", f"/collections/{COLL}/points/payload/delete?wait=true",
                            {"keys": [key], "points": [1]}, status=400, mentions=["segments", "longer than"])
            self.assert_all_points(f"a key of {segments} segments")
        self.restart()
        self.assert_all_points("restart")

    def test_malformed_keys_are_refused_naming_the_key(self):
        for key in ("a..b", "a.", ".a", "a[", "a[0", "a]", "a[x]", "[0]", 'a."b', ""):
            r = self.client.err("POST", f"/collections/{COLL}/points/payload?wait=true",
                                {"payload": {"x": 1}, "points": [1], "key": key}, status=400, mentions=["key"])
            if key:
                self.assertIn(key, r.error, r.describe())
            self.client.err("POST", f"/collections/{COLL}/points/payload/delete?wait=true",
                            {"keys": ["n", key], "points": [1]}, status=400, mentions=["keys[1]"])
            self.client.err("POST", f"/collections/{COLL}/points",
                            {"ids": [1], "with_payload": {"include": [key]}}, status=400,
                            mentions=["with_payload"])
        self.assert_all_points("malformed keys")

    # ------------------------------------------------------------------ Qdrant's JSON paths

    def test_array_paths_behave_as_qdrant(self):
        c = self.client
        c.ok("POST", f"/collections/{COLL}/points/payload?wait=true",
             {"payload": {"c": 1}, "points": [1], "key": "a[0]"})
        self.assertEqual(self.payload_of(1)["a"], [{"b": 1, "c": 1}, {"b": 2}])
        c.ok("POST", f"/collections/{COLL}/points/payload?wait=true",
             {"payload": {"d": True}, "points": [1], "key": "a[]"})
        self.assertEqual(self.payload_of(1)["a"], [{"b": 1, "c": 1, "d": True}, {"b": 2, "d": True}])
        # a[0].b was the number 1: Qdrant replaces it with an object holding the patch.
        c.ok("POST", f"/collections/{COLL}/points/payload?wait=true",
             {"payload": {"x": 1}, "points": [2], "key": "a[0].b"})
        self.assertEqual(self.payload_of(2)["a"], [{"b": {"x": 1}}, {"b": 2}])
        # A quoted segment is one key, dots and all; not "q" then "r".
        c.ok("POST", f"/collections/{COLL}/points/payload?wait=true",
             {"payload": {"v": 1}, "points": [3], "key": 'm."q.r"'})
        self.assertEqual(self.payload_of(3)["m"], {"q.r": {"v": 1}})
        # delete_payload: a[].b from every element, then one element by index.
        c.ok("POST", f"/collections/{COLL}/points/payload/delete?wait=true", {"keys": ["a[].b"], "points": [4]})
        self.assertEqual(self.payload_of(4)["a"], [{}, {}])
        c.ok("POST", f"/collections/{COLL}/points/payload/delete?wait=true", {"keys": ["a[1]"], "points": [4]})
        self.assertEqual(self.payload_of(4)["a"], [{}])
        self.restart()
        self.assertEqual(self.payload_of(3)["m"], {"q.r": {"v": 1}})
        self.assertEqual(self.payload_of(4)["a"], [{}])

    # ------------------------------------------------------------------ merged results

    def test_deep_patch_under_deep_key_is_refused(self):
        key = dotted(10)
        # The patch alone fits (the body parser takes it), but under a 10-segment key it would nest deeper
        # than the payload limit.
        self.client.err("POST", f"/collections/{COLL}/points/payload?wait=true",
                        {"payload": nested(MAX_PAYLOAD_DEPTH - 8), "points": [1, 2], "key": key}, status=400,
                        mentions=[str(MAX_PAYLOAD_DEPTH)])
        self.assertEqual(self.payload_of(1), POINTS[0]["payload"])
        self.assertEqual(self.payload_of(2), POINTS[1]["payload"])
        self.restart()
        self.assert_all_points("a refused deep patch")

    def test_merged_result_over_the_size_limit_is_refused(self):
        # Two payload writes that each fit; together they would store more than the decoder reads.
        big = "x" * (20 << 20)
        self.client.ok("POST", f"/collections/{COLL}/points/payload?wait=true", {"payload": {"s": big}, "points": [5]})
        self.client.err("POST", f"/collections/{COLL}/points/payload?wait=true",
                        {"payload": {"t": big}, "points": [1, 5]}, status=400,
                        mentions=[str(32 << 20)])
        self.restart()
        self.assertEqual(self.payload_of(1), POINTS[0]["payload"])
        self.assertEqual(len(self.payload_of(5)["s"]), len(big))
        self.assertNotIn("t", self.payload_of(5))

    # ------------------------------------------------------------------ quarantine at start-up

    @unittest.skipIf(LDB is None, "ldb (Debian package rocksdb-tools) is not installed")
    def test_undecodable_records_are_quarantined_at_start(self):
        self.server.stop()
        store = os.path.join(self.data_dir, "collections", COLL, "shards", "0", "store")
        self.assertTrue(os.path.isdir(store), store)
        # Point 3: bytes that are no record at all. Point 4: a well-formed record (valid checksum) whose
        # payload nests deeper than the reader accepts, what the old set_payload could store.
        deep = '{"a":' * (MAX_PAYLOAD_DEPTH + 10) + "1" + "}" * (MAX_PAYLOAD_DEPTH + 10)
        for pid, value in ((3, b"not a point record"), (4, encode_record(4, [4.0, 1.0, 0.5, -1.0], deep))):
            subprocess.run([LDB, f"--db={store}", "--column_family=points", "--key_hex", "--value_hex", "put",
                            "0x" + point_key(pid).hex(), "0x" + value.hex()],
                           check=True, capture_output=True, timeout=60)
        for start in range(2):
            self.server.start()
            self.client = self.server.client
            c = self.client
            self.assertEqual(c.count(COLL), 3, f"start {start}")
            got = c.retrieve(COLL, [1, 2, 3, 4, 5])
            self.assertEqual(sorted(got), [1, 2, 5])
            for pid in (1, 2, 5):
                self.assertEqual(got[pid]["payload"], POINTS[pid - 1]["payload"])
            metrics = c.call("GET", "/metrics").raw.decode()
            self.assertIn('vjvector_quarantined_records{collection="%s"} 2' % COLL, metrics)
            self.server.stop()
        logs = ""
        for _, err in self.server.all_logs:
            with open(err, errors="replace") as f:
                logs += f.read()
        self.assertIn("quarantine", logs)
        self.assertIn("point record 3 ", logs)
        self.assertIn("point record 4 ", logs)
        # The records are kept, byte for byte, in the quarantine family for an operator.
        scan = subprocess.run([LDB, f"--db={store}", "--column_family=quarantine", "--key_hex", "--value_hex",
                               "scan"], check=True, capture_output=True, timeout=60, text=True).stdout
        self.assertIn(b"not a point record".hex().upper(), scan.upper())
        # The points can be written again.
        self.server.start()
        self.client = self.server.client
        self.client.upsert(COLL, [POINTS[2], POINTS[3]])
        self.assert_all_points("re-upsert after quarantine")


class ClusterQuarantineTest(ch.ClusterTestCase):
    """In cluster mode too, a replica's undecodable record is quarantined at start and counted."""

    node_names = ("n1",)

    @unittest.skipIf(LDB is None, "ldb (Debian package rocksdb-tools) is not installed")
    def test_replica_record_quarantined_and_counted(self):
        c = self.client("n1")
        c.ok("PUT", f"/collections/{COLL}", {"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 1,
                                             "replication_factor": 1})
        c.upsert(COLL, POINTS)
        node = self.nodes["n1"]
        node.stop()
        stores = glob.glob(os.path.join(node.data_dir, "replicas", "**", "store"), recursive=True)
        self.assertEqual(len(stores), 1, stores)
        subprocess.run([LDB, f"--db={stores[0]}", "--column_family=points", "--key_hex", "--value_hex", "put",
                        "0x" + point_key(3).hex(), "0x" + b"not a point record".hex()],
                       check=True, capture_output=True, timeout=60)
        node.start()
        c = self.client("n1")
        ch.wait_for(lambda: c.count(COLL) == 4, "the replica to serve its other points")
        self.assertEqual(sorted(c.retrieve(COLL, [1, 2, 3, 4, 5])), [1, 2, 4, 5])
        metrics = c.call("GET", "/metrics").raw.decode()
        self.assertIn('vjvector_quarantined_records{collection="%s"} 1' % COLL, metrics)


if __name__ == "__main__":
    vh.main()

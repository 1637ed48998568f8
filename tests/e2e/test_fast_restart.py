"""End-to-end: a node killed with kill -9 restarts from its background index snapshot.

- A node writes an index snapshot in the background after storage.index_snapshot_every_mutations
  mutations; more points, deletes and payload changes are written after it; kill -9; the restart loads
  the snapshot and replays only the log entries since (its log says so, and does not say it rebuilt),
  and every acknowledged point is there, with its vector and payload, and is found by search.
- A node killed in the middle of a background snapshot (crash point index_snapshot) restarts from the
  previous snapshot, which the half-written one did not touch.
"""

import random
import re
import time

import vjharness as vh

DIM = 16
# Mutations between background snapshots. The tests write exactly EVERY points (one mutation each, in
# batches that end on it) before they wait for the snapshot, and fewer than EVERY after it, so exactly
# one snapshot is taken, covering sequence EVERY.
EVERY = 3000
SETTINGS = {"VJVECTOR_STORAGE_INDEX_SNAPSHOT_EVERY_MUTATIONS": str(EVERY),
            "VJVECTOR_STORAGE_INDEX_SNAPSHOT_INTERVAL_S": "0"}
SNAPSHOT_LINE = re.compile(r"index snapshot at sequence (\d+) written")
LOADED_LINE = re.compile(r"loaded (\d+) points from the index snapshot at sequence (\d+) and replayed (\d+) log entries")


def vector(rng):
    return [vh.f32(rng.uniform(-1, 1)) for _ in range(DIM)]


class FastRestartTest(vh.ServerTestCase):
    server_env = SETTINGS

    def setUp(self):
        super().setUp()
        self.rng = random.Random(5)
        self.points = {}  # acknowledged: id -> (vector, payload)
        self.in_flight = []  # the batch sent when the node died: it may or may not be there
        self.client.create_collection("c", body={"vectors": {"size": DIM, "distance": "Euclid"}})
        self.client.ok("PUT", "/collections/c/index", {"field_name": "group", "field_schema": "integer"})

    def upsert(self, ids):
        batch = [{"id": i, "vector": vector(self.rng), "payload": {"group": i % 7}} for i in ids]
        self.in_flight = batch
        self.client.upsert("c", batch)
        self.in_flight = []
        for p in batch:
            self.points[p["id"]] = (p["vector"], p["payload"])

    def wait_for_snapshot(self, server):
        """The sequence of the first background snapshot logged (waits for the log line)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = [int(s) for s in SNAPSHOT_LINE.findall(server.stderr_text())]
            if done:
                return done[0]
            self.assertTrue(server.alive(), server.stderr_text()[-2000:])
            time.sleep(0.05)
        self.fail("no background index snapshot logged")

    def check_every_acknowledged_point(self):
        if self.in_flight:  # all or nothing of it (one write batch)
            got = self.client.retrieve("c", [p["id"] for p in self.in_flight], with_payload=True, with_vector=True)
            self.assertIn(len(got), (0, len(self.in_flight)))
            for p in self.in_flight if got else []:
                self.points[p["id"]] = (p["vector"], p["payload"])
            self.in_flight = []
        ids = sorted(self.points)
        self.assertEqual(self.client.count("c"), len(ids))
        for k in range(0, len(ids), 500):
            part = ids[k:k + 500]
            got = self.client.retrieve("c", part, with_payload=True, with_vector=True)
            self.assertEqual([i for i in part if i not in got][:20], [], "acknowledged points lost")
            for i in part:
                self.assertTrue(vh.vectors_equal_f32(got[i]["vector"], self.points[i][0]), f"point {i}")
                self.assertEqual(got[i]["payload"], self.points[i][1], f"point {i}")
        # Searchable: a sample of points (the replayed ones included) are their own nearest neighbour,
        # with and without a filter answered by the payload index.
        sample = ids[-150:] + self.rng.sample(ids, 150)
        misses = 0
        for i in sample:
            body = {"vector": self.points[i][0], "limit": 1}
            if i % 2:
                body["filter"] = {"must": [{"key": "group", "match": {"value": i % 7}}]}
            hits = self.client.ok("POST", "/collections/c/points/search", body)
            misses += not hits or hits[0]["id"] != i
        self.assertLessEqual(misses, 3, "points not found by search after the restart")

    def restart_after_kill9(self, env=SETTINGS):
        self.server.kill9()
        self.server.env = env
        started = time.monotonic()
        self.server.start()
        return time.monotonic() - started

    def test_kill9_after_a_background_snapshot_replays_instead_of_rebuilding(self):
        for first in range(0, EVERY, 500):
            self.upsert(range(first, first + 500))
        snapshot_at = self.wait_for_snapshot(self.server)
        self.assertEqual(snapshot_at, EVERY)
        # After the snapshot: new points, replaced vectors, deletes and payload changes (fewer than
        # EVERY since the last snapshot began, so none covers them).
        self.upsert(range(10000, 10600))
        self.upsert(range(0, 200))
        gone = list(range(200, 400))
        self.client.ok("POST", "/collections/c/points/delete?wait=true", {"points": gone})
        for i in gone:
            del self.points[i]
        changed = list(range(400, 450))
        self.client.ok("POST", "/collections/c/points/payload?wait=true",
                       {"payload": {"group": 3, "tag": "late"}, "points": changed})
        for i in changed:
            self.points[i] = (self.points[i][0], {"group": 3, "tag": "late"})
        self.restart_after_kill9()
        log = self.server.stderr_text()
        loaded = LOADED_LINE.search(log)
        self.assertIsNotNone(loaded, log[-3000:])
        self.assertNotIn("rebuilt the indexes", log)
        self.assertEqual(int(loaded.group(2)), snapshot_at)
        self.assertEqual(int(loaded.group(3)), 600 + 200 + 200 + 50, "not every later entry replayed")
        self.assertEqual(int(loaded.group(1)), len(self.points))
        self.check_every_acknowledged_point()
        # The replayed node keeps taking writes, and they survive the next kill -9 too.
        self.upsert(range(20000, 20100))
        self.restart_after_kill9()
        self.check_every_acknowledged_point()

    def test_kill9_in_the_middle_of_a_snapshot_leaves_the_previous_one_usable(self):
        for first in range(0, EVERY, 500):
            self.upsert(range(first, first + 500))
        first_snapshot = self.wait_for_snapshot(self.server)
        # The next start dies at its first snapshot, between the vector index files and the id map.
        self.restart_after_kill9(dict(SETTINGS, VJVECTOR_TEST_CRASH_POINTS="index_snapshot:1"))
        next_id = 50000
        while self.server.alive() and next_id < 50000 + 4 * EVERY:
            try:
                self.upsert(range(next_id, next_id + 250))
            except (ConnectionError, OSError, AssertionError):
                break  # the node died at the crash point: this batch was not acknowledged
            next_id += 250
        self.server.proc.wait(timeout=60)
        self.assertIn("crash point index_snapshot: raising SIGKILL", self.server.stderr_text())
        self.restart_after_kill9()
        loaded = LOADED_LINE.search(self.server.stderr_text())
        self.assertIsNotNone(loaded, self.server.stderr_text()[-3000:])
        self.assertEqual(int(loaded.group(2)), first_snapshot, "not the previous snapshot")
        self.assertGreater(int(loaded.group(3)), 0)
        self.check_every_acknowledged_point()


if __name__ == "__main__":
    vh.main()

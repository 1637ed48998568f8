"""End-to-end: acknowledged writes survive kill -9 in power-loss mode, and the crash points fire.

In power-loss mode (VJVECTOR_TEST_POWER_LOSS=1, src/storage/power_loss_fs.h) every RocksDB file keeps
what the process wrote in memory until it is fsynced, so kill -9 loses what a power cut would lose.
Surviving kill -9 in this mode therefore proves that every acknowledgement waited for fsync.
- a single node under a stream of wait=true writes, killed with kill -9 three times: every acknowledged
  point is there after each restart;
- a whole two-node cluster (replication_factor 2, write_consistency_factor 2) loses power under writes,
  and only the replica comes back: it is elected and holds every acknowledged point, so a replica
  fsyncs what it applies before it answers its primary;
- crash points (VJVECTOR_TEST_CRASH_POINTS): a node dies with SIGKILL at the index snapshot and at the
  memtable flush of a shutdown, and at its election, and then restarts with everything; an unknown
  point refuses to start. (replica_snapshot is not reached here: a new or emptied replica catches up
  from the log, and a snapshot is sent only once the log was trimmed past it, after 1,000,000 entries.)

The server has no write path that acknowledges after writing but before fsync (wait=false acknowledges
before the write is even queued to the store, and every store write is synced), so that the mode does
drop unsynced data is shown by src/storage/power_loss_fs_test.cc (PowerLossModeDeathTest): the same
unsynced write is lost at kill -9 with the mode and kept without it.
"""

import os
import signal
import threading
import time

import cluster_harness as ch
import vjharness as vh

POWER_LOSS = {"VJVECTOR_TEST_POWER_LOSS": "1"}
DIM = 4
BATCH = 20


class AckedWriter(threading.Thread):
    """Upserts batches of new points with wait=true until the server goes away; `acked` holds the
    acknowledged ids and their vectors, `in_flight` the batch that got no answer."""

    def __init__(self, port, collection, first_id):
        super().__init__(daemon=True)
        self.client = vh.Client("127.0.0.1", port, timeout=30)
        self.collection = collection
        self.next_id = first_id
        self.acked = {}
        self.in_flight = {}
        self.errors = []

    def run(self):
        while True:
            batch = {i: [vh.f32(i % 97), 1.0, vh.f32(i / 7.0), -1.0]
                     for i in range(self.next_id, self.next_id + BATCH)}
            self.next_id += BATCH
            self.in_flight = batch
            try:
                r = self.client.call("PUT", f"/collections/{self.collection}/points?wait=true",
                                     {"points": [{"id": i, "vector": v, "payload": {"i": i}}
                                                 for i, v in batch.items()]})
            except (ConnectionError, OSError):
                return
            if r.status != 200:
                self.errors.append(r.describe())
                return
            self.acked.update(batch)
            self.in_flight = {}


class PowerLossSingleNodeTest(vh.ServerTestCase):
    server_env = POWER_LOSS

    def test_mode_is_announced_loudly(self):
        self.assertIn("power-loss mode is on", self.server.stderr_text())
        self.assertIn("TEST ONLY", self.server.stderr_text())

    def test_acknowledged_writes_survive_kill9(self):
        self.client.create_collection("p", body={"vectors": {"size": DIM, "distance": "Euclid"}})
        acked = {}
        next_id = 1
        for round_ in range(3):
            writer = AckedWriter(self.server.port, "p", next_id)
            writer.start()
            # Kill mid-stream, once this round has had some acknowledgements.
            ch.wait_for(lambda: len(writer.acked) >= 200 or not writer.is_alive(), "acknowledged writes")
            self.server.kill9()
            writer.join(timeout=30)
            self.assertEqual(writer.errors, [])
            acked.update(writer.acked)
            next_id = writer.next_id
            self.server.start()
            self.assertIn("power-loss mode is on", self.server.stderr_text())
            ids = sorted(acked)
            for k in range(0, len(ids), 500):
                part = ids[k:k + 500]
                got = self.client.retrieve("p", part, with_payload=True, with_vector=True)
                missing = [i for i in part if i not in got]
                self.assertEqual(missing[:20], [], f"round {round_}: acknowledged points lost at kill -9")
                for i in part:
                    self.assertTrue(vh.vectors_equal_f32(got[i]["vector"], acked[i]), f"point {i}")
                    self.assertEqual(got[i]["payload"], {"i": i})
            # Batches are atomic: at most the one in flight joins the acknowledged ones.
            count = self.client.count("p")
            self.assertIn(count, (len(acked), len(acked) + len(writer.in_flight)))
            acked.update({i: v for i, v in writer.in_flight.items()} if count > len(acked) else {})
        print(f"\npower-loss mode: {len(acked)} acknowledged points survived 3 rounds of kill -9", flush=True)


class CrashPointTest(vh.ServerTestCase):
    server_env = POWER_LOSS

    def test_shutdown_dies_at_each_crash_point_and_restarts_whole(self):
        self.client.create_collection("c", body={"vectors": {"size": DIM, "distance": "Dot"}})
        total = 0
        for point in ("index_snapshot", "flush"):
            self.server.stop()
            self.server.env = dict(POWER_LOSS, VJVECTOR_TEST_CRASH_POINTS=f"{point}:1",
                                   VJVECTOR_TEST_CRASH_SEED="7")
            self.server.start()
            self.assertIn("crash points armed", self.server.stderr_text())
            # Written after the start: a start flushes what it recovered, so the memtable is empty then.
            self.client.upsert("c", [{"id": i, "vector": [1.0, vh.f32(i / 3.0), 0.5, -1.0]}
                                     for i in range(total + 1, total + 151)])
            total += 150
            # The shutdown writes the index snapshot, then flushes the memtables: it dies at the point.
            code = self.server.stop()
            self.assertEqual(code, -signal.SIGKILL, f"{point}: exit {code}")
            self.assertIn(f"crash point {point}: raising SIGKILL", self.server.stderr_text())
            self.server.env = POWER_LOSS
            self.server.start()
            self.assertEqual(self.client.count("c"), total, point)
            hits = self.client.ok("POST", "/collections/c/points/search",
                                  {"vector": [1.0, 100.0, 0.5, -1.0], "limit": 3})
            self.assertEqual([h["id"] for h in hits], [total, total - 1, total - 2], point)

    def test_unknown_crash_point_refuses_to_start(self):
        bad = vh.Server(data_dir=os.path.join(self.tmp, "bad"), log_dir=self.tmp,
                        env={"VJVECTOR_TEST_CRASH_POINTS": "flsuh:1"})
        self.servers.append(bad)
        with self.assertRaises(AssertionError):
            bad.start(retries=1)
        self.assertIn("unknown crash point", bad.stderr_text())


class PowerLossClusterTest(ch.ClusterTestCase):
    node_names = ("n1", "n2", "n3")
    node_env = POWER_LOSS

    def test_replicas_that_lost_power_hold_every_acknowledged_write(self):
        self.client("n1").create_collection("r", body={"vectors": {"size": DIM, "distance": "Dot"},
                                                       "shard_number": 1, "replication_factor": 3,
                                                       "write_consistency_factor": 2})
        primary = self.primary_of("r", 0)
        replicas = [n for n in self.nodes if n != primary]
        writers = ch.Writers(self, "r", list(self.nodes)).start()
        ch.wait_for(lambda: len(writers.acked) >= 200, "acknowledged writes")
        # The whole cluster loses power at once, under writes.
        for node in self.nodes.values():
            node.kill9()
        writers.stop()
        acked = set(writers.acked)
        self.assertGreaterEqual(len(acked), 200)

        # The two replicas come back without the primary: with write_consistency_factor 2 each
        # acknowledged write is on one of them at least, so the one elected must hold all of them. The
        # first to win dies at the election crash point (won in etcd, not yet acted on); then both
        # start again.
        self.die_at_crash_point(replicas, "election")
        for name in replicas:
            self.nodes[name].start(wait_ready=False)
        ch.wait_for(lambda: self.primary_of("r", 0, via=replicas[0]) in replicas, "a replica's election",
                    timeout=40)
        self.assert_readable_everywhere("r", acked, replicas)
        self.nodes[primary].start()
        ch.wait_for(lambda: self.replicas_agree("r"), "the old primary to catch up", timeout=40)
        self.assert_readable_everywhere("r", acked, self.nodes)
        print(f"\npower-loss mode: {len(acked)} acknowledged points survived on the replicas", flush=True)

    def die_at_crash_point(self, names, point):
        """Starts nodes `names` with only crash point `point` armed, waits until one of them dies there,
        then kills the others."""
        nodes = [self.nodes[n] for n in names]
        for node in nodes:
            node.env = dict(POWER_LOSS, VJVECTOR_TEST_CRASH_POINTS=f"{point}:1")
            node.start(wait_ready=False)
        ch.wait_for(lambda: any(not n.alive() for n in nodes), f"one of {names} to die at crash point {point}",
                    timeout=40)
        dead = next(n for n in nodes if not n.alive())
        self.assertIn(f"crash point {point}: raising SIGKILL", dead.stderr_text())
        self.assertEqual(dead.proc.returncode, -signal.SIGKILL)
        for node in nodes:
            node.kill9()
            node.proc = None
            node.env = POWER_LOSS


if __name__ == "__main__":
    vh.main()

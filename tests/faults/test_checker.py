"""The fault test's checker must catch what it exists to catch: made-up histories with one anomaly each."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402
import schedule  # noqa: E402
from shard_of import HashRing, xxh64  # noqa: E402


class H:
    """Builds one client's history."""

    def __init__(self):
        self.ops = []
        self.seq = 0

    def _op(self, kind, pid, status, **kw):
        self.seq += 1
        op = {"client": 0, "seq": self.seq, "shard": 0, "op": kind, "id": pid, "status": status,
              "t0": float(self.seq), "t1": self.seq + 0.5}
        op.update(kw)
        self.ops.append(op)
        return self

    def up(self, pid, version, status="ok"):
        return self._op("upsert", pid, status, version=version)

    def rm(self, pid, status="ok"):
        return self._op("delete", pid, status)

    def read(self, pid, value, level="primary"):
        return self._op("read", pid, "ok", value=value, level=level, vector_ok=True)


def kinds(violations):
    return sorted(v["kind"] for v in violations)


class FinalStateTest(unittest.TestCase):
    def test_acknowledged_history_holds(self):
        h = H().up(1, 1).up(1, 2).up(2, 1).rm(2)
        self.assertEqual(checker.check_final(h.ops, {1: 2}), [])

    def test_lost_acknowledged_upsert(self):
        h = H().up(1, 1).up(1, 2)
        self.assertEqual(kinds(checker.check_final(h.ops, {1: 1})), ["lost_write"])
        self.assertEqual(kinds(checker.check_final(h.ops, {})), ["lost_write"])

    def test_undone_delete(self):
        h = H().up(1, 1).rm(1)
        self.assertEqual(kinds(checker.check_final(h.ops, {1: 1})), ["undone_delete"])

    def test_indeterminate_writes_may_or_may_not_apply(self):
        h = H().up(1, 1).up(1, 2, status="info").rm(1, status="info")
        for final in ({1: 1}, {1: 2}, {}):
            self.assertEqual(checker.check_final(h.ops, final), [], final)

    def test_late_indeterminate_write_overtaking_an_acknowledged_one_is_caught(self):
        # v2 timed out, v3 was acknowledged: v2 showing up at the end means v3 was lost.
        h = H().up(1, 1).up(1, 2, status="info").up(1, 3)
        self.assertEqual(kinds(checker.check_final(h.ops, {1: 2})), ["lost_write"])

    def test_phantoms(self):
        h = H().up(1, 1)
        self.assertEqual(kinds(checker.check_final(h.ops, {1: 1, 99: 1})), ["phantom"])
        self.assertEqual(kinds(checker.check_final(h.ops, {1: 7})), ["phantom"])

    def test_wrong_vector(self):
        h = H().up(1, 1)
        self.assertEqual(kinds(checker.check_final(h.ops, {1: 1}, {1: False})), ["wrong_vector"])


class ReadsTest(unittest.TestCase):
    def test_stale_primary_read_is_a_violation_other_levels_are_counted(self):
        h = H().up(1, 1).up(1, 2).read(1, 1, "primary").read(1, 1, "1").read(1, 2, "all")
        violations, stats = checker.check_reads(h.ops)
        self.assertEqual(kinds(violations), ["stale_primary_read"])
        self.assertEqual(stats["1"], {"reads": 1, "stale": 1, "failed": 0})
        self.assertEqual(stats["all"], {"reads": 1, "stale": 0, "failed": 0})

    def test_read_of_an_indeterminate_write_is_fine(self):
        h = H().up(1, 1).up(1, 2, status="info").read(1, 2).read(1, 1)
        self.assertEqual(checker.check_reads(h.ops)[0], [])

    def test_phantom_read(self):
        h = H().up(1, 1).read(1, 5, "1")
        self.assertEqual(kinds(checker.check_reads(h.ops)[0]), ["phantom_read"])


class StallsTest(unittest.TestCase):
    def test_longest_gap_overlapping_the_fault(self):
        ops = [{"op": "upsert", "status": "ok", "shard": 0, "t1": t} for t in (1, 2, 3, 11, 12)]
        ops += [{"op": "upsert", "status": "ok", "shard": 1, "t1": t} for t in range(1, 13)]
        out = checker.stalls(ops, 2, [{"kind": "kill", "t_start": 3.5, "t_end": 6}], 13)
        self.assertEqual(out[0]["stall_s"], 7.5)  # shard 0: nothing acknowledged from 3.5 to 11
        self.assertEqual(out[0]["stall_shard"], 0)


class QuorumTest(unittest.TestCase):
    def test_ack_during_a_double_fault_is_a_violation(self):
        h = H().up(1, 1).up(1, 2).up(1, 3, status="info")  # t0 = 1, 2, 3
        f = [{"kind": "double", "t_start": 1.5, "t_end": 3.0}]
        self.assertEqual(kinds(checker.acks_without_quorum(h.ops, f)), ["acknowledged_without_quorum"])
        self.assertEqual(checker.acks_without_quorum(h.ops, [dict(f[0], kind="kill")]), [])
        # Acknowledged before the second node was down (t_applied) is no violation.
        self.assertEqual(checker.acks_without_quorum(h.ops, [dict(f[0], t_applied=2.6)]), [])


class ScheduleTest(unittest.TestCase):
    def test_one_seed_one_schedule(self):
        a = schedule.make(7, 300, schedule.KINDS, 3, 4)
        self.assertEqual(a, schedule.make(7, 300, schedule.KINDS, 3, 4))
        self.assertNotEqual(a, schedule.make(8, 300, schedule.KINDS, 3, 4))
        self.assertTrue(all(f["at"] + f["duration"] <= 300 for f in a))

    def test_a_round_holds_every_kind(self):
        a = schedule.make(7, 1000, schedule.KINDS, 3, 4)
        self.assertEqual(sorted(f["kind"] for f in a[:len(schedule.KINDS)]), sorted(schedule.KINDS))


class ShardOfTest(unittest.TestCase):
    def test_xxh64_reference_values(self):
        self.assertEqual(xxh64(b""), 0xEF46DB3751D8E999)
        self.assertEqual(xxh64(b"abc"), 0x44BC2CF5AD770999)
        self.assertEqual(xxh64(b"Nobody inspects the spammish repetition"), 0xFBCEA83C8A378BF1)

    def test_every_shard_gets_ids(self):
        ring = HashRing(4)
        counts = [0] * 4
        for i in range(4000):
            counts[ring.shard_of(i)] += 1
        self.assertTrue(all(c > 600 for c in counts), counts)


if __name__ == "__main__":
    unittest.main(verbosity=2)

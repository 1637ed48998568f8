"""End-to-end: read consistency (Qdrant's ?consistency=, plus `primary`) with a real etcd and three real
nodes, one shard with replication_factor 3 and write_consistency_factor 2, lease TTL 2 s:
- a replica paused with SIGSTOP misses writes (the primary and the other replica acknowledge them) and is
  resumed; reads right after: `all`, `majority` and `primary` always return the newest value, through any
  node; a one-replica read may not (the stale reads seen are printed, not asserted: they are a race);
- fewer replicas that can answer than the level needs: 503 naming how many answered, never a read of
  fewer replicas; the levels that can still be met go on;
- a primary paused past its lease and resumed: reads at `primary` through it are refused (503) or served
  by the new primary, never by its own stale copy;
- values other than a positive number, majority, quorum, all or primary: 400 naming the parameter.
"""

import signal
import threading
import time

import cluster_harness as ch
import vjharness as vh

DIM = 4
BODY = {"vectors": {"size": DIM, "distance": "Dot"}, "shard_number": 1, "replication_factor": 3,
        "write_consistency_factor": 2}
LEVELS = ("all", "majority", "quorum", "3", "primary")


class ClusterReadsTest(ch.ClusterTestCase):

    def setUp(self):
        super().setUp()

        def create():
            # n1 may not have seen the last node register yet (400: too few live nodes; nothing created).
            r = self.client("n1").call("PUT", "/collections/r", BODY)
            return True if r.status == 200 else r.describe()

        ch.wait_for(create, "the collection to be created on three nodes")
        self.primary = self.primary_of("r", 0)
        self.replicas = [n for n in self.nodes if n != self.primary]
        self.client(self.primary).upsert("r", [{"id": i, "vector": [1, 0, 0, i], "payload": {"v": 0}}
                                               for i in range(1, 11)])
        ch.wait_for(lambda: self.replicas_agree("r"), "the replicas to hold the first points")

    def write_round(self, k):
        """Point 1 gets payload v=k and point 1000+k is added (so the count grows by one per round)."""
        self.client(self.primary).upsert("r", [{"id": 1, "vector": [1, 0, 0, 1], "payload": {"v": k}},
                                               {"id": 1000 + k, "vector": [0, 1, 0, k]}])

    def read(self, via, level):
        """(value of point 1, count) read through `via` at `level` (None: the default, one replica)."""
        q = "" if level is None else f"?consistency={level}"
        c = self.client(via)
        got = c.ok("POST", f"/collections/r/points{q}", {"ids": [1], "with_payload": True})
        count = c.ok("POST", f"/collections/r/points/count{q}", {"exact": True})["count"]
        return got[0]["payload"]["v"], count

    def test_paused_replica_is_outread_by_all_majority_and_primary(self):
        victim = self.replicas[0]
        stale = {}  # (via, level) -> [stale reads, reads]
        lock = threading.Lock()
        rounds = 10
        for k in range(1, rounds + 1):
            want = (k, 10 + k)
            failures = []

            def reader(via, level):
                try:
                    got = self.read(via, level)
                except AssertionError as e:
                    failures.append(f"{via} {level}: {e}")
                    return
                with lock:
                    s = stale.setdefault((via, level or "default"), [0, 0])
                    s[1] += 1
                    if got != want:
                        s[0] += 1

            self.nodes[victim].proc.send_signal(signal.SIGSTOP)
            try:
                # Shorter than the lease: the paused node stays a live, healthy replica for the others.
                self.write_round(k)
                # Reads through every node, sent while the replica is paused: those that reach it wait,
                # and it answers them as it resumes, alongside the write it missed.
                threads = [threading.Thread(target=reader, args=(via, level))
                           for via in self.nodes for level in (None, "1") + LEVELS]
                for t in threads:
                    t.start()
                time.sleep(0.3)  # lets the requests reach the paused node; the checks do not depend on it
            finally:
                self.nodes[victim].proc.send_signal(signal.SIGCONT)
            for t in threads:
                t.join()
            self.assertEqual(failures, [])
        counts = sorted(stale.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        report = "; ".join(f"{lvl} via {via}: {s[0]}/{s[1]}" for (via, lvl), s in counts)
        print(f"\nstale reads / reads, a replica ({victim}) paused during a write and resumed under the reads: "
              f"{report}", flush=True)
        for (via, lvl), s in stale.items():
            if lvl not in ("default", "1"):
                self.assertEqual(s[0], 0, f"consistency={lvl} via {via} read stale values")

    def test_too_few_replicas_to_answer_is_503(self):
        self.write_round(1)
        victim = self.replicas[0]
        via = self.replicas[1]
        self.nodes[victim].kill9()
        # Right after the kill the node may still hold its lease (then it is asked and does not answer),
        # later not (then it is not asked): either way a 503 that says how many answered.
        for level, needs in (("all", 3), ("3", 3)):
            for path, body in (("/collections/r/points", {"ids": [1]}),
                               ("/collections/r/points/count", {"exact": True}),
                               ("/collections/r/points/scroll", {"limit": 5}),
                               ("/collections/r/points/query", {"query": [1, 0, 0, 1], "limit": 3})):
                r = self.client(via).err("POST", f"{path}?consistency={level}", body, status=503,
                                         mentions=f"needs {needs} replicas to answer")
                self.assertIn("answered", r.error)
        ch.wait_for(lambda: victim not in self.client(via).ok("GET", "/cluster")["peers"],
                    "the killed node's lease to expire")
        r = self.client(via).err("POST", "/collections/r/points?consistency=all", {"ids": [1]}, status=503,
                                 mentions="0 answered: only 2 are on live nodes")
        self.assertEqual(r.headers.get("Retry-After"), "1")
        # What two replicas can meet goes on, with the newest value.
        for level in ("majority", "quorum", "2", "primary", "1", None):
            for name in self.replicas[1:] + [self.primary]:
                self.assertEqual(self.read(name, level), (1, 11), f"{level} via {name}")

    def test_primary_reads_through_a_deposed_primary_are_never_stale(self):
        victim = self.primary
        others = self.replicas
        self.nodes[victim].proc.send_signal(signal.SIGSTOP)
        try:
            ch.wait_for(lambda: self.primary_of("r", 0, via=others[0]) in others, "a new primary", timeout=30)
            # The new primary and the other replica acknowledge; the paused one has none of it.
            self.client(others[0]).upsert("r", [{"id": 1, "vector": [1, 0, 0, 1], "payload": {"v": 99}}])
        finally:
            self.nodes[victim].proc.send_signal(signal.SIGCONT)
        outcomes = {"newest": 0, "refused": 0}
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            r = self.client(victim).call("POST", "/collections/r/points?consistency=primary", {"ids": [1]})
            if r.status == 503:
                outcomes["refused"] += 1
                continue
            self.assertEqual(r.status, 200, r.describe())
            self.assertEqual(r.json["result"][0]["payload"]["v"], 99, "a stale read at consistency=primary")
            outcomes["newest"] += 1
        for level in ("all", "majority"):
            self.assertEqual(self.read(victim, level)[0], 99, level)
        print(f"\nconsistency=primary through the resumed deposed primary: {outcomes}", flush=True)

    def test_bad_values_are_400_naming_the_parameter(self):
        c = self.client("n2")
        for value in ("0", "-1", "", "1.5", "ALL", "most", "99999999999999999999999"):
            c.err("POST", f"/collections/r/points/query?consistency={value}", {"query": [1, 0, 0, 1]},
                  status=400, mentions="query parameter consistency")
            c.err("POST", f"/collections/r/points/count?read_consistency={value}", {"exact": True},
                  status=400, mentions="query parameter read_consistency")
        # A factor above the replica count means all of them, as in Qdrant.
        self.assertEqual(c.ok("POST", "/collections/r/points/count?consistency=64", {"exact": True})["count"], 10)
        # The internal position parameter is checked too.
        self.peer_client("n2").err("POST", "/internal/shards/r/0/points/count?position=newest", {"exact": True}, status=400,
              mentions="query parameter position", headers=self.internal_headers())


if __name__ == "__main__":
    vh.main()

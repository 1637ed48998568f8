"""End-to-end: failures under a stream of acknowledged writes, with a real etcd and three real nodes
(replication_factor 3, write_consistency_factor 2, lease TTL 2 s):
- kill -9 of a shard's primary: another replica is elected (term + 1) and writes resume within seconds;
  every acknowledged point is readable through every node; the killed node restarts and catches up
  (its replicas hold what the others hold);
- a primary paused with SIGSTOP past its lease and resumed: it stops acting as primary at once (writes
  sent to it right after it resumes are forwarded or refused, never acknowledged and then lost);
- etcd restarted under the cluster: writes resume and nothing acknowledged is lost.
"""

import random
import signal
import threading
import time

import cluster_harness as ch
import vjharness as vh

DIM = 4
BODY = {"vectors": {"size": DIM, "distance": "Dot"}, "shard_number": 2, "replication_factor": 3,
        "write_consistency_factor": 2}


class Writers:
    """Threads that upsert small batches with wait=true through the given nodes, recording what was
    acknowledged and the longest time without any acknowledgement."""

    def __init__(self, test, names, threads=2, batch=4):
        self.test = test
        self.names = list(names)
        self.batch = batch
        self.lock = threading.Lock()
        self.next_id = 1
        self.acked = set()
        self.errors = []
        self.last_ack = time.monotonic()
        self.longest_gap = 0.0
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def run(self, index):
        rnd = random.Random(index)
        k = index
        while not self.stop_event.is_set():
            with self.lock:
                ids = list(range(self.next_id, self.next_id + self.batch))
                self.next_id += self.batch
            name = self.names[k % len(self.names)]
            k += 1
            points = [{"id": i, "vector": [rnd.uniform(-1, 1) for _ in range(DIM)], "payload": {"w": index}}
                      for i in ids]
            try:
                r = self.test.nodes[name].client.call("PUT", "/collections/f/points?wait=true",
                                                      {"points": points}, timeout=30)
                ok = r.status == 200
                if not ok:
                    self.errors.append((name, r.status, r.error))
            except OSError as e:
                ok = False
                self.errors.append((name, "connection", repr(e)))
            now = time.monotonic()
            with self.lock:
                if ok:
                    self.acked.update(ids)
                    self.longest_gap = max(self.longest_gap, now - self.last_ack)
                    self.last_ack = now

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=60)


class ClusterFailoverTest(ch.ClusterTestCase):

    def create(self):
        self.client("n1").create_collection("f", body=BODY)

    def others(self, victim):
        return [n for n in self.nodes if n != victim]

    def assert_readable_everywhere(self, ids, names):
        ids = sorted(ids)
        for name in names:
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                got = self.client(name).retrieve("f", part, with_payload=False, with_vector=False)
                missing = [x for x in part if x not in got]
                self.assertEqual(missing[:20], [], f"acknowledged points missing through {name}")

    def replicas_agree(self):
        """Every shard's replicas hold the same number of points (asked of each replica directly)."""
        for shard in self.shard_map("f", via=self.alive()[0]):
            counts = {}
            for r in shard["replicas"]:
                counts[r["peer_id"]] = self.client(r["peer_id"]).ok(
                    "POST", f"/internal/shards/f/{shard['shard_id']}/points/count", {"exact": True})["count"]
            if len(set(counts.values())) != 1:
                return f"shard {shard['shard_id']}: {counts}"
        return True

    def alive(self):
        return [n for n, s in self.nodes.items() if s.alive()]

    def test_kill9_primary_under_writes_then_restart_catches_up(self):
        self.create()
        victim = self.primary_of("f", 0)
        writers = Writers(self, self.others(victim)).start()
        time.sleep(2)
        self.nodes[victim].kill9()
        killed_at = time.monotonic()
        time.sleep(8)
        writers.stop()
        self.assertGreater(len(writers.acked), 50, writers.errors[:5])
        # Writes resumed: something was acknowledged well after the kill, and no stall outlasted the
        # election (lease TTL + election delay + a margin).
        self.assertGreater(writers.last_ack, killed_at + 4)
        self.assertLess(writers.longest_gap, 12, writers.errors[:5])
        print(f"\nkill -9 of the primary: longest stall without acknowledgements {writers.longest_gap:.2f} s",
              flush=True)
        shard0 = self.shard_map("f", via=self.others(victim)[0])[0]
        self.assertNotEqual(shard0["primary"], victim)
        self.assertEqual(shard0["term"], 2)
        self.assert_readable_everywhere(writers.acked, self.others(victim))

        self.nodes[victim].start()
        ch.wait_for(self.replicas_agree, "the restarted node to catch up", timeout=40)
        self.assert_readable_everywhere(writers.acked, self.nodes)
        counts = {n: self.client(n).count("f") for n in self.nodes}
        self.assertEqual(len(set(counts.values())), 1, counts)

    def test_paused_primary_is_fenced_and_loses_nothing(self):
        self.create()
        victim = self.primary_of("f", 0)
        writers = Writers(self, self.others(victim)).start()
        time.sleep(1)
        self.nodes[victim].proc.send_signal(signal.SIGSTOP)
        try:
            time.sleep(self.lease_ttl + 5)  # past the lease; the others elect a new primary
        finally:
            self.nodes[victim].proc.send_signal(signal.SIGCONT)
        # Right after it resumes, writes sent to the paused node: forwarded or refused, never lost.
        acked_via_victim = set()
        for k in range(20):
            pid = 10 ** 6 + k
            r = self.client(victim).call("PUT", "/collections/f/points?wait=true",
                                         {"points": [{"id": pid, "vector": [1, 0, 0, k]}]}, timeout=30)
            if r.status == 200:
                acked_via_victim.add(pid)
        writers.stop()
        new_primary = self.primary_of("f", 0, via=self.others(victim)[0])
        self.assertNotEqual(new_primary, victim)
        metrics = self.client(victim).call("GET", "/metrics").raw.decode()
        self.assertIn('vjvector_cluster_shard_primary{shard="f/0"} 0', metrics)
        ch.wait_for(self.replicas_agree, "the replicas to converge", timeout=40)
        self.assert_readable_everywhere(writers.acked | acked_via_victim, self.nodes)

    def test_etcd_restart_under_the_cluster(self):
        self.create()
        c = self.client("n2")
        c.upsert("f", [{"id": i, "vector": [1, 0, 0, i]} for i in range(1, 101)])
        self.etcd.kill()
        time.sleep(1)
        self.etcd.start()
        acked = set(range(1, 101))
        for name in ("n1", "n2", "n3"):
            ids = [1000 + len(acked) + k for k in range(5)]

            def write(ids=ids, name=name):
                r = self.client(name).call("PUT", "/collections/f/points?wait=true",
                                           {"points": [{"id": i, "vector": [0, 1, 0, i]} for i in ids]})
                return True if r.status == 200 else r.describe()

            ch.wait_for(write, f"writes through {name} after the etcd restart", timeout=30)
            acked.update(ids)
        ch.wait_for(self.replicas_agree, "the replicas to converge", timeout=30)
        self.assert_readable_everywhere(acked, self.nodes)


if __name__ == "__main__":
    vh.main()

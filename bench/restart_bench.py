#!/usr/bin/env python3
"""Restart-to-ready after kill -9: index snapshot + log replay against a full rebuild, same data.

Starts a vjvector binary (--binary) on a free loopback port with a temporary data dir and background
index snapshots every --snapshot-every mutations (storage.index_snapshot_every_mutations, default a
quarter of --points; no time trigger), loads --points vectors of --dim floats (wait=true, --batch per
request; clustered around 100 centres unless --random) while a probe thread upserts one point with
wait=true every 20 ms (its latency shows how long the snapshots stall writes), stops the node cleanly
(its shutdown snapshot covers the load), starts it with background snapshots off, writes --tail more
points (which no snapshot covers), then:
  1. kill -9, start again: the shard loads its snapshot and replays the --tail log entries;
  2. kill -9, remove the index snapshots (<shard>/index), start again: the shard rebuilds its indexes
     from the store (what every kill -9 cost before background snapshots).
Prints, for each, the time from spawning the process to /readyz answering 200 and the shard's own
load line, checks that both hold every point and answer a query the same, and reports the latencies
of the load's writes and of the probe (p50/p99/max) and what the snapshots logged. Last, the stall:
--stall-writes upserts of --stall-batch points from one client, once with background snapshots off and
once with one every --stall-every mutations, on the loaded data (p50/p99/max of each).
Timings are printed, never asserted.

  python3 bench/restart_bench.py --binary build/vjvector --points 200000 --dim 128 --tail 20000
"""

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
sys.argv, _argv = sys.argv[:1], sys.argv  # vjharness parses argv on import
import vjharness as vh  # noqa: E402
sys.argv = _argv

SNAPSHOT = re.compile(r"index snapshot at sequence (\d+) written in ([\d.]+) s \(vector index saves ([\d.]+) s\)")
LOADED = re.compile(r"loaded (\d+) points from the index snapshot at sequence (\d+) and replayed (\d+) log entries "
                    r"in ([\d.]+) s(?: \(snapshot files ([\d.]+) s, replay ([\d.]+) s\))?")
REBUILT = re.compile(r"rebuilt the indexes of (\d+) points from the store in ([\d.]+) s")


def log(msg):
    print(msg, flush=True)


class Data:
    def __init__(self, dim, clustered, seed=1):
        self.rng = random.Random(seed)
        self.dim = dim
        self.centres = [[self.rng.gauss(0, 1) for _ in range(dim)] for _ in range(100)] if clustered else None

    def vector(self):
        if self.centres is None:
            return [self.rng.uniform(-1, 1) for _ in range(self.dim)]
        c = self.rng.choice(self.centres)
        return [x + self.rng.gauss(0, 0.3) for x in c]

    def body(self, first, n):
        points = [{"id": i, "vector": [round(x, 5) for x in self.vector()], "payload": {"g": i % 10}}
                  for i in range(first, first + n)]
        return json.dumps({"points": points}).encode()


def percentile(values, p):
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


def load(client, data, first, n, batch, latencies):
    for start in range(first, first + n, batch):
        raw = data.body(start, min(batch, first + n - start))
        t = time.monotonic()
        r = client.call("PUT", "/collections/bench/points?wait=true", raw=raw,
                        headers={"Content-Type": "application/json"}, timeout=600)
        latencies.append(time.monotonic() - t)
        if r.status != 200:
            raise SystemExit(f"upsert failed: {r.describe()}")


def start(server):
    """Starts the node on its port and waits for /readyz however long loading takes."""
    server._spawn()
    server.wait_ready(timeout=3600)


def restart(server):
    server.kill9()
    t = time.monotonic()
    start(server)
    return time.monotonic() - t


def probe(client, data_seed_vector):
    hits = client.ok("POST", "/collections/bench/points/search",
                     {"vector": data_seed_vector, "limit": 10, "params": {"exact": True}})
    return [h["id"] for h in hits]


class Probe(threading.Thread):
    """Upserts one point (ids from `first`) with wait=true every 20 ms until stopped; keeps latencies."""

    def __init__(self, server, dim, first):
        super().__init__(daemon=True)
        self.client = vh.Client(server.host, server.port, timeout=600)
        self.data = Data(dim, False, seed=99)
        self.next = first
        self.latencies = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(0.02):
            raw = self.data.body(self.next, 1)
            t = time.monotonic()
            r = self.client.call("PUT", "/collections/bench/points?wait=true", raw=raw,
                                 headers={"Content-Type": "application/json"}, timeout=600)
            self.latencies.append(time.monotonic() - t)
            if r.status == 200:
                self.next += 1


def stall(server, args, total):
    """Write latency of small writes with background snapshots every --stall-every mutations, against
    the same writes with snapshots off, on the loaded data: what a snapshot costs a concurrent write."""
    if args.stall_writes <= 0:
        return
    first = 2 * 10 ** 9
    for label, every in (("snapshots off", 0), (f"snapshot every {args.stall_every} mutations", args.stall_every)):
        server.stop()
        server.env = {"VJVECTOR_STORAGE_INDEX_SNAPSHOT_EVERY_MUTATIONS": str(every),
                      "VJVECTOR_STORAGE_INDEX_SNAPSHOT_INTERVAL_S": "0"}
        start(server)
        client = vh.Client(server.host, server.port, timeout=600)
        data = Data(args.dim, False, seed=7)
        lat = []
        for i in range(args.stall_writes):
            raw = data.body(first, args.stall_batch)
            first += args.stall_batch
            t = time.monotonic()
            r = client.call("PUT", "/collections/bench/points?wait=true", raw=raw,
                            headers={"Content-Type": "application/json"}, timeout=600)
            lat.append(time.monotonic() - t)
            if r.status != 200:
                raise SystemExit(f"upsert failed: {r.describe()}")
        snaps = SNAPSHOT.findall(server.stderr_text())
        lat.sort()
        log(f"{label}: {len(lat)} writes of {args.stall_batch} points over {total} points: p50 "
            f"{percentile(lat, 0.5) * 1000:.1f} ms, p99 {percentile(lat, 0.99) * 1000:.1f} ms, max "
            f"{lat[-1] * 1000:.1f} ms; {len(snaps)} snapshots"
            + (f", each {', '.join(f'{float(x[1]):.2f}' for x in snaps)} s" if snaps else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join("build", "vjvector"))
    ap.add_argument("--points", type=int, default=200000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--tail", type=int, default=20000, help="points written after the last snapshot")
    ap.add_argument("--snapshot-every", type=int, default=0,
                    help="storage.index_snapshot_every_mutations during the load (default: points / 4)")
    ap.add_argument("--random", action="store_true", help="uniform random vectors instead of clustered")
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    ap.add_argument("--stall-writes", type=int, default=600,
                    help="writes of the stall measurement at the end (0 = skip it)")
    ap.add_argument("--stall-batch", type=int, default=10, help="points per write of the stall measurement")
    ap.add_argument("--stall-every", type=int, default=2000,
                    help="storage.index_snapshot_every_mutations during the stall measurement")
    args = ap.parse_args()
    every = args.snapshot_every or max(1, args.points // 4)

    vh.BINARY = os.path.abspath(args.binary)
    tmp = tempfile.mkdtemp(prefix="vj-restart-bench-")
    env = {"VJVECTOR_STORAGE_INDEX_SNAPSHOT_EVERY_MUTATIONS": str(every),
           "VJVECTOR_STORAGE_INDEX_SNAPSHOT_INTERVAL_S": "0"}
    server = vh.Server(data_dir=os.path.join(tmp, "data"), log_dir=tmp, env=env)
    try:
        server.start()
        client = server.client
        client.create_collection("bench", size=args.dim, distance="Euclid")
        data = Data(args.dim, not args.random)
        latencies = []
        probe_writer = Probe(server, args.dim, 10 ** 9)
        probe_writer.start()
        t = time.monotonic()
        load(client, data, 0, args.points, args.batch, latencies)
        probe_writer.stopped.set()
        probe_writer.join()
        log(f"loaded {args.points} x {args.dim} ({'random' if args.random else 'clustered'}) in "
            f"{time.monotonic() - t:.1f} s, background snapshots every {every} mutations")
        lat = sorted(latencies)
        log(f"load writes ({len(lat)} of {args.batch} points): p50 {percentile(lat, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(lat, 0.99) * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")
        lat = sorted(probe_writer.latencies)
        log(f"probe writes ({len(lat)} of 1 point): p50 {percentile(lat, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(lat, 0.99) * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")
        for seq, secs, paused in SNAPSHOT.findall(server.stderr_text()):
            log(f"background snapshot at sequence {seq}: {float(secs):.2f} s, vector index saves "
                f"{float(paused):.2f} s")
        server.stop()  # its shutdown snapshot covers the load
        server.env = {"VJVECTOR_STORAGE_INDEX_SNAPSHOT_EVERY_MUTATIONS": "0",
                      "VJVECTOR_STORAGE_INDEX_SNAPSHOT_INTERVAL_S": "0"}
        start(server)
        load(client, data, args.points, args.tail, args.batch, [])
        probe_points = probe_writer.next - 10 ** 9
        total = args.points + args.tail + probe_points
        query = data.vector()

        ready = restart(server)
        m = LOADED.search(server.stderr_text())
        if m is None:
            raise SystemExit("the restart did not load the snapshot:\n" + server.stderr_text()[-3000:])
        count = client.count("bench")
        expected = probe(client, query)
        split = f": snapshot files {float(m.group(5)):.2f} s, replay {float(m.group(6)):.2f} s" if m.group(5) else ""
        log(f"snapshot + replay: restart-to-ready {ready:.2f} s (shard load {float(m.group(4)):.2f} s{split}; "
            f"{m.group(3)} log entries replayed over the snapshot at sequence {m.group(2)}); {count} points")

        shard_indexes = [os.path.join(d, "index") for d, subdirs, _ in os.walk(server.data_dir)
                         if "index" in subdirs and os.path.isfile(os.path.join(d, "index", "ids.bin"))]
        server.kill9()
        for d in shard_indexes:
            shutil.rmtree(d)
        t = time.monotonic()
        start(server)
        ready_rebuild = time.monotonic() - t
        m = REBUILT.search(server.stderr_text())
        if m is None:
            raise SystemExit("the restart did not rebuild:\n" + server.stderr_text()[-3000:])
        count_rebuild = client.count("bench")
        log(f"full rebuild:      restart-to-ready {ready_rebuild:.2f} s (shard load {float(m.group(2)):.2f} s); "
            f"{count_rebuild} points")
        log(f"speed-up: {ready_rebuild / ready:.1f}x")
        if count != total or count_rebuild != total or probe(client, query) != expected:
            raise SystemExit(f"MISMATCH: expected {total} points, got {count} and {count_rebuild}, or the "
                             "exact top-10 differs")
        log("both restarts hold every point and answer the exact top-10 the same")
        stall(server, args, total)
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"data kept in {tmp}")


if __name__ == "__main__":
    main()

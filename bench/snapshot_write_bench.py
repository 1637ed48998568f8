#!/usr/bin/env python3
"""Write latency of a steady writer while collection snapshots are taken, over HTTP.

Starts a vjvector binary (--binary) on a free loopback port with a temporary data dir, loads N random
points of DIM floats with a small payload (wait=true, 1,000 per request), then runs one writer sending
wait=true upserts of BATCH new points back to back:
  1. for SECONDS without snapshots (the baseline), then
  2. for SECONDS while a second client takes snapshots of the collection back to back
     (POST /collections/b/snapshots?wait=true).
Prints p50/p99/max write latency of each phase (phase 2: the writes that overlapped a snapshot), the
snapshots' durations and sizes. Timings are printed, never asserted.

  python3 bench/snapshot_write_bench.py --binary build/vjvector --points 200000 --dim 128 --seconds 20
"""

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
sys.argv, _argv = sys.argv[:1], sys.argv  # vjharness parses argv on import
import vjharness as vh  # noqa: E402
sys.argv = _argv


from write_stall_bench import percentile, summary  # noqa: E402  (write latency p50/p99/max)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join("build", "vjvector"))
    ap.add_argument("--points", type=int, default=200000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--shards", type=int, default=1)
    args = ap.parse_args()

    vh.BINARY = args.binary
    tmp = tempfile.mkdtemp(prefix="vj-snap-bench-")
    server = vh.Server(data_dir=os.path.join(tmp, "data"), log_dir=tmp)
    os.makedirs(server.data_dir)
    server.start()
    try:
        c = vh.Client("127.0.0.1", server.port, timeout=3600)
        c.create_collection("b", body={"vectors": {"size": args.dim, "distance": "Dot"}, "shard_number": args.shards})
        rnd = random.Random(1)

        def vec():
            return [round(rnd.uniform(-1, 1), 4) for _ in range(args.dim)]

        t0 = time.monotonic()
        for start in range(0, args.points, 1000):
            c.upsert("b", [{"id": i, "vector": vec(), "payload": {"i": i, "tag": "t%d" % (i % 100)}}
                           for i in range(start, min(args.points, start + 1000))])
        load_s = time.monotonic() - t0
        print(f"loaded {args.points} points of {args.dim} floats in {load_s:.1f} s")

        next_id = [args.points]
        snapshot_busy = [False]

        def write_for(seconds):
            out = []  # (latency, overlapped a snapshot)
            end = time.monotonic() + seconds
            wc = vh.Client("127.0.0.1", server.port, timeout=600)
            while time.monotonic() < end:
                pts = [{"id": next_id[0] + k, "vector": vec(), "payload": {"w": 1}} for k in range(args.batch)]
                next_id[0] += args.batch
                during = snapshot_busy[0]
                t = time.monotonic()
                r = wc.call("PUT", "/collections/b/points?wait=true", {"points": pts})
                lat = time.monotonic() - t
                if r.status != 200:
                    raise SystemExit(f"write failed: {r.describe()}")
                out.append((lat, during or snapshot_busy[0]))
            return out

        base = write_for(args.seconds)
        snaps = []
        stop = threading.Event()

        def snapshotter():
            sc = vh.Client("127.0.0.1", server.port, timeout=3600)
            while not stop.is_set():
                snapshot_busy[0] = True
                t = time.monotonic()
                info = sc.ok("POST", "/collections/b/snapshots?wait=true")
                snaps.append((time.monotonic() - t, info["size"]))
                snapshot_busy[0] = False
                sc.ok("DELETE", f"/collections/b/snapshots/{info['name']}")

        th = threading.Thread(target=snapshotter, daemon=True)
        th.start()
        during = write_for(args.seconds)
        stop.set()
        th.join()
        print(summary("without snapshots", [x for x, _ in base]))
        print(summary("during snapshots ", [x for x, o in during if o]))
        ds = sorted(d for d, _ in snaps)
        if ds:
            print(f"snapshots: {len(ds)}, duration p50 {percentile(ds, 0.5):.2f} s, max {ds[-1]:.2f} s, "
                  f"size {snaps[-1][1] / 2**20:.1f} MiB")
        print(json.dumps({"points": args.points, "dim": args.dim, "load_s": round(load_s, 1),
                          "snapshots": len(ds)}))
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

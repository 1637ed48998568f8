#!/usr/bin/env python3
"""Write latency while the server rebuilds its HNSW graph (compaction of tombstones), over HTTP.

Starts a vjvector binary (--binary) on a free loopback port with a temporary data dir, loads N random
points of DIM floats (wait=true, 1,000 per request), then sends wait=true upserts of BATCH points
that give existing points new vectors (each leaves a tombstone; once tombstones pass a fifth of the
live points the graph is rebuilt) until REPLACE points have been replaced. A side thread polls the
collection's status every 50 ms ("yellow" while a rebuild runs, on servers that rebuild in the
background). Prints p50/p99/max write latency over all replacement writes, over those that
overlapped a rebuild and over the others, and the number of writes slower than 1 s. Timings are printed, never asserted.

  python3 bench/write_stall_bench.py --binary build/vjvector --points 100000 --dim 128
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


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def summary(name, values):
    v = sorted(values)
    if not v:
        return f"{name}: no writes"
    return (f"{name}: {len(v)} writes, p50 {percentile(v, 0.5) * 1000:.1f} ms, p99 {percentile(v, 0.99) * 1000:.1f} ms, "
            f"max {v[-1] * 1000:.1f} ms, over 1 s: {sum(1 for x in v if x > 1.0)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join("build", "vjvector"))
    ap.add_argument("--points", type=int, default=100000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--batch", type=int, default=10, help="points per replacement write")
    ap.add_argument("--replace", type=int, default=0, help="points to replace (default: points / 2)")
    ap.add_argument("--server-env", default="", help="extra VJVECTOR_* settings, NAME=VALUE,...")
    ap.add_argument("--json", action="store_true", help="also print one JSON line")
    args = ap.parse_args()
    replace = args.replace or args.points // 2

    vh.BINARY = args.binary
    tmp = tempfile.mkdtemp(prefix="vj-write-bench-")
    env = dict(kv.split("=", 1) for kv in args.server_env.split(",") if kv)
    server = vh.Server(data_dir=os.path.join(tmp, "data"), log_dir=tmp, env=env)
    os.makedirs(server.data_dir)
    server.start()
    try:
        c = vh.Client("127.0.0.1", server.port, timeout=3600)
        c.create_collection("b", body={"vectors": {"size": args.dim, "distance": "Euclid"}})
        rnd = random.Random(1)

        def vec():
            return [round(rnd.uniform(-1, 1), 4) for _ in range(args.dim)]

        t0 = time.monotonic()
        for start in range(0, args.points, 1000):
            c.upsert("b", [{"id": i, "vector": vec()} for i in range(start, min(args.points, start + 1000))])
        load_s = time.monotonic() - t0

        rebuilding = [False]
        yellow_seen = [0]
        transitions = []  # (time, rebuilding) whenever the polled status changes
        stop = threading.Event()

        def poll():
            pc = vh.Client("127.0.0.1", server.port, timeout=60)
            while not stop.is_set():
                r = pc.call("GET", "/collections/b")
                if r.status == 200:
                    now = r.json["result"]["status"] == "yellow"
                    if now != rebuilding[0]:
                        transitions.append((time.monotonic() - t0, now))
                    rebuilding[0] = now
                    yellow_seen[0] += now
                time.sleep(0.05)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        all_writes, during, outside, starts = [], [], [], []
        t0 = time.monotonic()  # the poller reads it too
        for start in range(0, replace, args.batch):
            ids = [rnd.randrange(args.points) for _ in range(min(args.batch, replace - start))]
            body = {"points": [{"id": i, "vector": vec()} for i in ids]}
            raw = json.dumps(body).encode()
            was = rebuilding[0]
            w0 = time.monotonic()
            r = c.call("PUT", "/collections/b/points?wait=true", raw=raw)
            took = time.monotonic() - w0
            if r.status != 200:
                raise SystemExit(f"write failed: {r.describe()}")
            all_writes.append(took)
            starts.append(w0 - t0)
            if was or rebuilding[0]:
                during.append(took)
            else:
                outside.append(took)
        write_s = time.monotonic() - t0
        stop.set()
        poller.join()
        print(f"binary {args.binary}: {args.points} x {args.dim} loaded in {load_s:.1f} s; "
              f"{replace} points replaced in batches of {args.batch} in {write_s:.1f} s; "
              f"status polls that saw a rebuild: {yellow_seen[0]}")
        print(summary("all replacement writes", all_writes))
        slowest = sorted(range(len(all_writes)), key=lambda i: -all_writes[i])[:3]
        print("slowest writes (start s, ms): " + ", ".join(f"{starts[i]:.2f} s {all_writes[i] * 1000:.0f}"
                                                            for i in slowest))
        print("rebuild status changes (s): " + ", ".join(f"{t:.2f} {'start' if y else 'end'}"
                                                         for t, y in transitions))
        print(summary("writes overlapping a rebuild", during))
        print(summary("writes outside a rebuild", outside))
        if args.json:
            s = sorted(all_writes)
            print(json.dumps({"binary": args.binary, "points": args.points, "dim": args.dim, "batch": args.batch,
                              "writes": len(s), "p50_ms": percentile(s, 0.5) * 1000,
                              "p99_ms": percentile(s, 0.99) * 1000, "max_ms": s[-1] * 1000,
                              "over_1s": sum(1 for x in s if x > 1.0)}))
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Start-up cost of checking the mutation log (storage/point_store.h, PointStore::Open's CheckLog).

Starts a vjvector binary (--binary) with a temporary data dir, loads N random points of DIM floats
(wait=true, 1,000 per request, so the shard's log holds N entries), stops it, and restarts it twice:
once as is (every entry was written by this version and is marked checked: nothing is decoded), once
after removing the check mark with RocksDB's `ldb` (as for a store written by an older version: every
entry is decoded). Prints restart-to-ready times and the server's own "checked N mutation log entries
... in X s" line. Timings are printed, never asserted.

  python3 bench/log_check_bench.py --binary build/vjvector --points 100000 --dim 128
"""

import argparse
import glob
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
sys.argv, _argv = sys.argv[:1], sys.argv  # vjharness parses argv on import
import vjharness as vh  # noqa: E402
sys.argv = _argv


def timed_start(server):
    t0 = time.monotonic()
    server.start()
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join("build", "vjvector"))
    ap.add_argument("--points", type=int, default=100000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--ldb", default=shutil.which("ldb") or "ldb")
    args = ap.parse_args()

    vh.BINARY = args.binary
    tmp = tempfile.mkdtemp(prefix="vj-log-check-bench-")
    server = vh.Server(data_dir=os.path.join(tmp, "data"), log_dir=tmp)
    os.makedirs(server.data_dir)
    server.start()
    try:
        c = vh.Client("127.0.0.1", server.port, timeout=3600)
        c.create_collection("b", body={"vectors": {"size": args.dim, "distance": "Euclid"}})
        rnd = random.Random(1)
        t0 = time.monotonic()
        for start in range(0, args.points, 1000):
            c.upsert("b", [{"id": i, "vector": [round(rnd.uniform(-1, 1), 4) for _ in range(args.dim)],
                            "payload": {"n": i}} for i in range(start, min(args.points, start + 1000))])
        print(f"{args.points} x {args.dim} loaded in {time.monotonic() - t0:.1f} s")
        server.stop()
        marked = timed_start(server)
        server.stop()
        stores = glob.glob(os.path.join(server.data_dir, "**", "store"), recursive=True)
        for store in stores:
            subprocess.run([args.ldb, f"--db={store}", "delete", "meta/log_checked/1"], check=True,
                           stdout=subprocess.DEVNULL)
        unmarked = timed_start(server)
        log = server.stderr_text() + server.stdout_text()
        lines = [m for m in re.findall(r"[^\n]*checked \d+ mutation log entries[^\n]*", log)]
        print(f"restart to ready, log marked checked: {marked:.2f} s; after removing the mark in "
              f"{len(stores)} store(s): {unmarked:.2f} s")
        for line in lines:
            print("  " + line.strip())
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

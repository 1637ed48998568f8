#!/usr/bin/env python3
"""Bytes an incremental backup uploads after 1% of the points changed (docs/benchmarks.md, "Backups").

Starts a vjvector binary (--binary) on a free loopback port with a temporary data dir, loads N random
points of DIM floats with a small payload (wait=true, 1,000 per request) into one collection of SHARDS
shards, then:
  1. a full backup to a fresh directory target (POST /vjvector/backups),
  2. a second backup with nothing changed,
  3. CHANGED_PCT % of the points overwritten with new vectors (spread over the id space), a third backup,
  4. `vjvector backup verify` of the last one and `vjvector restore` into a fresh data directory,
and prints, per backup, the bytes of the backup, the bytes and chunks uploaded, and the time; the
store's and the index files' shares of the upload (from the manifests); and verify/restore times.
Timings and sizes are printed, never asserted.

  python3 bench/backup_bench.py --binary build/vjvector --points 100000 --dim 128
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
sys.argv, _argv = sys.argv[:1], sys.argv  # vjharness parses argv on import
import vjharness as vh  # noqa: E402
sys.argv = _argv


def mib(n):
    return f"{n / (1 << 20):.1f} MiB"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join("build", "vjvector"))
    ap.add_argument("--points", type=int, default=100000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--changed-pct", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    vh.BINARY = os.path.abspath(args.binary)
    rng = random.Random(args.seed)
    tmp = tempfile.mkdtemp(prefix="vj-backup-bench-")
    target = os.path.join(tmp, "target")
    server = vh.Server(data_dir=os.path.join(tmp, "data"), log_dir=tmp, port=vh.free_port())
    try:
        server.start()
        c = server.client
        c.create_collection("b", body={"vectors": {"size": args.dim, "distance": "Cosine"},
                                       "shard_number": args.shards})
        t0 = time.monotonic()
        for first in range(0, args.points, 1000):
            n = min(1000, args.points - first)
            c.upsert("b", [{"id": i, "vector": [rng.uniform(-1, 1) for _ in range(args.dim)],
                            "payload": {"i": i, "tag": f"t{i % 97}"}} for i in range(first, first + n)])
        print(f"loaded {args.points} x {args.dim}-d points in {time.monotonic() - t0:.1f} s ({args.shards} shards)")

        def backup(label):
            r = c.ok("POST", "/vjvector/backups", {"to": "file://" + target}, timeout=3600)
            print(f"{label:<34} backup {mib(r['bytes']):>10}  uploaded {mib(r['bytes_uploaded']):>10} "
                  f"({100.0 * r['bytes_uploaded'] / max(1, r['bytes']):5.1f}%, {r['chunks_uploaded']}/{r['chunks']} "
                  f"chunks)  {r['seconds']:.2f} s")
            return r

        first = backup("1. full backup")
        backup("2. nothing changed")
        changed = max(1, int(args.points * args.changed_pct / 100))
        ids = rng.sample(range(args.points), changed)
        for k in range(0, changed, 1000):
            c.upsert("b", [{"id": i, "vector": [rng.uniform(-1, 1) for _ in range(args.dim)],
                            "payload": {"i": i, "tag": "changed"}} for i in ids[k:k + 1000]])
        third = backup(f"3. after {args.changed_pct:g}% changed ({changed} pts)")

        # Where the third backup's new bytes are: store files or index files.
        with open(os.path.join(target, "backups", first["id"] + ".json")) as f:
            before = json.load(f)
        with open(os.path.join(target, "backups", third["id"] + ".json")) as f:
            after = json.load(f)
        known = {h for col in before["collections"] for fl in col["files"] for h in fl["chunks"]}
        shares = {}
        for col in after["collections"]:
            for fl in col["files"]:
                kind = "index" if "/index/" in fl["path"] else "store" if "/store/" in fl["path"] else "other"
                new = sum(1 for h in fl["chunks"] if h not in known)
                total = shares.setdefault(kind, [0, 0])
                total[0] += new
                total[1] += len(fl["chunks"])
        for kind, (new, total) in sorted(shares.items()):
            print(f"   third backup, {kind:<5} files: {new} of {total} chunks new since the first backup")
        server.stop()

        t0 = time.monotonic()
        done = subprocess.run([vh.BINARY, "backup", "verify", "--from", target, "--backup", third["id"],
                               "--scratch", os.path.join(tmp, "scratch")], capture_output=True, text=True)
        print(f"verify: {done.stdout.strip() or done.stderr.strip()}  {time.monotonic() - t0:.2f} s")
        t0 = time.monotonic()
        done = subprocess.run([vh.BINARY, "restore", "--from", target, "--backup", third["id"], "--data-dir",
                               os.path.join(tmp, "restored")], capture_output=True, text=True)
        print(f"restore: {done.stdout.strip() or done.stderr.strip()}  {time.monotonic() - t0:.2f} s")
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Self-recall probe: does every stored point come back first for its own vector?

Starts a vjvector binary (--binary) on a free loopback port with a temporary data dir, creates one
collection (--dim floats, --distance, HNSW --m / --ef-construct), stores --points uniform random vectors
in [-1, 1] (seeded), then queries each point's own vector with limit 1 at every --ef, and once exactly.
Prints, per ef, the points that did not come back first. A point missed at an ef as large as the
collection cannot be reached by any walk of the graph (no path leads to it): a recall ceiling that no
ef lifts. Nothing is asserted; issue 21 (the engine) tracks the misses.

  python3 bench/self_recall_probe.py --binary build/vjvector --points 2000 --dim 8 --ef 64,2000
"""

import argparse
import os
import random
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
sys.argv, _argv = sys.argv[:1], sys.argv  # vjharness parses argv on import
import vjharness as vh  # noqa: E402
sys.argv = _argv


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join("build", "vjvector"))
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--dim", type=int, default=8)
    ap.add_argument("--distance", default="Euclid")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construct", type=int, default=100)
    ap.add_argument("--ef", default="64,2000", help="comma-separated hnsw_ef values")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    vh.BINARY = os.path.abspath(args.binary)

    tmp = tempfile.mkdtemp(prefix="vj-self-recall-")
    server = vh.Server(data_dir=os.path.join(tmp, "data"), log_dir=tmp, port=vh.free_port(),
                       extra_args=["--p2p-port", "0"])
    try:
        server.start()
        c = server.client
        c.ok("PUT", "/collections/probe", {"vectors": {"size": args.dim, "distance": args.distance},
                                           "hnsw_config": {"m": args.m, "ef_construct": args.ef_construct,
                                                           "full_scan_threshold": 0}})
        rnd = random.Random(args.seed)
        points = [{"id": i, "vector": [rnd.uniform(-1, 1) for _ in range(args.dim)]} for i in range(args.points)]
        for i in range(0, len(points), 500):
            c.ok("PUT", "/collections/probe/points?wait=true", {"points": points[i:i + 500]})
        runs = [("exact", {"exact": True})] + [(f"ef {ef}", {"hnsw_ef": int(ef)}) for ef in args.ef.split(",")]
        for label, params in runs:
            missed = []
            for p in points:
                got = c.ok("POST", "/collections/probe/points/query",
                           {"query": p["vector"], "limit": 1, "params": params})
                if not got["points"] or got["points"][0]["id"] != p["id"]:
                    missed.append(p["id"])
            print(f"{label}: {len(missed)} of {len(points)} points not first for their own vector "
                  f"({100.0 * len(missed) / len(points):.2f}%): {missed[:20]}", flush=True)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

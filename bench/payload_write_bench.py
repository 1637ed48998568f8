"""Payload-write cost of the poison-pill checks: set_payload (a merge under a key, then the result's
depth and size check) and delete_payload, timed against a real server, plus the time to refuse the
attacker's 50,000-segment key. Run it against two binaries to compare:

  python3 bench/payload_write_bench.py --binary build/vjvector [--points 1000] [--payload-kb 10]

Prints medians; nothing is asserted.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import vjharness as vh  # noqa: E402


def timed(fn, repeats):
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--payload-kb", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    # The harness takes --binary (and removes it from argv) when imported.
    data = tempfile.mkdtemp(prefix="vj-payload-bench-")
    server = vh.Server(data_dir=data).start()
    try:
        c = server.client
        c.create_collection("b", body={"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 1})
        text = "x" * (args.payload_kb * 1024)
        for start in range(0, args.points, 500):
            c.upsert("b", [{"id": i, "vector": [1.0, 0.0, 0.0, float(i)], "payload": {"doc": text, "meta": {"i": i}}}
                           for i in range(start, min(args.points, start + 500))])
        ids = list(range(args.points))
        set_ms = timed(lambda: c.ok("POST", "/collections/b/points/payload?wait=true",
                                    {"payload": {"v": 1}, "points": ids, "key": "meta.tags"}), args.repeats)
        delete_ms = timed(lambda: c.ok("POST", "/collections/b/points/payload/delete?wait=true",
                                       {"keys": ["meta.tags.v"], "points": ids}), args.repeats)
        key = ".".join("k" for _ in range(50000))
        start = time.perf_counter()
        try:
            status = c.call("POST", "/collections/b/points/payload?wait=true",
                            {"payload": {"x": 1}, "points": [0], "key": key}).status
        except (ConnectionError, OSError) as e:
            status = f"no answer ({type(e).__name__})"
        attack_ms = (time.perf_counter() - start) * 1000
        time.sleep(0.5)
        print(f"binary {vh.BINARY}: {args.points} points x {args.payload_kb} KB payload")
        print(f"  set_payload under a key, all points:   {set_ms:8.1f} ms (median of {args.repeats})")
        print(f"  delete_payload of a nested key, all:   {delete_ms:8.1f} ms (median of {args.repeats})")
        print(f"  50,000-segment key: HTTP {status}, {attack_ms:.1f} ms; server alive: {server.alive()}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()

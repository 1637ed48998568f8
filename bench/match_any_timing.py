"""Times POST /points/count with an unindexed match.any of 10,000 integers over 20,000 points against a
real vjvector binary (3 runs, seconds, printed; never asserted). Compare two builds:
  python3 bench/match_any_timing.py /work/main/build/vjvector
  python3 bench/match_any_timing.py build/vjvector"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import vjharness as vh  # noqa: E402


def main():
    vh.BINARY = sys.argv[1] if len(sys.argv) > 1 else vh.BINARY
    server = vh.Server(data_dir=tempfile.mkdtemp(prefix="vj-any-"))
    server.start()
    try:
        c = server.client
        c.create_collection("t", size=2, distance="Dot")
        for start in range(0, 20000, 2000):
            c.upsert("t", [{"id": i, "vector": [1.0, float(i % 7)], "payload": {"n": i}}
                           for i in range(start, start + 2000)])
        body = {"filter": {"must": [{"key": "n", "match": {"any": list(range(1, 20000, 2))}}]}, "exact": True}
        times = []
        for _ in range(3):
            start = time.monotonic()
            count = c.ok("POST", "/collections/t/points/count", body)["count"]
            times.append(time.monotonic() - start)
        print(f"{vh.BINARY}: count={count} seconds={' '.join(f'{t:.3f}' for t in times)}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()

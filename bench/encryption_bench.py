"""Cost of encryption at rest: ingest throughput and query throughput from memory, with and without
encryption, against the real server. Runs alternate (plain, encrypted, encrypted, plain, ...) so that
drift of a shared machine falls on both; each run starts a fresh node on a fresh data directory.

  python3 bench/encryption_bench.py --binary build/vjvector [--points 20000] [--dim 128] [--rounds 3]

Ingest: wait=true upserts of --batch points from --writers threads (every write is fsynced through the
encrypted WAL). Queries: top-10 searches from --readers threads after the ingest (the index is in RAM).
Prints each run, then medians and the encrypted/plain ratios; nothing is asserted.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import vjharness as vh  # noqa: E402


def run_threads(n, fn):
    threads = [threading.Thread(target=fn, args=(i,)) for i in range(n)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def one_run(encrypted, args, key_file, vectors, queries):
    data = tempfile.mkdtemp(prefix="vj-enc-bench-")
    env = {"VJVECTOR_STORAGE_INDEX_SNAPSHOT_INTERVAL_S": "0", "VJVECTOR_STORAGE_INDEX_SNAPSHOT_EVERY_MUTATIONS": "0"}
    if encrypted:
        env.update({"VJVECTOR_ENCRYPTION_ENABLED": "true", "VJVECTOR_ENCRYPTION_MASTER_KEY_FILE": key_file})
    server = vh.Server(data_dir=data, env=env).start()
    try:
        server.client.create_collection("b", body={"vectors": {"size": args.dim, "distance": "Cosine"},
                                                   "shard_number": 1})
        batches = [list(range(s, min(args.points, s + args.batch))) for s in range(0, args.points, args.batch)]

        def writer(w):
            c = vh.Client("127.0.0.1", server.port, timeout=120)
            for b in batches[w::args.writers]:
                c.ok("PUT", "/collections/b/points?wait=true",
                     {"points": [{"id": i, "vector": vectors[i], "payload": {"text": f"document {i} " * 4}}
                                 for i in b]})

        ingest_s = run_threads(args.writers, writer)

        def reader(r):
            c = vh.Client("127.0.0.1", server.port, timeout=120)
            for q in queries[r::args.readers]:
                c.ok("POST", "/collections/b/points/search", {"vector": q, "limit": 10})

        run_threads(args.readers, reader)  # warm-up pass
        query_s = run_threads(args.readers, reader)
        return args.points / ingest_s, len(queries) / query_s
    finally:
        server.stop()
        vh.shutil.rmtree(data, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=20000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--queries", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(7)
    vectors = [[rng.gauss(0, 1) for _ in range(args.dim)] for _ in range(args.points)]
    queries = [[rng.gauss(0, 1) for _ in range(args.dim)] for _ in range(args.queries)]
    key_dir = tempfile.mkdtemp(prefix="vj-enc-bench-key-")
    key_file = os.path.join(key_dir, "master.key")
    with open(key_file, "w") as f:
        f.write(os.urandom(32).hex())
    os.chmod(key_file, 0o600)
    results = {False: [], True: []}
    for r in range(args.rounds):
        for encrypted in ((False, True) if r % 2 == 0 else (True, False)):
            ingest, qps = one_run(encrypted, args, key_file, vectors, queries)
            results[encrypted].append((ingest, qps))
            print(f"round {r} {'encrypted' if encrypted else 'plain    '}: ingest {ingest:8.0f} points/s, "
                  f"queries {qps:8.0f}/s", flush=True)
    med = {e: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for e, v in results.items()}
    print(f"median plain:     ingest {med[False][0]:8.0f} points/s, queries {med[False][1]:8.0f}/s")
    print(f"median encrypted: ingest {med[True][0]:8.0f} points/s, queries {med[True][1]:8.0f}/s")
    print(f"encrypted/plain:  ingest {med[True][0] / med[False][0]:.3f}, queries {med[True][1] / med[False][1]:.3f}")
    vh.shutil.rmtree(key_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Sparse vector benchmark: --docs documents (default 100000) of ~--nnz non-zero entries (default 50) drawn
from a Zipf vocabulary of --vocab indices, loaded into a standalone vjvector (one shard, sparse vector
"text"), then --queries sparse queries of --qnnz entries, timed as

  server     POST /points/query {"query": {"indices", "values"}, "using": "text", "limit": 10}: QPS at one
             client, over HTTP on loopback (the exact inverted index, term at a time)
  filtered   the same with a payload filter admitting ~10% of the documents
  idf        the same on a collection with modifier "idf"
  brute      an exhaustive scan in plain Python (dict look-ups, no numpy) over the same documents, as the
             reference: its top 10 must equal the server's (ids; scores within 1e-3), so the numbers
             compare two ways of getting the same answer

Python 3 standard library only; uses the e2e harness for the process. Timings are printed, never asserted.

  bench/sparse_bench.py [--binary build/vjvector] [--docs 100000] [--nnz 50] [--queries 200] [--json]
"""

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import vjharness as vh  # noqa: E402


def zipf_sampler(rnd, vocab, s=1.1):
    weights = [1.0 / (i + 1) ** s for i in range(vocab)]
    total = sum(weights)
    cum, acc = [], 0.0
    for w in weights:
        acc += w / total
        cum.append(acc)

    def draw():
        import bisect
        return min(bisect.bisect_left(cum, rnd.random()), vocab - 1)
    return draw


def make_vector(rnd, draw, nnz):
    idx = set()
    target = max(1, int(rnd.gauss(nnz, nnz / 4)))
    while len(idx) < target:
        idx.add(draw())
    idx = sorted(idx)
    return {"indices": idx, "values": [vh.f32(rnd.uniform(0.1, 3.0)) for _ in idx]}


def brute_top(docs, q, k, weights=None, allowed=None):
    qd = {i: v * (weights[i] if weights else 1.0) for i, v in zip(q["indices"], q["values"])}
    scored = []
    for pid, d in enumerate(docs):
        if allowed is not None and not allowed(pid):
            continue
        s, hit = 0.0, False
        for i, v in zip(d["indices"], d["values"]):
            w = qd.get(i)
            if w is not None:
                s += w * v
                hit = True
        if hit:
            scored.append((-s, pid))
    scored.sort()
    return [(pid, -s) for s, pid in scored[:k]]


def load(client, name, docs, idf):
    client.create_collection(name, body={"sparse_vectors": {"text": {"modifier": "idf" if idf else "none"}}})
    client.ok("PUT", f"/collections/{name}/index?wait=true", {"field_name": "g", "field_schema": "integer"})
    start = time.monotonic()
    for i in range(0, len(docs), 1000):
        pts = [{"id": pid, "vector": {"text": docs[pid]}, "payload": {"g": pid % 10}}
               for pid in range(i, min(i + 1000, len(docs)))]
        client.ok("PUT", f"/collections/{name}/points?wait=true", {"points": pts})
    return len(docs) / (time.monotonic() - start)


def run_queries(client, name, queries, flt=None):
    answers = []
    start = time.monotonic()
    for q in queries:
        body = {"query": q, "using": "text", "limit": 10}
        if flt:
            body["filter"] = flt
        answers.append(client.ok("POST", f"/collections/{name}/points/query", body)["points"])
    return len(queries) / (time.monotonic() - start), answers


def same(server, brute):
    if len(server) != len(brute):
        return False
    return all(abs(p["score"] - s) <= 1e-3 * (1 + abs(s)) for p, (_, s) in zip(server, brute)) and \
        [p["id"] for p in server][:3] == [pid for pid, _ in brute][:3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=vh.BINARY)
    ap.add_argument("--docs", type=int, default=100000)
    ap.add_argument("--nnz", type=int, default=50)
    ap.add_argument("--vocab", type=int, default=30000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--qnnz", type=int, default=5)
    ap.add_argument("--brute-queries", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    vh.BINARY = os.path.abspath(args.binary)

    rnd = random.Random(7)
    draw = zipf_sampler(rnd, args.vocab)
    docs = [make_vector(rnd, draw, args.nnz) for _ in range(args.docs)]
    queries = [make_vector(rnd, draw, args.qnnz) for _ in range(args.queries)]
    tmp = tempfile.mkdtemp(prefix="vj-sparse-bench-")
    server = vh.Server(data_dir=os.path.join(tmp, "data"), log_dir=tmp)
    os.makedirs(server.data_dir, exist_ok=True)
    server.start()
    out = {"docs": args.docs, "nnz": args.nnz, "vocab": args.vocab, "queries": args.queries, "qnnz": args.qnnz}
    try:
        client = server.client
        out["ingest_points_per_s"] = load(client, "plain", docs, False)
        out["server_qps"], plain = run_queries(client, "plain", queries)
        flt = {"must": [{"key": "g", "match": {"value": 3}}]}
        out["server_filtered_qps"], filtered = run_queries(client, "plain", queries, flt)
        load(client, "idf", docs, True)
        out["server_idf_qps"], with_idf = run_queries(client, "idf", queries)

        n = min(args.brute_queries, len(queries))
        start = time.monotonic()
        brute = [brute_top(docs, q, 10) for q in queries[:n]]
        out["brute_python_qps"] = n / (time.monotonic() - start)
        out["server_equals_brute"] = all(same(plain[i], brute[i]) for i in range(n))
        out["filtered_equals_brute"] = all(
            same(filtered[i], brute_top(docs, queries[i], 10, allowed=lambda pid: pid % 10 == 3)) for i in range(n))
        ok_idf = True
        for i in range(n):
            q = queries[i]
            w = {}
            for t in q["indices"]:
                df = sum(1 for d in docs if t in d["indices"])
                w[t] = math.log((len(docs) - df + 0.5) / (df + 0.5) + 1)
            ok_idf = ok_idf and same(with_idf[i], brute_top(docs, q, 10, weights=w))
        out["idf_equals_brute"] = ok_idf
    finally:
        server.stop()
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:24s} {v:.1f}" if isinstance(v, float) else f"{k:24s} {v}")


if __name__ == "__main__":
    main()

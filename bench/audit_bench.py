#!/usr/bin/env python3
"""What the audit log costs search: the same searches against nodes with the audit log off and on.

Starts the real vjvector binary once per configuration, side by side, each with security.api_key:

  off        audit.enabled false
  off-2      a second such node: the A/A control, whose ratio to off is the noise floor
  on         audit.enabled true, a file in the node's directory, audit.fsync true (the defaults)
  on-hmac    the same with audit.hmac_key_file
  on-nosync  `on` with audit.fsync false

Each loads the same collection (--points random --dim vectors, fixed seed). Then, per round (order
rotated each round):

  1c inter.  one client holding a keep-alive connection to every node sends each of --queries searches
             (limit 10) to every node in turn (A B C D A B C D ...), so that all nodes see the same
             moments of this shared machine's noise: p50/p99 latency per node, and each server's own CPU
             time per search (/proc/PID/task/*/schedstat), all threads ("cpu") and the audit writer
             thread alone ("writer")
  N clients  --queries searches from --clients threads (keep-alive each), one node at a time: QPS, and
             the server's CPU per search (all threads / the writer) at that load

Every figure is the median over --rounds rounds; a ratio is the median of the per-round ratios to
`off`. Timings are printed, never asserted. Python 3 standard library only.

  python3 bench/audit_bench.py [--binary build/vjvector] [--points 5000] [--dim 128] [--queries 2000]
                               [--rounds 5] [--clients 4] [--json]
"""

import argparse
import json
import os
import secrets
import shutil
import tempfile

from node_bench import interleaved, load, log, percentile, throughput, vh  # bench/, this script's folder
import node_bench

API_KEY = "bench-audit-key-0123456789abcdef"
CONFIGS = ("off", "off-2", "on", "on-hmac", "on-nosync")


class Node(node_bench.Node):
    """A node with security.api_key; cpu_s() is (all threads, the audit writer thread "vj-audit")."""

    def __init__(self, config, tmp):
        super().__init__(config, tmp, api_key=API_KEY, thread="vj-audit")

    def env(self):
        env = {"VJVECTOR_SECURITY_API_KEY": API_KEY}
        if self.config.startswith("on"):
            env["VJVECTOR_AUDIT_ENABLED"] = "true"
            env["VJVECTOR_AUDIT_PATH"] = os.path.join(self.dir, "audit", "audit.log")
        if self.config == "on-nosync":
            env["VJVECTOR_AUDIT_FSYNC"] = "false"
        if self.config == "on-hmac":
            key_file = os.path.join(self.dir, "audit.key")
            with open(key_file, "w") as f:
                f.write(secrets.token_hex(32))
            env["VJVECTOR_AUDIT_HMAC_KEY_FILE"] = key_file
        return env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=vh.BINARY)
    ap.add_argument("--points", type=int, default=5000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    vh.BINARY = os.path.abspath(args.binary)
    tmp = tempfile.mkdtemp(prefix="vj-audit-bench-")
    nodes = [Node(c, tmp) for c in CONFIGS]
    try:
        for n in nodes:
            n.server.start()
            load(n, args.points, args.dim, 7)
        bodies = node_bench.search_bodies(args.queries, args.dim, 11)
        rounds = []
        for r in range(args.rounds):
            order = nodes[r % len(nodes):] + nodes[:r % len(nodes)]
            lat, cpu, writer = interleaved(order, bodies)
            loaded = {n.config: throughput(n, bodies, args.clients) for n in order}
            qps = {c: v[0] for c, v in loaded.items()}
            rounds.append({"p50": {c: percentile(v, 50) for c, v in lat.items()},
                           "p99": {c: percentile(v, 99) for c, v in lat.items()},
                           "cpu": cpu, "writer": writer, "qps": qps,
                           "cpu_n": {c: v[1] for c, v in loaded.items()},
                           "writer_n": {c: v[2] for c, v in loaded.items()}})
            log(f"round {r + 1}: " + ", ".join(f"{c} {qps[c]:.0f} qps cpu {cpu[c] * 1e6:.0f} us" for c in CONFIGS))
    finally:
        for n in nodes:
            n.server.stop()
    records = {}
    for n in nodes:
        audit_dir = os.path.join(n.dir, "audit")
        records[n.config] = 0
        for f in os.listdir(audit_dir) if os.path.isdir(audit_dir) else []:
            with open(os.path.join(audit_dir, f)) as fh:
                records[n.config] += sum(1 for _ in fh)

    med, ratio = node_bench.summaries(rounds)

    print(f"audit bench: {args.points} points dim {args.dim}, {args.queries} searches x {args.rounds} rounds, "
          f"{args.clients} clients for QPS")
    print("1c inter.: p50/p99 latency, server CPU per search (all threads / the audit writer);"
          f" N clients: QPS and server CPU per search at {args.clients} clients")
    print(f"{'config':9} {'p50 ms':>8} {'p99 ms':>8} {'cpu us/q':>9} {'writer':>7} {'QPS':>7} {'cpu us/q':>9} "
          f"{'writer':>7} | ratios to off: {'p50':>6} {'cpu/q':>6} {'QPS':>6} {'Ncpu/q':>6}  records")
    out = {}
    for c in CONFIGS:
        row = {"p50_ms": med("p50", c) * 1e3, "p99_ms": med("p99", c) * 1e3, "cpu_us": med("cpu", c) * 1e6,
               "writer_us": med("writer", c) * 1e6, "qps": med("qps", c),
               "n_cpu_us": med("cpu_n", c) * 1e6, "n_writer_us": med("writer_n", c) * 1e6,
               "n_cpu_ratio": ratio("cpu_n", c), "p50_ratio": ratio("p50", c), "cpu_ratio": ratio("cpu", c),
               "qps_ratio": ratio("qps", c), "audit_records": records[c]}
        out[c] = row
        print(f"{c:9} {row['p50_ms']:8.3f} {row['p99_ms']:8.3f} {row['cpu_us']:9.1f} {row['writer_us']:7.1f} "
              f"{row['qps']:7.0f} {row['n_cpu_us']:9.1f} {row['n_writer_us']:7.1f} | "
              f"{'':15}{row['p50_ratio']:6.3f} {row['cpu_ratio']:6.3f} {row['qps_ratio']:6.3f} "
              f"{row['n_cpu_ratio']:6.3f}  {records[c]}")
    print("A/A noise floor: the off-2 row's ratios")
    if args.json:
        print(json.dumps(out))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

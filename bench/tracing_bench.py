#!/usr/bin/env python3
"""What tracing costs search: the same searches against nodes with tracing off and on (issue 16).

Starts the real vjvector binary once per configuration, side by side, and a null OTLP collector (a
separate Python process that answers every POST /v1/traces with 200 after reading it):

  off        tracing.otlp_endpoint empty (the default): spans cost a branch
  off-2      a second such node: the A/A control, whose ratio to off is the noise floor
  on-1%      tracing.otlp_endpoint set, tracing.sample_ratio 0.01
  on-100%    tracing.sample_ratio 1: every search is a trace of 3 spans (request, authentication,
             shard search) sent to the collector in batches

Each loads the same collection (--points random --dim vectors, fixed seed). Then, per round (order
rotated each round):

  1c inter.  one client holding a keep-alive connection to every node sends each of --queries searches
             (limit 10) to every node in turn (A B C D A B C D ...), so that all nodes see the same
             moments of this shared machine's noise: p50/p99 latency per node, and each server's own CPU
             time per search (/proc/PID/task/*/schedstat, all threads, the exporter's included)
  N clients  --queries searches from --clients threads (keep-alive each), one node at a time: QPS, and
             the server's CPU per search at that load

Every figure is the median over --rounds rounds; a ratio is the median of the per-round ratios to
`off`. Timings are printed, never asserted. Python 3 standard library only.

  python3 bench/tracing_bench.py [--binary build/vjvector] [--points 2000] [--dim 32] [--queries 1000]
                                 [--rounds 3] [--clients 2] [--json]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from node_bench import interleaved, load, log, percentile, throughput, vh  # bench/, this script's folder
import node_bench

CONFIGS = ("off", "off-2", "on-1%", "on-100%")
RATIO = {"on-1%": "0.01", "on-100%": "1"}

# The null collector: reads each export and answers 200 {} (what a collector answers on success).
SINK = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


class Node(node_bench.Node):
    """A node exporting to the collector at `endpoint` when its config is in RATIO; cpu_s() is all threads."""

    def __init__(self, config, tmp, endpoint):
        self.endpoint = endpoint
        super().__init__(config, tmp)

    def env(self):
        if self.config not in RATIO:
            return {}
        return {"VJVECTOR_TRACING_OTLP_ENDPOINT": self.endpoint, "VJVECTOR_TRACING_SAMPLE_RATIO": RATIO[self.config]}

    def spans(self):
        """(exported, dropped) from the node's /metrics."""
        conn = self.connect()
        text = self.call(conn, "GET", "/metrics").decode()
        conn.close()
        exported = re.search(r"^vjvector_trace_spans_exported_total (\S+)$", text, re.M)
        dropped = re.findall(r"^vjvector_trace_spans_dropped_total\{[^}]*\} (\S+)$", text, re.M)
        return (float(exported.group(1)) if exported else 0, sum(float(d) for d in dropped))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=vh.BINARY)
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    vh.BINARY = os.path.abspath(args.binary)
    tmp = tempfile.mkdtemp(prefix="vj-tracing-bench-")
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    endpoint = f"http://127.0.0.1:{int(sink.stdout.readline())}"
    nodes = [Node(c, tmp, endpoint) for c in CONFIGS]
    started = time.monotonic()
    try:
        for n in nodes:
            n.server.start()
            load(n, args.points, args.dim, 7)
        bodies = node_bench.search_bodies(args.queries, args.dim, 11)
        rounds = []
        for r in range(args.rounds):
            order = nodes[r % len(nodes):] + nodes[:r % len(nodes)]
            lat, cpu = interleaved(order, bodies)
            loaded = {n.config: throughput(n, bodies, args.clients) for n in order}
            qps = {c: v[0] for c, v in loaded.items()}
            rounds.append({"p50": {c: percentile(v, 50) for c, v in lat.items()},
                           "p99": {c: percentile(v, 99) for c, v in lat.items()},
                           "cpu": cpu, "qps": qps, "cpu_n": {c: v[1] for c, v in loaded.items()}})
            log(f"round {r + 1}: " + ", ".join(f"{c} {qps[c]:.0f} qps cpu {cpu[c] * 1e6:.0f} us" for c in CONFIGS))
        time.sleep(1.5)  # the exporters' last batches (flush interval 1 s) before the counts are read
        spans = {n.config: n.spans() for n in nodes}
    finally:
        for n in nodes:
            n.server.stop()
        sink.kill()

    med, ratio = node_bench.summaries(rounds)

    print(f"tracing bench: {args.points} points dim {args.dim}, {args.queries} searches x {args.rounds} rounds, "
          f"{args.clients} clients for QPS, {time.monotonic() - started:.0f} s")
    print("1c inter.: p50/p99 latency, server CPU per search (all threads); N clients: QPS and server CPU per "
          f"search at {args.clients} clients")
    print(f"{'config':9} {'p50 ms':>8} {'p99 ms':>8} {'cpu us/q':>9} {'QPS':>7} {'cpu us/q':>9} | "
          f"ratios to off: {'p50':>6} {'cpu/q':>6} {'QPS':>6} {'Ncpu/q':>6}  spans exported/dropped")
    out = {}
    for c in CONFIGS:
        row = {"p50_ms": med("p50", c) * 1e3, "p99_ms": med("p99", c) * 1e3, "cpu_us": med("cpu", c) * 1e6,
               "qps": med("qps", c), "n_cpu_us": med("cpu_n", c) * 1e6, "n_cpu_ratio": ratio("cpu_n", c),
               "p50_ratio": ratio("p50", c), "cpu_ratio": ratio("cpu", c), "qps_ratio": ratio("qps", c),
               "spans_exported": spans[c][0], "spans_dropped": spans[c][1]}
        out[c] = row
        print(f"{c:9} {row['p50_ms']:8.3f} {row['p99_ms']:8.3f} {row['cpu_us']:9.1f} {row['qps']:7.0f} "
              f"{row['n_cpu_us']:9.1f} | {'':15}{row['p50_ratio']:6.3f} {row['cpu_ratio']:6.3f} "
              f"{row['qps_ratio']:6.3f} {row['n_cpu_ratio']:6.3f}  {spans[c][0]:.0f}/{spans[c][1]:.0f}")
    print("A/A noise floor: the off-2 row's ratios")
    if args.json:
        print(json.dumps(out))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Cluster benchmark (issue "Cluster mode on etcd"): starts a real etcd and three vjvector nodes on
loopback, plus a standalone node as the peer, and measures

  ingest     points/s with write_consistency_factor 1, 2 and 3 (shard_number 3, replication_factor 3;
             batches of --batch points, wait=true, one client), beside the standalone node
  lag        replication lag in log entries under a sustained write load (write_consistency_factor 1,
             two writers), sampled from the primaries' /metrics, and the time replicas need to catch up
             once the writers stop
  failover   time from kill -9 of a shard's primary to the first acknowledged write (lease TTL
             --lease-ttl), over --failovers rounds, the killed node restarted and caught up each time
  queries    with --fmnist DIR: `vjvector-bench rest` against the cluster (3 shards) and against a
             standalone node, same data and queries: QPS at 1 and 8 clients, and the ratio

Python 3 standard library only; uses the e2e harness for processes. All three nodes share this
machine's cores, so the query comparison shows the cost of the fan-out and forwarding, not scale-out.

  bench/cluster_bench.py [--binary build/vjvector] [--bench build/vjvector-bench] [--points 20000]
                         [--fmnist /tmp/vjbench/fmnist] [--json]
"""

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))

import vjharness as vh  # noqa: E402  (after the path change)
import cluster_harness as ch  # noqa: E402

DIM = 128


def log(msg):
    print(msg, flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="vjbench-cluster-")
        self.etcd = ch.Etcd(self.tmp)
        self.nodes = {}
        self.results = []

    # -- processes ---------------------------------------------------------------------------------

    def start_node(self, name, cluster=True):
        args = ["--etcd", self.etcd.url, "--node-id", name, "--lease-ttl", str(self.args.lease_ttl),
                "--p2p-port", "0"] if cluster else []
        s = vh.Server(data_dir=os.path.join(self.tmp, name), log_dir=os.path.join(self.tmp, "log-" + name),
                      extra_args=args)
        os.makedirs(s.log_dir, exist_ok=True)
        s.start()
        return s

    def start(self):
        self.etcd.start()
        for name in ("n1", "n2", "n3"):
            self.nodes[name] = self.start_node(name)
        self.single = self.start_node("single", cluster=False)

    def stop(self):
        for s in list(self.nodes.values()) + [self.single]:
            s.stop()
        self.etcd.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def report(self, measure, **fields):
        self.results.append(dict(measure=measure, **fields))
        if self.args.json:
            print(json.dumps(dict(measure=measure, **fields)), flush=True)

    # -- helpers -------------------------------------------------------------------------------------

    def client(self, name):
        return self.nodes[name].client

    def create(self, name, shards, rf, wcf, via="n1"):
        self.client(via).create_collection(name, body={"vectors": {"size": DIM, "distance": "Euclid"},
                                                       "shard_number": shards, "replication_factor": rf,
                                                       "write_consistency_factor": wcf})

    def bodies(self, n, start=0, seed=1):
        rnd = random.Random(seed)
        out = []
        for b in range(start, start + n, self.args.batch):
            pts = [{"id": i, "vector": [round(rnd.uniform(-1, 1), 5) for _ in range(DIM)], "payload": {"i": i}}
                   for i in range(b, min(start + n, b + self.args.batch))]
            out.append(json.dumps({"points": pts}).encode())
        return out

    @staticmethod
    def put(client, collection, raw):
        r = client.call("PUT", f"/collections/{collection}/points?wait=true", raw=raw, timeout=120)
        if r.status != 200:
            raise AssertionError(r.describe())

    def primaries(self, collection):
        return [s["primary"] for s in self.client("n1").ok("GET", f"/collections/{collection}/cluster")["shards"]]

    # -- measurements --------------------------------------------------------------------------------

    def ingest(self):
        bodies = self.bodies(self.args.points)
        single = self.single.client
        single.create_collection("ingest", body={"vectors": {"size": DIM, "distance": "Euclid"}})
        t = time.monotonic()
        for raw in bodies:
            self.put(single, "ingest", raw)
        single_pps = self.args.points / (time.monotonic() - t)
        log(f"ingest, {self.args.points} points x {DIM}, batches of {self.args.batch}, wait=true, 1 client:")
        log(f"  standalone node: {single_pps:,.0f} points/s")
        self.report("ingest", config="standalone", points_per_s=round(single_pps, 1))
        names = list(self.nodes)
        for wcf in (1, 2, 3):
            coll = f"ingest_w{wcf}"
            self.create(coll, 3, 3, wcf)
            t = time.monotonic()
            for k, raw in enumerate(bodies):
                self.put(self.client(names[k % 3]), coll, raw)
            pps = self.args.points / (time.monotonic() - t)
            log(f"  cluster, 3 shards x 3 replicas, write_consistency_factor {wcf}: {pps:,.0f} points/s "
                f"({pps / single_pps:.2f}x the standalone node)")
            self.report("ingest", config=f"cluster rf3 wcf{wcf}", points_per_s=round(pps, 1),
                        ratio_to_standalone=round(pps / single_pps, 3))
            self.client("n1").ok("DELETE", f"/collections/{coll}")

    def lag(self):
        coll = "lag"
        self.create(coll, 3, 3, 1)
        stop = threading.Event()
        written = [0]
        names = list(self.nodes)

        def writer(index):
            rnd = random.Random(index)
            next_id = index * 10 ** 8
            k = index
            while not stop.is_set():
                pts = [{"id": next_id + j, "vector": [rnd.uniform(-1, 1) for _ in range(DIM)]} for j in range(64)]
                next_id += 64
                self.put(self.client(names[k % 3]), coll, json.dumps({"points": pts}).encode())
                written[0] += 64
                k += 1

        samples = []

        def max_lag():
            worst = 0
            for name in names:
                text = self.client(name).call("GET", "/metrics").raw.decode()
                for m in re.finditer(r'^vjvector_cluster_replication_lag_entries\{replica="lag/[^"]*"\} (\S+)$',
                                     text, re.M):
                    worst = max(worst, float(m.group(1)))
            return worst

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        while time.monotonic() - t0 < self.args.lag_seconds:
            samples.append(max_lag())
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join()
        duration = time.monotonic() - t0
        stopped = time.monotonic()
        while max_lag() > 0 and time.monotonic() - stopped < 60:
            time.sleep(0.05)
        catch_up = time.monotonic() - stopped
        samples.sort()
        p50 = samples[len(samples) // 2]
        p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
        rate = written[0] / duration
        log(f"replication lag, write_consistency_factor 1, 2 writers ({rate:,.0f} points/s for {duration:.0f} s), "
            f"{len(samples)} samples of the primaries' view: p50 {p50:.0f}, p99 {p99:.0f}, max {samples[-1]:.0f} "
            f"entries; all replicas caught up {catch_up:.2f} s after the writers stopped")
        self.report("replication_lag", write_rate_pps=round(rate, 1), p50_entries=p50, p99_entries=p99,
                    max_entries=samples[-1], catch_up_s=round(catch_up, 3))
        self.client("n1").ok("DELETE", f"/collections/{coll}")

    def failover(self):
        coll = "fo"
        self.create(coll, 1, 3, 2)
        times = []
        for round_ in range(self.args.failovers):
            victim = self.primaries(coll)[0]
            via = next(n for n in self.nodes if n != victim)
            acks = []
            stop = threading.Event()

            def writer():
                i = 10 ** 9 * (round_ + 1)
                while not stop.is_set():
                    sent = time.monotonic()
                    r = self.client(via).call("PUT", f"/collections/{coll}/points?wait=true",
                                              {"points": [{"id": i, "vector": [0.5] * DIM}]}, timeout=60)
                    if r.status == 200:
                        acks.append((sent, time.monotonic()))
                    i += 1

            t = threading.Thread(target=writer)
            t.start()
            time.sleep(1)
            self.nodes[victim].kill9()
            killed = time.monotonic()
            # The first write sent after the kill that was acknowledged (one in flight at the kill may
            # have been acknowledged by the victim just before it died).
            def first_after():
                return next((done for sent, done in acks if sent > killed), None)

            while first_after() is None and time.monotonic() - killed < 60:
                time.sleep(0.01)
            first = first_after()
            stop.set()
            t.join()
            if first is None:
                raise AssertionError("no write was acknowledged within 60 s of the kill")
            times.append(first - killed)
            new_primary = self.primaries(coll)[0]
            log(f"failover round {round_ + 1}: kill -9 of {victim} -> first acknowledged write after "
                f"{first - killed:.2f} s (new primary {new_primary})")
            self.nodes[victim].start()
            ch.wait_for(lambda: all(r.get("lag", 1) == 0 and r["state"] == "Active"
                                    for s in self.client(via).ok("GET", f"/collections/{coll}/cluster")["shards"]
                                    for r in s["replicas"]), f"{victim} to catch up", timeout=60)
        log(f"failover (lease TTL {self.args.lease_ttl} s): median {statistics.median(times):.2f} s, "
            f"min {min(times):.2f}, max {max(times):.2f} over {len(times)} rounds")
        self.report("failover", lease_ttl_s=self.args.lease_ttl, seconds=[round(x, 3) for x in times],
                    median_s=round(statistics.median(times), 3))

    def queries(self):
        d = self.args.fmnist
        common = [self.args.bench, "rest", "--base", f"{d}/fmnist_base.fvecs", "--queries", f"{d}/fmnist_query.fvecs",
                  "--k", "10", "--max-base", str(self.args.query_base), "--max-queries", str(self.args.query_count),
                  "--clients", "1,8", "--json"]
        runs = {
            "standalone": common + ["--url", f"http://127.0.0.1:{self.single.port}"],
            "cluster 3 shards, rf 1": common + ["--url", f"http://127.0.0.1:{self.nodes['n1'].port}",
                                               "--collection-fields", '"shard_number": 3'],
            "cluster 3 shards, rf 3": common + ["--url", f"http://127.0.0.1:{self.nodes['n1'].port}",
                                               "--collection-fields",
                                               '"shard_number": 3, "replication_factor": 3, '
                                               '"write_consistency_factor": 2'],
        }
        qps = {}
        for label, argv in runs.items():
            out = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
            if out.returncode != 0:
                raise AssertionError(f"{label}: {out.stdout[-2000:]}{out.stderr[-2000:]}")
            rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
            summary = next(r for r in rows if r.get("measure") == "summary")
            qps[label] = {c: summary[f"rest_qps_{c}_clients"] for c in (1, 8) if f"rest_qps_{c}_clients" in summary}
            rest_row = rows[0]  # the REST 1-client latency row comes first
            log(f"queries, {label}: ingest {summary['rest_ingest_pps']:,.0f} points/s; 1 client p50 "
                f"{rest_row['p50_ms']:.3f} ms, recall {rest_row['recall']:.4f}; " +
                ", ".join(f"{c} clients {q:,.0f} QPS" for c, q in sorted(qps[label].items())))
            self.report("queries", config=label, summary=summary, rest_latency=rest_row)
        for label in runs:
            if label == "standalone":
                continue
            for c in (1, 8):
                if c in qps[label] and c in qps["standalone"]:
                    log(f"  {label} / standalone at {c} clients: {qps[label][c] / qps['standalone'][c]:.2f}x")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(HERE, "..", "build", "vjvector"))
    p.add_argument("--bench", default=os.path.join(HERE, "..", "build", "vjvector-bench"))
    p.add_argument("--points", type=int, default=20000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lease-ttl", type=int, default=5)
    p.add_argument("--lag-seconds", type=float, default=10)
    p.add_argument("--failovers", type=int, default=3)
    p.add_argument("--fmnist", help="directory of fmnist_prepare.py's files: also measure queries")
    p.add_argument("--query-base", type=int, default=20000)
    p.add_argument("--query-count", type=int, default=2000)
    p.add_argument("--only", default="ingest,lag,failover,queries")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    vh.BINARY = os.path.abspath(args.binary)
    bench = Bench(args)
    try:
        bench.start()
        only = args.only.split(",")
        if "ingest" in only:
            bench.ingest()
        if "lag" in only:
            bench.lag()
        if "failover" in only:
            bench.failover()
        if "queries" in only and args.fmnist:
            bench.queries()
    finally:
        bench.stop()


if __name__ == "__main__":
    main()

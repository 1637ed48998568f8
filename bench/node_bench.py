"""Shared parts of the side-by-side node benches (bench/audit_bench.py, bench/tracing_bench.py).

Those benches start the real vjvector binary once per configuration, load every node with the same
collection, and compare what searches cost on each: this module holds the parts they share.

  vh           tests/e2e/vjharness, imported without letting it parse the bench's own command line
  log          a line to stderr
  Node         one server in its own directory under the bench's temporary folder; a bench subclasses
               it to say the server's environment (env()), and passes the api-key it needs (api_key,
               sent on every request) and the server thread whose CPU it reports apart (thread)
  Node.cpu_s   CPU seconds of all the server's threads (/proc/PID/task/*/schedstat); with `thread`,
               the pair (all threads, the threads of that name)
  call         one request on a keep-alive connection; anything but HTTP 200 ends the bench
  load         the collection `bench`: `points` random vectors of `dim` (seeded), in batches of 500
  search_bodies
               `queries` search bodies (limit 10) for random vectors of `dim` (seeded)
  percentile   the p-th percentile of a list (nearest rank, no interpolation)
  interleaved  one client sends each search to every node in turn: latencies and CPU per search
  throughput   `clients` threads with a keep-alive connection each, one node: QPS and CPU per search
  summaries    over the rounds: the median of a metric, and the median of its per-round ratios to `off`

Where Node.cpu_s returns a pair, interleaved and throughput return each part of it in turn (all
threads, then the named thread); where it returns one number, one figure. Python 3 standard library
only.
"""

import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
sys.argv, _argv = sys.argv[:1], sys.argv  # vjharness parses argv on import
import vjharness as vh  # noqa: E402
sys.argv = _argv

SEARCH = "/collections/bench/points/search"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Node:
    """One vjvector server, in a directory of its own under `tmp` named after `config`."""

    def __init__(self, config, tmp, api_key=None, thread=None):
        self.config = config
        self.thread = thread
        self.headers = {"api-key": api_key} if api_key else {}
        self.dir = tempfile.mkdtemp(prefix=config.replace("%", "pct") + "-", dir=tmp)
        self.server = vh.Server(data_dir=os.path.join(self.dir, "data"), log_dir=self.dir, env=self.env(),
                                port=vh.free_port(), api_key=api_key)

    def env(self):
        """The server's environment for this configuration (self.config, self.dir are set)."""
        return {}

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=120)

    def call(self, conn, method, path, body=None):
        return call(conn, method, path, body, self.headers)

    def cpu_s(self):
        """CPU seconds of all the server's threads; with self.thread, (all threads, the threads so named)."""
        total = named = 0
        task_dir = f"/proc/{self.server.proc.pid}/task"
        for tid in os.listdir(task_dir):
            try:
                with open(f"{task_dir}/{tid}/schedstat") as f:
                    ns = int(f.read().split()[0])
                if self.thread is not None:
                    with open(f"{task_dir}/{tid}/comm") as f:
                        named += ns if f.read().strip() == self.thread else 0
            except (OSError, ValueError, IndexError):
                continue
            total += ns
        if self.thread is None:
            return total / 1e9
        return total / 1e9, named / 1e9


def _cpu(node):
    """node.cpu_s() as a tuple, whichever it returns."""
    v = node.cpu_s()
    return v if isinstance(v, tuple) else (v,)


def call(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers={**(headers or {}), "Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise SystemExit(f"{method} {path}: HTTP {resp.status} {data[:300]!r}")
    return data


def load(node, points, dim, rng_seed):
    rng = random.Random(rng_seed)
    conn = node.connect()
    node.call(conn, "PUT", "/collections/bench",
              json.dumps({"vectors": {"size": dim, "distance": "Euclid"}}).encode())
    for start in range(0, points, 500):
        batch = [{"id": i, "vector": [rng.random() for _ in range(dim)]} for i in range(start, min(points, start + 500))]
        node.call(conn, "PUT", "/collections/bench/points?wait=true", json.dumps({"points": batch}).encode())
    conn.close()


def search_bodies(queries, dim, rng_seed):
    rng = random.Random(rng_seed)
    return [json.dumps({"vector": [rng.random() for _ in range(dim)], "limit": 10}).encode() for _ in range(queries)]


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def interleaved(nodes, bodies):
    """(latencies by config, CPU per search by config[, named thread's CPU per search by config])."""
    conns = {n.config: n.connect() for n in nodes}
    lat = {n.config: [] for n in nodes}
    for body in bodies[:100]:  # warm-up
        for n in nodes:
            n.call(conns[n.config], "POST", SEARCH, body)
    cpu0 = {n.config: _cpu(n) for n in nodes}
    for body in bodies:
        for n in nodes:
            t = time.perf_counter()
            n.call(conns[n.config], "POST", SEARCH, body)
            lat[n.config].append(time.perf_counter() - t)
    cpu1 = {n.config: _cpu(n) for n in nodes}
    for c in conns.values():
        c.close()
    parts = len(next(iter(cpu1.values())))
    return (lat, *({c: (cpu1[c][i] - cpu0[c][i]) / len(bodies) for c in cpu1} for i in range(parts)))


def throughput(node, bodies, clients):
    """(QPS, CPU per search[, named thread's CPU per search])."""
    per = len(bodies) // clients
    barrier = threading.Barrier(clients + 1)
    done = []

    def run(part):
        conn = node.connect()
        node.call(conn, "POST", SEARCH, part[0])
        barrier.wait()
        for body in part:
            node.call(conn, "POST", SEARCH, body)
        conn.close()
        done.append(len(part))

    threads = [threading.Thread(target=run, args=(bodies[i * per:(i + 1) * per],)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    cpu0 = _cpu(node)
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    cpu1 = _cpu(node)
    n = sum(done)
    return (n / elapsed, *((a - b) / n for a, b in zip(cpu1, cpu0)))


def summaries(rounds, base="off"):
    """(med(metric, config), ratio(metric, config)) over `rounds`, a list of {metric: {config: value}}."""

    def med(metric, c):
        return statistics.median(r[metric][c] for r in rounds)

    def ratio(metric, c):
        return statistics.median(r[metric][c] / r[metric][base] for r in rounds)

    return med, ratio

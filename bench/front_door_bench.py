#!/usr/bin/env python3
"""What the front door costs: authentication and TLS overhead of the REST port, as ratios in one run.

Starts the real vjvector binary on loopback once per configuration, all of them side by side:

  open       no authentication (a loopback node may run open)
  open-2     a second open node: the A/A control, whose ratio to open is the noise floor of every ratio
  api-key    security.api_key, sent as the api-key header
  managed    a managed key (vjk_..., role writer) made with POST /vjvector/keys, sent as api-key
  jwt        security.jwt_rbac: a Qdrant HS256 token signed here with the api key (access "m"),
             sent as Authorization: Bearer
  tls        tls.cert_file/tls.key_file (a test CA made with the openssl command), keep-alive, no auth
  tls+jwt    both

Each round runs every phase for every configuration in turn (the order rotated each round), so that
the figures compared were measured seconds apart on this shared, noisy machine:

  ingest     a new collection (--points random --dim vectors, fixed seed, Euclid) loaded in batches
             of --batch points with wait=true from one client: points/s
  1 client   after a warm-up, --queries searches (limit 10): p50/p99 latency, QPS, and this Python
             process's own CPU per query (time.process_time: the client-side floor)
  1c inter.  one client with a connection to every node sends --queries searches to the
             configurations in turn (A B C ... A B C ...), so that all of them see the same moments
             of the machine's noise: p50/p99; the same for 500 GET /livez (no search, no
             authentication: the transport floor, TLS included); and each server's own CPU time
             per request over these phases (and per point over ingest), from /proc/PID/task/*/schedstat:
             what the front door costs the server, apart from the Python client
  N clients  --queries searches from --clients threads, each with its own keep-alive connection:
             p50/p99, QPS (a Python client: the GIL and the client's CPU bound this on 2 cores)

and then deletes the round's collection. Every client keeps one keep-alive connection
(http.client.HTTPConnection / HTTPSConnection with an SSLContext that trusts the test CA), opened
before the clock starts; reopened connections are counted and reported. Each figure is the median
over --rounds rounds; the ratio to "open" is the median of the per-round ratios. Timings are printed,
never asserted. Python 3 standard library and the openssl command.

  python3 bench/front_door_bench.py [--binary build/vjvector] [--points 20000] [--queries 2000]
                                    [--rounds 3] [--clients 8] [--configs open,jwt,...] [--json]
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
sys.argv, _argv = sys.argv[:1], sys.argv  # vjharness parses argv on import
import vjharness as vh  # noqa: E402
sys.argv = _argv

API_KEY = "bench-front-door-key-0123456789abcdef"
CONFIGS = ("open", "open-2", "api-key", "managed", "jwt", "tls", "tls+jwt")
WARMUP_QUERIES = 200
LIVEZ_CALLS = 500


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def qdrant_jwt(key, claims):
    """An HS256 JWT as Qdrant clients make them: signed with the node's API key."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    return f"{header}.{payload}." + b64url(hmac.new(key.encode(), signing_input, hashlib.sha256).digest())


class Pki:
    """A CA and a server certificate for 127.0.0.1, made with the openssl command."""

    def __init__(self, directory):
        self.dir = directory
        openssl = shutil.which("openssl")
        if openssl is None:
            raise SystemExit("the openssl command is needed for the TLS configurations")

        def run(*args):
            subprocess.run([openssl, *args], cwd=self.dir, check=True, capture_output=True, timeout=60)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=bench-ca")
        with open(os.path.join(self.dir, "server.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=bench-node")
        run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "4097",
            "-days", "2", "-out", "server.crt", "-extfile", "server.ext")
        self.context = ssl.create_default_context(cafile=self.path("ca.crt"))

    def path(self, name):
        return os.path.join(self.dir, name)


class Node:
    """One server process of one configuration, and connections to it with that configuration's
    credentials. Not thread-safe; connect() may be called from one thread, each connection used by one."""

    def __init__(self, config, args, pki, tmp):
        self.config = config
        self.args = args
        self.tls = config.startswith("tls")
        self.pki = pki
        env = {}
        if config not in ("open", "open-2", "tls"):
            env["VJVECTOR_SECURITY_API_KEY"] = API_KEY
        if config.endswith("jwt"):
            env["VJVECTOR_SECURITY_JWT_RBAC"] = "true"
        if self.tls:
            env["VJVECTOR_TLS_CERT_FILE"] = pki.path("server.crt")
            env["VJVECTOR_TLS_KEY_FILE"] = pki.path("server.key")
        self.admin_headers = {"api-key": API_KEY} if "VJVECTOR_SECURITY_API_KEY" in env else {}
        self.headers = dict(self.admin_headers)
        if config.endswith("jwt"):
            token = qdrant_jwt(API_KEY, {"access": "m", "subject": "bench", "exp": int(time.time()) + 86400})
            self.headers = {"authorization": "Bearer " + token}
        self.data_dir = tempfile.mkdtemp(prefix="data-", dir=tmp)
        self.server = vh.Server(data_dir=self.data_dir, log_dir=tempfile.mkdtemp(prefix="log-", dir=tmp),
                                env=env, port=vh.free_port())

    def connect(self):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.server.port, timeout=120, context=self.pki.context)
        return http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=120)

    def start(self):
        self.server.start(wait_ready=False)
        deadline = time.monotonic() + vh.READY_TIMEOUT_S
        while True:
            if not self.server.alive():
                raise SystemExit(f"{self.config}: vjvector exited:\n{self.server.stderr_text()[-3000:]}")
            conn = self.connect()
            try:
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.config}: /readyz not 200 within {vh.READY_TIMEOUT_S} s")
            time.sleep(0.05)
        if self.config == "managed":
            conn = self.connect()
            made = call(conn, "POST", "/vjvector/keys", self.admin_headers,
                        json.dumps({"role": "writer", "name": "bench"}).encode())
            conn.close()
            self.headers = {"api-key": json.loads(made)["result"]["key"]}

    def cpu_s(self):
        """CPU time of the server's threads so far (/proc/PID/task/*/schedstat, ns resolution; a thread
        that exited meanwhile drops out, which the server's long-lived workers do not)."""
        total = 0
        task_dir = f"/proc/{self.server.proc.pid}/task"
        for tid in os.listdir(task_dir):
            try:
                with open(f"{task_dir}/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return total / 1e9

    def stop(self):
        self.server.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


class Session:
    """One keep-alive connection; counts the times http.client had to open a new one."""

    def __init__(self, node):
        self.conn = node.connect()
        self.headers = dict(node.headers)
        self.connects = 0

    @property
    def reconnects(self):
        """Connections opened after the first one (keep-alive broken)."""
        return max(0, self.connects - 1)

    def call(self, method, path, body=None):
        if self.conn.sock is None:
            self.connects += 1
        return call(self.conn, method, path, self.headers, body)

    def close(self):
        self.conn.close()


def call(conn, method, path, headers, body=None):
    if body is not None:
        headers = dict(headers, **{"content-type": "application/json"})
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise SystemExit(f"{method} {path} -> HTTP {resp.status}: {data[:500]!r}")
    return data


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def latency_stats(latencies_s):
    v = sorted(latencies_s)
    return percentile(v, 0.50) * 1e3, percentile(v, 0.99) * 1e3


def make_bodies(args):
    rnd = random.Random(1)
    batches = []
    for start in range(0, args.points, args.batch):
        pts = [{"id": i, "vector": [round(rnd.uniform(-1, 1), 5) for _ in range(args.dim)]}
               for i in range(start, min(args.points, start + args.batch))]
        batches.append(json.dumps({"points": pts}).encode())
    rnd = random.Random(2)
    queries = [json.dumps({"vector": [round(rnd.uniform(-1, 1), 5) for _ in range(args.dim)], "limit": 10}).encode()
               for _ in range(1000)]
    return batches, queries


def ingest(node, args, batches, collection):
    """Creates `collection` and loads it: points/s of wait=true upserts from one client."""
    s = Session(node)
    s.call("GET", "/livez")  # connect (and handshake) before the clock starts
    call(s.conn, "PUT", f"/collections/{collection}", node.admin_headers,  # a managed writer may not create
         json.dumps({"vectors": {"size": args.dim, "distance": "Euclid"}}).encode())
    path = f"/collections/{collection}/points?wait=true"
    cpu = node.cpu_s()
    t = time.perf_counter()
    for raw in batches:
        s.call("PUT", path, raw)
    pps = args.points / (time.perf_counter() - t)
    cpu = node.cpu_s() - cpu
    s.close()
    return {"ingest_pps": pps, "ingest_server_cpu_us": cpu / args.points * 1e6, "reconnects": s.reconnects}


def one_client(node, args, queries, collection):
    """Warm-up, then --queries searches from one client."""
    s = Session(node)
    search = f"/collections/{collection}/points/search"
    for i in range(WARMUP_QUERIES):
        s.call("POST", search, queries[i % len(queries)])
    lat = []
    cpu = time.process_time()
    t0 = time.perf_counter()
    for i in range(args.queries):
        t = time.perf_counter()
        s.call("POST", search, queries[i % len(queries)])
        lat.append(time.perf_counter() - t)
    wall = time.perf_counter() - t0
    out = {"q1_client_cpu_us": (time.process_time() - cpu) / args.queries * 1e6}
    out["q1_p50_ms"], out["q1_p99_ms"] = latency_stats(lat)
    out["q1_qps"] = args.queries / wall
    s.close()
    out["reconnects"] = s.reconnects
    return out


def interleaved(nodes, order, args, queries, collection):
    """One client, one connection per configuration, requests sent to the configurations in turn
    (A B C ... A B C ...): every configuration sees the same moments of the machine's noise, so the
    medians compare far more closely than those of phases run one after the other. --queries searches
    and LIVEZ_CALLS GET /livez per configuration."""
    sessions = {c: Session(nodes[c]) for c in order}
    search = f"/collections/{collection}/points/search"
    for c in order:
        sessions[c].call("GET", "/livez")
    out = {c: {} for c in order}
    for key, method, n, path, body in (("livez", "GET", LIVEZ_CALLS, "/livez", None),
                                       ("paired", "POST", args.queries, search, True)):
        lat = {c: [] for c in order}
        cpu = {c: nodes[c].cpu_s() for c in order}
        for i in range(n):
            raw = queries[i % len(queries)] if body else None
            for c in order:
                t = time.perf_counter()
                sessions[c].call(method, path, raw)
                lat[c].append(time.perf_counter() - t)
        for c in order:
            out[c][f"{key}_p50_ms"], out[c][f"{key}_p99_ms"] = latency_stats(lat[c])
            out[c][f"{key}_server_cpu_us"] = (nodes[c].cpu_s() - cpu[c]) / n * 1e6
    for c in order:
        sessions[c].close()
        out[c]["reconnects"] = sessions[c].reconnects
    return out


def many_clients(node, args, queries, collection):
    """--queries searches split over --clients threads, each with its own keep-alive connection."""
    n = args.clients
    search = f"/collections/{collection}/points/search"
    sessions = [Session(node) for _ in range(n)]
    for i, c in enumerate(sessions):  # connect (and handshake) before the clock starts
        c.call("POST", search, queries[i % len(queries)])
    per_thread = [[] for _ in range(n)]
    errors = []
    start = threading.Barrier(n + 1)

    def client(k):
        try:
            start.wait()
            mine = per_thread[k]
            for i in range(k, args.queries, n):
                t = time.perf_counter()
                sessions[k].call("POST", search, queries[i % len(queries)])
                mine.append(time.perf_counter() - t)
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(n)]
    for th in threads:
        th.start()
    start.wait()
    t0 = time.perf_counter()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{node.config}: a client failed: {errors[0]!r}")
    out = {}
    out["qN_p50_ms"], out["qN_p99_ms"] = latency_stats([x for v in per_thread for x in v])
    out["qN_qps"] = args.queries / wall
    for c in sessions:
        c.close()
    out["reconnects"] = sum(c.reconnects for c in sessions)
    return out


def run_round(nodes, order, args, batches, queries, rnd):
    """One round: each phase for every configuration in turn, so that the figures compared were
    measured seconds apart. Returns {config: figures}."""
    collection = f"bench_r{rnd}"
    out = {c: {"reconnects": 0} for c in order}

    def merge(c, figures):
        out[c]["reconnects"] += figures.pop("reconnects")
        out[c].update(figures)
    for c in order:
        merge(c, ingest(nodes[c], args, batches, collection))
    for c in order:
        merge(c, one_client(nodes[c], args, queries, collection))
    for c, figures in interleaved(nodes, order, args, queries, collection).items():
        merge(c, figures)
    for c in order:
        merge(c, many_clients(nodes[c], args, queries, collection))
    for c in order:
        conn = nodes[c].connect()
        call(conn, "DELETE", f"/collections/{collection}", nodes[c].admin_headers)
        conn.close()
    return out


# (key, column title, format, higher is better)
COLUMNS = (
    ("ingest_pps", "ingest pts/s", "{:,.0f}"),
    ("ingest_server_cpu_us", "ingest srv CPU us/pt", "{:.1f}"),
    ("q1_p50_ms", "1c p50 ms", "{:.3f}"),
    ("q1_p99_ms", "1c p99 ms", "{:.3f}"),
    ("q1_qps", "1c QPS", "{:,.0f}"),
    ("q1_client_cpu_us", "client CPU us/q", "{:.0f}"),
    ("paired_p50_ms", "1c inter. p50", "{:.3f}"),
    ("paired_p99_ms", "1c inter. p99", "{:.3f}"),
    ("paired_server_cpu_us", "srv CPU us/q", "{:.0f}"),
    ("livez_p50_ms", "livez inter. p50", "{:.3f}"),
    ("livez_server_cpu_us", "srv CPU us/livez", "{:.1f}"),
    ("qN_p50_ms", "Nc p50 ms", "{:.3f}"),
    ("qN_p99_ms", "Nc p99 ms", "{:.3f}"),
    ("qN_qps", "Nc QPS", "{:,.0f}"),
)


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
              + " |" for r in rows]
    return "\n".join(lines)


def report(args, configs, results):
    """results[config] = [round dicts]. Prints the medians, the ratios to open and the noise of open."""
    n = args.clients
    header = ["config"] + [title.replace("Nc", f"{n}c") for _, title, _ in COLUMNS]
    rows = []
    for c in configs:
        rows.append([c] + [fmt.format(statistics.median(r[key] for r in results[c])) for key, _, fmt in COLUMNS])
    print(f"\nMedians over {args.rounds} rounds ({args.points} x {args.dim}-d points, batches of {args.batch}, "
          f"{args.queries} queries per phase, {n} clients):\n")
    print(table(header, rows))
    if "open" in results:
        base = results["open"]
        rows = []
        for c in configs:
            if c == "open":
                continue
            rows.append([c] + [f"{statistics.median(r[key] / b[key] for r, b in zip(results[c], base)):.3f}"
                               for key, _, _ in COLUMNS])
        print("\nRatio to open (median of the per-round ratios; latency and CPU > 1 and rates < 1 are costs):\n")
        print(table(header, rows))
        rows = [["open min..max / median"] + [
            f"{min(r[key] for r in base) / statistics.median(r[key] for r in base):.2f}.."
            f"{max(r[key] for r in base) / statistics.median(r[key] for r in base):.2f}" for key, _, _ in COLUMNS]]
        print("\nNoise floor: open's own spread over the rounds:\n")
        print(table(header, rows))
    reconnects = {c: sum(r["reconnects"] for r in results[c]) for c in configs}
    if any(reconnects.values()):
        print(f"\nWARNING: connections were reopened (keep-alive broken): {reconnects}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=vh.BINARY, help="the vjvector binary (default: %(default)s)")
    ap.add_argument("--points", type=int, default=20000, help="points loaded per configuration and round")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--batch", type=int, default=100, help="points per upsert (wait=true)")
    ap.add_argument("--queries", type=int, default=2000, help="searches per phase (1 client; N clients)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--configs", default=",".join(CONFIGS), help="subset of " + ",".join(CONFIGS))
    ap.add_argument("--json", action="store_true", help="also print every round's figures as JSON lines")
    args = ap.parse_args()
    vh.BINARY = os.path.abspath(args.binary)
    if not os.access(vh.BINARY, os.X_OK):
        raise SystemExit(f"vjvector binary not found or not executable: {vh.BINARY}")
    configs = [c for c in args.configs.split(",") if c]
    for c in configs:
        if c not in CONFIGS:
            raise SystemExit(f"unknown configuration {c!r}; known: {', '.join(CONFIGS)}")

    tmp = tempfile.mkdtemp(prefix="vjbench-front-door-")
    try:
        pki = Pki(tmp)
        batches, queries = make_bodies(args)
        results = {c: [] for c in configs}
        began = time.monotonic()
        nodes = {}
        try:
            for c in configs:
                nodes[c] = Node(c, args, pki, tmp)
                nodes[c].start()
            for rnd in range(args.rounds):
                order = configs[rnd % len(configs):] + configs[:rnd % len(configs)]
                figures = run_round(nodes, order, args, batches, queries, rnd + 1)
                for c in configs:
                    r = figures[c]
                    results[c].append(r)
                    log(f"round {rnd + 1} {c:8s} " + " ".join(f"{k}={r[k]:.4g}" for k, _, _ in COLUMNS))
                    if args.json:
                        print(json.dumps(dict(config=c, round=rnd + 1, **r)), flush=True)
                log(f"round {rnd + 1} done at {time.monotonic() - began:.0f} s, load average "
                    f"{os.getloadavg()[0]:.1f}")
        finally:
            for node in nodes.values():
                node.stop()
        log(f"{time.monotonic() - began:.0f} s")
        report(args, configs, results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

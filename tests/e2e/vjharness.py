"""Shared harness for VJVector end-to-end tests.

Each test starts the real `vjvector` binary on loopback with a free port and its own temporary data
directory, drives it over HTTP (Qdrant REST API) and always stops it. Python 3 standard library only.

Command line (stripped before unittest sees argv):
  --binary PATH     the vjvector binary (default: $VJVECTOR_BINARY or <repo>/build/vjvector)
  --promtool PATH   Prometheus' promtool (default: $PROMTOOL or promtool on PATH)
"""

import http.client
import json
import math
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

BINARY = os.environ.get("VJVECTOR_BINARY") or os.path.join(REPO_ROOT, "build", "vjvector")
PROMTOOL = os.environ.get("PROMTOOL") or shutil.which("promtool")

READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 10.0
HTTP_TIMEOUT_S = 60.0


def _parse_argv():
    global BINARY, PROMTOOL
    rest = [sys.argv[0]]
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--binary", "--promtool") and i + 1 < len(args):
            if a == "--binary":
                BINARY = args[i + 1]
            else:
                PROMTOOL = args[i + 1] or None
            i += 2
            continue
        if a.startswith("--binary="):
            BINARY = a.split("=", 1)[1]
        elif a.startswith("--promtool="):
            PROMTOOL = a.split("=", 1)[1] or None
        else:
            rest.append(a)
        i += 1
    sys.argv[:] = rest
    BINARY = os.path.abspath(BINARY)


_parse_argv()


def main():
    """unittest.main() after checking that the binary exists."""
    if not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)):
        print(f"vjvector binary not found or not executable: {BINARY}", file=sys.stderr)
        sys.exit(2)
    unittest.main(verbosity=2)


# ----------------------------------------------------------------------------------------------
# Small helpers


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago, picked at random below the kernel's ephemeral
    range: a port from that range (what binding to port 0 gives) may be taken meanwhile as the local
    port of any outgoing connection of a test running beside this one, and a node's second port (the
    peer port) doubles that risk."""
    low, high = 20000, _ephemeral_low() - 1
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randint(low, high) if high > low else 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free TCP port found")


def f32(x):
    """Round a Python float to the nearest float32 (what the server stores)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f32vec(v):
    return [f32(x) for x in v]


def vectors_equal_f32(a, b):
    """Two vectors equal after rounding each component to float32."""
    if not isinstance(a, list) or not isinstance(b, list) or len(a) != len(b):
        return False
    return all(f32(float(x)) == f32(float(y)) for x, y in zip(a, b))


def truncate(s, n=600):
    s = s if isinstance(s, str) else repr(s)
    return s if len(s) <= n else s[:n] + f"...<{len(s) - n} more chars>"


def id_sort_key(pid):
    """Scroll order: integer ids ascending, then UUIDs (by their canonical string)."""
    if isinstance(pid, int):
        return (0, pid, "")
    return (1, 0, str(pid))


# Distances, as the server reports them.
def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def normalize(v):
    n = math.sqrt(dot(v, v))
    return [x / n for x in v] if n > 0 else list(v)


def score(metric, q, v):
    if metric == "Cosine":
        return dot(normalize(q), normalize(v))
    if metric == "Dot":
        return dot(q, v)
    if metric == "Euclid":
        return math.sqrt(sum((x - y) ** 2 for x, y in zip(q, v)))
    if metric == "Manhattan":
        return sum(abs(x - y) for x, y in zip(q, v))
    raise ValueError(metric)


def higher_is_better(metric):
    return metric in ("Cosine", "Dot")


def brute_force(metric, q, points, k):
    """points: iterable of (id, vector). Returns [(id, score)] best first (ties broken by id)."""
    scored = [(pid, score(metric, q, v)) for pid, v in points]
    if higher_is_better(metric):
        scored.sort(key=lambda t: (-t[1], id_sort_key(t[0])))
    else:
        scored.sort(key=lambda t: (t[1], id_sort_key(t[0])))
    return scored[:k]


def score_close(a, b, rel=1e-3):
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


# ----------------------------------------------------------------------------------------------
# HTTP client


class Response:
    def __init__(self, method, path, req_body, status, raw, headers):
        self.method = method
        self.path = path
        self.req_body = req_body
        self.status = status
        self.raw = raw
        self.headers = headers
        self.json = None
        self.json_error = None
        try:
            self.json = json.loads(raw.decode("utf-8")) if raw else None
        except (ValueError, UnicodeDecodeError) as e:
            self.json_error = str(e)

    def describe(self):
        rb = self.req_body
        if isinstance(rb, (bytes, bytearray)):
            rb = rb[:400].decode("utf-8", "replace") + (f"...<{len(rb) - 400} more bytes>" if len(rb) > 400 else "")
        return (f"{self.method} {self.path} body={truncate(rb if rb is not None else '', 400)} -> "
                f"HTTP {self.status} {truncate(self.raw.decode('utf-8', 'replace'), 800)}")

    @property
    def result(self):
        return self.json.get("result") if isinstance(self.json, dict) else None

    @property
    def error(self):
        """The Qdrant error message {"status": {"error": "..."}}, or on the peer port the peer protocol's
        {"peer_protocol": 1, "error": {"code": ..., "message": "..."}}; None otherwise."""
        if isinstance(self.json, dict) and isinstance(self.json.get("status"), dict):
            e = self.json["status"].get("error")
            return e if isinstance(e, str) else None
        if isinstance(self.json, dict) and "peer_protocol" in self.json and isinstance(self.json.get("error"), dict):
            e = self.json["error"].get("message")
            return e if isinstance(e, str) else None
        return None


class Client:
    """HTTP by default; HTTPS with `ssl_context` (an ssl.SSLContext trusting the server's CA, holding a client
    certificate where the server asks for one)."""

    def __init__(self, host, port, timeout=HTTP_TIMEOUT_S, api_key=None, ssl_context=None):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.api_key = api_key  # sent as `api-key` unless a call's headers carry their own
        self.ssl_context = ssl_context

    def call(self, method, path, body=None, raw=None, headers=None, timeout=None):
        """Send one request on a fresh connection. body: JSON-encodable; raw: bytes sent verbatim."""
        if raw is None and body is not None:
            raw = json.dumps(body).encode("utf-8")
        hdrs = {}
        if self.api_key:
            hdrs["api-key"] = self.api_key
        if raw is not None:
            hdrs["Content-Type"] = "application/json"
        if headers:
            hdrs.update(headers)
        if self.ssl_context is not None:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=timeout or self.timeout,
                                               context=self.ssl_context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)
        try:
            conn.request(method, path, body=raw, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return Response(method, path, body if body is not None else raw, resp.status, data,
                            dict(resp.getheaders()))
        finally:
            conn.close()

    def ok(self, method, path, body=None, **kw):
        """Call and assert a Qdrant success envelope; returns the result."""
        r = self.call(method, path, body, **kw)
        if r.status != 200:
            raise AssertionError(f"expected HTTP 200: {r.describe()}")
        j = r.json
        if not isinstance(j, dict) or j.get("status") != "ok" or "result" not in j:
            raise AssertionError(f"expected envelope {{'result':..,'status':'ok','time':..}}: {r.describe()}")
        if not isinstance(j.get("time"), (int, float)) or isinstance(j.get("time"), bool):
            raise AssertionError(f"envelope 'time' is not a number: {r.describe()}")
        return j["result"]

    def err(self, method, path, body=None, status=None, mentions=None, **kw):
        """Call and assert a Qdrant error envelope with a 4xx status (or exactly `status`).

        mentions: a string or list of strings; the error message must contain at least one
        (case-insensitive). Returns the Response.
        """
        r = self.call(method, path, body, **kw)
        if status is not None:
            if r.status != status:
                raise AssertionError(f"expected HTTP {status}: {r.describe()}")
        elif not (400 <= r.status < 500):
            raise AssertionError(f"expected HTTP 4xx: {r.describe()}")
        if r.error is None or not r.error.strip():
            raise AssertionError(f"expected error body {{'status': {{'error': '...'}}, 'time': ..}}: {r.describe()}")
        peer = r.json.get("peer_protocol") == 1 and isinstance(r.json["error"].get("code"), str)
        if not peer and not isinstance(r.json.get("time"), (int, float)):
            raise AssertionError(f"error body lacks numeric 'time': {r.describe()}")
        if mentions:
            words = [mentions] if isinstance(mentions, str) else list(mentions)
            if not any(w.lower() in r.error.lower() for w in words):
                raise AssertionError(f"error message should mention one of {words}: {r.describe()}")
        return r

    # Convenience wrappers for the Qdrant API.
    def create_collection(self, name, size=4, distance="Cosine", body=None):
        body = body or {"vectors": {"size": size, "distance": distance}}
        res = self.ok("PUT", f"/collections/{name}", body)
        if res is not True:
            raise AssertionError(f"PUT /collections/{name}: expected result true, got {res!r}")
        return res

    def upsert(self, name, points, wait=True):
        return self.ok("PUT", f"/collections/{name}/points?wait={'true' if wait else 'false'}", {"points": points})

    def count(self, name, flt=None, exact=True):
        body = {"exact": exact}
        if flt is not None:
            body["filter"] = flt
        res = self.ok("POST", f"/collections/{name}/points/count", body)
        return res["count"]

    def retrieve(self, name, ids, with_payload=True, with_vector=True):
        res = self.ok("POST", f"/collections/{name}/points",
                      {"ids": ids, "with_payload": with_payload, "with_vector": with_vector})
        return {p["id"]: p for p in res}

    def scroll_all(self, name, flt=None, limit=100, with_payload=False, with_vector=False):
        """All points via scroll pagination; asserts no point repeats and order is by id."""
        out = []
        offset = None
        pages = 0
        while True:
            body = {"limit": limit, "with_payload": with_payload, "with_vector": with_vector}
            if flt is not None:
                body["filter"] = flt
            if offset is not None:
                body["offset"] = offset
            res = self.ok("POST", f"/collections/{name}/points/scroll", body)
            pts = res["points"]
            if len(pts) > limit:
                raise AssertionError(f"scroll returned {len(pts)} points > limit {limit}")
            out.extend(pts)
            offset = res.get("next_page_offset")
            pages += 1
            if offset is None:
                break
            if pages > 100000:
                raise AssertionError("scroll does not terminate")
        ids = [p["id"] for p in out]
        if len(set(map(repr, ids))) != len(ids):
            raise AssertionError(f"scroll returned duplicate ids (filter={flt})")
        if ids != sorted(ids, key=id_sort_key):
            raise AssertionError(f"scroll not ordered by id (filter={flt}): first ids {ids[:20]}")
        return out


# ----------------------------------------------------------------------------------------------
# Server process


class Server:
    """One vjvector process. start() waits for /readyz; stop() SIGTERMs then SIGKILLs after 10 s."""

    def __init__(self, data_dir=None, log_dir=None, extra_args=(), env=None, port=None,
                 host="127.0.0.1", args=None, ready_port=None, api_key=None, ssl_context=None):
        self.data_dir = data_dir
        self.log_dir = log_dir or tempfile.mkdtemp(prefix="vj-e2e-log-")
        self.extra_args = list(extra_args)
        self.env = env
        self.host = host
        self.port = port
        self.custom_args = args  # full argv after the binary, when given
        self.ready_port = ready_port
        self.api_key = api_key  # what `client` sends (set it when the node authenticates)
        self.ssl_context = ssl_context  # `client` and wait_ready speak HTTPS with it (set it when the node serves TLS)
        self.proc = None
        self.exit_code = None
        self.starts = 0
        self.stderr_path = None
        self.stdout_path = None
        self.all_logs = []

    @property
    def client(self):
        return Client(self.host, self.port, api_key=self.api_key, ssl_context=self.ssl_context)

    def _argv(self):
        if self.custom_args is not None:
            return [BINARY] + list(self.custom_args)
        return [BINARY, "serve", "--data-dir", self.data_dir, "--host", self.host,
                "--http-port", str(self.port)] + self.extra_args

    def start(self, wait_ready=True, retries=3):
        last = None
        for attempt in range(retries):
            if self.custom_args is None and (self.port is None or attempt > 0):
                self.port = free_port()
            self._spawn()
            if not wait_ready:
                return self
            try:
                self.wait_ready()
                return self
            except _StartupFailed as e:
                last = e
                log = self.stderr_text() + self.stdout_text()
                if self.custom_args is None and ("in use" in log.lower() or "bind" in log.lower()):
                    continue  # the free port was taken meanwhile; try another one
                raise AssertionError(str(e))
        raise AssertionError(str(last))

    def _spawn(self):
        self.starts += 1
        self.stderr_path = os.path.join(self.log_dir, f"server-{self.starts}.stderr")
        self.stdout_path = os.path.join(self.log_dir, f"server-{self.starts}.stdout")
        self.all_logs.append((self.stdout_path, self.stderr_path))
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("VJVECTOR_"):
                del env[k]  # the environment must not leak settings into a test
        # No gRPC port unless a test asks for one (--grpc-port): the default 6334 would be shared by every
        # node that tests start at once.
        env["VJVECTOR_GRPC_PORT"] = "0"
        if self.env:
            env.update(self.env)
        self.exit_code = None
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self._argv(), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=env, start_new_session=True)

    def wait_ready(self, timeout=READY_TIMEOUT_S, port=None):
        port = port or self.ready_port or self.port
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.exit_code = self.proc.returncode
                raise _StartupFailed(f"vjvector exited with code {self.proc.returncode} before /readyz was 200 "
                                     f"(argv={self._argv()})\n--- stderr ---\n{self.stderr_text()[-4000:]}")
            try:
                r = Client(self.host, port, timeout=2, ssl_context=self.ssl_context).call("GET", "/readyz")
                last = r.status
                if r.status == 200:
                    return
                if r.status != 503:
                    raise AssertionError(f"GET /readyz returned {r.status} (expected 503 while loading, then 200): "
                                         f"{r.describe()}")
            except (ConnectionError, OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.05)
        raise _StartupFailed(f"GET /readyz not 200 within {timeout}s (last: {last}); argv={self._argv()}\n"
                             f"--- stderr ---\n{self.stderr_text()[-4000:]}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace=STOP_GRACE_S):
        """SIGTERM, then SIGKILL after `grace` seconds. Returns the exit code."""
        if self.proc is None:
            return self.exit_code
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.exit_code = "SIGKILLed after SIGTERM grace period"
                self.proc = None
                return self.exit_code
        self.exit_code = self.proc.returncode
        self.proc = None
        return self.exit_code

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.exit_code = self.proc.returncode if self.proc is not None else self.exit_code
        self.proc = None

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def stdout_text(self):
        try:
            with open(self.stdout_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def dump_logs(self, limit=20000):
        out = []
        for so, se in self.all_logs:
            for label, p in (("stdout", so), ("stderr", se)):
                try:
                    with open(p, "rb") as f:
                        t = f.read().decode("utf-8", "replace")
                except OSError:
                    continue
                if t:
                    out.append(f"----- server {label} ({p}) -----\n{t[-limit:]}")
        return "\n".join(out)


class _StartupFailed(Exception):
    pass


# ----------------------------------------------------------------------------------------------
# Test case bases


class TestCase(unittest.TestCase):
    """unittest.TestCase with a list assertion whose message is not the list's repr."""

    maxDiff = 4000

    def assertNoItems(self, items, msg):
        if items:
            self.fail(msg)


def _test_failed(tc):
    outcome = getattr(tc, "_outcome", None)
    return outcome is not None and not getattr(outcome, "success", True)


class ServerTestCase(TestCase):
    """Starts a fresh server (own data dir, free port) for every test; stops it in tearDown."""

    server_args = ()
    server_env = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vj-e2e-")
        self.data_dir = os.path.join(self.tmp, "data")
        os.makedirs(self.data_dir)
        self.servers = []
        self.server = self.start_server()
        self.client = self.server.client

    def start_server(self, data_dir=None, extra_args=None, env=None, **kw):
        s = Server(data_dir=data_dir or self.data_dir, log_dir=self.tmp,
                   extra_args=list(self.server_args) if extra_args is None else extra_args,
                   env=self.server_env if env is None else env, **kw)
        self.servers.append(s)
        s.log_dir = os.path.join(self.tmp, f"logs-{len(self.servers)}")
        os.makedirs(s.log_dir, exist_ok=True)
        s.start()
        return s

    def tearDown(self):
        for s in self.servers:
            s.stop()
        if _test_failed(self):
            for s in self.servers:
                print(f"\n===== {self.id()}: server logs =====\n{s.dump_logs()}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


class SharedServerTestCase(TestCase):
    """One server for the whole class (for tests that load a large data set once)."""

    server_args = ()
    _any_failed = False

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vj-e2e-")
        cls.data_dir = os.path.join(cls.tmp, "data")
        os.makedirs(cls.data_dir)
        cls.server = Server(data_dir=cls.data_dir, log_dir=cls.tmp, extra_args=list(cls.server_args))
        try:
            cls.server.start()
        except BaseException:
            print(cls.server.dump_logs(), file=sys.stderr)
            cls.server.stop()
            raise
        cls.client = cls.server.client
        try:
            cls.load()
        except BaseException:
            print(f"\n===== {cls.__name__}: server logs =====\n{cls.server.dump_logs()}", file=sys.stderr)
            cls.server.stop()
            raise

    @classmethod
    def load(cls):
        pass

    def tearDown(self):
        if _test_failed(self):
            type(self)._any_failed = True
        if not self.server.alive():
            type(self)._any_failed = True
            raise AssertionError(f"server died (exit code {self.server.proc.returncode if self.server.proc else '?'})")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        if cls._any_failed:
            print(f"\n===== {cls.__name__}: server logs =====\n{cls.server.dump_logs()}", file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

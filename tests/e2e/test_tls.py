"""TLS on the REST port, against the real binary and the real openssl and curl commands.

A CA, two server certificates (SAN IP:127.0.0.1, distinct serials) and a client certificate are made
with `openssl` in a temporary directory. The node serves HTTPS only: curl with the CA works; TLS 1.0 and
1.1 and plain HTTP are refused by the server; with tls.client_auth=require a client without a certificate
is refused; SIGHUP rotates the certificate for new connections while an open keep-alive connection goes
on; a failed reload keeps the old certificate; a key that does not match keeps the node from starting.
"""

import http.client
import os
import shutil
import signal
import socket
import ssl
import tempfile
import time

import vjharness as h
from tlspki import OPENSSL, Pki, run

CURL = shutil.which("curl")
WAIT_S = 20.0


def wait_for(predicate, what, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class TlsTest(h.TestCase):
    @classmethod
    def setUpClass(cls):
        if OPENSSL is None or CURL is None:
            raise AssertionError("the openssl and curl commands are needed")
        cls.pki = Pki()
        cls.pki.issue("server", "node-1", 0x1001)
        cls.pki.issue("server2", "node-1", 0x2002)
        cls.pki.issue("client", "reporting-app", 0x3003)

    @classmethod
    def tearDownClass(cls):
        cls.pki.cleanup()

    def setUp(self):
        self.servers = []
        self.conns = []
        # The node reads its certificate from live.crt/live.key: rotation overwrites them.
        shutil.copy(self.pki.path("server.crt"), self.pki.path("live.crt"))
        shutil.copy(self.pki.path("server.key"), self.pki.path("live.key"))

    def tearDown(self):
        for c in self.conns:
            c.close()
        for s in self.servers:
            if h._test_failed(self):
                s.dump_logs()
            s.stop()
            if s.data_dir:
                shutil.rmtree(s.data_dir, ignore_errors=True)

    def context(self, client_cert=False):
        ctx = ssl.create_default_context(cafile=self.pki.path("ca.crt"))
        if client_cert:
            ctx.load_cert_chain(self.pki.path("client.crt"), self.pki.path("client.key"))
        return ctx

    def https(self, server, client_cert=True):
        conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10, context=self.context(client_cert))
        self.conns.append(conn)
        return conn

    def start(self, client_auth="none", key="live.key", wait=True, extra_env=None):
        env = dict(extra_env or {})
        env.update({"VJVECTOR_TLS_CERT_FILE": self.pki.path("live.crt"),
               "VJVECTOR_TLS_KEY_FILE": self.pki.path(key),
               "VJVECTOR_TLS_CA_FILE": self.pki.path("ca.crt"),
               "VJVECTOR_TLS_CLIENT_AUTH": client_auth})
        server = h.Server(data_dir=tempfile.mkdtemp(prefix="vj-e2e-tls-data-"), env=env, port=h.free_port())
        self.servers.append(server)
        server.start(wait_ready=False)
        if not wait:
            return server

        def ready():
            self.assertTrue(server.alive(), f"vjvector exited:\n{server.stderr_text()[-3000:]}")
            conn = self.https(server)
            try:
                conn.request("GET", "/readyz")
                return conn.getresponse().status == 200
            except (OSError, http.client.HTTPException):
                return False
            finally:
                conn.close()  # a probe must not hold one of the node's connections
        wait_for(ready, "GET /readyz over https")
        return server

    def get(self, conn, path):
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()

    def handshake_failures(self, server):
        _, body = self.get(self.https(server), "/metrics")
        for line in body.decode().splitlines():
            if line.startswith("vjvector_tls_handshake_failures_total"):
                return float(line.split()[-1])
        return 0.0

    def test_curl_with_the_ca_works_and_without_it_fails(self):
        server = self.start()
        url = f"https://127.0.0.1:{server.port}/collections"
        ok = run([CURL, "-sS", "--cacert", self.pki.path("ca.crt"), url], self.pki.dir)
        self.assertIn('"status":"ok"', ok.stdout.replace(" ", ""))
        untrusted = run([CURL, "-sS", url], self.pki.dir, check=False)
        self.assertEqual(untrusted.returncode, 60, untrusted.stderr)  # peer certificate cannot be authenticated

    def test_tls_1_0_and_1_1_are_refused_by_the_server(self):
        server = self.start()
        before = self.handshake_failures(server)
        for flag in ("-tls1", "-tls1_1"):
            # SECLEVEL=0 lets this client offer the old versions: the refusal is the server's.
            r = run([OPENSSL, "s_client", "-connect", f"127.0.0.1:{server.port}", flag, "-cipher",
                     "DEFAULT:@SECLEVEL=0"], self.pki.dir, check=False, input="")
            out = r.stdout + r.stderr
            self.assertNotEqual(r.returncode, 0, out)
            self.assertIn("alert protocol version", out, out)
        wait_for(lambda: self.handshake_failures(server) >= before + 2, "two counted handshake failures")
        good = run([OPENSSL, "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_2", "-CAfile",
                    self.pki.path("ca.crt"), "-verify_return_error"], self.pki.dir, check=False, input="")
        self.assertEqual(good.returncode, 0, good.stdout + good.stderr)
        self.assertIn("TLSv1.2", good.stdout)

    def test_plain_http_to_the_tls_port_is_refused(self):
        server = self.start()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            received = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break  # the server closed the connection
                    received += chunk
            except ConnectionResetError:
                pass
        self.assertNotIn(b"HTTP/1.1 200", received)
        self.assertNotIn(b"ok", received)
        status, _ = self.get(self.https(server), "/livez")
        self.assertEqual(status, 200)

    def test_required_client_certificate(self):
        server = self.start(client_auth="require")
        url = f"https://127.0.0.1:{server.port}/collections"
        without = run([CURL, "-sS", "--cacert", self.pki.path("ca.crt"), url], self.pki.dir, check=False)
        self.assertNotEqual(without.returncode, 0, without.stdout)
        with_cert = run([CURL, "-sS", "--cacert", self.pki.path("ca.crt"), "--cert", self.pki.path("client.crt"),
                         "--key", self.pki.path("client.key"), url], self.pki.dir)
        self.assertIn('"status":"ok"', with_cert.stdout.replace(" ", ""))
        # A certificate from another CA is refused as well.
        other = Pki()
        try:
            other.issue("intruder", "reporting-app", 0x4004)
            intruder = run([CURL, "-sS", "--cacert", self.pki.path("ca.crt"), "--cert", other.path("intruder.crt"),
                            "--key", other.path("intruder.key"), url], self.pki.dir, check=False)
            self.assertNotEqual(intruder.returncode, 0, intruder.stdout)
        finally:
            other.cleanup()

    def test_sighup_rotates_for_new_connections_and_keeps_open_ones(self):
        server = self.start()
        old_conn = self.https(server)
        status, _ = self.get(old_conn, "/collections")
        self.assertEqual(status, 200)
        self.assertEqual(old_conn.sock.getpeercert()["serialNumber"], "1001")

        shutil.copy(self.pki.path("server2.crt"), self.pki.path("live.crt"))
        shutil.copy(self.pki.path("server2.key"), self.pki.path("live.key"))
        server.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "TLS certificates reloaded" in server.stderr_text(), "the reload log line")

        new_conn = self.https(server)
        status, _ = self.get(new_conn, "/collections")
        self.assertEqual(status, 200)
        self.assertEqual(new_conn.sock.getpeercert()["serialNumber"], "2002")
        # The connection opened before the reload is still served, on the same socket.
        old_sock = old_conn.sock
        status, _ = self.get(old_conn, "/collections")
        self.assertEqual(status, 200)
        self.assertIs(old_conn.sock, old_sock)

        # A reload that fails (a broken key) keeps the certificate in force.
        with open(self.pki.path("live.key"), "w") as f:
            f.write("not a key\n")
        server.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "TLS reload on SIGHUP failed" in server.stderr_text(), "the failed-reload log line")
        self.assertIn(self.pki.path("live.key"), server.stderr_text())
        third = self.https(server)
        status, _ = self.get(third, "/livez")
        self.assertEqual(status, 200)
        self.assertEqual(third.sock.getpeercert()["serialNumber"], "2002")
        self.assertTrue(server.alive())

    def test_connection_limit_holds_over_tls(self):
        server = self.start(extra_env={"VJVECTOR_HTTP_MAX_CONNECTIONS": "1"})
        holders = []

        def hold_the_only_slot():
            # The readiness probes' connections close asynchronously: retry until one is served.
            conn = self.https(server)
            if self.get(conn, "/collections")[0] == 200:
                holders.append(conn)
                return True
            conn.close()
            return False
        wait_for(hold_the_only_slot, "a connection within the limit")
        holder = holders[0]
        # The connection over the limit still completes its handshake: health checks pass, the rest is 503.
        status, _ = self.get(self.https(server), "/livez")
        self.assertEqual(status, 200)
        over = self.https(server)
        over.request("GET", "/collections")
        resp = over.getresponse()
        resp.read()
        self.assertEqual(resp.status, 503)
        self.assertEqual(resp.getheader("Retry-After"), "1")
        status, _ = self.get(holder, "/collections")  # the open connection is still served
        self.assertEqual(status, 200)

    def test_key_of_another_certificate_keeps_the_node_from_starting(self):
        server = self.start(key="client.key", wait=False)
        wait_for(lambda: not server.alive(), "the node to exit")
        self.assertNotEqual(server.proc.returncode, 0)
        err = server.stderr_text()
        self.assertIn(self.pki.path("client.key"), err)
        self.assertIn("does not match", err)


if __name__ == "__main__":
    h.main()

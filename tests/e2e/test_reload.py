"""SIGHUP reloads the security settings of a running node, against the real binary (no restart):

- security.api_key changed in the config file: after SIGHUP the old key gets 401 and the new one is served;
  alt_api_key and read_only_api_key follow the file too; an open keep-alive connection is not dropped.
- security.rate_limits: a limit added by SIGHUP answers 429, removed by another SIGHUP it stops.
- A setting that cannot change at run time (http.max_body_bytes) is named in the log and ignored.
- New settings that do not load (jwt_rbac without a key) are refused and the current ones stay in force.
"""

import http.client
import os
import secrets
import shutil
import signal
import tempfile
import time

import vjharness as h

WAIT_S = 15.0
OLD_KEY = "old-" + secrets.token_hex(12)
NEW_KEY = "new-" + secrets.token_hex(12)
RO_KEY = "ro-" + secrets.token_hex(12)


def wait_for(predicate, what, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class ReloadTest(h.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vj-e2e-reload-")
        self.config = os.path.join(self.tmp, "vjvector.yaml")
        self.write_config(api_key=OLD_KEY)
        self.server = h.Server(data_dir=os.path.join(self.tmp, "data"), extra_args=["--config", self.config],
                               api_key=OLD_KEY)
        self.server.start()

    def tearDown(self):
        failed = h._test_failed(self)
        if failed:
            print(f"\n===== {self.id()} =====\n{self.server.dump_logs()}")
        self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_config(self, api_key, extra=""):
        with open(self.config + ".tmp", "w") as f:
            f.write(f"security:\n  api_key: {api_key}\n{extra}")
        os.replace(self.config + ".tmp", self.config)

    def sighup(self, expect):
        """Sends SIGHUP and waits for one more `expect` line in the log than before."""
        before = self.server.stderr_text().count(expect)
        self.server.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.server.stderr_text().count(expect) > before, f"the log line {expect!r}")

    def status(self, key, method="GET", path="/collections", body=None):
        return h.Client(self.server.host, self.server.port, api_key=key).call(method, path, body).status

    @staticmethod
    def keepalive_status(conn, key):
        conn.request("GET", "/collections", headers={"api-key": key})
        resp = conn.getresponse()
        resp.read()
        return resp.status

    def test_api_keys_rotate_without_a_restart(self):
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=30)
        self.addCleanup(conn.close)
        self.assertEqual(self.keepalive_status(conn, OLD_KEY), 200)
        sock = conn.sock
        self.assertEqual(self.status(NEW_KEY), 401)
        pid = self.server.proc.pid

        self.write_config(api_key=NEW_KEY, extra=f"  read_only_api_key: {RO_KEY}\n")
        self.sighup("SIGHUP: applied new settings")
        self.assertIn("security.api_key", self.server.stderr_text())
        self.assertEqual(self.status(OLD_KEY), 401)
        # The connection opened before the reload is still open, and answers with the new settings.
        self.assertEqual(self.keepalive_status(conn, OLD_KEY), 401)
        self.assertEqual(self.keepalive_status(conn, NEW_KEY), 200)
        self.assertIs(conn.sock, sock)
        self.assertEqual(self.status(NEW_KEY), 200)
        self.assertEqual(self.status(RO_KEY), 200)
        self.assertEqual(self.status(RO_KEY, "PUT", "/collections/c", {"vectors": {"size": 4, "distance": "Dot"}}),
                         403)
        self.assertEqual(self.status(NEW_KEY, "PUT", "/collections/c", {"vectors": {"size": 4, "distance": "Dot"}}),
                         200)
        self.assertEqual(self.server.proc.pid, pid)
        self.assertTrue(self.server.alive())
        # Neither key is ever written to the log.
        log = self.server.stderr_text()
        for secret in (OLD_KEY, NEW_KEY, RO_KEY):
            self.assertNotIn(secret, log)

        # Rotating as Qdrant users do: the new key as alt_api_key first, then the old one dropped.
        self.write_config(api_key=NEW_KEY, extra=f"  alt_api_key: {OLD_KEY}\n")
        self.sighup("SIGHUP: applied new settings")
        self.assertEqual(self.status(OLD_KEY), 200)
        self.assertEqual(self.status(NEW_KEY), 200)
        self.assertEqual(self.status(RO_KEY), 401)

    def test_rate_limits_follow_the_file(self):
        self.write_config(api_key=OLD_KEY, extra="  rate_limits:\n    read_per_s: 0.01\n    read_burst: 2\n")
        self.sighup("SIGHUP: applied new settings")
        codes = [self.status(OLD_KEY) for _ in range(4)]
        self.assertEqual(codes[:2], [200, 200])
        self.assertEqual(codes[2:], [429, 429])
        self.write_config(api_key=OLD_KEY)
        self.sighup("SIGHUP: applied new settings")
        self.assertEqual([self.status(OLD_KEY) for _ in range(4)], [200] * 4)

    def test_restart_only_settings_are_named_and_bad_settings_refused(self):
        self.write_config(api_key=OLD_KEY, extra="http:\n  max_body_bytes: 1024\n")
        self.sighup("takes effect at the next restart")
        self.assertIn("http.max_body_bytes changed", self.server.stderr_text())
        self.assertIn("no security setting changed", self.server.stderr_text())
        # Still the start value: a body over 1024 bytes is accepted.
        self.assertEqual(self.status(OLD_KEY, "PUT", "/collections/big", {"vectors": {"size": 4, "distance": "Dot"}}),
                         200)
        points = {"points": [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4], "payload": {"text": "y" * 2000}}]}
        self.assertEqual(self.status(OLD_KEY, "PUT", "/collections/big/points?wait=true", points), 200)

        # jwt_rbac needs an api key: the new settings do not load, the old key stays in force.
        with open(self.config, "w") as f:
            f.write(f"security:\n  read_only_api_key: {RO_KEY}\n  jwt_rbac: true\n")
        self.sighup("the new security settings are refused")
        self.assertEqual(self.status(OLD_KEY), 200)
        self.assertEqual(self.status(RO_KEY), 401)

        # A file that does not parse changes nothing either.
        with open(self.config, "w") as f:
            f.write("security: [\n")
        self.sighup("cannot read the settings again")
        self.assertEqual(self.status(OLD_KEY), 200)
        self.assertTrue(self.server.alive())


if __name__ == "__main__":
    h.main()

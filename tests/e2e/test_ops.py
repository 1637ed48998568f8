"""End-to-end operations: CLI, configuration precedence (flags > env > YAML file > defaults),
probes, Prometheus metrics (checked by promtool) and JSON logs."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import vjharness as vh


def run_cli(args, env=None, timeout=30):
    e = {k: v for k, v in os.environ.items() if not k.startswith("VJVECTOR_")}
    if env:
        e.update(env)
    return subprocess.run([vh.BINARY] + args, capture_output=True, text=True, timeout=timeout, env=e,
                          stdin=subprocess.DEVNULL)


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def dir_has_files(d):
    if not os.path.isdir(d):
        return False
    with os.scandir(d) as it:
        return any(True for _ in it)


def parse_json_lines(text):
    bad = []
    objs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            o = json.loads(line)
            if not isinstance(o, dict):
                bad.append(line)
            else:
                objs.append(o)
        except ValueError:
            bad.append(line)
    return objs, bad


def level_of(o):
    for k in ("level", "lvl", "severity", "log.level"):
        if k in o:
            return str(o[k]).lower()
    return None


class OpsTest(vh.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vj-e2e-ops-")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()
        if vh._test_failed(self):
            for s in self.servers:
                print(f"\n===== {self.id()}: server logs =====\n{s.dump_logs()}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def server(self, args, port, env=None, wait_ready=True):
        s = Server(args=args, port=port, env=env, log_dir=tempfile.mkdtemp(dir=self.tmp))
        self.servers.append(s)
        s.start(wait_ready=wait_ready, retries=1)
        return s

    def mkdir(self, name):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        return d

    # ------------------------------------------------------------------ CLI

    def test_version(self):
        r = run_cli(["version"])
        self.assertEqual(r.returncode, 0, f"`vjvector version` exit code; stderr: {r.stderr}")
        m = re.search(r"\d+\.\d+\.\d+", r.stdout)
        self.assertIsNotNone(m, f"`vjvector version` stdout has no x.y.z version: {r.stdout!r}")
        # GET / reports the same version.
        d = self.mkdir("data")
        port = vh.free_port()
        s = self.server(["serve", "--data-dir", d, "--host", "127.0.0.1", "--http-port", str(port)], port)
        root = s.client.call("GET", "/")
        self.assertEqual(root.status, 200, root.describe())
        self.assertTrue(str(root.json.get("title", "")).startswith("vjvector"), f"GET / title: {root.describe()}")
        self.assertIn(root.json.get("vjvector_version"), r.stdout,
                      f"GET / vjvector_version vs `vjvector version` {r.stdout!r}")
        # "version" is the Qdrant API version followed, which official clients check.
        self.assertRegex(root.json.get("version", ""), r"^1\.\d+\.\d+$", root.describe())

    def test_help(self):
        r = run_cli(["--help"])
        self.assertEqual(r.returncode, 0, f"`vjvector --help` exit code; stderr: {r.stderr}")
        out = r.stdout + r.stderr
        self.assertIn("serve", out, f"--help should list the serve command: {out!r}")
        self.assertIn("version", out, f"--help should list the version command: {out!r}")
        r = run_cli(["serve", "--help"])
        self.assertEqual(r.returncode, 0, f"`vjvector serve --help` exit code; stderr: {r.stderr}")
        out = r.stdout + r.stderr
        for flag in ("--data-dir", "--host", "--http-port", "--config", "--max-body-bytes", "--log-format", "--log-level"):
            self.assertIn(flag, out, f"`serve --help` should document {flag}: {out!r}")

    def expect_failure(self, args, words, ctx):
        try:
            r = run_cli(args, timeout=20)
        except subprocess.TimeoutExpired:
            self.fail(f"{ctx}: `vjvector {' '.join(args)}` did not exit within 20 s (expected a quick failure)")
        self.assertNotEqual(r.returncode, 0, f"{ctx}: should fail; stdout {r.stdout!r} stderr {r.stderr!r}")
        msg = (r.stdout + r.stderr).lower()
        self.assertTrue(any(w.lower() in msg for w in words),
                        f"{ctx}: message should name one of {words}: stdout {r.stdout!r} stderr {r.stderr!r}")

    def test_bad_command_line(self):
        d = self.mkdir("bad")
        port = str(vh.free_port())
        cases = (
            (["frobnicate"], ["frobnicate"]),
            (["serve", "--data-dir", d, "--http-port", port, "--no-such-flag"], ["no-such-flag"]),
            (["serve", "--data-dir", d, "--http-port", "notaport"], ["port", "notaport"]),
            (["serve", "--data-dir", d, "--http-port", "70000"], ["port", "70000"]),
            (["serve", "--data-dir", d, "--http-port", port, "--log-format", "xml"], ["log", "xml"]),
            (["serve", "--data-dir", d, "--http-port", port, "--log-level", "loud"], ["level", "loud"]),
            (["serve", "--data-dir", d, "--http-port", port, "--max-body-bytes", "-5"], ["body", "-5"]),
            (["serve", "--data-dir", d, "--http-port", port, "--config", os.path.join(self.tmp, "missing.yaml")],
             ["missing.yaml"]),
        )
        for args, words in cases:
            with self.subTest(args=args):
                self.expect_failure(args, words, "bad command line")

    def test_bad_config_file(self):
        for text, words in (("http: {port: notanumber}\n", ["port", "notanumber"]), ("http: [unclosed\n", ["yaml", "bad.yaml"]),
                            ("log: {format: xml}\n", ["format", "xml"])):
            with self.subTest(text=text):
                cfg = os.path.join(self.tmp, "bad.yaml")
                with open(cfg, "w") as f:
                    f.write(text)
                args = ["serve", "--config", cfg, "--data-dir", self.mkdir("badcfg")]
                if "port" not in text:  # never let a wrongly accepted config bind the default port
                    args += ["--http-port", str(vh.free_port())]
                self.expect_failure(args, words, f"config {text!r}")

    def test_port_in_use_fails_fast(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            self.expect_failure(["serve", "--data-dir", self.mkdir("busy"), "--host", "127.0.0.1", "--http-port",
                                 str(port)], [str(port), "in use", "bind"], "port in use")

    # ------------------------------------------------------------------ configuration precedence

    def write_config(self, port, data_dir, max_body, log_format="text"):
        cfg = os.path.join(self.tmp, "vjvector.yaml")
        with open(cfg, "w") as f:
            f.write(f"# test config\ndata_dir: {data_dir}\nhttp:\n  host: 127.0.0.1\n  port: {port}\n"
                    f"  threads: 2\n  max_body_bytes: {max_body}\nlog:\n  format: {log_format}\n  level: info\n")
        return cfg

    def body_of_size(self, n):
        pad = "x" * max(0, n - 80)
        raw = json.dumps({"points": [{"id": 1, "vector": [1, 2, 3, 4], "payload": {"pad": pad}}]}).encode()
        return raw

    def check_instance(self, s, port, data_dir, other_dirs, ok_size, too_big_size, ctx):
        c = vh.Client("127.0.0.1", port)
        c.create_collection("probe", size=4, distance="Dot")
        r = c.call("PUT", "/collections/probe/points?wait=true", raw=self.body_of_size(ok_size))
        self.assertEqual(r.status, 200, f"{ctx}: {ok_size}-byte body should be accepted: {r.describe()[:300]}")
        r = c.call("PUT", "/collections/probe/points?wait=true", raw=self.body_of_size(too_big_size))
        self.assertEqual(r.status, 413, f"{ctx}: {too_big_size}-byte body should be refused: {r.describe()[:300]}")
        self.assertTrue(dir_has_files(data_dir), f"{ctx}: data dir {data_dir} not used")
        for d in other_dirs:
            self.assertFalse(dir_has_files(d), f"{ctx}: data written to {d}, which should not be used")

    def test_config_precedence(self):
        pa, pb, pc = vh.free_port(), vh.free_port(), vh.free_port()
        while len({pa, pb, pc}) < 3:
            pb, pc = vh.free_port(), vh.free_port()
        d_file, d_env, d_flag = self.mkdir("d_file"), self.mkdir("d_env"), self.mkdir("d_flag")
        cfg = self.write_config(pa, d_file, 5000, log_format="json")
        env = {"VJVECTOR_HTTP_PORT": str(pb), "VJVECTOR_DATA_DIR": d_env, "VJVECTOR_HTTP_MAX_BODY_BYTES": "8000",
               "VJVECTOR_HTTP_HOST": "127.0.0.1", "VJVECTOR_LOG_FORMAT": "text", "VJVECTOR_LOG_LEVEL": "info"}

        # File only.
        s = self.server(["serve", "--config", cfg], pa)
        self.check_instance(s, pa, d_file, [d_env, d_flag], 3000, 6500, "file only")
        self.assertEqual(s.stop(), 0)
        objs, bad = parse_json_lines(s.stderr_text())
        self.assertTrue(objs and not bad, f"file log.format json: expected JSON log lines, got non-JSON {bad[:3]}")

        # File + env: env wins.
        s = self.server(["serve", "--config", cfg], pb, env=env)
        self.assertFalse(port_open(pa), "file+env: server also listens on the file's port")
        self.check_instance(s, pb, d_env, [d_flag], 6500, 9500, "file+env")
        self.assertEqual(s.stop(), 0)
        objs, bad = parse_json_lines(s.stderr_text())
        self.assertTrue(bad, f"VJVECTOR_LOG_FORMAT=text over file's json: expected text log lines, got JSON {objs[:3]}")

        # File + env + flags: flags win.
        s = self.server(["serve", "--config", cfg, "--http-port", str(pc), "--data-dir", d_flag,
                         "--max-body-bytes", "12000"], pc, env=env)
        self.assertFalse(port_open(pa), "flags: server listens on the file's port")
        self.assertFalse(port_open(pb), "flags: server listens on the env's port")
        self.check_instance(s, pc, d_flag, [], 9500, 14000, "file+env+flags")
        self.assertEqual(s.stop(), 0)

    def test_env_without_file(self):
        port = vh.free_port()
        d = self.mkdir("envonly")
        env = {"VJVECTOR_HTTP_PORT": str(port), "VJVECTOR_DATA_DIR": d, "VJVECTOR_HTTP_HOST": "127.0.0.1",
               "VJVECTOR_HTTP_MAX_BODY_BYTES": "7000", "VJVECTOR_LOG_FORMAT": "json"}
        s = self.server(["serve"], port, env=env)
        self.check_instance(s, port, d, [], 5000, 8000, "env only")
        self.assertEqual(s.stop(), 0)
        objs, bad = parse_json_lines(s.stderr_text())
        self.assertNoItems(bad, f"VJVECTOR_LOG_FORMAT=json: non-JSON log lines: {bad[:5]}")
        self.assertTrue(objs, "VJVECTOR_LOG_FORMAT=json: no log lines at all")

    def test_default_body_limit_allows_normal_requests(self):
        port = vh.free_port()
        d = self.mkdir("defaults")
        s = self.server(["serve", "--data-dir", d, "--host", "127.0.0.1", "--http-port", str(port)], port)
        c = s.client
        c.create_collection("p", size=4, distance="Dot")
        r = c.call("PUT", "/collections/p/points?wait=true", raw=self.body_of_size(1 << 20))
        self.assertEqual(r.status, 200, f"a 1 MiB body should fit the default limit: {r.describe()[:300]}")

    def test_busy_poll_serves_and_sleeps_when_idle(self):
        """--busy-poll-us: queries are answered as usual, and once idle the process stops spinning."""
        port = vh.free_port()
        d = self.mkdir("busypoll")
        s = self.server(["serve", "--data-dir", d, "--host", "127.0.0.1", "--http-port", str(port),
                         "--busy-poll-us", "2000"], port)
        c = s.client
        c.create_collection("bp", size=4, distance="Euclid")
        c.upsert("bp", [{"id": i, "vector": [float(i), 0.0, 0.0, 1.0]} for i in range(50)])
        for i in range(200):
            r = c.call("POST", "/collections/bp/points/query", {"query": [float(i % 50), 0.0, 0.0, 1.0], "limit": 1})
            self.assertEqual(r.status, 200, r.describe()[:300])
            self.assertEqual(r.json["result"]["points"][0]["id"], i % 50)

        def cpu_seconds():
            with open(f"/proc/{s.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

        time.sleep(0.05)  # past the polling window
        before = cpu_seconds()
        time.sleep(1.0)
        self.assertLess(cpu_seconds() - before, 0.2, "an idle server with --busy-poll-us kept spinning")
        self.assertEqual(s.stop(), 0)

    # ------------------------------------------------------------------ probes, metrics, logs

    def test_probes_and_metrics(self):
        port = vh.free_port()
        d = self.mkdir("metrics")
        s = self.server(["serve", "--data-dir", d, "--host", "127.0.0.1", "--http-port", str(port)], port)
        c = s.client
        for path in ("/livez", "/healthz", "/readyz"):
            r = c.call("GET", path)
            self.assertEqual(r.status, 200, r.describe())
        # Some traffic: successes, a 404 and a 400.
        c.create_collection("m", size=4, distance="Cosine")
        c.upsert("m", [{"id": i, "vector": [i, 1, 2, 3]} for i in range(1, 20)])
        c.ok("POST", "/collections/m/points/query", {"query": [1, 2, 3, 4], "limit": 3})
        c.call("GET", "/collections/nope")
        c.call("POST", "/collections/m/points/query", raw=b"{bad")
        r = c.call("GET", "/metrics")
        self.assertEqual(r.status, 200, r.describe())
        ctype = r.headers.get("Content-Type", r.headers.get("content-type", ""))
        self.assertTrue(ctype.startswith("text/plain"), f"/metrics Content-Type: {ctype!r}")
        text = r.raw.decode("utf-8")
        self.assertIn("vjvector_http_requests_total", text)
        self.assertRegex(text, r"(?m)^# TYPE vjvector_http_requests_total counter$")
        # Counters move with traffic.
        total_before = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                           if line.startswith("vjvector_http_requests_total"))
        for _ in range(5):
            c.call("GET", "/collections")
        text2 = c.call("GET", "/metrics").raw.decode("utf-8")
        total_after = sum(float(line.rsplit(" ", 1)[1]) for line in text2.splitlines()
                          if line.startswith("vjvector_http_requests_total"))
        self.assertGreaterEqual(total_after - total_before, 5, "vjvector_http_requests_total did not count requests")
        # The route label has bounded cardinality: no raw collection names or ids as label values.
        self.assertNotIn('"/collections/nope"', text2, "metrics label contains a raw path (unbounded cardinality)")
        if not vh.PROMTOOL:
            self.skipTest("promtool not found")
        p = subprocess.run([vh.PROMTOOL, "check", "metrics"], input=text2, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, f"promtool check metrics failed:\nstdout: {p.stdout}\nstderr: {p.stderr}\n"
                                          f"--- metrics ---\n{text2[:4000]}")

    def test_json_logs(self):
        port = vh.free_port()
        d = self.mkdir("jsonlog")
        s = self.server(["serve", "--data-dir", d, "--host", "127.0.0.1", "--http-port", str(port),
                         "--log-format", "json", "--log-level", "debug"], port)
        c = s.client
        c.create_collection("j", size=4, distance="Dot")
        c.call("GET", "/collections/missing")
        c.call("PUT", "/collections/j/points", raw=b"{not json")
        self.assertEqual(s.stop(), 0)
        text = s.stderr_text()
        objs, bad = parse_json_lines(text)
        self.assertNoItems(bad, f"--log-format json: non-JSON lines on stderr: {bad[:5]}")
        self.assertTrue(objs, "--log-format json: no log lines on stderr")
        self.assertTrue(any(level_of(o) is not None for o in objs), f"JSON log lines carry no level field: {objs[:3]}")

        # VJVECTOR_LOG_LEVEL=warn: nothing at info/debug level.
        port = vh.free_port()
        s = self.server(["serve", "--data-dir", d, "--host", "127.0.0.1", "--http-port", str(port)], port,
                        env={"VJVECTOR_LOG_LEVEL": "warn", "VJVECTOR_LOG_FORMAT": "json"})
        s.client.call("GET", "/collections/missing")
        self.assertEqual(s.stop(), 0)
        objs, bad = parse_json_lines(s.stderr_text())
        self.assertNoItems(bad, f"VJVECTOR_LOG_FORMAT=json: non-JSON lines: {bad[:5]}")
        low = [o for o in objs if level_of(o) in ("info", "debug", "trace")]
        self.assertNoItems(low, f"VJVECTOR_LOG_LEVEL=warn still logs info/debug: {low[:3]}")

        # --log-level warn: nothing at info/debug level.
        port = vh.free_port()
        s = self.server(["serve", "--data-dir", d, "--host", "127.0.0.1", "--http-port", str(port),
                         "--log-format", "json", "--log-level", "warn"], port)
        s.client.call("GET", "/collections/missing")
        self.assertEqual(s.stop(), 0)
        objs, bad = parse_json_lines(s.stderr_text())
        self.assertNoItems(bad, f"non-JSON lines: {bad[:5]}")
        low = [o for o in objs if level_of(o) in ("info", "debug", "trace")]
        self.assertNoItems(low, f"--log-level warn still logs info/debug: {low[:3]}")

    def test_flag_log_format_overrides_env(self):
        port = vh.free_port()
        d = self.mkdir("textlog")
        s = self.server(["serve", "--data-dir", d, "--host", "127.0.0.1", "--http-port", str(port),
                         "--log-format", "text"], port, env={"VJVECTOR_LOG_FORMAT": "json"})
        s.client.call("GET", "/")
        self.assertEqual(s.stop(), 0)
        objs, bad = parse_json_lines(s.stderr_text())
        self.assertTrue(bad, f"--log-format text with VJVECTOR_LOG_FORMAT=json: expected text lines, got JSON {objs[:3]}")


Server = vh.Server


if __name__ == "__main__":
    vh.main()

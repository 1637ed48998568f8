"""Shared helpers for the deployment tests in tests/deploy (Python 3 standard library only).

Command line (stripped before unittest sees argv):
  --binary PATH   the vjvector binary (default: $VJVECTOR_BINARY or <repo>/build/vjvector)
  --node PATH     Node.js, for k8s_render.mjs (default: $NODE or node on PATH)
  --haproxy PATH  HAProxy (default: $HAPROXY or haproxy on PATH, then /usr/sbin/haproxy)
"""

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEPLOY = os.path.join(REPO_ROOT, "deploy")

BINARY = os.environ.get("VJVECTOR_BINARY") or os.path.join(REPO_ROOT, "build", "vjvector")
NODE = os.environ.get("NODE") or shutil.which("node") or shutil.which("nodejs")
HAPROXY = os.environ.get("HAPROXY") or shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0  # the server's drain timeout is 10 s


def _parse_argv():
    global BINARY, NODE, HAPROXY
    rest, args, i = [sys.argv[0]], sys.argv[1:], 0
    names = {"--binary": "BINARY", "--node": "NODE", "--haproxy": "HAPROXY"}
    while i < len(args):
        a = args[i]
        key, _, value = a.partition("=")
        if key in names and (value or i + 1 < len(args)):
            if not value:
                value = args[i + 1]
                i += 1
            globals()[names[key]] = value
        else:
            rest.append(a)
        i += 1
    sys.argv[:] = rest
    BINARY = os.path.abspath(BINARY)


_parse_argv()


SERVER_CONFIG_CC = os.path.join(REPO_ROOT, "src", "server", "server_config.cc")


def server_settings():
    """{env suffix: yaml key} of every setting the server reads: src/server/server_config.cc's kSettings."""
    with open(SERVER_CONFIG_CC) as f:
        table = f.read()
    table = table[table.index("kSettings[]"):]
    found = dict(re.findall(r'\{"([A-Z0-9_]+)",\s*"([a-z0-9_.]+)"', table))
    if "CLUSTER_ETCD" not in found or "DATA_DIR" not in found:
        raise AssertionError(f"could not read the settings table of {SERVER_CONFIG_CC}: {found}")
    return found


def require_binary():
    if not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)):
        print(f"vjvector binary not found or not executable: {BINARY}", file=sys.stderr)
        sys.exit(2)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, host="127.0.0.1", timeout=5.0, method="GET", body=None, api_key=None, ca_file=None):
    """(status, body text) of one request on a fresh connection; raises OSError when it cannot connect
    (ssl.SSLError, an OSError, when the TLS handshake fails). With ca_file: HTTPS, the server's
    certificate verified against ca_file and `host`."""
    if ca_file:
        context = ssl.create_default_context(cafile=ca_file)
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if api_key:
            headers["api-key"] = api_key
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


class Node:
    """One `vjvector serve` process on loopback with its own data dir; always stopped by stop()."""

    def __init__(self, port=None, config=None, extra_args=(), env=None, ca_file=None):
        self.port = port or free_port()
        self.ca_file = ca_file  # set when the node serves HTTPS: its probes verify against it
        self.tmp = tempfile.mkdtemp(prefix="vjdeploy-")
        self.data_dir = os.path.join(self.tmp, "data")
        self.log_path = os.path.join(self.tmp, "server.log")
        args = [BINARY, "serve", "--data-dir", self.data_dir, "--host", "127.0.0.1",
                "--http-port", str(self.port), "--threads", "2"]
        if config:
            args += ["--config", config]
        args += list(extra_args)
        self._log = open(self.log_path, "wb")
        run_env = dict(os.environ)
        for k in list(run_env):
            if k.startswith("VJVECTOR_"):
                del run_env[k]  # only what the test sets may influence the config
        run_env["VJVECTOR_GRPC_PORT"] = "0"  # no gRPC port: the default 6334 is shared by concurrent tests
        run_env.update(env or {})
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=run_env)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def wait_ready(self, timeout=READY_TIMEOUT_S):
        """True once /readyz answers 200; False if the process exits or the time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if http_get(self.port, "/readyz", timeout=2.0, ca_file=self.ca_file)[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def terminate(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self):
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S. Returns the exit code of the SIGTERM stop
        (None when it had to be killed)."""
        code = self.proc.poll()
        if code is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                code = None
        self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return code


def main():
    require_binary()
    unittest.main(verbosity=2)


class TestPki:
    """A private CA and certificates signed by it, made with the openssl command line in `directory`
    (EC P-256, the commands of docs/security.md, "Making certificates with openssl")."""

    def __init__(self, directory, openssl=None):
        self.dir = directory
        self.openssl = openssl or shutil.which("openssl")
        if not self.openssl:
            raise AssertionError("openssl not found: install openssl (scripts/install-deps.sh)")
        os.makedirs(directory, exist_ok=True)
        self.ca_crt, self.ca_key = self.path("ca.crt"), self.path("ca.key")
        self._run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", self.ca_key, "-out", self.ca_crt, "-days", "2", "-subj", "/CN=vjvector test CA")

    def path(self, name):
        return os.path.join(self.dir, name)

    def _run(self, *args):
        p = subprocess.run([self.openssl, *args], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"openssl {' '.join(args)}: {p.stderr}")

    def issue(self, name, common_name, dns=(), ips=(), usages="serverAuth,clientAuth"):
        """(certificate path, key path) of a new certificate for `common_name` with these
        subjectAltNames and extended key usages."""
        crt, key, csr, ext = (self.path(f"{name}.{x}") for x in ("crt", "key", "csr", "ext"))
        self._run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", key, "-out", csr, "-subj", f"/CN={common_name}")
        sans = [f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips]
        with open(ext, "w") as f:
            if sans:
                f.write(f"subjectAltName={','.join(sans)}\n")
            f.write(f"extendedKeyUsage={usages}\n")
        self._run("x509", "-req", "-in", csr, "-CA", self.ca_crt, "-CAkey", self.ca_key, "-CAcreateserial",
                  "-days", "2", "-out", crt, "-extfile", ext)
        return crt, key

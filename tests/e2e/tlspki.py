"""A throw-away test PKI made with the `openssl` command: a CA and the certificates it signs, in a temporary
directory. Python 3 standard library only. Shared by test_tls.py, test_tls_cluster.py and the cluster harness
(cluster_harness.py with VJ_E2E_TLS=1).

Not thread-safe: issue certificates from one thread (a test's setUp); reading paths and making contexts
afterwards is safe from any thread.
"""

import os
import shutil
import ssl
import subprocess
import tempfile

OPENSSL = shutil.which("openssl")

# What a cluster node's certificate carries: the names the tests reach it by, and both usages (it serves
# the REST and peer ports and is the client certificate it presents to its peers and to etcd).
NODE_SAN = "IP:127.0.0.1,DNS:localhost"
NODE_USAGE = "serverAuth,clientAuth"


def run(args, cwd, check=True, **kw):
    return subprocess.run(args, cwd=cwd, check=check, capture_output=True, text=True, timeout=60, **kw)


class Pki:
    """A CA and certificates it signs, made with the openssl command."""

    def __init__(self):
        if OPENSSL is None:
            raise AssertionError("the openssl command is needed")
        self.dir = tempfile.mkdtemp(prefix="vj-e2e-tls-")
        self._serial = 0x7000
        run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=vjvector-test-ca"], self.dir)

    def path(self, name):
        return os.path.join(self.dir, name)

    def issue(self, name, cn, serial, san="IP:127.0.0.1", usage=None):
        """name.crt and name.key, subject CN=cn; usage: an extendedKeyUsage value (none: any usage)."""
        with open(self.path(name + ".ext"), "w") as f:
            f.write(f"subjectAltName={san}\n")
            if usage:
                f.write(f"extendedKeyUsage={usage}\n")
        run([OPENSSL, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn], self.dir)
        run([OPENSSL, "x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-set_serial", str(serial), "-days", "2", "-out", name + ".crt", "-extfile", name + ".ext"], self.dir)

    def issue_node(self, name):
        """A cluster member's certificate (CN=name, NODE_SAN, server and client usage), made once; returns
        (cert path, key path)."""
        if not os.path.exists(self.path(name + ".crt")):
            self._serial += 1
            self.issue(name, name, self._serial, san=NODE_SAN, usage=NODE_USAGE)
        return self.path(name + ".crt"), self.path(name + ".key")

    def context(self, cert=None):
        """A client ssl.SSLContext trusting this CA (hostname checked); presenting `cert` (a name given to
        issue) when set."""
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))
        if cert:
            ctx.load_cert_chain(self.path(cert + ".crt"), self.path(cert + ".key"))
        return ctx

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

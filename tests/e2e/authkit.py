"""Credentials for the authentication e2e tests, made the way a client or an identity provider makes them.

- hs256_token: Qdrant's JWT RBAC tokens (HS256 signed with the API key), with hmac and base64url only.
- RsaKey: an RSA key made with `openssl genpkey`; its JWK (n, e read back with `openssl rsa`) and RS256
  tokens signed with `openssl dgst -sha256 -sign`.
- JwksServer: a JWKS served by a local http.server thread, as an OIDC provider's jwks_uri; it counts
  fetches and its keys can be replaced (key rotation).
- auth_failures: vjvector_auth_failures_total{reason} read from /metrics text.
Python 3 standard library and the openssl command only.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import shutil
import subprocess
import threading

OPENSSL = shutil.which("openssl")


def b64url(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_part(obj):
    return b64url(json.dumps(obj, separators=(",", ":")))


def hs256_token(claims, secret, header=None):
    """A compact JWS: HS256 over header.payload with `secret` (str or bytes)."""
    header = header or {"alg": "HS256", "typ": "JWT"}
    signing_input = _json_part(header) + "." + _json_part(claims)
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    sig = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def unsigned_token(claims):
    """alg none: header.payload. with an empty signature."""
    return _json_part({"alg": "none", "typ": "JWT"}) + "." + _json_part(claims) + "."


class RsaKey:
    """An RSA-2048 key in `directory`/`name`.pem, made and used through the openssl command."""

    def __init__(self, directory, name, kid):
        self.kid = kid
        self.path = os.path.join(directory, name + ".pem")
        self.public_path = os.path.join(directory, name + ".pub.pem")
        self._run(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", self.path])
        self._run(["rsa", "-in", self.path, "-pubout", "-out", self.public_path])
        modulus = self._run(["rsa", "-in", self.path, "-noout", "-modulus"]).decode().strip()
        self.n = bytes.fromhex(modulus.split("=", 1)[1])
        text = self._run(["rsa", "-in", self.path, "-noout", "-text"]).decode()
        e = int(re.search(r"publicExponent: (\d+)", text).group(1))
        self.e = e.to_bytes((e.bit_length() + 7) // 8, "big")

    @staticmethod
    def _run(args, data=None):
        return subprocess.run([OPENSSL] + args, input=data, capture_output=True, check=True, timeout=60).stdout

    def jwk(self):
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": b64url(self.n), "e": b64url(self.e)}

    def public_pem(self):
        with open(self.public_path, "rb") as f:
            return f.read()

    def token(self, claims, kid=None):
        header = {"alg": "RS256", "typ": "JWT", "kid": kid or self.kid}
        signing_input = _json_part(header) + "." + _json_part(claims)
        sig = self._run(["dgst", "-sha256", "-sign", self.path], data=signing_input.encode("ascii"))
        return signing_input + "." + b64url(sig)


class JwksServer:
    """GET /jwks answers {"keys": [...]} (replace with set_keys); other paths 404. Counts /jwks fetches."""

    def __init__(self, keys):
        self._lock = threading.Lock()
        self._keys = list(keys)
        self.fetches = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                with owner._lock:
                    owner.fetches += 1
                    body = json.dumps({"keys": owner._keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def set_keys(self, keys):
        with self._lock:
            self._keys = list(keys)

    def fetch_count(self):
        with self._lock:
            return self.fetches

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def auth_failures(metrics_text):
    """{reason: count} of vjvector_auth_failures_total in Prometheus text."""
    out = {}
    for m in re.finditer(r'^vjvector_auth_failures_total\{reason="([^"]+)"\} (\S+)$', metrics_text, re.M):
        out[m.group(1)] = float(m.group(2))
    return out

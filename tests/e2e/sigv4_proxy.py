"""A proxy in front of an S3-compatible server that checks every request's AWS SigV4 signature.

s3rver (tests/s3) checks the form of a SigV4 Authorization header and its key id, not the signature.
This proxy recomputes each signature with its own implementation (Python's hmac and hashlib, written
from AWS's "Signature Version 4 signing process", independent of src/backup/sigv4.cc) and the secret
it is given; a request whose signature or payload hash does not match gets S3's 403
SignatureDoesNotMatch and never reaches the server. Others are forwarded unchanged.
Standard library only.
"""

import hashlib
import hmac
import http.client
import http.server
import threading
import urllib.parse


def _quote(s):
    return urllib.parse.quote(s, safe="-_.~")


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def expected_signature(method, raw_path, headers, secret):
    """The signature `headers` (a dict, lower-case names) should carry for method + raw_path, and why not
    when the request cannot be checked (None, reason)."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return None, "not a SigV4 Authorization header"
    fields = {}
    for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
        k, _, v = part.strip().partition("=")
        fields[k] = v
    _, date, region, service, _ = fields["Credential"].split("/")
    signed = fields["SignedHeaders"].split(";")
    path, _, query = raw_path.partition("?")
    pairs = []
    for item in query.split("&") if query else []:
        k, _, v = item.partition("=")
        pairs.append((_quote(urllib.parse.unquote(k)), _quote(urllib.parse.unquote(v))))
    canonical_query = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    canonical_headers = "".join(f"{h}:{' '.join(headers.get(h, '').split())}\n" for h in signed)
    canonical = "\n".join([method, path, canonical_query, canonical_headers, ";".join(signed),
                           headers.get("x-amz-content-sha256", "")])
    amz_date = headers.get("x-amz-date", "")
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), date), region), service), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), fields.get("Signature")


class SigV4Proxy:
    def __init__(self, upstream_port, secret):
        self.upstream_port = upstream_port
        self.secret = secret
        self.checked = 0
        self.rejected = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                want, got = expected_signature(self.command, self.path, headers, proxy.secret)
                payload_ok = headers.get("x-amz-content-sha256") == hashlib.sha256(body).hexdigest()
                with proxy.lock:
                    proxy.checked += 1
                    if want is None or want != got or not payload_ok:
                        proxy.rejected.append(f"{self.command} {self.path}")
                        bad = True
                    else:
                        bad = False
                if bad:
                    data = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code>'
                            b'<Message>The request signature we calculated does not match the signature you '
                            b'provided.</Message></Error>')
                    self.send_response(403)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
                try:
                    forward = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                    conn.request(self.command, self.path, body=body, headers=forward)
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response(resp.status)
                    for k, v in resp.getheaders():
                        if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

"""The audit log against the real binary (docs/compliance.md).

- Requests with a good key, a wrong key (401), no key (401) and a read-only key writing (403) are each
  recorded once, with the principal, status, refusal reason and request id the client saw (X-Request-Id).
- No secret (static keys, a managed key's secret), payload or vector ever reaches the audit files.
- Files rotate at audit.max_file_bytes; `vjvector audit verify` passes on the directory and on the files
  in order, then fails naming the right file and line after a record is edited, after one is deleted,
  and after a whole middle file is deleted.
- HMAC mode: verify needs the key (a wrong key fails); a restart resumes the chain; audit.stdout writes
  the same lines.
- With the audit log off, admin actions still reach the server log as audit lines.
"""

import glob
import json
import os
import re
import secrets
import shutil
import subprocess
import time

import vjharness as h

ADMIN_KEY = "admin-" + secrets.token_hex(12)
RO_KEY = "readonly-" + secrets.token_hex(12)
WRONG_KEY = "wrong-" + secrets.token_hex(12)
KEY_ENV = {"VJVECTOR_SECURITY_API_KEY": ADMIN_KEY, "VJVECTOR_SECURITY_READ_ONLY_API_KEY": RO_KEY}
MARKER = "PAYLOAD-MARKER-" + secrets.token_hex(6)
VECTOR = [0.123456, 0.654321, 0.111222, 0.333444]
WAIT_S = 20.0


def key(k):
    return {"api-key": k} if k else {}


def verify(*args):
    out = subprocess.run([h.BINARY, "audit", "verify", *args], capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout + out.stderr


def audit_files(directory):
    """The rotated files (oldest first) and then the file being written."""
    rotated = sorted(f for f in glob.glob(os.path.join(directory, "audit.log.*")) if re.search(r"\.\d{12}$", f))
    return rotated + [os.path.join(directory, "audit.log")]


def read_lines(path):
    with open(path) as fh:
        return fh.read().splitlines(keepends=True)


def write_lines(path, lines):
    with open(path, "w") as fh:
        fh.writelines(lines)


def records(directory):
    out = []
    for f in audit_files(directory):
        if os.path.exists(f):
            with open(f) as fh:
                # A line without its newline is still being written.
                out += [json.loads(line) for line in fh if line.endswith("\n")]
    return out


class AuditTestCase(h.ServerTestCase):
    def wait_for_request(self, directory, request_id):
        """The audit record of `request_id`, once the writer thread has written it."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            found = [r for r in records(directory) if r.get("request_id") == request_id]
            if found:
                return found
            time.sleep(0.02)
        self.fail(f"no audit record of request {request_id} within {WAIT_S}s")


class AuditLogRecordsAndVerifies(AuditTestCase):
    def start_server(self, data_dir=None, extra_args=None, env=None, **kw):
        self.audit_dir = os.path.join(os.path.dirname(data_dir or self.data_dir), "audit")
        env = dict(KEY_ENV, VJVECTOR_AUDIT_ENABLED="true", VJVECTOR_AUDIT_PATH=os.path.join(self.audit_dir, "audit.log"),
                   VJVECTOR_AUDIT_MAX_FILE_BYTES="8192")
        return super().start_server(data_dir=data_dir, extra_args=extra_args, env=env, api_key=ADMIN_KEY, **kw)

    def test_every_outcome_is_recorded_without_secrets_and_tampering_is_named(self):
        c = self.client
        sent = {}  # request id -> (principal, status, reason, action, collection)

        def call(method, path, body, k, rid, expect, principal, reason, action, collection):
            headers = dict(key(k))
            if rid:
                headers["X-Request-Id"] = rid
            client = h.Client(c.host, c.port)
            r = client.call(method, path, body, headers=headers)
            self.assertEqual(r.status, expect, r.describe())
            echoed = r.headers.get("X-Request-Id")
            self.assertTrue(echoed, r.describe())
            if rid:
                self.assertEqual(echoed, rid)
            sent[echoed] = (principal, expect, reason, action, collection)
            return r

        call("PUT", "/collections/docs", {"vectors": {"size": 4, "distance": "Cosine"}}, ADMIN_KEY, "create-1", 200,
             "api-key:main", None, "/collections/{name}", "docs")
        call("PUT", "/collections/docs/points?wait=true",
             {"points": [{"id": 1, "vector": VECTOR, "payload": {"note": MARKER}}]}, ADMIN_KEY, "upsert-2", 200,
             "api-key:main", None, "/collections/{name}/points", "docs")
        call("POST", "/collections/docs/points/search", {"vector": VECTOR, "limit": 1}, ADMIN_KEY, "search-3", 200,
             "api-key:main", None, "/collections/{name}/points/search", "docs")
        # The client sends no id here: the record carries the one the server made and answered.
        call("POST", "/collections/docs/points/search", {"vector": VECTOR, "limit": 1}, WRONG_KEY, None, 401,
             None, "unknown_key", "/collections/{name}/points/search", "docs")
        call("PUT", "/collections/docs/points", {"points": [{"id": 2, "vector": VECTOR}]}, None, "nokey-5", 401,
             None, "missing", "/collections/{name}/points", "docs")
        call("PUT", "/collections/docs/points", {"points": [{"id": 2, "vector": VECTOR}]}, RO_KEY, "readonly-6", 403,
             "api-key:read-only", "forbidden", "/collections/{name}/points", "docs")
        made = call("POST", "/vjvector/keys", {"role": "reader", "name": "audited"}, ADMIN_KEY, "newkey-7", 200,
                    "api-key:main", None, "/vjvector/keys", None)
        managed_secret = made.json["result"]["key"]
        # Enough requests to rotate the 8 KiB files a few times.
        for i in range(60):
            call("GET", "/collections", None, ADMIN_KEY, f"list-{i}", 200, "api-key:main", None, "/collections", None)

        self.wait_for_request(self.audit_dir, "list-59")
        by_id = {}
        for r in records(self.audit_dir):
            by_id.setdefault(r.get("request_id"), []).append(r)
        for rid, (principal, status, reason, action, collection) in sent.items():
            with self.subTest(request=rid):
                self.assertIn(rid, by_id)
                self.assertEqual(len(by_id[rid]), 1, by_id[rid])
                rec = by_id[rid][0]
                self.assertEqual(rec["principal"], principal)
                self.assertEqual(rec["status"], status)
                self.assertEqual(rec["reason"], reason)
                self.assertEqual(rec["action"], action)
                self.assertEqual(rec["collection"], collection)
                self.assertTrue(rec["client"].startswith("127.0.0.1:"), rec)
                self.assertTrue(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rec["time"]), rec)
        self.assertTrue(by_id["newkey-7"][0]["admin"])
        self.assertFalse(by_id["search-3"][0]["admin"])

        self.server.stop()
        files = audit_files(self.audit_dir)
        self.assertGreaterEqual(len(files), 3, "expected rotated files at audit.max_file_bytes 8192")
        text = ""
        for f in files:
            self.assertLessEqual(os.path.getsize(f), 8192, f)
            self.assertEqual(os.stat(f).st_mode & 0o777, 0o600, f)
            with open(f, "rb") as fh:
                text += fh.read().decode("ascii")
        for secret in (ADMIN_KEY, RO_KEY, WRONG_KEY, managed_secret, managed_secret.split("_")[-1], MARKER, "0.123456"):
            self.assertNotIn(secret, text)
        self.assertEqual(records(self.audit_dir)[-1]["action"], "audit.stop")

        rc, out = verify(self.audit_dir)
        self.assertEqual(rc, 0, out)
        self.assertIn("OK:", out)
        self.assertIn("ends with a clean shutdown", out)
        rc, out = verify(*files)
        self.assertEqual(rc, 0, out)

        # Edit one record: the forbidden write made to look served.
        tampered = os.path.join(self.tmp, "tampered")

        def fresh_copy():
            shutil.rmtree(tampered, ignore_errors=True)
            shutil.copytree(self.audit_dir, tampered)
            return audit_files(tampered)

        def find(files, rid):
            for f in files:
                with open(f) as fh:
                    for n, line in enumerate(fh, 1):
                        if f'"request_id":"{rid}"' in line:
                            return f, n
            self.fail(f"{rid} not found")

        copy = fresh_copy()
        f, n = find(copy, "readonly-6")
        lines = read_lines(f)
        lines[n - 1] = lines[n - 1].replace('"status":403', '"status":200')
        write_lines(f, lines)
        rc, out = verify(tampered)
        self.assertEqual(rc, 1, out)
        self.assertIn(f"BROKEN: {f}:{n}: the hash does not match", out)

        # Delete a record in the middle of a file: the next one (now at the same line) is named.
        copy = fresh_copy()
        f = copy[1]
        lines = read_lines(f)
        self.assertGreater(len(lines), 3)
        del lines[1]
        write_lines(f, lines)
        rc, out = verify(tampered)
        self.assertEqual(rc, 1, out)
        self.assertIn(f"BROKEN: {f}:2: prev does not match", out)

        # Delete a whole middle file: the first record of the next file is named.
        copy = fresh_copy()
        os.remove(copy[1])
        rc, out = verify(tampered)
        self.assertEqual(rc, 1, out)
        self.assertIn(f"BROKEN: {copy[2]}:1: prev does not match", out)
        self.assertIn("a file before this one is missing", out)

        # Truncate the last file in the middle of a record.
        copy = fresh_copy()
        with open(copy[-1], "r+b") as fh:
            fh.truncate(os.path.getsize(copy[-1]) - 10)
        rc, out = verify(tampered)
        self.assertEqual(rc, 1, out)
        self.assertIn("ends in the middle of a record", out)


class AuditHmacRestartAndStdout(AuditTestCase):
    def start_server(self, data_dir=None, extra_args=None, env=None, **kw):
        self.audit_dir = os.path.join(os.path.dirname(data_dir or self.data_dir), "audit-hmac")
        self.key_file = os.path.join(os.path.dirname(self.audit_dir), "audit.key")
        if not os.path.exists(self.key_file):
            with open(self.key_file, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
        env = dict(KEY_ENV, VJVECTOR_AUDIT_ENABLED="true", VJVECTOR_AUDIT_PATH=os.path.join(self.audit_dir, "audit.log"),
                   VJVECTOR_AUDIT_STDOUT="true", VJVECTOR_AUDIT_HMAC_KEY_FILE=self.key_file)
        return super().start_server(data_dir=data_dir, extra_args=extra_args, env=env, api_key=ADMIN_KEY, **kw)

    def test_hmac_chain_survives_a_restart_and_needs_the_key(self):
        self.server.client.call("GET", "/collections", headers={"X-Request-Id": "before-restart"})
        self.wait_for_request(self.audit_dir, "before-restart")
        self.server.stop()
        self.server.start()
        self.server.client.call("GET", "/collections", headers={"X-Request-Id": "after-restart"})
        self.wait_for_request(self.audit_dir, "after-restart")
        self.server.stop()
        recs = records(self.audit_dir)
        self.assertEqual([r["action"] for r in recs],
                         ["audit.start", "/collections", "audit.stop", "audit.start", "/collections", "audit.stop"])
        self.assertEqual([r["seq"] for r in recs], list(range(1, 7)))
        self.assertTrue(all(r["alg"] == "hmac-sha256" for r in recs))
        self.assertIn("resumed after seq 3", recs[3]["reason"])
        # audit.stdout: the same lines on standard output (one file per start).
        stdout_lines = []
        for out_path, _ in self.server.all_logs:
            with open(out_path) as fh:
                stdout_lines += [line for line in fh if line.startswith("{")]
        with open(os.path.join(self.audit_dir, "audit.log")) as fh:
            self.assertEqual(stdout_lines, fh.readlines())

        rc, out = verify("--hmac-key-file", self.key_file, self.audit_dir)
        self.assertEqual(rc, 0, out)
        self.assertIn("every hash checked", out)
        rc, out = verify(self.audit_dir)
        self.assertEqual(rc, 0, out)
        self.assertIn("hashes not", out)
        wrong = os.path.join(self.tmp, "wrong.key")
        with open(wrong, "w") as fh:
            fh.write(secrets.token_hex(32))
        rc, out = verify("--hmac-key-file", wrong, self.audit_dir)
        self.assertEqual(rc, 1, out)
        self.assertIn(":1: the HMAC does not match", out)


class AdminActionsWithoutTheAuditLog(h.ServerTestCase):
    server_env = dict(KEY_ENV)

    def test_admin_actions_reach_the_server_log(self):
        c = h.Client(self.server.host, self.server.port)
        made = c.ok("POST", "/vjvector/keys", {"role": "reader", "name": "logged"},
                    headers={"api-key": ADMIN_KEY, "X-Request-Id": "admin-action-1"})
        c.call("DELETE", f"/vjvector/keys/{made['id']}", headers={"api-key": RO_KEY, "X-Request-Id": "admin-refused-2"})
        c.ok("GET", "/collections", headers={"api-key": ADMIN_KEY, "X-Request-Id": "not-admin-3"})
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and "admin-refused-2" not in self.server.stderr_text():
            time.sleep(0.02)
        log = self.server.stderr_text()
        # The record is the JSON object after "audit "; the log line may go on with the request's ids.
        decoder = json.JSONDecoder()
        lines = [line[line.index("audit {") + 6:] for line in log.splitlines() if "audit {" in line]
        recs = {rec["request_id"]: rec for rec in (decoder.raw_decode(line)[0] for line in lines)}
        self.assertEqual(recs["admin-action-1"]["action"], "/vjvector/keys")
        self.assertEqual(recs["admin-action-1"]["status"], 200)
        self.assertTrue(recs["admin-action-1"]["admin"])
        self.assertEqual(recs["admin-refused-2"]["status"], 403)
        self.assertEqual(recs["admin-refused-2"]["principal"], "api-key:read-only")
        self.assertNotIn("not-admin-3", recs)
        self.assertNotIn(made["key"], log)
        self.assertFalse(os.path.exists(os.path.join(self.data_dir, "audit")))


if __name__ == "__main__":
    h.main()

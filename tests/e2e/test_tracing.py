"""Distributed tracing against a real OTLP receiver (issue 16).

tests/otlp/otlp_receiver.mjs is an OTLP/HTTP receiver built on OpenTelemetry JS's own OTLP encoder
(@opentelemetry/otlp-transformer, pinned in tests/otlp/package.json): every export must pass the OTLP
JSON mapping's checks and encode back to the same request, or it is refused and the test fails.

Single node: a request with a traceparent yields spans of that trace whose root is the request's server
span, a child of the caller's span; the authentication, shard write, storage commit and shard search
spans hang below it; an invalid traceparent starts a new trace; a caller's "not sampled" flag is
honoured; logs name the request and trace ids; the exporter's counters are on /metrics; a gRPC call
(the official @qdrant/js-client-grpc, with a traceparent header) continues the caller's trace the same way.
Cluster (3 nodes, real etcd): one write with replication factor 3 sent to a node that is not the shard's
primary produces spans on every node that form ONE tree.
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import unittest

import cluster_harness as ch
import vjharness as h

NODE = shutil.which("node")
OTLP_DIR = os.path.join(h.REPO_ROOT, "tests", "otlp")
CLIENTS_MODULES = os.path.join(h.REPO_ROOT, "tests", "clients", "node_modules")


class Receiver:
    """The OTLP receiver process on a free loopback port."""

    def __init__(self):
        if not os.path.isdir(os.path.join(OTLP_DIR, "node_modules", "@opentelemetry", "otlp-transformer")):
            raise AssertionError("tests/otlp/node_modules is missing: run scripts/install-deps.sh")
        self.proc = subprocess.Popen([NODE, os.path.join(OTLP_DIR, "otlp_receiver.mjs")], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("the OTLP receiver did not start: " + self.proc.stderr.read())
        self.port = json.loads(line)["port"]
        self.client = h.Client("127.0.0.1", self.port)

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def state(self):
        r = self.client.call("GET", "/spans")
        assert r.status == 200, r.describe()
        return json.loads(r.raw)

    def spans_of(self, trace_id):
        state = self.state()
        if state["errors"]:
            raise AssertionError(f"the receiver refused exports: {state['errors'][:3]}")
        return [s for s in state["spans"] if s["traceId"] == trace_id]

    def close(self):
        self.proc.kill()
        self.proc.wait()


def new_traceparent(sampled=True):
    trace_id = secrets.token_hex(16)
    parent_id = secrets.token_hex(8)
    return trace_id, parent_id, f"00-{trace_id}-{parent_id}-{'01' if sampled else '00'}"


def by_name(spans, name):
    return [s for s in spans if s["name"] == name]


def assert_one_tree(test, spans, caller_parent):
    """Every span's parent is a span of the set, but for exactly one root, the caller's child."""
    ids = {s["spanId"] for s in spans}
    test.assertEqual(len(ids), len(spans), "span ids are unique")
    roots = [s for s in spans if s["parentSpanId"] not in ids]
    test.assertEqual(len(roots), 1, f"one root, got {[(r['name'], r['parentSpanId']) for r in roots]}")
    test.assertEqual(roots[0]["parentSpanId"], caller_parent)
    test.assertEqual(roots[0]["kind"], 2, "the root is a server span")
    return roots[0]


@unittest.skipIf(NODE is None, "node is not installed")
class TracingSingleNode(h.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = Receiver()
        cls.grpc_port = h.free_port()
        cls.server = h.Server(data_dir=h.tempfile.mkdtemp(prefix="vj-e2e-tracing-"), env={
            "VJVECTOR_TRACING_OTLP_ENDPOINT": cls.receiver.endpoint + "/",  # a trailing slash is fine
            "VJVECTOR_TRACING_SAMPLE_RATIO": "1"}, extra_args=["--grpc-port", str(cls.grpc_port)])
        cls.server.start()
        cls.c = cls.server.client
        cls.c.create_collection("traced", size=4, body={"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 2})

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.receiver.close()
        shutil.rmtree(cls.server.data_dir, ignore_errors=True)

    def wait_spans(self, trace_id, names):
        """The trace's spans once every name in `names` arrived."""
        found = {}

        def arrived():
            spans = self.receiver.spans_of(trace_id)
            found["spans"] = spans
            missing = [n for n in names if not by_name(spans, n)]
            return True if not missing else f"missing {missing}; have {sorted(s['name'] for s in spans)}"

        ch.wait_for(arrived, f"spans {names} of trace {trace_id}")
        return found["spans"]

    def test_a_write_and_a_query_continue_the_callers_trace(self):
        trace_id, parent_id, tp = new_traceparent()
        points = [{"id": i, "vector": [1, 0, 0, i / 10]} for i in range(1, 9)]
        r = self.c.call("PUT", "/collections/traced/points?wait=true", {"points": points},
                        headers={"traceparent": tp, "tracestate": "vendor=abc"})
        self.assertEqual(r.status, 200, r.describe())
        spans = self.wait_spans(trace_id, ["PUT /collections/{name}/points", "authenticate", "shard.write",
                                           "storage.commit"])
        root = assert_one_tree(self, spans, parent_id)
        self.assertEqual(root["name"], "PUT /collections/{name}/points")
        a = root["attributes"]
        self.assertEqual(a["http.request.method"], "PUT")
        self.assertEqual(a["url.path"], "/collections/traced/points")
        self.assertEqual(a["http.route"], "/collections/{name}/points")
        self.assertEqual(a["http.response.status_code"], 200)
        self.assertEqual(a["db.system.name"], "vjvector")
        self.assertEqual(a["db.operation.name"], "upsert")
        self.assertEqual(a["db.collection.name"], "traced")
        self.assertEqual(root["resource"]["service.name"], "vjvector")
        self.assertTrue(root["resource"].get("service.instance.id"))
        auth = by_name(spans, "authenticate")[0]
        self.assertEqual(auth["parentSpanId"], root["spanId"])
        # Two shards: the 8 points go to both, each shard's write under the request, each commit under a write.
        writes = by_name(spans, "shard.write")
        write_ids = {w["spanId"] for w in writes}
        for w in writes:
            self.assertEqual(w["parentSpanId"], root["spanId"])
            self.assertEqual(w["attributes"]["db.collection.name"], "traced")
        for commit in by_name(spans, "storage.commit"):
            self.assertIn(commit["parentSpanId"], write_ids)
            self.assertGreaterEqual(commit["attributes"]["vjvector.commit.mutations"], 1)
        for s in spans:
            self.assertGreaterEqual(int(s["end"]), int(s["start"]))

        trace_id, parent_id, tp = new_traceparent()
        r = self.c.call("POST", "/collections/traced/points/query", {"query": [1, 0, 0, 0], "limit": 3},
                        headers={"traceparent": tp})
        self.assertEqual(r.status, 200, r.describe())
        spans = self.wait_spans(trace_id, ["POST /collections/{name}/points/query", "shard.search"])
        root = assert_one_tree(self, spans, parent_id)
        self.assertEqual(root["attributes"]["db.operation.name"], "query")
        searches = by_name(spans, "shard.search")
        self.assertEqual(len(searches), 2, "one search span per shard")
        self.assertEqual({s["parentSpanId"] for s in searches}, {root["spanId"]})  # pool threads included
        self.assertEqual(sorted(s["attributes"]["vjvector.shard"] for s in searches), ["traced/0", "traced/1"])

    @unittest.skipUnless(os.path.isdir(CLIENTS_MODULES), "npm ci --prefix tests/clients has not run")
    def test_a_grpc_call_continues_the_callers_trace(self):
        trace_id, parent_id, tp = new_traceparent()
        env = dict(os.environ, VJ_GRPC_URL=f"http://127.0.0.1:{self.grpc_port}", VJ_COLLECTION="traced",
                   VJ_TRACEPARENT=tp)
        run = subprocess.run([NODE, os.path.join(h.REPO_ROOT, "tests", "clients", "grpc_traced_upsert.mjs")],
                             env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(json.loads(run.stdout)["status"], 2)  # UpdateStatus.Completed
        spans = self.wait_spans(trace_id, ["qdrant.Points/Upsert", "authenticate", "shard.write", "storage.commit"])
        root = assert_one_tree(self, spans, parent_id)
        self.assertEqual(root["name"], "qdrant.Points/Upsert")
        a = root["attributes"]
        self.assertEqual((a["rpc.system"], a["rpc.service"], a["rpc.method"]), ("grpc", "qdrant.Points", "Upsert"))
        self.assertEqual(a["rpc.grpc.status_code"], 0)
        self.assertEqual(a["db.collection.name"], "traced")
        self.assertEqual(by_name(spans, "authenticate")[0]["parentSpanId"], root["spanId"])
        self.assertEqual(by_name(spans, "shard.write")[0]["parentSpanId"], root["spanId"])

    def test_an_invalid_traceparent_starts_a_new_trace(self):
        for bad in ["00-zz-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                    "garbage value with spaces", "x" * 300]:
            rid = "bad-tp-" + secrets.token_hex(4)
            r = self.c.call("GET", "/collections/traced", headers={"traceparent": bad, "x-request-id": rid})
            self.assertEqual(r.status, 200, r.describe())

        def new_root():
            roots = [s for s in self.receiver.state()["spans"]
                     if s["name"] == "GET /collections/{name}" and s["parentSpanId"] == ""]
            return len(roots) >= 4 or f"{len(roots)} root spans"

        ch.wait_for(new_root, "four new traces for the four invalid traceparents")

    def test_an_unsampled_caller_gets_no_spans(self):
        trace_id, _, tp = new_traceparent(sampled=False)
        r = self.c.call("GET", "/collections/traced", headers={"traceparent": tp})
        self.assertEqual(r.status, 200, r.describe())
        # A later sampled request's spans arriving means the exporter got past the first one (it is FIFO).
        later, _, tp2 = new_traceparent()
        r = self.c.call("GET", "/collections/traced", headers={"traceparent": tp2})
        self.assertEqual(r.status, 200, r.describe())
        self.wait_spans(later, ["GET /collections/{name}"])
        self.assertEqual(self.receiver.spans_of(trace_id), [])

    def test_logs_name_the_request_and_the_trace(self):
        trace_id, _, tp = new_traceparent()
        self.c.ok("PUT", "/collections/doomed", {"vectors": {"size": 4, "distance": "Dot"}})
        rid = "log-check-" + secrets.token_hex(4)
        # Deleting a collection is an admin action: logged as "audit {...}" on the request's thread.
        r = self.c.call("DELETE", "/collections/doomed", headers={"traceparent": tp, "x-request-id": rid})
        self.assertEqual(r.status, 200, r.describe())

        def logged():
            lines = [l for l in self.server.stderr_text().splitlines() if "audit {" in l and rid in l]
            return bool(lines) or "no audit line yet"

        ch.wait_for(logged, "the audit log line")
        line = [l for l in self.server.stderr_text().splitlines() if "audit {" in l and rid in l][0]
        self.assertIn(f"request_id={rid}", line)
        self.assertIn(f"trace_id={trace_id}", line)

    def test_exporter_counters_are_metrics(self):
        _, _, tp = new_traceparent()
        self.c.call("GET", "/collections", headers={"traceparent": tp})

        def exported():
            text = self.c.call("GET", "/metrics").raw.decode()
            m = re.search(r"^vjvector_trace_spans_exported_total (\S+)$", text, re.M)
            return (m is not None and float(m.group(1)) > 0) or "no spans exported yet"

        ch.wait_for(exported, "vjvector_trace_spans_exported_total > 0")
        text = self.c.call("GET", "/metrics").raw.decode()
        self.assertRegex(text, r'vjvector_trace_spans_dropped_total\{reason="queue_full"\} 0')


@unittest.skipIf(NODE is None, "node is not installed")
class TracingCluster(ch.ClusterTestCase):
    def setUp(self):
        self.receiver = Receiver()
        self.node_env = {"VJVECTOR_TRACING_OTLP_ENDPOINT": self.receiver.endpoint}
        try:
            super().setUp()
        except BaseException:
            self.receiver.close()
            raise

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self.receiver.close()

    def test_a_forwarded_replicated_write_is_one_tree_across_the_nodes(self):
        self.client("n1").ok("PUT", "/collections/rep", {"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 1,
                                                         "replication_factor": 3, "write_consistency_factor": 3})
        ch.wait_for(lambda: self.primary_of("rep", 0) is not None or "no primary yet", "a primary")
        primary = self.primary_of("rep", 0)
        other = next(n for n in self.node_names if n != primary)
        trace_id, parent_id, tp = new_traceparent()
        r = self.client(other).call("PUT", "/collections/rep/points?wait=true",
                                    {"points": [{"id": 1, "vector": [1, 2, 3, 4]}]}, headers={"traceparent": tp})
        self.assertEqual(r.status, 200, r.describe())

        replicas = set(self.node_names) - {primary}
        found = {}

        def whole_tree():
            spans = self.receiver.spans_of(trace_id)
            found["spans"] = spans
            nodes = {s["resource"]["service.instance.id"] for s in spans}
            # The replicas' server spans of the replication requests (the forwarding node is a replica too).
            replicated = {s["resource"]["service.instance.id"] for s in spans
                          if s["name"] == "POST /internal/replication/{name}/{shard}" and s["kind"] == 2}
            if nodes != set(self.node_names) or replicated != replicas:
                return f"nodes {sorted(nodes)}, replicated to {sorted(replicated)}"
            # Spans are exported as they end, in batches per node: wait until no parent is missing but the
            # caller's (a parent that never comes fails the test here, naming the orphans).
            ids = {s["spanId"] for s in spans}
            orphans = [(s["name"], s["resource"]["service.instance.id"]) for s in spans
                       if s["parentSpanId"] not in ids and s["parentSpanId"] != parent_id]
            return not orphans or f"spans whose parent has not arrived: {orphans}"

        ch.wait_for(whole_tree, "spans of the write on every node")
        spans = found["spans"]
        root = assert_one_tree(self, spans, parent_id)
        self.assertEqual(root["resource"]["service.instance.id"], other)
        self.assertEqual(root["name"], "PUT /collections/{name}/points")
        by_id = {s["spanId"]: s for s in spans}
        # The forward: a client span on `other` whose child is the primary's server span.
        forwards = [s for s in spans if s["kind"] == 3 and s["name"].startswith("PUT /internal/shards/")]
        self.assertEqual(len(forwards), 1, [s["name"] for s in spans])
        self.assertEqual(forwards[0]["resource"]["service.instance.id"], other)
        served = [s for s in spans if s["parentSpanId"] == forwards[0]["spanId"]]
        self.assertEqual([(s["kind"], s["resource"]["service.instance.id"]) for s in served], [(2, primary)])
        # Replication: client spans on the primary, each the parent of a replica's server span, whose
        # write and commit hang below it. The entries were recorded by the commit before it wrote them, so
        # no replication request can carry them untraced.
        for s in spans:
            if s["name"] == "POST /internal/replication/{name}/{shard}" and s["kind"] == 2:
                client = by_id[s["parentSpanId"]]
                self.assertEqual(client["kind"], 3)
                self.assertEqual(client["resource"]["service.instance.id"], primary)
                self.assertEqual(client["attributes"]["vjvector.replica.node"], s["resource"]["service.instance.id"])
                # ... itself a child of the primary's group commit that wrote the entries it carries.
                self.assertEqual(by_id[client["parentSpanId"]]["name"], "storage.commit")
                self.assertEqual(by_id[client["parentSpanId"]]["resource"]["service.instance.id"], primary)
        commits = {s["resource"]["service.instance.id"] for s in spans if s["name"] == "storage.commit"}
        self.assertEqual(commits, set(self.node_names), "a storage commit on the primary and on each replica")


if __name__ == "__main__":
    h.main()

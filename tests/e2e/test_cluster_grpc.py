"""End-to-end gRPC in cluster mode (real etcd, three real nodes, shard_number 3, replication_factor 2): the
official Qdrant gRPC client (@qdrant/js-client-grpc, tests/clients/qdrant_js_grpc_cluster.mjs) upserts
through each node in turn (so points are forwarded to the primaries of shards the node does not lead),
counts and searches on every node (reads fan out over the peers), deletes through one node and scrolls and
gets through others; the test asks every node's REST port the same questions and compares.

Skipped only when node is not installed; the npm packages come from scripts/install-deps.sh.
"""

import json
import math
import os
import shutil
import subprocess
import unittest

import cluster_harness as ch
import vjharness as vh

NODE = shutil.which("node")
CLIENTS = os.path.join(vh.REPO_ROOT, "tests", "clients")


def vector_of(i):
    return [math.cos(i), math.sin(i), (i % 7) / 7, 1]


@unittest.skipIf(NODE is None, "node is not installed")
class ClusterGrpcTest(ch.ClusterTestCase):

    def node_args(self, name):
        if not hasattr(self, "grpc_ports"):
            self.grpc_ports = {}
        self.grpc_ports[name] = vh.free_port()
        return ["--grpc-port", str(self.grpc_ports[name])]

    def test_the_official_grpc_client_through_every_node(self):
        if not os.path.isdir(os.path.join(CLIENTS, "node_modules", "@qdrant", "js-client-grpc")):
            raise AssertionError("tests/clients/node_modules is missing: run scripts/install-deps.sh")
        body = {"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 3, "replication_factor": 2}

        def create():
            r = self.client("n1").call("PUT", "/collections/g", body)
            return True if r.status == 200 else r.describe()

        ch.wait_for(create, "the collection to be created")
        for name in self.nodes:
            ch.wait_for(lambda: self.client(name).call("GET", "/collections/g").status == 200,
                        f"{name} to see the collection")
        urls = ",".join(f"http://127.0.0.1:{self.grpc_ports[n]}" for n in self.node_names)
        run = subprocess.run([NODE, os.path.join(CLIENTS, "qdrant_js_grpc_cluster.mjs")],
                             env=dict(os.environ, VJ_GRPC_URLS=urls, VJ_COLLECTION="g"),
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stderr[-3000:])
        out = json.loads(run.stdout)

        completed = 2  # UpdateStatus.Completed
        self.assertEqual([out[f"upsert_{b}"] for b in range(3)], [completed] * 3)
        self.assertEqual(out["counts"], [120, 120, 120])
        # Every node's gRPC search (before the delete) equals the exhaustive ranking.
        q = vector_of(17.5)
        expected = vh.brute_force("Dot", q, [(i, vector_of(i)) for i in range(120)], 5)
        for name, got in zip(self.node_names, out["search"]):
            self.assertEqual([p["id"] for p in got], [pid for pid, _ in expected], name)
            for p, (_, score) in zip(got, expected):
                self.assertTrue(vh.score_close(p["score"], score), (name, p, score))
        # After the delete of ids 0-9 through n2, every node's REST port ranks what is left.
        left = vh.brute_force("Dot", q, [(i, vector_of(i)) for i in range(10, 120)], 5)
        for name in self.node_names:
            rest = self.client(name).ok("POST", "/collections/g/points/search", {"vector": q, "limit": 5})
            self.assertEqual([p["id"] for p in rest], [pid for pid, _ in left], name)
        self.assertEqual(out["delete"], completed)
        self.assertEqual(out["scroll_ids"], list(range(10, 120)))
        self.assertEqual(out["get_ids"], [50, 119])
        for name in self.node_names:  # the delete reached every node's view, through REST too
            self.assertEqual(self.client(name).count("g"), 110, name)


if __name__ == "__main__":
    unittest.main()

"""End-to-end: a write forwarded to a shard's primary that reaches it late is never applied after the client
was answered (issue 20). A node that is not the primary forwards a client's upsert of point p; the primary
receives it late (the `forwarded_write` delay point holds it before it is ordered, as a partition holding
the bytes would); the forwarding node gives up and answers the client with an error. The client, told the
upsert failed, deletes p through the primary (acknowledged). When the held upsert finally reaches the
primary's write order, its deadline (cluster.forward_deadline_ms after it was sent) has passed: it is
refused, and p stays deleted on every replica. Before the fix the late upsert was applied after the
acknowledged delete (the fault test's `undone_delete`).

Also: a peer write with a malformed deadline header is refused with 400, one whose deadline has passed with
503 (not applied), nothing written either way.
"""

import re
import time

import cluster_harness as ch
import vjharness as vh

DIM = 4
DELAY_MS = 12000  # longer than the forwarding node's wait for an answer (10 s)


def point(pid, tag):
    return {"id": pid, "vector": [0.1, 0.2, 0.3, 0.4], "payload": {"tag": tag}}


class ForwardDeadlineTest(ch.ClusterTestCase):
    internal_token = "e2e-internal-token-0123456789"
    node_env = {"VJVECTOR_TEST_DELAY_POINTS": f"forwarded_write:{DELAY_MS}",
                "VJVECTOR_CLUSTER_FORWARD_DEADLINE_MS": "1000",
                "VJVECTOR_CLUSTER_MAX_CLOCK_SKEW_MS": "200"}

    def create(self):
        body = {"vectors": {"size": DIM, "distance": "Cosine"}, "shard_number": 1,
                "replication_factor": 3, "write_consistency_factor": 2}
        self.client("n1").create_collection("c", body=body)

        def primary_everywhere():
            seen = [self.shard_map("c", via=n)[0]["primary"] for n in ("n1", "n2", "n3")]
            return True if seen[0] is not None and seen == [seen[0]] * 3 else f"primaries: {seen}"

        ch.wait_for(primary_everywhere, "every node to see the shard's primary")
        return self.primary_of("c", 0)

    def forwarded_requests_answered(self, node):
        """How many forwarded upserts node's peer port has answered (vjvector_http_requests_total)."""
        text = self.client(node).call("GET", "/metrics").raw.decode()
        total = 0
        for line in text.splitlines():
            if line.startswith("vjvector_http_requests_total{") and \
                    'route="/internal/shards/{name}/{shard}/points"' in line and 'method="PUT"' in line:
                total += int(float(line.rsplit(" ", 1)[1]))
        return total

    def stored_on(self, node, pid):
        got = self.peer_client(node).ok("POST", "/internal/shards/c/0/points",
                                        {"ids": [pid], "with_payload": True, "with_vector": False},
                                        headers=self.internal_headers())
        return [p["payload"] for p in got]

    def test_late_forwarded_upsert_does_not_undo_an_acknowledged_delete(self):
        primary = self.create()
        forwarder = next(n for n in ("n1", "n2", "n3") if n != primary)
        # Direct writes to the primary are not forwarded, so not delayed: the point exists, tag "before".
        self.client(primary).upsert("c", [point(7, "before")])
        before = self.forwarded_requests_answered(primary)

        # The upsert through the forwarding node: the primary holds it for DELAY_MS; the forwarding node
        # gives up on it and answers an error (the write's outcome is unknown to it).
        started = time.monotonic()
        r = self.client(forwarder).call("PUT", "/collections/c/points?wait=true", {"points": [point(7, "late")]},
                                        timeout=60)
        answered_after = time.monotonic() - started
        self.assertIn(r.status, (503, 504), r.describe())
        self.assertLess(answered_after, DELAY_MS / 1000.0, "the forwarding node waited for the held write")

        # Told the upsert failed, the client deletes the point through the primary: acknowledged.
        self.client(primary).ok("POST", "/collections/c/points/delete?wait=true", {"points": [7]})

        # The held upsert reaches the primary's write order and is answered (refused, with the fix).
        ch.wait_for(lambda: self.forwarded_requests_answered(primary) > before or "not yet",
                    "the primary to finish the held forwarded upsert", timeout=DELAY_MS / 1000.0 + 20)
        self.assertIn("forwarded_write", self.nodes[primary].stderr_text())  # the delay point was reached
        # Whatever the primary did has reached the replicas (or never will): one more write behind it.
        self.client(primary).upsert("c", [point(8, "marker")])
        ch.wait_for(lambda: self.replicas_agree("c"), "the replicas to agree")
        for node in ("n1", "n2", "n3"):
            self.assertEqual(self.stored_on(node, 7), [],
                             f"point 7 is back on {node}: the late forwarded upsert undid the acknowledged delete")
            self.assertEqual(self.stored_on(node, 8), [{"tag": "marker"}], node)
        # The forwarding node's answer says what it knows: maybe applied, but not after this answer.
        self.assertIn("will not be any more", r.error or "", r.describe())

    def test_peer_write_deadline_header(self):
        primary = self.create()
        # A malformed deadline on the peer write route is refused before anything is written.
        peer = self.peer_client(primary)
        headers = dict(self.internal_headers() or {})
        for bad in ("soon", "-1", "0", "1.5", "9" * 40):
            headers["x-vjvector-forward-deadline"] = bad
            peer.err("PUT", "/internal/shards/c/0/points?wait=true", {"points": [point(1, "x")]}, status=400,
                     mentions="x-vjvector-forward-deadline", headers=headers)
        self.assertEqual(self.client(primary).count("c"), 0)
        # A deadline already past: refused, not applied (503, retryable).
        headers["x-vjvector-forward-deadline"] = str(int(time.time() * 1000) - 60000)
        r = peer.call("PUT", "/internal/shards/c/0/points?wait=true", {"points": [point(1, "x")]}, headers=headers,
                      timeout=DELAY_MS / 1000.0 + 20)
        self.assertEqual(r.status, 503, r.describe())
        self.assertTrue(re.search(r"after its deadline", r.error or ""), r.describe())
        self.assertEqual(self.client(primary).count("c"), 0)


if __name__ == "__main__":
    vh.main()

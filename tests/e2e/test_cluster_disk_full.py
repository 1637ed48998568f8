"""End-to-end: a full disk on a shard's primary, with a real etcd and three real nodes whose data
directories are small tmpfs mounts (mounting needs root; skipped otherwise).

The primary refuses writes with 507 at once. Before session 8 it kept its shard, so every write to the
shard was refused for as long as its disk stayed full (12.4 s and 9.1 s in fault runs, and for ever if
nobody frees space). Now it gives the shard up when another replica can take it: its progress record says
it is not writable, the others elect a new primary, writes through any node resume, and once space
returns the old primary catches up as a replica.
"""

import os
import shutil
import subprocess

import cluster_harness as ch
import test_disk_full as df
import vjharness as vh

DIM = 8
BODY = {"vectors": {"size": DIM, "distance": "Dot"}, "shard_number": 1, "replication_factor": 3,
        "write_consistency_factor": 2}


def point(i):
    return {"id": i, "vector": [float((i * 3 + j) % 7) for j in range(DIM)], "payload": {"i": i}}


class ClusterDiskFullTest(ch.ClusterTestCase):
    node_env = {"VJVECTOR_WRITES_MIN_FREE_DISK_MB": "4"}

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        self.mounts = []
        super().setUp()

    def start_node(self, name):
        path = os.path.join(self.tmp, name)
        if path not in self.mounts:
            os.makedirs(path, exist_ok=True)
            r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", path], capture_output=True,
                               text=True)
            if r.returncode != 0:
                self.skipTest(f"cannot mount a tmpfs: {r.stderr.strip()}")
            self.mounts.append(path)
        return super().start_node(name)

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            for path in self.mounts:
                subprocess.run(["umount", "-l", path], capture_output=True)
            if not vh._test_failed(self) and not os.environ.get("VJ_E2E_KEEP"):
                shutil.rmtree(self.tmp, ignore_errors=True)  # the mount points the harness could not remove

    def write(self, via, i):
        return self.client(via).call("PUT", "/collections/d/points?wait=true", {"points": [point(i)]}, timeout=30)

    def test_full_disk_on_the_primary_hands_its_shard_over(self):
        self.client("n1").create_collection("d", body=BODY)
        victim = self.primary_of("d", 0)
        via = [n for n in self.nodes if n != victim][0]
        acked = set()
        for i in range(1, 51):
            self.assertEqual(self.write(via, i).status, 200)
            acked.add(i)

        filler = df.fill(os.path.join(self.tmp, victim))
        # The primary refuses a write for its full disk (a few may still find room).
        refused = None
        for i in range(1000, 3000):
            r = self.write(victim, i)
            if r.status == 200:
                acked.add(i)
                continue
            refused = r
            break
        self.assertIsNotNone(refused, "no write refused on the primary's full disk")
        self.assertEqual(refused.status, 507, refused.describe())

        # It gives the shard up and another replica takes it: writes through every node resume.
        def shard_moved():
            primary = self.primary_of("d", 0, via=via)
            return True if primary != victim else f"primary still {primary}"

        ch.wait_for(shard_moved, "another replica to take the shard over", timeout=20)
        for k, name in enumerate(self.nodes):
            i = 5000 + k

            def resumed(i=i, name=name):
                r = self.write(name, i)
                return True if r.status == 200 else r.describe()

            ch.wait_for(resumed, f"a write through {name} after the handover", timeout=20)
            acked.add(i)
        self.assertIn("its disk is full", self.nodes[victim].stderr_text() + self.nodes[victim].stdout_text())

        # Space returns: the old primary catches up as a replica and every copy holds every write.
        os.unlink(filler)
        ch.wait_for(lambda: self.replicas_agree("d"), "the replicas to agree once space returned", timeout=60)
        self.assert_readable_everywhere("d", acked, self.nodes)


if __name__ == "__main__":
    vh.main()

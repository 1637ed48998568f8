"""The workload of the fault test: client threads that insert, overwrite, delete and read single points with
wait=true through random nodes, and record every operation (the history the checker judges).

Each client owns its ids (no two clients touch one id) and works on one shard (its ids are chosen with the
server's hash ring, shard_of.py), so a stalled shard stalls only its own clients and per-shard liveness can be
measured. A client's operations on an id are sequential, which makes the history of every id a simple list.

An operation's outcome is "ok" (acknowledged: HTTP 200), or "info" (anything else: an error status, a timeout,
a refused connection). An "info" write may or may not have been applied, now or later; the checker allows
both. Vectors use multiples of 1/64 so they survive float32 and JSON exactly.

Thread-safety: History.record is called from every client thread (one lock); the rest is per thread.
"""

import json
import random
import threading
import time

import faultcluster

DIM = 4
READ_LEVELS = ("primary", "all", "majority", "1")


def vector_of(point_id, version):
    return [float(((point_id * 7 + version * 13 + i * 5) % 256) - 128) / 64.0 for i in range(DIM)]


class History:
    """Every operation as one JSON object, kept in memory and appended to a JSON-lines file as it ends."""

    def __init__(self, path, t_start):
        self.lock = threading.Lock()
        self.ops = []
        self.t_start = t_start
        self.file = open(path, "w")

    def record(self, op):
        with self.lock:
            self.ops.append(op)
            self.file.write(json.dumps(op) + "\n")

    def close(self):
        with self.lock:
            self.file.close()


class Client(threading.Thread):
    def __init__(self, index, shard, ring, collection, cluster, history, seed, stop, timeout_s=10.0,
                 read_param="read_consistency"):
        super().__init__(daemon=True, name=f"client-{index}")
        self.index = index
        self.shard = shard
        self.ring = ring
        self.collection = collection
        self.urls = cluster.urls()
        self.history = history
        self.rng = random.Random(seed * 1000 + index)
        self.stop_event = stop
        self.timeout_s = timeout_s
        self.read_param = read_param
        self.next_candidate = (index + 1) * 10_000_000
        self.versions = {}   # id -> last version this client sent
        self.live = []       # ids whose last write was an upsert
        self.seq = 0

    def new_id(self):
        while True:
            pid = self.next_candidate
            self.next_candidate += 1
            if self.ring.shard_of(pid) == self.shard:
                return pid

    def call(self, method, path, body):
        node = self.rng.choice(sorted(self.urls))
        host, port = self.urls[node]
        t0 = time.monotonic()
        try:
            r = faultcluster.vh.Client(host, port, timeout=self.timeout_s).call(method, path, body)
            status, error = r.status, (None if r.status == 200 else r.error)
            result = r.result if r.status == 200 else None
        except Exception as e:  # timeouts, refused and reset connections: the outcome is unknown
            status, error, result = None, type(e).__name__, None
        return node, t0, time.monotonic(), status, error, result

    def base(self, op, pid, node, t0, t1, status, error):
        self.seq += 1
        return {"client": self.index, "seq": self.seq, "shard": self.shard, "op": op, "id": pid, "node": node,
                "t0": round(t0 - self.history.t_start, 4), "t1": round(t1 - self.history.t_start, 4),
                "status": "ok" if status == 200 else "info", "http": status, "error": error}

    def upsert(self, pid):
        version = self.versions.get(pid, 0) + 1
        self.versions[pid] = version
        body = {"points": [{"id": pid, "vector": vector_of(pid, version), "payload": {"c": self.index, "v": version}}]}
        node, t0, t1, status, error, _ = self.call("PUT", f"/collections/{self.collection}/points?wait=true", body)
        op = self.base("upsert", pid, node, t0, t1, status, error)
        op["version"] = version
        self.history.record(op)
        if pid not in self.live:
            self.live.append(pid)

    def delete(self, pid):
        body = {"points": [pid]}
        node, t0, t1, status, error, _ = self.call("POST", f"/collections/{self.collection}/points/delete?wait=true",
                                                   body)
        self.history.record(self.base("delete", pid, node, t0, t1, status, error))
        self.live.remove(pid)

    def read(self, pid, level):
        body = {"ids": [pid], "with_payload": True, "with_vector": True}
        node, t0, t1, status, error, result = self.call(
            "POST", f"/collections/{self.collection}/points?{self.read_param}={level}", body)
        op = self.base("read", pid, node, t0, t1, status, error)
        op["level"] = level
        if status == 200:
            if not result:
                op["value"] = None
            else:
                p = result[0]
                op["value"] = (p.get("payload") or {}).get("v")
                op["vector_ok"] = p.get("vector") == vector_of(pid, op["value"]) if op["value"] else False
        self.history.record(op)

    def run(self):
        while not self.stop_event.is_set():
            r = self.rng.random()
            if r < 0.45 or not self.live:
                self.upsert(self.new_id())
            elif r < 0.70:
                self.upsert(self.rng.choice(self.live))
            elif r < 0.85:
                self.delete(self.rng.choice(self.live))
            else:
                self.read(self.rng.choice(list(self.versions)), self.rng.choice(READ_LEVELS))

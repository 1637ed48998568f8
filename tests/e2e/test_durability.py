"""End-to-end durability: kill -9 mid-stream and SIGTERM; every acknowledged write survives a restart.

A writer thread sends wait=true batches (new points, updates, deletes, payload updates) and records
what the server acknowledged. The server is killed with SIGKILL after ~3 s, restarted on the same
data directory, and its content compared with the record: every acknowledged write must be there;
the one write in flight at the kill may or may not have been applied (either state is accepted).
"""

import copy
import http.client
import random
import threading
import time

import vjharness as vh

DIM = 8
COLL = "d"
CONFIG = {"vectors": {"size": DIM, "distance": "Euclid"}, "hnsw_config": {"m": 12, "ef_construct": 64}}
ROUNDS = 3
WRITE_SECONDS = 3.0
MAX_NEW_POINTS = 15000

DELETED = "<deleted>"


def rvec(rnd):
    return vh.f32vec([rnd.uniform(-10, 10) for _ in range(DIM)])


def rpayload(rnd, pid, gen):
    return {"i": pid, "gen": gen, "s": "p%d-%s" % (pid, "x" * rnd.randint(0, 20)),
            "f": round(rnd.uniform(-1000, 1000), 6), "tags": rnd.sample(["a", "b", "c", "d"], rnd.randint(0, 3)),
            "nested": {"a": [1, {"b": rnd.randint(0, 9)}], "ok": rnd.random() < 0.5}}


class Writer(threading.Thread):
    """Sends wait=true writes until the server goes away; keeps the acknowledged state in `model`."""

    def __init__(self, port, model, rnd, next_id, max_id=None):
        super().__init__(daemon=True)
        self.client = vh.Client("127.0.0.1", port, timeout=30)
        self.model = model              # id -> (vector, payload) or DELETED
        self.rnd = rnd
        self.next_id = next_id
        self.pending = None             # id -> list of acceptable states while a request is in flight
        self.acked_ops = 0
        self.errors = []
        self.stop_flag = False
        self.max_id = max_id if max_id is not None else next_id + MAX_NEW_POINTS - 1

    def present_ids(self):
        return [pid for pid, st in self.model.items() if st is not DELETED]

    def run(self):
        op = 0
        while not self.stop_flag:
            op += 1
            try:
                if not self._one(op):
                    return
            except (ConnectionError, OSError, http.client.HTTPException):
                return  # the server is gone; `pending` holds the in-flight write

    def _send(self, path, body, new_states, method="POST"):
        self.pending = {pid: [self.model.get(pid, DELETED), st] for pid, st in new_states.items()}
        r = self.client.call(method, path, body)
        if r.status == 503:
            return False  # shutting down: refused, and `pending` still covers it
        if r.status != 200:
            self.errors.append(f"write refused while the server was up: {r.describe()}")
            return False
        if not isinstance(r.result, dict) or r.result.get("status") != "completed":
            self.errors.append(f"wait=true write not 'completed': {r.describe()}")
            return False
        self.model.update(new_states)
        self.pending = None
        self.acked_ops += 1
        return True

    def _one(self, op):
        rnd = self.rnd
        present = self.present_ids()
        if op % 5 == 0 and len(present) > 40:
            # Update existing points (new vector and payload).
            ids = rnd.sample(present, 20)
            states = {pid: (rvec(rnd), rpayload(rnd, pid, op)) for pid in ids}
            body = {"points": [{"id": pid, "vector": v, "payload": p} for pid, (v, p) in states.items()]}
            return self._send(f"/collections/{COLL}/points?wait=true", body, states, method="PUT")
        if op % 7 == 0 and len(present) > 40:
            ids = rnd.sample(present, 5)
            return self._send(f"/collections/{COLL}/points/delete?wait=true", {"points": ids},
                              {pid: DELETED for pid in ids})
        if op % 11 == 0 and len(present) > 40:
            ids = rnd.sample(present, 10)
            extra = {"touched": op, "g": "grp%d" % (op % 3)}
            states = {}
            for pid in ids:
                v, p = self.model[pid]
                p2 = copy.deepcopy(p)
                p2.update(extra)
                states[pid] = (v, p2)
            return self._send(f"/collections/{COLL}/points/payload?wait=true", {"payload": extra, "points": ids}, states)
        if self.next_id > self.max_id:
            time.sleep(0.01)
            return True
        ids = list(range(self.next_id, self.next_id + 50))
        self.next_id += 50
        states = {pid: (rvec(rnd), rpayload(rnd, pid, op)) for pid in ids}
        body = {"points": [{"id": pid, "vector": v, "payload": p} for pid, (v, p) in states.items()]}
        return self._send(f"/collections/{COLL}/points?wait=true", body, states, method="PUT")


class DurabilityTest(vh.ServerTestCase):

    def restart(self):
        """Start the (stopped or killed) server again on the same data dir, on a fresh port."""
        self.server.port = None
        self.server.start()
        self.client = self.server.client

    def setup_collection(self):
        c = self.client
        self.assertIs(c.ok("PUT", f"/collections/{COLL}", CONFIG), True)
        c.ok("PUT", f"/collections/{COLL}/index?wait=true", {"field_name": "g", "field_schema": "keyword"})
        info = c.ok("GET", f"/collections/{COLL}")
        return info["config"], {k: v.get("data_type") for k, v in info["payload_schema"].items()}

    def verify(self, model, pending, config0, schema0, ctx):
        c = self.client
        info = c.ok("GET", f"/collections/{COLL}")
        self.assertEqual(info["config"], config0, f"{ctx}: collection config changed across restart")
        self.assertEqual({k: v.get("data_type") for k, v in info["payload_schema"].items()}, schema0,
                         f"{ctx}: payload indexes changed across restart")
        pending = pending or {}
        stored = {p["id"]: p for p in c.scroll_all(COLL, limit=1000, with_payload=True, with_vector=True)}
        problems = []
        for pid, st in model.items():
            allowed = pending.get(pid, [st])
            got = stored.get(pid)
            ok = False
            for a in allowed:
                if a is DELETED:
                    ok = ok or got is None
                elif got is not None:
                    ok = ok or (vh.vectors_equal_f32(got.get("vector"), a[0]) and got.get("payload") == a[1])
            if not ok:
                exp = " or ".join("deleted" if a is DELETED else f"vector {a[0]} payload {a[1]}" for a in allowed)
                problems.append(vh.truncate(f"point {pid}: stored {'nothing' if got is None else got} expected {exp}", 700))
        for pid in stored:
            if pid not in model and pid not in pending:
                problems.append(f"point {pid} exists but was never written")
        for pid, allowed in pending.items():
            if pid not in model:
                got = stored.get(pid)
                if got is not None and not any(a is not DELETED and vh.vectors_equal_f32(got.get("vector"), a[0])
                                               and got.get("payload") == a[1] for a in allowed):
                    problems.append(f"in-flight point {pid} stored with wrong content {got}")
        self.assertNoItems(problems, f"{ctx}: {len(problems)} acknowledged writes lost or wrong:\n" + "\n".join(problems[:15]))
        self.assertEqual(c.count(COLL), len(stored), f"{ctx}: count != number of scrolled points")
        self.assertEqual(info.get("points_count"), len(stored), f"{ctx}: points_count != number of scrolled points")
        # Filters and search work on the recovered data.
        exp_g = {pid for pid, p in stored.items() if (p.get("payload") or {}).get("g") == "grp1"}
        self.assertEqual({p["id"] for p in c.scroll_all(COLL, {"must": [{"key": "g", "match": {"value": "grp1"}}]})},
                         exp_g, f"{ctx}: indexed filter after restart")
        sample = list(stored)[:: max(1, len(stored) // 40)][:40]
        found = 0
        for pid in sample:
            v = stored[pid]["vector"]
            res = c.ok("POST", f"/collections/{COLL}/points/query", {"query": v, "limit": 1, "params": {"exact": True}})
            self.assertEqual(res["points"][0]["id"], pid, f"{ctx}: exact self-query of {pid} after restart")
            self.assertTrue(vh.score_close(res["points"][0]["score"], 0.0))
            res = c.ok("POST", f"/collections/{COLL}/points/query", {"query": v, "limit": 1})
            found += bool(res["points"]) and res["points"][0]["id"] == pid
        if sample:
            self.assertGreaterEqual(found / len(sample), 0.9, f"{ctx}: HNSW self-query recall after restart "
                                                              f"{found}/{len(sample)}")
        return stored

    def test_kill9_mid_stream(self):
        config0, schema0 = self.setup_collection()
        rnd = random.Random(777)
        total_acked = 0
        # Two concurrent writers with disjoint id ranges, each keeping its own acknowledged state.
        bases = [1, 1_000_000]
        models = [{}, {}]
        next_ids = list(bases)
        model = {}
        for rnd_i in range(ROUNDS):
            writers = [Writer(self.server.port, models[k], random.Random(rnd.random()), next_ids[k],
                              max_id=bases[k] + MAX_NEW_POINTS // 2 - 1) for k in range(2)]
            for w in writers:
                w.start()
            time.sleep(WRITE_SECONDS)
            self.server.kill9()
            pending = {}
            for k, w in enumerate(writers):
                w.join(timeout=60)
                self.assertFalse(w.is_alive(), "writer thread did not stop after kill -9")
                self.assertNoItems(w.errors, "\n".join(w.errors[:5]))
                self.assertGreater(w.acked_ops, 0, f"round {rnd_i}: writer {k} got no acknowledgement in {WRITE_SECONDS}s")
                total_acked += w.acked_ops
                next_ids[k] = w.next_id
                pending.update(w.pending or {})
            model = {**models[0], **models[1]}
            self.restart()
            stored = self.verify(model, pending, config0, schema0, f"round {rnd_i} after kill -9")
            # The in-flight writes' outcome is whatever was stored.
            for pid in pending:
                owner = models[0 if pid < bases[1] else 1]
                owner[pid] = DELETED if pid not in stored else (stored[pid]["vector"], stored[pid]["payload"])
            model = {**models[0], **models[1]}
        print(f"\nkill -9 rounds: {total_acked} acknowledged writes, {sum(1 for s in model.values() if s is not DELETED)} points")
        # A clean restart afterwards keeps everything too.
        self.assertEqual(self.server.stop(), 0, "SIGTERM exit code")
        self.restart()
        self.verify(model, None, config0, schema0, "after final SIGTERM restart")

    def test_kill9_after_metadata_changes(self):
        c = self.client
        c.ok("PUT", "/collections/keep", {"vectors": {"img": {"size": 3, "distance": "Dot"},
                                                      "txt": {"size": 2, "distance": "Manhattan"}},
                                          "hnsw_config": {"m": 8, "ef_construct": 50}})
        c.ok("PUT", "/collections/keep/index?wait=true", {"field_name": "k", "field_schema": "integer"})
        c.ok("PUT", "/collections/gone", {"vectors": {"size": 2, "distance": "Cosine"}})
        c.upsert("gone", [{"id": 1, "vector": [1, 0]}])
        c.upsert("keep", [{"id": "5c56c793-69f3-4fbf-87e6-c4bf54c28c26", "vector": {"img": [1, 2, 3], "txt": [4, 5]},
                           "payload": {"k": 5}}])
        self.assertIs(c.ok("DELETE", "/collections/gone"), True)
        c.ok("PUT", "/collections/idxdrop", {"vectors": {"size": 2, "distance": "Dot"}})
        c.ok("PUT", "/collections/idxdrop/index?wait=true", {"field_name": "a", "field_schema": "keyword"})
        c.ok("DELETE", "/collections/idxdrop/index/a?wait=true")
        info_keep = c.ok("GET", "/collections/keep")
        self.server.kill9()
        self.restart()
        c = self.client
        self.assertEqual(sorted(x["name"] for x in c.ok("GET", "/collections")["collections"]), ["idxdrop", "keep"])
        info = c.ok("GET", "/collections/keep")
        self.assertEqual(info["config"], info_keep["config"])
        self.assertEqual(info["payload_schema"].get("k", {}).get("data_type"), "integer")
        self.assertEqual(c.ok("GET", "/collections/idxdrop")["payload_schema"], {})
        self.assertEqual(c.ok("GET", "/collections/gone/exists"), {"exists": False})
        p = c.ok("GET", "/collections/keep/points/5c56c793-69f3-4fbf-87e6-c4bf54c28c26")
        self.assertEqual(p["payload"], {"k": 5})
        self.assertEqual(p["vector"], {"img": [1.0, 2.0, 3.0], "txt": [4.0, 5.0]})
        # The re-created "gone" collection is empty.
        c.ok("PUT", "/collections/gone", {"vectors": {"size": 2, "distance": "Cosine"}})
        self.assertEqual(c.count("gone"), 0)

    def test_sigterm_drains_and_exits_0(self):
        config0, schema0 = self.setup_collection()
        rnd = random.Random(99)
        model = {}
        w = Writer(self.server.port, model, rnd, 1)
        w.start()
        time.sleep(1.5)
        t0 = time.monotonic()
        code = self.server.stop(grace=vh.STOP_GRACE_S)
        w.join(timeout=60)
        self.assertEqual(code, 0, f"exit code after SIGTERM (took {time.monotonic() - t0:.1f}s)")
        self.assertNoItems(w.errors, "\n".join(w.errors[:5]))
        self.assertGreater(w.acked_ops, 0)
        self.restart()
        self.verify(model, w.pending, config0, schema0, "after SIGTERM")

    def test_sigterm_idle_and_repeated_restarts(self):
        c = self.client
        c.create_collection("r", size=4, distance="Dot")
        expected = {}
        rnd = random.Random(5)
        for i in range(4):
            pts = [{"id": i * 100 + j, "vector": vh.f32vec([rnd.uniform(-1, 1) for _ in range(4)]),
                    "payload": {"round": i}} for j in range(25)]
            self.client.upsert("r", pts)
            for p in pts:
                expected[p["id"]] = p
            self.assertEqual(self.server.stop(), 0, f"SIGTERM exit code, restart {i}")
            self.restart()
            got = {p["id"]: p for p in self.client.scroll_all("r", with_payload=True, with_vector=True)}
            self.assertEqual(set(got), set(expected), f"restart {i}")
            for pid, p in expected.items():
                self.assertEqual(got[pid]["payload"], p["payload"])
                self.assertTrue(vh.vectors_equal_f32(got[pid]["vector"], p["vector"]))


if __name__ == "__main__":
    vh.main()

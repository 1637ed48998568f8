"""Judges a fault test's history (workload.py) against what the cluster holds at the end.

The state of an id is None (absent) or the version of its last upsert. For every id, the operations of its one
client are sequential, so the states an id may be in after operation k are: the state the last acknowledged
("ok") write up to k left, or the state of any indeterminate ("info") write after that one (it may have been
applied, or not). Anything else is a violation:
- lost write: an acknowledged upsert's version is not there (absent, or an older version);
- undone delete: an acknowledged delete is followed by a value that no allowed write explains;
- phantom: an id or version that no operation wrote;
- wrong vector: the right version with other vector bytes.
Reads made during the run are judged the same way against the operations that ended before the read began;
a `primary` read outside that set is a violation (stale or phantom); other levels' stale reads are counted.
Pure functions, no I/O: test_checker.py feeds it made-up histories.
"""

from collections import defaultdict

ABSENT = None


def _per_id(ops):
    by_id = defaultdict(list)
    for op in ops:
        by_id[op["id"]].append(op)
    for lst in by_id.values():
        lst.sort(key=lambda o: o["seq"])
    return by_id


def _state_after(op):
    return op["version"] if op["op"] == "upsert" else ABSENT


def allowed_states(writes):
    """The states an id may be in after `writes` (its write operations, in order)."""
    allowed = {ABSENT}
    for op in writes:
        if op["status"] == "ok":
            allowed = {_state_after(op)}
        else:
            allowed = allowed | {_state_after(op)}
    return allowed


def _classify(allowed, found, writes):
    written = {op["version"] for op in writes if op["op"] == "upsert"}
    if found is not ABSENT and found not in written:
        return "phantom"
    acked = [op for op in writes if op["status"] == "ok"]
    if acked and acked[-1]["op"] == "delete" and found is not ABSENT:
        return "undone_delete"
    return "lost_write"


def check_final(ops, final, vectors_ok=None):
    """ops: the history; final: {id: version or None} as read from one copy of the data (ids it lacks are
    absent); vectors_ok: {id: bool} whether the stored vector is byte-equal to the one its version wrote.
    Returns a list of violations (dicts)."""
    violations = []
    by_id = _per_id(op for op in ops if op["op"] in ("upsert", "delete"))
    for pid, writes in by_id.items():
        allowed = allowed_states(writes)
        found = final.get(pid, ABSENT)
        if found not in allowed:
            violations.append({"kind": _classify(allowed, found, writes), "id": pid, "found": found,
                               "allowed": sorted(allowed, key=lambda v: -1 if v is None else v)})
        elif found is not ABSENT and vectors_ok is not None and not vectors_ok.get(pid, False):
            violations.append({"kind": "wrong_vector", "id": pid, "found": found})
    for pid, version in final.items():
        if pid not in by_id:
            violations.append({"kind": "phantom", "id": pid, "found": version, "allowed": [None]})
    return violations


def check_reads(ops):
    """Judges each read against the writes of its id that ended before it began (same client, so `seq`
    orders them). Returns (violations, stats) where stats counts reads and stale reads per level."""
    violations = []
    stats = defaultdict(lambda: {"reads": 0, "stale": 0, "failed": 0})
    by_id = _per_id(ops)
    for pid, lst in by_id.items():
        writes = []
        for op in lst:
            if op["op"] != "read":
                writes.append(op)
                continue
            s = stats[op["level"]]
            if op["status"] != "ok":
                s["failed"] += 1
                continue
            s["reads"] += 1
            allowed = allowed_states(writes)
            value = op.get("value")
            bad_vector = value is not None and not op.get("vector_ok", False)
            if value in allowed and not bad_vector:
                continue
            # A version no operation on the id ever wrote (not even a later one) is a phantom.
            phantom = value is not None and value not in {w["version"] for w in lst if w["op"] == "upsert"}
            if phantom or bad_vector:
                violations.append({"kind": "phantom_read" if phantom else "wrong_vector_read", "id": pid,
                                   "level": op["level"], "found": value, "seq": op["seq"]})
            else:
                s["stale"] += 1
                if op["level"] == "primary":
                    violations.append({"kind": "stale_primary_read", "id": pid, "found": value,
                                       "allowed": sorted(allowed, key=lambda v: -1 if v is None else v),
                                       "seq": op["seq"], "client": op["client"]})
    return violations, dict(stats)


def stalls(ops, shards, faults, t_end):
    """Per fault, the longest time any shard went without an acknowledged write, among the gaps that overlap
    the fault (from its start to 1 s after it healed). faults: [{"t_start", "t_end", ...}]. Returns the
    faults with "stall_s" and "stall_shard" added."""
    acks = defaultdict(list)
    for op in ops:
        if op["op"] in ("upsert", "delete") and op["status"] == "ok":
            acks[op["shard"]].append(op["t1"])
    out = []
    for f in faults:
        lo, hi = f["t_start"], f["t_end"] + 1.0
        worst, worst_shard = 0.0, None
        for shard in range(shards):
            times = sorted(acks.get(shard, []))
            edges = [lo - 1e9] + times + [t_end]
            for a, b in zip(edges, edges[1:]):
                if b < lo or a > hi:
                    continue
                gap = b - max(a, lo)
                if gap > worst:
                    worst, worst_shard = gap, shard
        out.append(dict(f, stall_s=round(worst, 2), stall_shard=worst_shard))
    return out


def acks_without_quorum(ops, faults, margin=0.05):
    """Writes acknowledged while a "double" fault had taken away two of every shard's three replicas (with
    write_consistency_factor 2 no write can be acknowledged then): each is a violation. Only writes sent
    after the fault was fully applied ("t_applied": both nodes down; killing the first one takes a while)
    and answered before it healed count."""
    violations = []
    for f in faults:
        if f["kind"] != "double":
            continue
        lo, hi = f.get("t_applied", f["t_start"]) + margin, f["t_end"] - margin
        for op in ops:
            if op["op"] != "read" and op["status"] == "ok" and op["t0"] > lo and op["t1"] < hi:
                violations.append({"kind": "acknowledged_without_quorum", "id": op["id"], "client": op["client"],
                                   "seq": op["seq"], "fault": f["kind"], "nodes": f.get("nodes")})
    return violations

#!/usr/bin/env python3
"""The seeded fault test: a real etcd and N vjvector nodes, client threads writing and reading through all of
them, and a schedule of faults made from the seed. At the end every fault is healed, the replicas must become
identical, and the history is checked (checker.py). docs/faults.md explains the run and its output.

  run_faults.py --binary build/vjvector [--seed N] [--seconds S] [--nodes 3] [--kinds kill,stop,...]
                [--power-loss] [--workdir DIR] [--keep] [--assert-liveness]

Prints the seed and the schedule first, then one line per fault as it happens, then the summary; writes
history.jsonl, schedule.json and summary.json to the work directory (kept when the run fails or with --keep).
Exit status: 0 passed, 1 a safety violation (or a liveness one with --assert-liveness), 77 cannot run here.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import checker  # noqa: E402
import faultcluster  # noqa: E402
import schedule  # noqa: E402
import workload  # noqa: E402
from shard_of import HashRing  # noqa: E402

COLLECTION = "faults"
SKIP = 77


def log(msg, t0=None):
    stamp = f"[{time.monotonic() - t0:7.2f}s] " if t0 is not None else ""
    print(stamp + msg, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # vjharness takes --binary out of sys.argv when it is imported; its BINARY is the default here.
    p.add_argument("--binary", default=faultcluster.vh.BINARY)
    p.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--replication-factor", type=int, default=3)
    p.add_argument("--write-consistency-factor", type=int, default=2)
    p.add_argument("--clients-per-shard", type=int, default=2)
    p.add_argument("--lease-ttl", type=int, default=5)
    p.add_argument("--kinds", default=",".join(schedule.DEFAULT_KINDS),
                   help="comma-separated, from: " + ", ".join(schedule.KINDS))
    p.add_argument("--gap", default="5,10", help="seconds between faults: min,max")
    p.add_argument("--duration", default="3,8", help="seconds a fault lasts: min,max")
    p.add_argument("--power-loss", action="store_true", help="nodes lose unsynced writes when killed")
    p.add_argument("--crash-points", default="",
                   help="name:probability,... (flush, compaction, index_snapshot, replica_snapshot, election): "
                        "nodes kill themselves there (VJVECTOR_TEST_CRASH_POINTS) and are restarted")
    p.add_argument("--converge-timeout", type=float, default=60)
    p.add_argument("--client-timeout", type=float, default=10)
    p.add_argument("--read-param", default="consistency", help="the query parameter of reads (Qdrant: consistency)")
    p.add_argument("--assert-liveness", action="store_true",
                   help="fail when a single fault stalls a shard's writes longer than lease TTL + 2 s")
    p.add_argument("--workdir")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    a.kinds = [k for k in a.kinds.split(",") if k]
    unknown = [k for k in a.kinds if k not in schedule.KINDS]
    if unknown:
        p.error(f"unknown fault kinds {unknown}; known: {sorted(schedule.KINDS)}")
    a.gap = tuple(float(x) for x in a.gap.split(","))
    a.duration = tuple(float(x) for x in a.duration.split(","))
    return a


def any_client(cluster):
    """A client of a node that answers (the fault may have taken others away)."""
    for name in cluster.names:
        n = cluster.nodes[name]
        if n.alive() and name not in cluster.stopped:
            return n.client
    raise RuntimeError("no node is running")


def create_collection(cluster, a):
    """Creates the collection once every node has loaded and joined (until then the create is refused)."""
    body = {"vectors": {"size": workload.DIM, "distance": "Euclid"}, "shard_number": a.shards,
            "replication_factor": a.replication_factor, "write_consistency_factor": a.write_consistency_factor}
    deadline = time.monotonic() + 30
    # Every node first: a create places replicas over the members it sees, and five nodes should all
    # hold some.
    while time.monotonic() < deadline:
        try:
            r = any_client(cluster).call("GET", "/cluster")
            if r.status == 200 and len(r.result.get("peers", {})) >= len(cluster.nodes):
                break
        except OSError:
            pass
        time.sleep(0.2)
    while True:
        r = any_client(cluster).call("PUT", f"/collections/{COLLECTION}", body)
        if r.status == 200:
            return
        starting = r.status == 503 or "live nodes" in (r.error or "")  # still loading, or not all joined
        if time.monotonic() > deadline or not starting:
            raise RuntimeError(f"creating the collection: {r.describe()}")
        time.sleep(0.2)


def cluster_info(cluster):
    last = None
    for name in cluster.names:
        n = cluster.nodes[name]
        if not n.alive() or name in cluster.stopped:
            continue
        try:
            r = faultcluster.vh.Client("127.0.0.1", n.port, timeout=3).call(
                "GET", f"/collections/{COLLECTION}/cluster")
            if r.status == 200:
                return r.result["shards"]
            last = r.describe()
        except OSError as e:
            last = repr(e)
    raise RuntimeError(f"no node described the collection ({last})")


def resolve(f, cluster, rng_names):
    """Fills in the nodes a role-named fault applies to, from the cluster's state now."""
    f = dict(f)
    if "shard" in f:
        try:
            f["node"] = cluster_info(cluster)[f["shard"]]["primary"]
        except Exception as e:  # no node answers: pick one by the schedule's order
            f["node"] = rng_names[f["shard"] % len(rng_names)]
            f["note"] = f"primary unknown ({e}); chose {f['node']}"
    return f


def apply(f, cluster):
    k = f["kind"]
    if k in ("kill", "kill-primary"):
        cluster.kill(f["node"])
    elif k == "stop":
        cluster.pause(f["node"])
    elif k == "partition-primary":
        cluster.isolate(f["node"], from_etcd=False)
    elif k == "isolate":
        cluster.isolate(f["node"], from_etcd=True)
    elif k == "split":
        cluster.split(f["minority"])
    elif k == "etcd-kill":
        cluster.kill_etcd()
    elif k == "etcd-stop":
        cluster.pause("etcd")
    elif k == "skew":
        cluster.skew(f["node"], f["seconds"])
    elif k == "disk":
        cluster.fill_disk(f["node"])
    elif k == "slow":
        cluster.degrade(f["node"], delay_ms=(100, 400))
    elif k == "lossy":
        cluster.degrade(f["node"], delay_ms=(0, 20), reset=0.05)
    elif k == "double":
        for name in f["nodes"]:
            cluster.kill(name) if f["how"] == "kill" else cluster.pause(name)


def read_replica(node, shard):
    """{id: (version, vector)} of one replica, through the internal shard route (local data only)."""
    out = {}
    offset = None
    c = faultcluster.vh.Client("127.0.0.1", node.p2p_port, timeout=30)
    while True:
        body = {"limit": 1000, "with_payload": True, "with_vector": True}
        if offset is not None:
            body["offset"] = offset
        r = c.call("POST", f"/internal/shards/{COLLECTION}/{shard}/points/scroll", body)
        if r.status != 200:
            raise RuntimeError(f"{node.name} shard {shard}: {r.describe()}")
        for p in r.result["points"]:
            out[p["id"]] = ((p.get("payload") or {}).get("v"), p.get("vector"))
        offset = r.result.get("next_page_offset")
        if offset is None:
            return out


def replicas_now(cluster, shards):
    """[{node: data}] per shard, or raises while a replica cannot be read."""
    info = cluster_info(cluster)
    out = []
    for s in range(shards):
        out.append({r["peer_id"]: read_replica(cluster.nodes[r["peer_id"]], s) for r in info[s]["replicas"]})
    return out


def converge(cluster, shards, timeout):
    """Waits until every shard's replicas hold the same data; returns (seconds, replicas, last difference)."""
    t0 = time.monotonic()
    last = None
    while True:
        try:
            reps = replicas_now(cluster, shards)
            diff = [f"shard {s}: " + ", ".join(f"{n}={len(d)}" for n, d in r.items())
                    for s, r in enumerate(reps) if len({json.dumps(sorted(d.items())) for d in r.values()}) != 1]
            if not diff:
                return time.monotonic() - t0, reps, None
            last = "; ".join(diff)
        except Exception as e:
            last = repr(e)
        if time.monotonic() - t0 > timeout:
            return None, None, last
        time.sleep(0.5)


def _stop_run(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds through the finally below: nodes, firewall and mounts cleaned up


def main():
    # SIGTERM, and SIGINT even where a background shell ignored it, end the run cleanly.
    signal.signal(signal.SIGTERM, _stop_run)
    signal.signal(signal.SIGINT, _stop_run)
    a = parse_args()
    why = faultcluster.available(need_faketime="skew" in a.kinds)
    if why:
        print(f"SKIP: {why}")
        return SKIP
    workdir = a.workdir or f"/tmp/vj-faults-{a.seed}-{int(time.time())}"
    if os.path.exists(workdir):
        print(f"work directory {workdir} exists; choose another", file=sys.stderr)
        return 2
    sched = schedule.make(a.seed, a.seconds, a.kinds, a.nodes, a.shards, a.gap, a.duration)
    print(f"seed {a.seed}: {a.nodes} nodes, {a.shards} shards, RF {a.replication_factor}, "
          f"WCF {a.write_consistency_factor}, lease TTL {a.lease_ttl} s, {a.seconds:.0f} s, "
          f"power loss {'on' if a.power_loss else 'off'}, work directory {workdir}")
    print("schedule: " + json.dumps(sched))
    os.makedirs(workdir)
    with open(os.path.join(workdir, "schedule.json"), "w") as fh:
        json.dump({"seed": a.seed, "args": vars(a), "faults": sched}, fh, indent=1)

    cluster = None
    passed = False
    try:
        node_env = {"VJVECTOR_TEST_CRASH_POINTS": a.crash_points,
                    "VJVECTOR_TEST_CRASH_SEED": str(a.seed)} if a.crash_points else None
        cluster = faultcluster.Cluster(workdir, os.path.abspath(a.binary), nodes=a.nodes, lease_ttl=a.lease_ttl,
                                       node_env=node_env,
                                       power_loss=a.power_loss, faketime="skew" in a.kinds,
                                       disk_mb=1024 if "disk" in a.kinds else 0,
                                       links=bool({"slow", "lossy"} & set(a.kinds)))
        create_collection(cluster, a)
        passed = run(a, cluster, sched, workdir)
    except Exception:
        traceback.print_exc()
    finally:
        if cluster:
            cluster.close()
    if passed and not a.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"data, logs and history kept in {workdir}")
    print("PASSED" if passed else "FAILED")
    return 0 if passed else 1


def run(a, cluster, sched, workdir):
    ring = HashRing(a.shards)
    t0 = time.monotonic()
    history = workload.History(os.path.join(workdir, "history.jsonl"), t0)
    stop = threading.Event()
    clients = [workload.Client(i, i % a.shards, ring, COLLECTION, cluster, history, a.seed, stop,
                               timeout_s=a.client_timeout, read_param=a.read_param)
               for i in range(a.shards * a.clients_per_shard)]
    for c in clients:
        c.start()
    done = []

    def wait_until(t):
        """Sleeps until t seconds into the run, restarting nodes that die by themselves meanwhile."""
        while True:
            for name in cluster.supervise():
                log(f"{name} died by itself (crash point?); restarted", t0)
            left = t - (time.monotonic() - t0)
            if left <= 0:
                return
            time.sleep(min(left, 0.25))

    for f in sched:
        wait_until(f["at"])
        f = resolve(f, cluster, cluster.names)
        f["t_start"] = round(time.monotonic() - t0, 2)
        apply(f, cluster)
        f["t_applied"] = round(time.monotonic() - t0, 2)
        log(f"fault {json.dumps({k: v for k, v in f.items() if k not in ('at', 't_start')})}", t0)
        wait_until(time.monotonic() - t0 + f["duration"])
        cluster.heal()
        f["t_end"] = round(time.monotonic() - t0, 2)
        log(f"healed {f['kind']}", t0)
        done.append(f)
    wait_until(a.seconds)
    stop.set()
    for c in clients:
        c.join(timeout=a.client_timeout + 5)
    t_end = time.monotonic() - t0
    history.close()
    cluster.heal()
    log("workload stopped; every fault healed; waiting for the replicas to agree", t0)
    conv_s, reps, diff = converge(cluster, a.shards, a.converge_timeout)

    ops = history.ops
    violations = []
    if reps is None:
        violations.append({"kind": "replicas_differ", "after_s": a.converge_timeout, "detail": diff})
    else:
        for s, by_node in enumerate(reps):
            for node, data in by_node.items():
                wrong_shard = [pid for pid in data if ring.shard_of(pid) != s]
                if wrong_shard:
                    violations.append({"kind": "wrong_shard", "node": node, "shard": s, "ids": wrong_shard[:10]})
                final = {pid: v for pid, (v, _) in data.items()}
                vec_ok = {pid: vec == workload.vector_of(pid, v) for pid, (v, vec) in data.items() if v}
                for v in checker.check_final([op for op in ops if op["shard"] == s], final, vec_ok):
                    violations.append(dict(v, node=node, shard=s))
    read_violations, read_stats = checker.check_reads(ops)
    violations += read_violations
    if a.replication_factor == a.nodes == 3 and a.write_consistency_factor >= 2:
        violations += checker.acks_without_quorum(ops, done)

    stalls = checker.stalls(ops, a.shards, done, t_end)
    bound = a.lease_ttl + 2
    slow = [f for f in stalls if f["kind"] in schedule.SINGLE and f["stall_s"] > bound]
    writes = [op for op in ops if op["op"] != "read"]
    summary = {
        "seed": a.seed, "nodes": a.nodes, "seconds": round(t_end, 1), "power_loss": a.power_loss,
        "crash_points": a.crash_points or None,
        "self_inflicted_crashes": {n.name: n.crashes for n in cluster.nodes.values() if n.crashes},
        "operations": len(ops),
        "acknowledged_upserts": sum(1 for op in writes if op["op"] == "upsert" and op["status"] == "ok"),
        "acknowledged_deletes": sum(1 for op in writes if op["op"] == "delete" and op["status"] == "ok"),
        "indeterminate_writes": sum(1 for op in writes if op["status"] != "ok"),
        "writes_slower_than_5s": sum(1 for op in writes if op["t1"] - op["t0"] > 5),
        "reads": read_stats,
        "converged_after_s": None if conv_s is None else round(conv_s, 2),
        "violations": violations[:50], "violation_count": len(violations),
        "faults": [{k: f.get(k) for k in ("kind", "node", "nodes", "minority", "shard", "t_start", "t_end",
                                           "stall_s", "stall_shard") if f.get(k) is not None} for f in stalls],
        "single_fault_stalls_over_bound": len(slow), "stall_bound_s": bound,
    }
    with open(os.path.join(workdir, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=1)
    print("summary: " + json.dumps({k: v for k, v in summary.items() if k not in ("faults", "violations")}))
    for f in summary["faults"]:
        print("  " + json.dumps(f))
    for v in violations[:20]:
        print("  VIOLATION " + json.dumps(v))
    if slow:
        print(f"  {len(slow)} single faults stalled a shard's writes longer than {bound} s "
              f"(worst {max(f['stall_s'] for f in slow)} s)")
    return not violations and not (a.assert_liveness and slow)


if __name__ == "__main__":
    sys.exit(main())

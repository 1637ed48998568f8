"""The fault schedule: made from the seed alone, before the run, so one seed gives one schedule.

A schedule is a list of faults, one after another, dealt in rounds that hold every kind once: each starts `gap` seconds after the previous one healed and
lasts `duration` seconds. Targets that depend on the cluster's state ("the primary of shard 2") are named by
role here and resolved when the fault starts; the run's log records the node they resolved to.
"""

import random

# kind -> what it does (docs/faults.md has the same list).
KINDS = {
    "kill": "SIGKILL a node (a power loss in power-loss mode), restart it when the fault ends",
    "kill-primary": "SIGKILL the primary of a shard, restart it when the fault ends",
    "stop": "SIGSTOP a node, SIGCONT when the fault ends",
    "partition-primary": "cut a shard's primary off from the other nodes, not from etcd",
    "isolate": "cut a node off from the other nodes and from etcd (clients still reach it)",
    "split": "cut a minority of the nodes off from the majority and from etcd",
    "etcd-kill": "SIGKILL etcd, restart it when the fault ends",
    "etcd-stop": "SIGSTOP etcd",
    "skew": "step one node's wall clock by +-5 minutes (libfaketime)",
    "disk": "fill one node's data disk (a tmpfs) to the last byte",
    "double": "kill or stop two nodes at once",
    "slow": "delay every link to and from one node by 100-400 ms per chunk (link proxies)",
    "lossy": "cut 5% of the chunks on every link to and from one node, resetting the connection",
}
# After one of these alone, every shard must take writes again within lease TTL + 2 s.
SINGLE = {"kill", "kill-primary", "stop", "partition-primary", "isolate", "split", "skew", "disk", "slow", "lossy"}
DEFAULT_KINDS = ("kill", "kill-primary", "stop", "partition-primary", "isolate", "etcd-kill", "double")


def make(seed, seconds, kinds, nodes, shards, gap=(5.0, 10.0), duration=(3.0, 8.0), warmup=5.0):
    rng = random.Random(seed)
    kinds = sorted(kinds)
    out = []
    deck = []
    t = warmup
    while True:
        if not deck:  # every kind once per round, in a shuffled order: a short run still sees each kind
            deck = list(kinds)
            rng.shuffle(deck)
        kind = deck.pop()
        d = round(rng.uniform(*duration), 1)
        if t + d > seconds:
            break
        node_names = [f"n{i + 1}" for i in range(nodes)]
        f = {"kind": kind, "at": round(t, 1), "duration": d}
        if kind in ("kill", "stop", "isolate", "skew", "disk", "slow", "lossy"):
            f["node"] = rng.choice(node_names)
        if kind in ("kill-primary", "partition-primary"):
            f["shard"] = rng.randrange(shards)
        if kind == "split":
            f["minority"] = sorted(rng.sample(node_names, (nodes - 1) // 2))
        if kind == "skew":
            f["seconds"] = rng.choice((-300, 300))
        if kind == "double":
            f["nodes"] = sorted(rng.sample(node_names, 2))
            f["how"] = rng.choice(("kill", "stop"))
        out.append(f)
        t += d + rng.uniform(*gap)
    return out

"""The cluster under test and the faults done to it: a real etcd and N vjvector nodes as processes on loopback.

Each node runs under a uid of its own, so that a firewall rule can cut the traffic of one node to one
destination port (iptables' owner match on the loopback OUTPUT chain): that is how partitions are made on a
kernel without netem or per-node network namespaces. A rule drops packets (no reset), as a real partition
does; rules live in a chain of this run's own that is removed at exit. Other faults: SIGKILL (a power loss
when the nodes run with VJVECTOR_TEST_POWER_LOSS=1), SIGSTOP/SIGCONT, clock skew (libfaketime preloaded,
reading its offset from a file the fault rewrites; the monotonic clock is left alone, as a real wall-clock
step would), a full disk (each node's data directory on a small tmpfs that the fault fills), and slow or
lossy links (linkproxy.py: nodes advertise a proxy's port to their peers, which delays or cuts chosen links).

Python 3 standard library only. Needs root (setuid, iptables, mount); `available()` says what is missing.
Not thread-safe: one thread (the fault runner) changes the cluster; the workload only reads `urls`.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import cluster_harness as ch  # noqa: E402  (Etcd)
import vjharness as vh  # noqa: E402  (Client, free_port)

ETCD = ch.ETCD
IPTABLES = shutil.which("iptables") or "/usr/sbin/iptables"
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
FIRST_UID = 62000  # nodes run as FIRST_UID + index; no passwd entry is needed for setuid


def available(need_faketime=False, need_mount=False):
    """None when this machine can run the fault test, else why not."""
    if os.geteuid() != 0:
        return "the fault test needs root (setuid per node, iptables, mount)"
    if not os.access(ETCD, os.X_OK):
        return "etcd is not installed (scripts/install-deps.sh installs etcd-server)"
    if not os.access(IPTABLES, os.X_OK):
        return "iptables is not installed (scripts/install-deps.sh installs it for tests)"
    if need_faketime and not os.path.exists(FAKETIME_LIB):
        return "libfaketime is not installed (Debian package faketime)"
    return None


def _run(argv, check=True):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {r.returncode}: {r.stdout.strip()}")
    return r


class Firewall:
    """Drops TCP packets from a uid to a loopback port. The rules are a set of (uid, port) pairs; every
    change rewrites this run's chain, which OUTPUT jumps to for traffic on lo."""

    def __init__(self):
        self.chain = f"VJFAULT{os.getpid()}"
        self.blocked = set()
        _run([IPTABLES, "-N", self.chain])
        _run([IPTABLES, "-I", "OUTPUT", "-o", "lo", "-p", "tcp", "-j", self.chain])

    def set(self, blocked):
        blocked = set(blocked)
        if blocked == self.blocked:
            return
        _run([IPTABLES, "-F", self.chain])
        for uid, port in sorted(blocked):
            _run([IPTABLES, "-A", self.chain, "-p", "tcp", "-m", "owner", "--uid-owner", str(uid),
                  "--dport", str(port), "-j", "DROP"])
        self.blocked = blocked

    def close(self):
        _run([IPTABLES, "-D", "OUTPUT", "-o", "lo", "-p", "tcp", "-j", self.chain], check=False)
        _run([IPTABLES, "-F", self.chain], check=False)
        _run([IPTABLES, "-X", self.chain], check=False)


class Links:
    """The link proxy process (linkproxy.py) in front of every node, and its settings file."""

    def __init__(self, workdir, nodes):
        self.path = os.path.join(workdir, "links.json")
        self.proxy_port = {n.name: vh.free_port() for n in nodes}
        self.current = {}
        self._write({})
        uid_map = ",".join(f"{n.uid}={n.name}" for n in nodes)
        specs = [f"{self.proxy_port[n.name]}:{n.p2p_port}:{n.name}" for n in nodes]
        self.log = open(os.path.join(workdir, "linkproxy.log"), "wb")
        self.proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                   "linkproxy.py"), self.path, uid_map] + specs,
                                     stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        if self.proc.stdout.readline().strip() != b"ready":
            raise RuntimeError("linkproxy did not start; see linkproxy.log")

    def _write(self, links):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"links": links}, f)
        os.replace(tmp, self.path)
        self.current = links

    def set(self, links):
        """links: {"a>b": {"delay_ms": [lo, hi], "reset": p}}; {} makes every link plain again."""
        if links != self.current:
            self._write(links)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Etcd(ch.Etcd):
    """The e2e tests' etcd (a single member in the work directory), which faults also pause and kill."""

    @property
    def port(self):
        return self.client_port

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)


class Node:
    """One vjvector process under its own uid, with a fixed port across restarts."""

    def __init__(self, cluster, index):
        self.cluster = cluster
        self.name = f"n{index + 1}"
        self.uid = FIRST_UID + index
        self.port = vh.free_port()
        self.p2p_port = vh.free_port()  # the peer port (node-to-node requests)
        self.data_dir = os.path.join(cluster.workdir, self.name)
        self.log_dir = os.path.join(cluster.workdir, "log-" + self.name)
        self.skew_file = os.path.join(cluster.workdir, f"skew-{self.name}")
        self.filler = os.path.join(self.data_dir, "filler.bin")
        self.proc = None
        self.starts = 0
        self.killed = False   # by a fault: not restarted until the fault heals
        self.crashes = 0      # deaths the test did not cause (crash points, bugs)
        self.mounted = False
        os.makedirs(self.data_dir, exist_ok=True)
        os.makedirs(self.log_dir, exist_ok=True)
        if cluster.disk_mb:
            _run(["mount", "-t", "tmpfs", "-o", f"size={cluster.disk_mb}m,mode=0700", "tmpfs", self.data_dir])
            self.mounted = True
        os.chown(self.data_dir, self.uid, self.uid)
        with open(self.skew_file, "w") as f:
            f.write("+0\n")

    @property
    def client(self):
        return vh.Client("127.0.0.1", self.port, timeout=10)

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("VJVECTOR_")}
        env.update(self.cluster.node_env)
        if self.cluster.faketime:
            env.update({"LD_PRELOAD": FAKETIME_LIB, "FAKETIME_TIMESTAMP_FILE": self.skew_file,
                        "DONT_FAKE_MONOTONIC": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                        "FAKETIME_CACHE_DURATION": "1"})
        return env

    def start(self):
        self.starts += 1
        self.killed = False
        argv = [self.cluster.binary, "serve", "--data-dir", self.data_dir, "--host", "127.0.0.1",
                "--http-port", str(self.port), "--p2p-port", str(self.p2p_port), "--grpc-port", "0", "--etcd", self.cluster.etcd.url, "--node-id", self.name,
                "--lease-ttl", str(self.cluster.lease_ttl)]
        if self.cluster.links:
            argv += ["--advertise-url", f"http://127.0.0.1:{self.cluster.links.proxy_port[self.name]}"]
        uid = self.uid
        out = open(os.path.join(self.log_dir, f"node-{self.starts}.log"), "wb")

        def as_node():
            os.setgid(uid)
            os.setuid(uid)

        try:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL, env=self.env(),
                                         preexec_fn=as_node, start_new_session=True)
        finally:
            out.close()

    def wait_listening(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_dir}")
            try:
                if vh.Client("127.0.0.1", self.port, timeout=2).call("GET", "/livez").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /livez within {timeout} s")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        self.killed = True
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def set_skew(self, seconds):
        with open(self.skew_file, "w") as f:
            f.write(f"{seconds:+d}\n")

    def fill_disk(self):
        """Fills the node's tmpfs to the last byte (as root, so no reserve is left)."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (1 << 20, 4096, 1):
                chunk = b"\0" * size
                try:
                    while True:
                        os.write(fd, chunk)
                except OSError:  # ENOSPC: on to smaller writes, then done
                    pass
        finally:
            os.close(fd)

    def free_disk(self):
        try:
            os.unlink(self.filler)
        except FileNotFoundError:
            pass

    def close(self):
        self.signal(signal.SIGCONT)
        self.kill()
        if self.mounted:
            _run(["umount", "-l", self.data_dir], check=False)
            self.mounted = False


class Cluster:
    """etcd plus nodes, and the faults as methods. `blocked` partitions are kept as a set of (node, target)
    cuts, target being a node name or "etcd"; `heal()` undoes every fault."""

    def __init__(self, workdir, binary, nodes=3, lease_ttl=5, power_loss=False, faketime=False, disk_mb=0,
                 node_env=None, links=False):
        self.workdir = workdir
        self.binary = binary
        self.lease_ttl = lease_ttl
        self.faketime = faketime
        self.disk_mb = disk_mb
        self.node_env = dict(node_env or {})
        if power_loss:
            self.node_env["VJVECTOR_TEST_POWER_LOSS"] = "1"
        os.makedirs(workdir, exist_ok=True)
        os.chmod(workdir, 0o755)  # nodes run under other uids and must reach their directories
        self.firewall = None
        self.links = None
        self.etcd = Etcd(workdir)
        self.nodes = {}
        self.cuts = set()
        self.stopped = set()   # names (or "etcd") under SIGSTOP
        self.full = set()      # nodes whose disk is full
        self.skewed = set()
        try:
            self.firewall = Firewall()
            self.etcd.start()
            for i in range(nodes):
                n = Node(self, i)
                self.nodes[n.name] = n
            if links:
                self.links = Links(workdir, list(self.nodes.values()))
            for n in self.nodes.values():
                n.start()
            for n in self.nodes.values():
                n.wait_listening()
        except BaseException:
            self.close()
            raise

    @property
    def names(self):
        return sorted(self.nodes)

    def urls(self):
        return {name: ("127.0.0.1", n.port) for name, n in self.nodes.items()}

    def node_of_port(self, port):
        for n in self.nodes.values():
            if port in (n.port, n.p2p_port):
                return n.name
        return None

    # Partitions.
    def _apply_cuts(self):
        blocked = set()
        for a, b in self.cuts:
            na = self.nodes[a]
            if b == "etcd":
                blocked.add((na.uid, self.etcd.port))
            else:
                nb = self.nodes[b]
                blocked.add((na.uid, nb.port))
                blocked.add((nb.uid, na.port))
                blocked.add((na.uid, nb.p2p_port))
                blocked.add((nb.uid, na.p2p_port))
                if self.links:  # peers reach each other through the link proxies
                    blocked.add((na.uid, self.links.proxy_port[b]))
                    blocked.add((nb.uid, self.links.proxy_port[a]))
        self.firewall.set(blocked)

    def cut(self, a, b):
        self.cuts.add((a, b) if b == "etcd" else tuple(sorted((a, b))))
        self._apply_cuts()

    def isolate(self, name, from_etcd=True):
        for other in self.names:
            if other != name:
                self.cuts.add(tuple(sorted((name, other))))
        if from_etcd:
            self.cuts.add((name, "etcd"))
        self._apply_cuts()

    def split(self, minority):
        """Cuts `minority` off from the other nodes and from etcd (the majority side keeps etcd)."""
        for a in minority:
            for b in self.names:
                if b not in minority:
                    self.cuts.add(tuple(sorted((a, b))))
            self.cuts.add((a, "etcd"))
        self._apply_cuts()

    def heal_network(self):
        self.cuts.clear()
        self._apply_cuts()

    # Slow and lossy links (needs links=True).
    def degrade(self, name, delay_ms=(0, 0), reset=0.0):
        """Delays (and cuts with probability `reset` per chunk) every link to and from node `name`."""
        cfg = {"delay_ms": list(delay_ms), "reset": reset}
        links = dict(self.links.current)
        for other in self.names:
            if other != name:
                links[f"{other}>{name}"] = cfg
                links[f"{name}>{other}"] = cfg
        self.links.set(links)

    # Processes.
    def kill(self, name):
        self.nodes[name].kill()

    def restart(self, name):
        n = self.nodes[name]
        n.kill()
        n.start()

    def pause(self, name):
        (self.etcd if name == "etcd" else self.nodes[name]).signal(signal.SIGSTOP)
        self.stopped.add(name)

    def resume(self, name):
        (self.etcd if name == "etcd" else self.nodes[name]).signal(signal.SIGCONT)
        self.stopped.discard(name)

    def kill_etcd(self):
        self.etcd.kill()

    def restart_etcd(self):
        if not self.etcd.alive():
            self.etcd.start()

    # Clocks and disks.
    def skew(self, name, seconds):
        self.nodes[name].set_skew(seconds)
        if seconds:
            self.skewed.add(name)
        else:
            self.skewed.discard(name)

    def fill_disk(self, name):
        self.nodes[name].fill_disk()
        self.full.add(name)

    def free_disk(self, name):
        self.nodes[name].free_disk()
        self.full.discard(name)

    def supervise(self):
        """Restarts nodes that died by themselves (a crash point, a bug), as a service manager would;
        returns their names. Nodes killed by a fault stay down until it heals."""
        restarted = []
        for n in self.nodes.values():
            if n.proc is not None and not n.alive() and not n.killed:
                n.crashes += 1
                n.start()
                restarted.append(n.name)
        return restarted

    def heal(self):
        """Undoes every fault: network, pauses, clocks, disks, dead processes (etcd first)."""
        self.heal_network()
        if self.links:
            self.links.set({})
        for name in list(self.stopped):
            self.resume(name)
        for name in list(self.skewed):
            self.skew(name, 0)
        for name in list(self.full):
            self.free_disk(name)
        self.restart_etcd()
        for n in self.nodes.values():
            if not n.alive():
                n.start()

    def close(self):
        for n in self.nodes.values():
            n.close()
        self.etcd.signal(signal.SIGCONT)
        self.etcd.close()
        if self.links:
            self.links.close()
        if self.firewall:
            self.firewall.close()

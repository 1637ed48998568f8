#!/usr/bin/env python3
"""Slow and lossy links for the fault test: one process with a TCP proxy in front of each node.

Nodes advertise their proxy's port (--advertise-url), so every request a node sends to a peer (forwarded
writes, replication, reads) passes through the peer's proxy; clients of the test still talk to nodes directly.
The proxy tells which node a connection comes from by the uid that owns its source socket (/proc/net/tcp; each
node runs under its own uid), so a fault can slow one link, not only one node.

Settings are a JSON file, re-read when it changes (checked every 100 ms):
  {"links": {"n1>n2": {"delay_ms": [50, 200], "reset": 0.01}, ...}}
"a>b" is traffic from node a to node b's proxy (both directions of that connection are delayed). `delay_ms`
holds each chunk for a random time in that range, in order; `reset` is the chance per chunk that the
connection is cut (closed without a reply), as a lossy network ends in retransmission timeouts or resets.

  linkproxy.py SETTINGS_FILE UID_MAP LISTEN_PORT:TARGET_PORT:NODE [...]
UID_MAP is "uid=node,uid=node,...". Runs until killed. Standard library only (asyncio).
"""

import asyncio
import json
import os
import random
import subprocess
import re
import sys

POLL_S = 0.1
CHUNK = 65536


class Settings:
    def __init__(self, path):
        self.path = path
        self.mtime = None
        self.links = {}

    async def watch(self):
        while True:
            try:
                m = os.stat(self.path).st_mtime_ns
                if m != self.mtime:
                    with open(self.path) as f:
                        self.links = json.load(f).get("links", {})
                    self.mtime = m
            except (OSError, ValueError):
                pass
            await asyncio.sleep(POLL_S)


def uid_of_local_port(port):
    """The uid owning the TCP socket bound to 127.0.0.1:port (the peer's end of an accepted connection),
    asked of the kernel through sock_diag (`ss -e`). Not /proc/net/tcp: that file is rebuilt from the
    start for every 4 KiB read, so with the tens of thousands of TIME_WAIT entries a fault run's clients
    leave, reading it once per accept cost quadratic time and stalled the proxy (and every link)."""
    try:
        out = subprocess.run(["ss", "-Htne", "state", "established", "src", f"127.0.0.1:{port}"],
                             capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"\buid:(\d+)", out)
    if m:
        return int(m.group(1))
    return 0 if out.strip() else None  # ss leaves out uid 0


class Link:
    """The name "<source node>><target node>" of an accepted connection, looked up the first time a link
    setting could apply to it (only while some link has settings: most connections never need it)."""

    def __init__(self, peer, node, uids):
        self.peer, self.node, self.uids, self._name = peer, node, uids, False

    def name(self):
        if self._name is False:
            src = self.uids.get(uid_of_local_port(self.peer[1])) if self.peer else None
            self._name = f"{src}>{self.node}" if src else None
        return self._name


_seen = set()


def _note(link, cfg):
    """Logs (to stderr, the proxy's log) the first time a link's settings take effect."""
    key = (link, json.dumps(cfg, sort_keys=True))
    if key not in _seen:
        _seen.add(key)
        print(f"{link}: {key[1]}", file=sys.stderr, flush=True)


async def pump(reader, writer, link, settings, rng):
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            cfg = settings.links.get(link.name()) if settings.links else None
            if cfg:
                _note(link.name(), cfg)
                if rng.random() < cfg.get("reset", 0.0):
                    break
                lo, hi = cfg.get("delay_ms", (0, 0))
                if hi > 0:
                    await asyncio.sleep(rng.uniform(lo, hi) / 1000.0)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def serve(listen, target, node, uids, settings, rng):
    async def handle(reader, writer):
        link = Link(writer.get_extra_info("peername"), node, uids)
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pump(reader, up_w, link, settings, rng), pump(up_r, writer, link, settings, rng))

    server = await asyncio.start_server(handle, "127.0.0.1", listen, reuse_address=True)
    async with server:
        await server.serve_forever()


async def main():
    settings = Settings(sys.argv[1])
    uids = {int(u): n for u, n in (kv.split("=") for kv in sys.argv[2].split(","))}
    rng = random.Random(os.getpid())
    tasks = [asyncio.create_task(settings.watch())]
    for spec in sys.argv[3:]:
        listen, target, node = spec.split(":")
        tasks.append(asyncio.create_task(serve(int(listen), int(target), node, uids, settings, rng)))
    print("ready", flush=True)
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    asyncio.run(main())

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
    """The uid owning the TCP socket bound to 127.0.0.1:port (the peer's end of an accepted connection).
    A substring search of the whole table: with thousands of TIME_WAIT entries, splitting every line on
    every accept made the proxy itself the bottleneck of a 5-node run."""
    with open("/proc/net/tcp", "rb") as f:
        table = f.read()
    # local_address column: IPv4 in little-endian hex, then the port; rem_address follows after a space.
    at = table.find(b": 0100007F:%04X " % port)
    if at < 0:
        return None
    # From the ":" ending the row number: ":", local, remote, state, queues, timer, retransmits, uid.
    fields = table[at:table.find(b"\n", at)].split()
    return int(fields[7])


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
            cfg = settings.links.get(link) if link else None
            if cfg:
                _note(link, cfg)
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
        peer = writer.get_extra_info("peername")
        src = uids.get(uid_of_local_port(peer[1])) if peer else None
        link = f"{src}>{node}" if src else None
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

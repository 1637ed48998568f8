"""Which shard holds a point: the same hash ring as src/collection/hash_ring.cc (XXH64 of the point id's key,
64 virtual nodes per shard), so the fault test can tell per shard how long writes stalled. Pure Python: the
test runs on the interpreter on PATH, which has no xxhash module."""

import bisect
import struct

_P1 = 0x9E3779B185EBCA87
_P2 = 0xC2B2AE3D27D4EB4F
_P3 = 0x165667B19E3779F9
_P4 = 0x85EBCA77C2B2AE63
_P5 = 0x27D4EB2F165667C5
_M = (1 << 64) - 1
_SEED = 0x766A766563746F72  # "vjvector", kSeed in hash_ring.cc
_VIRTUAL_NODES = 64         # HashRing::kDefaultVirtualNodes


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & _M


def _round(acc, lane):
    acc = (acc + lane * _P2) & _M
    return (_rotl(acc, 31) * _P1) & _M


def _merge(acc, val):
    acc ^= _round(0, val)
    return (acc * _P1 + _P4) & _M


def xxh64(data, seed=0):
    n = len(data)
    i = 0
    if n >= 32:
        v1 = (seed + _P1 + _P2) & _M
        v2 = (seed + _P2) & _M
        v3 = seed
        v4 = (seed - _P1) & _M
        while i + 32 <= n:
            a, b, c, d = struct.unpack_from("<4Q", data, i)
            v1, v2, v3, v4 = _round(v1, a), _round(v2, b), _round(v3, c), _round(v4, d)
            i += 32
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M
        for v in (v1, v2, v3, v4):
            h = _merge(h, v)
    else:
        h = (seed + _P5) & _M
    h = (h + n) & _M
    while i + 8 <= n:
        (k,) = struct.unpack_from("<Q", data, i)
        h ^= _round(0, k)
        h = (_rotl(h, 27) * _P1 + _P4) & _M
        i += 8
    if i + 4 <= n:
        (k,) = struct.unpack_from("<I", data, i)
        h ^= (k * _P1) & _M
        h = (_rotl(h, 23) * _P2 + _P3) & _M
        i += 4
    while i < n:
        h ^= (data[i] * _P5) & _M
        h = (_rotl(h, 11) * _P1) & _M
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _M
    h ^= h >> 29
    h = (h * _P3) & _M
    h ^= h >> 32
    return h


class HashRing:
    def __init__(self, shards):
        self.shards = shards
        tokens = []
        for s in range(shards):
            for v in range(_VIRTUAL_NODES):
                tokens.append((xxh64(f"{s}/{v}".encode(), _SEED), s))
        tokens.sort()
        self.hashes = [t[0] for t in tokens]
        self.owners = [t[1] for t in tokens]

    def shard_of(self, point_id):
        """point_id: a non-negative integer (numeric ids only)."""
        if self.shards == 1:
            return 0
        h = xxh64(b"n" + struct.pack(">Q", point_id), _SEED)
        i = bisect.bisect_left(self.hashes, h)
        return self.owners[i % len(self.owners)]


if __name__ == "__main__":
    # Reference values of the XXH64 specification.
    assert xxh64(b"") == 0xEF46DB3751D8E999
    assert xxh64(b"a") == 0xD24EC4F1A98C6E5B
    assert xxh64(b"abc") == 0x44BC2CF5AD770999
    print("ok")

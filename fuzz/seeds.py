#!/usr/bin/env python3
# uadk-rs: write the seed corpus of every fuzz target into fuzz/corpus/<target>/ (or the
# folder given): valid streams of each format and level, and the hostile shapes the
# project has met (codes 286/287, header CRCs, 64 KiB FEXTRA, preset dictionaries,
# truncations, trailing bytes). Generated, never committed. Usage: seeds.py [OUT]
import hashlib
import os
import struct
import sys
import zlib

out_root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")

DEFLATE, ZLIB, GZIP, LZ4 = 0, 1, 2, 3
WBITS = {DEFLATE: -15, ZLIB: 15, GZIP: 31}


def put(target, blob):
    d = os.path.join(out_root, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(blob).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


def texts():
    words = b"the quick brown fox jumps over the lazy dog; errors are values "
    yield b""
    yield b"a"
    yield b"hello, hello, hello world\n" * 20
    yield bytes(range(256)) * 4
    yield bytes(1000)
    yield bytes((i * 7919 >> 3) & 0xFF for i in range(3000))
    yield b"".join(words[(i * 13) % 40:(i * 13) % 40 + 9] for i in range(400))


def pack(alg, data, level=6, strategy=zlib.Z_DEFAULT_STRATEGY, wbits=None, zdict=None):
    w = WBITS[alg] if wbits is None else wbits
    if zdict is None:
        c = zlib.compressobj(level, zlib.DEFLATED, w, 8, strategy)
    else:
        c = zlib.compressobj(level, zlib.DEFLATED, w, 8, strategy, zdict)
    return c.compress(data) + c.flush()


def gzip_member(body_raw, data, flags=0, extra=b"", name=b"", comment=b"", hcrc=None):
    h = bytearray(b"\x1f\x8b\x08" + bytes([flags]) + b"\x00\x00\x00\x00\x00\x03")
    if flags & 4:
        h += struct.pack("<H", len(extra)) + extra
    if flags & 8:
        h += name + b"\x00"
    if flags & 16:
        h += comment + b"\x00"
    if flags & 2:
        crc = zlib.crc32(bytes(h)) & 0xFFFF if hcrc is None else hcrc
        h += struct.pack("<H", crc)
    return bytes(h) + body_raw + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def streams():
    """(alg, stream) pairs: valid ones and hostile ones."""
    for data in texts():
        for alg in (DEFLATE, ZLIB, GZIP):
            for level in (0, 1, 6, 9):
                yield alg, pack(alg, data, level)
            for strat in (zlib.Z_FIXED, zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE):
                yield alg, pack(alg, data, 6, strat)
        yield ZLIB, pack(ZLIB, data, 6, wbits=9)
        yield ZLIB, pack(ZLIB, data, 6, wbits=12)
    data = b"hello, hello, hello world\n" * 20
    raw = pack(DEFLATE, data)
    # Fixed-Huffman codes 286/287, which RFC 1951 forbids (issue 11).
    bad = bytes.fromhex("5318 07ff 1000 0000 07".replace(" ", ""))
    yield DEFLATE, bad
    yield ZLIB, b"\x78\x9c" + bad + b"\x00\x00\x00\x00"
    yield GZIP, gzip_member(bad, b"")
    # gzip headers: every optional field, a right and a wrong header CRC, a 64 KiB FEXTRA.
    yield GZIP, gzip_member(raw, data, 0x1E, b"ab\x02\x00xy", b"name", b"comment")
    yield GZIP, gzip_member(raw, data, 0x02)
    yield GZIP, gzip_member(raw, data, 0x02, hcrc=0x1234)
    yield GZIP, gzip_member(raw, data, 0x1E, b"e" * 100, b"n", b"c", hcrc=0)
    yield GZIP, gzip_member(raw, data, 0x04, b"x" * 65535)
    yield GZIP, gzip_member(raw, data, 0x0C, b"x" * 65535, b"n" * 20000)
    yield GZIP, gzip_member(raw, data, 0x20)  # a reserved flag
    yield GZIP, gzip_member(raw, data) + gzip_member(raw, data)  # two members
    # zlib: a preset dictionary; bad check bits; window bits above 15.
    yield ZLIB, pack(ZLIB, data, 6, zdict=b"hello world")
    z = pack(ZLIB, data)
    yield ZLIB, bytes([z[0], z[1] ^ 1]) + z[2:]
    yield ZLIB, bytes([0x88, 0x1C]) + z[2:]
    # Damage: truncations, flipped bytes, trailing bytes, a stored block's length.
    for alg in (DEFLATE, ZLIB, GZIP):
        s = pack(alg, data)
        yield alg, s[: len(s) // 2]
        yield alg, s[:-1]
        yield alg, s + b"trailing"
        yield alg, bytes(b ^ (0x5A if i == len(s) // 3 else 0) for i, b in enumerate(s))
        yield alg, s[:-4] + bytes(4)
    st = pack(DEFLATE, bytes(100), 0)
    yield DEFLATE, st[:3] + bytes([st[3] ^ 0xFF]) + st[4:]
    # Dynamic blocks with 287 litlen / 31 distance codes declared (HLIT 30, HDIST 30).
    yield DEFLATE, bytes([0xFD, 0xFF]) + bytes(40)


def lz4_blocks():
    """LZ4 blocks: literal runs and matches, written by hand (the format is a sequence of
    token, literals, offset, match length), plus the reference library's when present."""
    def seq(lit, off=None, mlen=0):
        ln = len(lit)
        tok = (min(ln, 15) << 4) | (min(max(mlen - 4, 0), 15) if off else 0)
        b = bytearray([tok])
        if ln >= 15:
            r = ln - 15
            while r >= 255:
                b.append(255)
                r -= 255
            b.append(r)
        b += lit
        if off:
            b += struct.pack("<H", off)
            if mlen - 4 >= 15:
                r = mlen - 4 - 15
                while r >= 255:
                    b.append(255)
                    r -= 255
                b.append(r)
        return bytes(b)

    yield seq(b"hello")
    yield seq(b"abcdefgh", 8, 40) + seq(b"tail!")
    yield seq(b"x" * 300)
    yield seq(b"ab", 2, 1000) + seq(b"end")
    yield seq(b"ab", 9, 10)  # offset before the start
    yield seq(b"abcd", 4, 20)[:-1]  # cut short
    try:
        import lz4.block
        for data in texts():
            if data:
                yield lz4.block.compress(data, store_size=False)
    except ImportError:
        pass


def shape(n, a=7, b=3):
    return bytes([n]) + bytes((a * (i + 1)) & 0xFF for i in range(n)) + bytes(
        (b * (i + 2)) & 0xFF for i in range(n))


all_streams = list(streams())
for alg, s in all_streams:
    name = {DEFLATE: "block_deflate", ZLIB: "block_zlib", GZIP: "block_gzip"}[alg]
    if len(s) <= 256 << 10:
        put(name, s)
    if len(s) <= 16 << 10:
        put("stream", bytes([alg]) + shape(3))
        put("stream", bytes([alg]) + shape(3) + s)
        put("stream", bytes([alg, 0]) + s)
        put("differential", bytes([alg]) + shape(2) + s)
        put("differential", bytes([alg, 0]) + s)
        put("capi", bytes([0, alg, 0xFF, 0xFF]) + s)  # wd_do_comp_sync, 64 KiB room
        put("capi", bytes([1, alg, 0x00, 0x01]) + s)  # wd_do_comp_sync2, 257 bytes
        put("capi", bytes([2, alg, 2, 7, 14]) + s)  # SGL
        put("capi", bytes([3, alg]) + shape(3) + s)  # wd_do_comp_strm
        put("capi", bytes([6, {DEFLATE: 0, ZLIB: 1, GZIP: 2}[alg]]) + shape(2) + s)
        if alg == GZIP:
            put("headers", bytes([1, 0]) + s[:64])
            put("headers", bytes([1, 2, 5, 9]) + s[:64])
        if alg == ZLIB:
            put("headers", bytes([0, 0]) + s[:8])
for b in lz4_blocks():
    put("block_lz4", b)
    put("capi", bytes([0, 3, 0xFF, 0xFF]) + b)
for i, data in enumerate(texts()):
    for alg in range(4):
        put("roundtrip", bytes([alg, 1 + i, i % 5, i % 6, i & 1]) + shape(2) + data)
        put("capi", bytes([4, alg, 1 + i, i % 5]) + shape(2) + data)
        put("capi", bytes([5, alg, 6, 4]) + shape(3) + data)
        if alg < 3:
            put("capi", bytes([7, alg, i % 11]) + shape(2) + data)
put("capi", bytes([8]) + struct.pack("<Q", 0x7F1234567890))
put("capi", bytes([8]) + struct.pack("<Q", 4096))
put("capi", bytes([6, 0, 2, 0x81, 0x8B, 50, 50]) + pack(DEFLATE, b"x" * 100))  # bad flush values
print(f"seeds: {sum(len(f) for _, _, f in os.walk(out_root))} files under {out_root}")

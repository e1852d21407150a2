#!/usr/bin/env python3
"""Hostile host for the probe engine's robustness test. Runs only inside a
lab namespace (tests/e2e/probe_hostile.sh starts it there).

usage: hostile.py ADDR BASEPORT [STATS_FILE]

Each behaviour listens on BASEPORT + offset:
  +0  endless banner: printable bytes forever, no line end
  +1  trickle: "SSH-2.0-trickle\\r\\n", one byte per second
  +2  accepts and never answers
  +3  resets at once (SO_LINGER 0)
  +4  NUL bytes, 256 KiB, then silence
  +5  ANSI escapes in a banner (clear screen, set title, colours), C1
      controls raw and in UTF-8, bidi override and isolate, U+2028
  +6  "<script>" in a banner and in an HTTP title
  +7  invalid UTF-8 in a banner
  +8  TLS: a well-formed ServerHello, then a Certificate whose bytes are garbage
  +9  HTTP answer with escapes, C1, bidi and NULs in Server and <title>
  +10 fake Redis: +PONG, then an endless INFO bulk (the byte cap must stop it)
  +11 endless lines of "220-" (a multi-line greeting that never ends)
At exit (SIGTERM) it writes JSON to STATS_FILE (or stdout): bytes sent and
the highest number of simultaneous connections, per behaviour.
"""
import asyncio
import json
import os
import signal
import socket
import struct
import sys

SENT = {}
OPEN = {}
PEAK = {}


def count(name, n):
    SENT[name] = SENT.get(name, 0) + n


async def write(w, name, data):
    w.write(data)
    count(name, len(data))
    await w.drain()


async def endless(r, w):
    chunk = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" * 100
    while True:
        await write(w, "endless", chunk)


async def trickle(r, w):
    for b in b"SSH-2.0-trickle\r\n":
        await write(w, "trickle", bytes([b]))
        await asyncio.sleep(1)
    await asyncio.sleep(3600)


async def silent(r, w):
    # read and never answer, until the client goes away
    while await r.read(4096):
        pass


async def nul(r, w):
    for _ in range(64):
        await write(w, "nul", b"\0" * 4096)
    await asyncio.sleep(3600)


async def escapes(r, w):
    # raw C1 (0x9b), C1 in UTF-8 (U+009B CSI, U+009D OSC), a right-to-left
    # override and an isolate (U+202E, U+2066) and a line separator (U+2028)
    await write(w, "escapes", b"\x1b[2J\x1b]0;owned\x07\x1b[31mRED\x1b[0m \x9b1;31m "
                b"\xc2\x9b31m\xc2\x9d0;t\xe2\x80\xaedeer\xe2\x81\xa6x\xe2\x80\xa8 ready\r\n")
    await asyncio.sleep(3600)


async def script(r, w):
    await write(w, "script", b"<script>alert(1)</script> \"quoted\" 'single' & <b>\r\n")
    await asyncio.sleep(3600)


async def utf8(r, w):
    await write(w, "utf8", b"\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\xff\xfe\xed\xa0\x80 bad\r\n")
    await asyncio.sleep(3600)


def tls_record(ctype, body):
    return struct.pack("!BHH", ctype, 0x0303, len(body)) + body


def handshake(htype, body):
    return struct.pack("!B", htype) + struct.pack("!I", len(body))[1:] + body


async def garbage_tls(r, w):
    try:
        await asyncio.wait_for(r.read(4096), 5)  # the ClientHello
    except asyncio.TimeoutError:
        return
    hello = (struct.pack("!H", 0x0303) + os.urandom(32) + b"\x00" +
             struct.pack("!H", 0xc02f) + b"\x00")
    cert = b"\x30\x82\x01\x00" + b"\xde\xad\xbe\xef" * 64  # DER header, junk inside
    certs = struct.pack("!I", len(cert))[1:] + cert
    certmsg = struct.pack("!I", len(certs))[1:] + certs
    data = (handshake(2, hello) + handshake(11, certmsg) + handshake(14, b""))
    await write(w, "garbage_tls", tls_record(22, data))
    await asyncio.sleep(3600)


async def hostile_http(r, w):
    try:
        await asyncio.wait_for(r.read(4096), 5)
    except asyncio.TimeoutError:
        return
    body = (b"<html><title>\x1b]0;pwn\x07<script>alert(1)</script>\xff\xfe \x00 "
            b"\xc2\x85\xe2\x81\xa7\xe2\x80\xab"
            b"Admin</title></html>")
    head = (b"HTTP/1.1 200 OK\r\nServer: evil\x1b[31m\xc2\x9b\xe2\x80\xae\xe2\x80\xa9/6.6\x00\r\n"
            b"Content-Length: " +
            str(len(body)).encode() + b"\r\n\r\n")
    await write(w, "hostile_http", head + body)
    w.close()


async def fake_redis(r, w):
    try:
        await asyncio.wait_for(r.read(4096), 5)
    except asyncio.TimeoutError:
        return
    await write(w, "fake_redis", b"+PONG\r\n$999999999\r\n")
    while True:
        await write(w, "fake_redis", b"redis_padding:" + b"x" * 1000 + b"\r\n")


async def endless_greeting(r, w):
    while True:
        await write(w, "endless_greeting", b"220-still greeting you\r\n" * 50)


BEHAVIOURS = [endless, trickle, silent, None, nul, escapes, script, utf8, garbage_tls,
              hostile_http, fake_redis, endless_greeting]


def wrap(fn):
    async def handler(r, w):
        name = fn.__name__
        OPEN[name] = OPEN.get(name, 0) + 1
        PEAK[name] = max(PEAK.get(name, 0), OPEN[name])
        try:
            await fn(r, w)
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            OPEN[name] -= 1
            try:
                w.close()
            except Exception:
                pass
    return handler


async def reset_server(sock):
    loop = asyncio.get_running_loop()
    while True:
        c, _ = await loop.sock_accept(sock)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        count("reset", 0)


async def main():
    addr, base = sys.argv[1], int(sys.argv[2])
    servers = []
    for i, fn in enumerate(BEHAVIOURS):
        if fn is None:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, base + i))
            s.listen(1024)
            s.setblocking(False)
            servers.append(asyncio.ensure_future(reset_server(s)))
            continue
        srv = await asyncio.start_server(wrap(fn), addr, base + i, backlog=1024)
        servers.append(srv)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    stats = json.dumps({"sent": SENT, "peak": PEAK})
    if len(sys.argv) > 3:
        with open(sys.argv[3], "w") as f:
            f.write(stats)
    else:
        print(stats, flush=True)
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())

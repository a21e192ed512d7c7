#!/usr/bin/env python3
"""Attack: rounds of 300 concurrent wrong-password sign-ins on ADMIN_USER.

Run by bench/hostile.sh in the background while it measures the server's RSS and a normal
(already signed-in) client's latency. Each round opens 300 connections at once, from source
addresses spread over 127.0.0.0/8 when the server is on the loopback, and waits for every
answer; rounds repeat for DURATION seconds. The server should answer a few 401s (the name
locks after SignInMaxFailures) and then 429 with Retry-After, without delaying signed-in
clients. Prints the answers by status.

Environment: HTTPS_URL (+ CACERT; preferred, as plain http may only redirect) or
HTTP_URL, ADMIN_USER, DURATION (seconds, default 20).
Python 3 standard library only.
"""

import asyncio
import base64
import collections
import ipaddress
import os
import random
import ssl
import sys
import time
import urllib.parse

CONCURRENT = 300


def target():
    url = os.environ.get("HTTPS_URL") or os.environ.get("HTTP_URL")
    if not url:
        sys.exit("wrong-passwords: set HTTP_URL or HTTPS_URL")
    u = urllib.parse.urlsplit(url)
    path = u.path if u.path not in ("", "/") else "/ReportServer"
    tls = None
    if u.scheme == "https":
        tls = ssl.create_default_context(cafile=os.environ.get("CACERT"))
    port = u.port or (443 if u.scheme == "https" else 80)
    return u.hostname, port, u.netloc, path, tls


def connect_host(host):
    """localhost as IPv4, so that the source can be any 127.x.y.z address."""
    return "127.0.0.1" if host == "localhost" else host


def source_for(host):
    try:
        if ipaddress.ip_address(host).is_loopback and ":" not in host:
            n = random.randrange(2, 1 << 24)
            return (str(ipaddress.IPv4Address((127 << 24) | n)), 0)
    except ValueError:
        pass
    return None


async def attempt(host, port, netloc, path, tls, admin, counts):
    cred = f"{admin}:guess-{random.getrandbits(64):x}"
    auth = base64.b64encode(cred.encode()).decode()
    head = (
        f"GET {path} HTTP/1.1\r\nHost: {netloc}\r\nAuthorization: Basic {auth}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    try:
        r, w = await asyncio.wait_for(
            asyncio.open_connection(
                connect_host(host), port, ssl=tls,
                local_addr=source_for(connect_host(host)),
                server_hostname=host if tls else None,
            ),
            timeout=10,
        )
        w.write(head)
        await w.drain()
        line = await asyncio.wait_for(r.readline(), timeout=30)
        parts = line.decode("latin-1").split()
        counts[parts[1] if len(parts) > 1 else "no answer"] += 1
        w.transport.abort()
    except (OSError, asyncio.TimeoutError, ssl.SSLError):
        counts["failed"] += 1


async def main():
    host, port, netloc, path, tls = target()
    admin = os.environ.get("ADMIN_USER", "admin")
    duration = float(os.environ.get("DURATION", "20"))
    counts = collections.Counter()
    started = time.monotonic()
    rounds = 0
    while time.monotonic() - started < duration:
        await asyncio.gather(
            *(attempt(host, port, netloc, path, tls, admin, counts) for _ in range(CONCURRENT))
        )
        rounds += 1
    took = time.monotonic() - started
    shown = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    print(f"wrong-passwords: {rounds} rounds of {CONCURRENT} in {took:.1f} s; answers {shown}")


if __name__ == "__main__":
    asyncio.run(main())

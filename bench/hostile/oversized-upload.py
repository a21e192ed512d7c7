#!/usr/bin/env python3
"""Attack: uploads far larger than MaxUploadSizeMB, sent chunked (no Content-Length) as
fast as the connection takes them, in a loop for DURATION seconds; plus uploads by the
Browser user (no Write on /) and uploads declaring a huge Content-Length.

The server must refuse each early — 413 once the file crosses the limit, 403 before the
body for a user who may not write, 413 at once for a declared length over the limit — and
never hold more than the limit per upload. Prints, per kind, how many were refused, the
latency to the refusal and how many MiB we had sent when it came (the bound: about the
limit for 413, ~0 for 403).
"""

import os
import select
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _client as c  # noqa: E402

CHUNK = b"x" * (256 * 1024)
GIVE_UP = 4 * 1024**3  # stop sending after 4 GiB: the server never answered


def one(user, declared: bool) -> tuple[int, int]:
    """Sends one upload; returns (status, bytes of body sent before the answer)."""
    token = c.csrf_token(user) or "0"
    head = c.multipart_head({"csrf": token, "folder": "/"}, "huge.bin")
    s = c.raw_socket()
    try:
        req = (
            "POST /Reports/upload?folder=%2F HTTP/1.1\r\n"
            f"Host: {c.authority()}\r\n"
            f"Authorization: {c.basic(*user)}\r\n"
            f"Content-Type: {c.multipart_type()}\r\n"
        )
        req += f"Content-Length: {GIVE_UP}\r\n" if declared else "Transfer-Encoding: chunked\r\n"
        s.sendall((req + "\r\n").encode())
        sent = 0

        def frame(data: bytes) -> bytes:
            return data if declared else f"{len(data):x}\r\n".encode() + data + b"\r\n"

        s.sendall(frame(head))
        sent += len(head)
        s.settimeout(30)
        while sent < GIVE_UP:
            # Stop as soon as the server has answered (it refuses early) or hung up.
            readable, _, _ = select.select([s], [], [], 0)
            if readable:
                break
            try:
                s.sendall(frame(CHUNK))
            except OSError:
                break
            sent += len(CHUNK)
        answer = b""
        try:
            while b"\r\n" not in answer:
                more = s.recv(4096)
                if not more:
                    break
                answer += more
        except OSError:
            pass
        parts = answer.split(b" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        return status, sent
    finally:
        s.close()


def attack(kind: str, user, declared: bool, until: float, out: dict) -> None:
    lat, statuses, sent_mib = out.setdefault(kind, ([], {}, []))
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            status, sent = one(user, declared)
        except OSError as e:
            c.count(statuses, type(e).__name__)
            continue
        lat.append(time.monotonic() - started)
        c.count(statuses, status)
        sent_mib.append(sent / 1024**2)


def main() -> None:
    until = c.deadline()
    out: dict = {}
    plan = [
        ("admin-chunked", c.admin(), False),
        ("admin-chunked", c.admin(), False),
        ("browser-chunked", c.browser(), False),
        ("admin-declared", c.admin(), True),
    ]
    threads = [
        threading.Thread(target=attack, args=(k, u, d, until, out), daemon=True)
        for k, u, d in plan
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for kind, (lat, statuses, sent) in out.items():
        most = max(sent) if sent else 0
        c.summary(f"oversized-upload[{kind}]", lat, statuses, f"max_sent_before_answer={most:.1f}MiB")


if __name__ == "__main__":
    main()

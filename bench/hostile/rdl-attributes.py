#!/usr/bin/env python3
"""Attack: RDL uploads whose root element has 100,000 attributes, two at a time, in a loop
for DURATION seconds.

As the administrator (who may write, so the RDL check itself runs): each upload must be
refused with 400 in one linear pass. As the Browser user (no Write on /): refused with 403
before the body is read. Prints, per kind, how many were sent, their p50/p99 latency and
the statuses. Expected: 400s and 403s only, each in milliseconds, and the normal client's
latency (measured by bench/hostile.sh) unaffected.
"""

import sys
import threading
import time
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _client as c  # noqa: E402

NS = "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition"


def bomb(n: int = 100_000) -> bytes:
    attrs = "".join(f' a{i}="v"' for i in range(n))
    return (
        f'<?xml version="1.0"?><Report xmlns="{NS}"{attrs}>'
        "<Body><Height>1in</Height></Body><Width>6in</Width></Report>"
    ).encode()


def attack(user, name: str, out: list, statuses: dict, until: float) -> None:
    token = c.csrf_token(user)
    rdl = bomb()
    body = c.multipart_head({"csrf": token, "folder": "/"}, "Bomb.rdl") + rdl + c.multipart_tail()
    conn = c.connect(timeout=60)
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            conn.request(
                "POST",
                "/Reports/upload?folder=%2F",
                body=body,
                headers={
                    "Authorization": c.basic(*user),
                    "Content-Type": c.multipart_type(),
                    "Origin": f"{c.target()[0]}://{c.authority()}",
                },
            )
            resp = conn.getresponse()
            resp.read()
            out.append(time.monotonic() - started)
            c.count(statuses, resp.status)
            if resp.getheader("connection", "").lower() == "close":
                conn.close()
                conn = c.connect(timeout=60)
        except OSError as e:
            c.count(statuses, type(e).__name__)
            conn.close()
            conn = c.connect(timeout=60)
    conn.close()


def main() -> None:
    until = c.deadline()
    results = {}
    threads = []
    for kind, user in (("admin", c.admin()), ("admin", c.admin()), ("browser", c.browser())):
        lat, st = results.setdefault(kind, ([], {}))
        t = threading.Thread(target=attack, args=(user, kind, lat, st, until), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    size = len(bomb())
    for kind, (lat, st) in results.items():
        c.summary(f"rdl-attributes[{kind}]", lat, st, f"rdl_bytes={size}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Attack: a signed-in Browser user asks for folder pages with a different Host header on
every request (and now and then a malformed one), on keep-alive connections, for DURATION
seconds.

The folder-page cache is keyed by what the server validated (user, path, virtual
directory), never by the raw Host, and capped in bytes: server memory must stay flat
however many Hosts are sent, and malformed Hosts (`evil.example/path?`) get 400 without a
Location. Prints requests, p50/p99 latency, statuses, and how many responses carried a
Location naming a Host we sent (must be 0).
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _client as c  # noqa: E402

BAD = ["evil.example/path?", "a b", "x@y", "h:99999", "evil.example#x"]


def attack(worker: int, lat: list, statuses: dict, leaks: list, until: float) -> None:
    user = c.browser()
    auth = c.basic(*user)
    _, _, port = c.target()
    conn = c.connect()
    n = 0
    while time.monotonic() < until:
        n += 1
        host = BAD[n % len(BAD)] if n % 50 == 0 else f"w{worker}-h{n}.attacker.test:{port}"
        path = "/ReportServer?/" if n % 2 else "/ReportServer"
        started = time.monotonic()
        try:
            conn.putrequest("GET", path, skip_host=True)
            conn.putheader("Host", host)
            conn.putheader("Authorization", auth)
            conn.endheaders()
            resp = conn.getresponse()
            resp.read()
            lat.append(time.monotonic() - started)
            c.count(statuses, resp.status)
            loc = resp.getheader("location", "")
            if "attacker" in loc or "evil" in loc:
                leaks.append(loc)
            if resp.will_close:
                conn.close()
                conn = c.connect()
        except (OSError, ValueError) as e:
            c.count(statuses, type(e).__name__)
            conn.close()
            conn = c.connect()
    conn.close()


def main() -> None:
    until = c.deadline()
    lat, statuses, leaks = [], {}, []
    threads = [
        threading.Thread(target=attack, args=(w, lat, statuses, leaks, until), daemon=True)
        for w in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c.summary("host-headers", lat, statuses, f"location_leaks={len(leaks)}")


if __name__ == "__main__":
    main()

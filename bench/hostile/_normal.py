"""The harness's normal client (not an attack: not executable): a signed-in Browser user
fetching the root folder page over https on one keep-alive connection for DURATION seconds.

Usage: python3 _normal.py DURATION CEILING_MS. Prints "p50 p99 max requests held|FAILED"
(milliseconds). A connection the server closed while idle is reopened and the request
retried once, as browsers do; the retry's time counts. FAILED: a request failed twice, got
a status other than 200, or took longer than CEILING_MS.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _client as c  # noqa: E402


def main() -> None:
    duration, ceiling = float(sys.argv[1]), float(sys.argv[2])
    auth = c.basic(os.environ["BROWSER_USER"], os.environ["BROWSER_PASS"])
    os.environ.pop("HTTP_URL", None)  # _client prefers HTTPS_URL anyway
    path = "/ReportServer?/&rs:Command=ListChildren"
    lat, bad = [], 0
    conn = c.connect(timeout=10)
    until = time.monotonic() + duration
    while time.monotonic() < until:
        t = time.monotonic()
        ok = False
        for attempt in range(2):
            try:
                conn.request("GET", path, headers={"Authorization": auth})
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
                break
            except Exception:
                conn.close()
                conn = c.connect(timeout=10)
        ms = (time.monotonic() - t) * 1000
        lat.append(ms)
        if not ok or ms > ceiling:
            bad += 1
        time.sleep(0.01)
    lat.sort()
    if not lat:
        print("0 0 0 0 FAILED")
        return
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
    print(f"{p(0.5):.1f} {p(0.99):.1f} {lat[-1]:.1f} {len(lat)} {'held' if bad == 0 else 'FAILED'}")


main()

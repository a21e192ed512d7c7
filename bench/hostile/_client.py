"""Shared client code of the bench/hostile/*.py attacks (not an attack itself: not executable).

Reads the harness's environment (HTTPS_URL, HTTP_URL, CACERT, ADMIN_USER, ADMIN_PASS,
BROWSER_USER, BROWSER_PASS, DURATION), opens HTTP/1.1 connections to the server (TLS when
HTTPS_URL is set, verified against CACERT) and prints one summary line per attack.
"""

import base64
import http.client
import os
import re
import socket
import ssl
import statistics
import time
import urllib.parse


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def duration() -> float:
    return float(env("DURATION", "30"))


def target() -> tuple[str, str, int]:
    """(scheme, host, port) of the server: HTTPS_URL, else HTTP_URL."""
    url = env("HTTPS_URL") or env("HTTP_URL") or "http://127.0.0.1:80"
    u = urllib.parse.urlsplit(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    return u.scheme, u.hostname or "127.0.0.1", port


def ssl_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=env("CACERT") or None)
    if not env("CACERT"):
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(timeout: float = 30) -> http.client.HTTPConnection:
    scheme, host, port = target()
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl_context())
    return http.client.HTTPConnection(host, port, timeout=timeout)


def raw_socket(timeout: float = 30) -> socket.socket:
    """A connected socket (TLS-wrapped for https) for hand-made requests."""
    scheme, host, port = target()
    s = socket.create_connection((host, port), timeout=timeout)
    if scheme == "https":
        s = ssl_context().wrap_socket(s, server_hostname=host)
    return s


def authority() -> str:
    _, host, port = target()
    return f"{host}:{port}"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def admin() -> tuple[str, str]:
    return env("ADMIN_USER", "admin"), env("ADMIN_PASS", "")


def browser() -> tuple[str, str]:
    return env("BROWSER_USER", "browser"), env("BROWSER_PASS", "")


def csrf_token(user: tuple[str, str]) -> str:
    """The CSRF token the portal's home page gives `user` ('' when it shows no form)."""
    c = connect()
    c.request("GET", "/Reports/", headers={"Authorization": basic(*user)})
    page = c.getresponse().read().decode("utf-8", "replace")
    c.close()
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    return m.group(1) if m else ""


BOUNDARY = "----reportdhostilebench0123456789"


def multipart_head(fields: dict[str, str], file_name: str) -> bytes:
    out = b""
    for k, v in fields.items():
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").encode()
    out += (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return out


def multipart_tail() -> bytes:
    return f"\r\n--{BOUNDARY}--\r\n".encode()


def multipart_type() -> str:
    return f"multipart/form-data; boundary={BOUNDARY}"


def summary(name: str, latencies: list[float], statuses: dict, extra: str = "") -> None:
    lat = sorted(latencies)
    if lat:
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        timing = f"p50={p50:.1f}ms p99={p99:.1f}ms"
    else:
        timing = "no completed requests"
    codes = " ".join(f"{k}:{v}" for k, v in sorted(statuses.items(), key=str))
    print(f"{name}: requests={len(lat)} {timing} statuses[{codes}] {extra}".rstrip(), flush=True)


def count(statuses: dict, key) -> None:
    statuses[key] = statuses.get(key, 0) + 1


def deadline() -> float:
    return time.monotonic() + duration()

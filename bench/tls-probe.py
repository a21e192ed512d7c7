#!/usr/bin/env python3
"""TLS probe for bench/rebind-under-load.sh: one process answering many probes, so a check
costs a handshake and not an `openssl s_client` start-up.

Usage: tls-probe.py PORT. Reads one probe a line on stdin and answers one line on stdout:

    SNI [in=NAME] [out=NAME]

connects to 127.0.0.1:PORT with server name SNI (offering session NAME when `in=` is given),
sends one HTTP request and reads the response, and answers `THUMBPRINT New|Reused` (the
SHA-1 of the server certificate, upper-case hex, and whether the session was resumed) or
`refused: REASON` when the handshake or the request failed. `out=NAME` keeps the session the
server issued under NAME. Certificates are not verified: the probe names them instead.
"""

import hashlib
import socket
import ssl
import sys


def main() -> None:
    port = int(sys.argv[1])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sessions: dict[str, ssl.SSLSession] = {}
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        sni, opts = words[0], dict(w.split("=", 1) for w in words[1:])
        session = sessions.get(opts["in"]) if "in" in opts else None
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname=sni, session=session) as tls:
                    der = tls.getpeercert(binary_form=True)
                    request = f"HEAD /ReportServer HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n"
                    tls.sendall(request.encode())
                    head = tls.recv(4096)
                    if not head.startswith(b"HTTP/1.1 "):
                        raise OSError(f"no HTTP response: {head[:40]!r}")
                    # TLS 1.3 tickets arrive with the response: read to the end, then keep it.
                    while tls.recv(4096):
                        pass
                    if "out" in opts and tls.session is not None:
                        sessions[opts["out"]] = tls.session
                    thumb = hashlib.sha1(der).hexdigest().upper()
                    how = "Reused" if tls.session_reused else "New"
                    answer = f"{thumb} {how}"
        except (OSError, ssl.SSLError) as e:
            answer = "refused: " + str(e).replace("\n", " ")
        print(answer, flush=True)


if __name__ == "__main__":
    main()

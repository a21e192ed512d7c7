"""Times the peer engine (PyPI majorsilence-reporting, its native C API) rendering a report
with rows injected in memory: rdl_report_open, the set_field/commit_row loop (not timed as
rendering), then rdl_report_render_buffer (timed). Prints one line per format:
`peer FORMAT ROWS SECONDS BYTES`. Runs inside the Debian 13 chroot bench/render.sh builds.

Usage (from the chroot's root): python3 w/msr_bench.py w/orders.rdl w/orders.csv pdf,csv
"""
import csv
import ctypes
import sys
import time

sys.path.insert(0, "opt/msr")
from majorsilence_reporting import load_bundled_library  # noqa: E402

FIELDS = ["id", "customer", "product", "qty", "price", "order_date"]


def main() -> None:
    rdl, data, formats = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    with open(data, newline="") as f:
        rows = [[c.encode() for c in r] for r in csv.reader(f)]
    lib = load_bundled_library()
    names = [n.encode() for n in FIELDS]
    for fmt in formats:
        h = lib.rdl_report_open(rdl.encode(), None)
        if not h:
            sys.exit(f"rdl_report_open: {lib.rdl_last_error()}")
        for r in rows:
            for n, v in zip(names, r):
                lib.rdl_dataset_set_field(h, b"Orders", n, v)
            lib.rdl_dataset_commit_row(h, b"Orders")
        out = ctypes.c_void_p(0)
        size = ctypes.c_int(0)
        t = time.process_time()
        ret = lib.rdl_report_render_buffer(h, fmt.encode(), ctypes.byref(out), ctypes.byref(size))
        secs = time.process_time() - t
        if ret != 0:
            sys.exit(f"render {fmt}: {lib.rdl_last_error()}")
        with open(f"w/peer.{fmt}", "wb") as f:
            f.write(ctypes.string_at(out.value, size.value))
        lib.rdl_free(out)
        lib.rdl_report_close(h)
        print(f"peer {fmt} {len(rows)} {secs:.3f} {size.value}", flush=True)


if __name__ == "__main__":
    main()

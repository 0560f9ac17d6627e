#!/usr/bin/env python3
"""Instructions per request of one eve-rs binary (or two), under callgrind.

Wall-clock figures on these shared machines swing by 10-25% between runs
(bench/README.md, "The noise band"); instruction counts do not: the same
binary, inputs and environment give the same total whatever the load. This
script serves bench/settings.yaml with `valgrind --tool=callgrind`, sends
N1 and then N2 identical requests of one kind over one keep-alive
connection (two separate server runs, each on a fresh store), and reports
(total(N2) - total(N1)) / (N2 - N1): the start-up, seeding and shut-down
cancel out, what is left is the cost of one request, all threads included.

    bench/callgrind.py --bin target/release/eve-rs [--baseline-bin OTHER]
                       [--kind post|get|patch|page] [--n1 20] [--n2 120]

Needs valgrind (on every machine here). System calls (fsync, network) are
not instructions: S3's durability cost is not in these counts, only the CPU
work around it. Every loop here is bounded (requests, time-outs).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = os.path.join(HERE, "settings.yaml")
DOC = {
    "seq": 7,
    "owner": "user-000007",
    "title": "Document number 7 of the benchmark",
    "body": "lorem ipsum dolor sit amet " * 30,
    "status": "published",
    "score": 7.5,
    "tags": ["bench", "tag0", "tag7"],
    "active": False,
    "created_on": "Mon, 01 Jan 2024 00:00:07 GMT",
    "meta": {"source": "eve-bench", "version": 2},
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, proc, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited early (rc={proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not listen on {port} within {seconds} s")


def request(conn, method, path, body=None, headers=None):
    h = {"Content-Type": "application/json"} if body is not None else {}
    h.update(headers or {})
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = conn.getresponse()
    data = r.read()
    if r.status >= 400:
        raise SystemExit(f"{method} {path}: {r.status} {data[:300]!r}")
    return r, data


def run(binary, kind, n):
    """Total instructions of one server run serving `n` requests of `kind`."""
    work = tempfile.mkdtemp(prefix="eve-callgrind-")
    out = os.path.join(work, "callgrind.out")
    port = free_port()
    cmd = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
        binary, "serve", SETTINGS, "--port", str(port),
        "--data-dir", os.path.join(work, "data"),
    ]
    env = dict(os.environ, RUST_LOG="warn")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        wait_for(port, proc)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        # The same set-up on every run, whatever n: one document to read or edit.
        _, data = request(conn, "POST", "/edits", DOC)
        item = json.loads(data)
        etag = item["_etag"]
        path = f"/edits/{item['_id']}"
        for i in range(n):
            if kind == "post":
                request(conn, "POST", "/posts", DOC)
            elif kind == "get":
                request(conn, "GET", path)
            elif kind == "page":
                request(conn, "GET", "/edits?where=%7B%22owner%22%3A%22user-000007%22%7D&sort=seq")
            elif kind == "patch":
                r, data = request(conn, "PATCH", path, {"score": float(i % 50)},
                                  {"If-Match": etag})
                etag = json.loads(data)["_etag"]
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    totals = 0
    for name in os.listdir(work):
        if not name.startswith("callgrind.out"):
            continue
        with open(os.path.join(work, name)) as f:
            for line in f:
                m = re.match(r"^(?:summary|totals):\s+(\d+)", line)
                if m:
                    totals += int(m.group(1))
                    break
    shutil.rmtree(work, ignore_errors=True)
    if totals == 0:
        raise SystemExit(f"no callgrind totals for {binary}")
    return totals


def per_request(binary, kind, n1, n2):
    a = run(binary, kind, n1)
    b = run(binary, kind, n2)
    return (b - a) / (n2 - n1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--baseline-bin")
    p.add_argument("--kind", choices=["post", "get", "patch", "page"], default="post")
    p.add_argument("--n1", type=int, default=20)
    p.add_argument("--n2", type=int, default=120)
    a = p.parse_args()
    if not 0 < a.n1 < a.n2 <= 10_000:
        raise SystemExit("need 0 < n1 < n2 <= 10000")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    after = per_request(a.bin, a.kind, a.n1, a.n2)
    print(f"{a.kind}: {after:,.0f} instructions per request ({a.bin})")
    if a.baseline_bin:
        before = per_request(a.baseline_bin, a.kind, a.n1, a.n2)
        print(f"{a.kind}: {before:,.0f} instructions per request ({a.baseline_bin})")
        print(f"{a.kind}: after/before = {after / before:.3f}")


if __name__ == "__main__":
    sys.exit(main())

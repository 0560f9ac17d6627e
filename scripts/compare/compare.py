#!/usr/bin/env python3
"""Replays the same HTTP requests against the Python Eve oracle and eve-rs
and prints where they differ (status, selected headers, JSON body), after
normalising values that legitimately differ (ObjectIds, dates, ETags, hosts).

Usage: scripts/compare/compare.py SETTINGS.yaml SCENARIO.json [--bin PATH] [--ports ORACLE,EVE_RS]
       [--oracle-mongo URI]   (Eve on a MongoDB-compatible server instead of mongomock;
                               use a database of its own, e.g. .../compare_geo_1)

A scenario is a JSON list of steps:
  {"method": "POST", "path": "/people", "json": {...}, "headers": {...},
   "save": {"id": "_id", "etag": "_etag"}}
Strings in later steps may use {id}, {etag} ... from saved values.
A step with "exact_etags": true compares ETags byte for byte (use it with
etag_ignore_fields covering _id, _created and _updated).
Needs python3 (stdlib only), the oracle (../shared/oracle) and a built
eve-rs binary (cargo build -p eve-rs).
"""
import json, os, re, socket, subprocess, sys, tempfile, time, urllib.request, urllib.error

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
ORACLE = os.path.abspath(os.path.join(ROOT, "..", "shared", "oracle", "eve-oracle"))
HEADERS = ["content-type", "allow", "location", "x-total-count", "cache-control", "access-control-allow-origin"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on {port} did not start")


def call(port, step, saved):
    def fill(s):
        return re.sub(r"\{(\w+)\}", lambda m: saved.get(m.group(1), m.group(0)), s)
    path = fill(step["path"])
    data = None
    headers = {k: fill(v) for k, v in step.get("headers", {}).items()}
    if "json" in step:
        data = fill(json.dumps(step["json"])).encode()
        headers.setdefault("Content-Type", "application/json")
    elif "body" in step:
        data = fill(step["body"]).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=step.get("method", "GET"), headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, hdrs, body = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, body = e.code, e.headers, e.read()
    text = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = text[:200]
    return status, {h: hdrs.get(h) for h in HEADERS if hdrs.get(h) is not None}, parsed


def norm(v, exact_etags=False):
    if isinstance(v, dict):
        return {k: norm(x, exact_etags) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x, exact_etags) for x in v]
    if isinstance(v, str):
        if not exact_etags:
            v = re.sub(r"[0-9a-f]{40}", "<etag>", v)
        v = re.sub(r"(?<![0-9a-f])[0-9a-f]{24}(?![0-9a-f])", "<id>", v)
        v = re.sub(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", "<date>", v)
        v = re.sub(r"http://127\.0\.0\.1:\d+", "http://<host>", v)
        v = re.sub(r"http://localhost:\d+", "http://<host>", v)
    return v


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        raise SystemExit(__doc__)
    settings, scenario = os.path.abspath(args[0]), json.load(open(args[1]))
    binary = os.path.join(ROOT, "target", "debug", "eve-rs")
    if "--bin" in args:
        binary = args[args.index("--bin") + 1]
    po, pr = free_port(), free_port()
    if "--ports" in args:  # e.g. --ports 5120,5121: oracle, eve-rs
        po, pr = (int(x) for x in args[args.index("--ports") + 1].split(","))
    data = tempfile.mkdtemp()
    oracle_args = [ORACLE, settings, "--port", str(po)]
    if "--oracle-mongo" in args:
        oracle_args += ["--mongo-uri", args[args.index("--oracle-mongo") + 1]]
    oracle = subprocess.Popen(oracle_args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ours = subprocess.Popen([binary, "serve", settings, "--port", str(pr), "--data-dir", data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(po), wait(pr)
        saved_o, saved_r, diffs = {}, {}, 0
        for i, step in enumerate(scenario):
            ro = call(po, step, saved_o)
            rr = call(pr, step, saved_r)
            for name, field in step.get("save", {}).items():
                for saved, r in ((saved_o, ro), (saved_r, rr)):
                    if isinstance(r[2], dict) and field in r[2]:
                        saved[name] = str(r[2][field])
            exact = step.get("exact_etags", False)
            a, b = norm(list(ro), exact), norm(list(rr), exact)
            if a != b:
                diffs += 1
                print(f"--- step {i}: {step.get('method', 'GET')} {step['path']}")
                print(f"  oracle: {json.dumps(a)}")
                print(f"  eve-rs: {json.dumps(b)}")
        print(f"{len(scenario)} steps, {diffs} differing")
    finally:
        oracle.terminate(), ours.terminate()


if __name__ == "__main__":
    main()

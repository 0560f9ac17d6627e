#!/usr/bin/env python3
"""Migration check (issue #10): Python Eve and eve-rs serve one MongoDB
database with one settings file, and each reads and edits what the other
wrote, ETags included.

    scripts/mongo-migration-check.py EVE_RS_BINARY MONGO_URI [ORACLE]

MONGO_URI names the server (scripts/mongo-test-server.sh start prints one);
the check uses a database of its own on it. ORACLE defaults to
../shared/oracle/eve-oracle (the reference Python Eve). Standard library
only. Prints one line per assertion and a closing "N passed, N failed" line;
exits non-zero on any failure.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

SETTINGS = """
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
DOMAIN:
  people:
    schema:
      firstname: {type: string}
      lastname: {type: string, required: true, unique: true}
      born: {type: datetime}
      score: {type: number}
      roles: {type: list}
  notes:
    versioning: true
    schema:
      text: {type: string}
      tag: {type: string, versioned: false}
"""

passed = 0
failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok: {what}")
    else:
        failed += 1
        print(f"FAILED: {what} {detail}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text.decode(errors="replace")


def wait_http(base, proc, name, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"migration: {name} exited during start-up")
        try:
            urllib.request.urlopen(base + "/", timeout=2).read()
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.5)
    sys.exit(f"migration: {name} did not answer within {seconds}s")


def with_database(uri, name):
    parts = urllib.parse.urlsplit(uri)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, server_uri = sys.argv[1], sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    oracle = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
        here, "..", "..", "shared", "oracle", "eve-oracle")
    uri = with_database(server_uri, f"eve_migration_{os.getpid()}_{int(time.time())}")
    work = tempfile.mkdtemp(prefix="eve-migration-")
    settings = os.path.join(work, "settings.yaml")
    with open(settings, "w") as f:
        f.write(f"MONGO_URI: '{uri}'\n" + SETTINGS)
    eve_port, rs_port = free_port(), free_port()
    logs = open(os.path.join(work, "servers.log"), "w")
    eve = subprocess.Popen(
        [oracle, settings, "--port", str(eve_port), "--mongo-uri", uri],
        stdout=logs, stderr=logs)
    rs = subprocess.Popen(
        [binary, "serve", settings, "--port", str(rs_port),
         "--data-dir", os.path.join(work, "unused")],
        stdout=logs, stderr=logs)
    eve_base, rs_base = f"http://127.0.0.1:{eve_port}", f"http://127.0.0.1:{rs_port}"
    try:
        wait_http(eve_base, eve, "eve-oracle")
        wait_http(rs_base, rs, "eve-rs")
        run(eve_base, rs_base)
    finally:
        for p in (eve, rs):
            p.terminate()
        for p in (eve, rs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        logs.close()
        if failed:
            with open(os.path.join(work, "servers.log")) as f:
                print(f.read()[-4000:])
    print(f"migration: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def run(eve, rs):
    # Python Eve writes; eve-rs reads, filters and edits with Eve's ETags.
    status, body = call(eve, "POST", "/people", [
        {"firstname": "Ada", "lastname": "Lovelace", "born": "Sun, 10 Dec 1815 00:00:00 GMT",
         "score": 1.5, "roles": ["author"]},
        {"firstname": "Alan", "lastname": "Turing", "score": 2},
    ])
    check("Eve stores a bulk POST", status == 201, body)
    ada = body["_items"][0]
    alan = body["_items"][1]
    status, item = call(rs, "GET", f"/people/{ada['_id']}")
    check("eve-rs reads a document Eve wrote", status == 200, item)
    check("eve-rs shows Eve's stored ETag", item.get("_etag") == ada["_etag"], item)
    check("eve-rs renders Eve's datetime", item.get("born") == "Sun, 10 Dec 1815 00:00:00 GMT", item)
    check("eve-rs renders Eve's fields", item.get("roles") == ["author"] and item.get("score") == 1.5, item)
    where = urllib.parse.quote(json.dumps({"lastname": "Turing"}))
    status, page = call(rs, "GET", f"/people?where={where}")
    check("eve-rs filters Eve's documents",
          status == 200 and [d["_id"] for d in page["_items"]] == [alan["_id"]], page)
    status, page = call(rs, "GET", "/people")
    check("eve-rs lists Eve's documents", status == 200 and page["_meta"]["total"] == 2, page)
    status, body = call(rs, "PATCH", f"/people/{alan['_id']}", {"firstname": "A. M."},
                        {"If-Match": "not-the-etag"})
    check("eve-rs refuses a stale ETag on Eve's document", status == 412, body)
    status, patched = call(rs, "PATCH", f"/people/{alan['_id']}", {"firstname": "A. M."},
                           {"If-Match": alan["_etag"]})
    check("eve-rs edits Eve's document with Eve's ETag", status == 200, patched)
    status, seen = call(eve, "GET", f"/people/{alan['_id']}")
    check("Eve reads eve-rs's edit", status == 200 and seen.get("firstname") == "A. M.", seen)
    check("Eve shows eve-rs's new ETag", seen.get("_etag") == patched.get("_etag"), seen)
    status, body = call(rs, "POST", "/people", {"lastname": "Lovelace"})
    check("the unique rule holds across both (eve-rs sees Eve's value)", status == 422, body)

    # eve-rs writes; Python Eve reads and edits with eve-rs's ETags.
    status, grace = call(rs, "POST", "/people", {
        "firstname": "Grace", "lastname": "Hopper", "born": "Sun, 09 Dec 1906 00:00:00 GMT",
        "score": 3, "roles": ["admiral"]})
    check("eve-rs stores a POST", status == 201, grace)
    status, item = call(eve, "GET", f"/people/{grace['_id']}")
    check("Eve reads a document eve-rs wrote", status == 200, item)
    check("Eve shows eve-rs's ETag", item.get("_etag") == grace.get("_etag"), item)
    check("Eve renders eve-rs's datetime", item.get("born") == "Sun, 09 Dec 1906 00:00:00 GMT", item)
    check("Eve renders eve-rs's fields", item.get("roles") == ["admiral"] and item.get("score") == 3, item)
    status, page = call(eve, "GET", f"/people?where={urllib.parse.quote(json.dumps({'lastname': 'Hopper'}))}")
    check("Eve filters eve-rs's documents", status == 200 and page["_meta"]["total"] == 1, page)
    status, patched = call(eve, "PATCH", f"/people/{grace['_id']}", {"score": 4},
                           {"If-Match": grace["_etag"]})
    check("Eve edits eve-rs's document with eve-rs's ETag", status == 200, patched)
    status, seen = call(rs, "GET", f"/people/{grace['_id']}")
    check("eve-rs reads Eve's edit with Eve's ETag",
          status == 200 and seen.get("score") == 4 and seen.get("_etag") == patched.get("_etag"), seen)
    status, body = call(eve, "DELETE", f"/people/{ada['_id']}", headers={"If-Match": ada["_etag"]})
    check("Eve deletes with the ETag both show", status == 204, body)
    status, body = call(rs, "GET", f"/people/{ada['_id']}")
    check("eve-rs no longer finds it", status == 404, body)
    versions(eve, rs)


def versions(eve, rs):
    """Document versioning (docs/versioning.md): each server reads and
    extends the history (`notes_versions`) the other wrote."""
    status, note = call(eve, "POST", "/notes", {"text": "v1", "tag": "a"})
    check("Eve stores a versioned POST", status == 201 and note.get("_version") == 1, note)
    status, v2 = call(eve, "PATCH", f"/notes/{note['_id']}", {"text": "v2"},
                      {"If-Match": note["_etag"]})
    check("Eve writes version 2", status == 200 and v2.get("_version") == 2, v2)
    status, old = call(rs, "GET", f"/notes/{note['_id']}?version=1")
    check("eve-rs reads Eve's version 1",
          status == 200 and old.get("text") == "v1" and old.get("_latest_version") == 2, old)
    status, v3 = call(rs, "PATCH", f"/notes/{note['_id']}", {"text": "v3"},
                      {"If-Match": v2["_etag"]})
    check("eve-rs extends Eve's history", status == 200 and v3.get("_version") == 3, v3)
    status, all_ = call(eve, "GET", f"/notes/{note['_id']}?version=all")
    check("Eve reads the history eve-rs extended",
          status == 200 and [d.get("text") for d in all_.get("_items", [])] == ["v1", "v2", "v3"], all_)
    status, diffs = call(rs, "GET", f"/notes/{note['_id']}?version=diffs")
    check("eve-rs diffs the mixed history",
          status == 200 and [d.get("text") for d in diffs.get("_items", [])] == ["v1", "v2", "v3"], diffs)
    status, body = call(eve, "GET", f"/notes/{note['_id']}?version=3")
    check("Eve reads eve-rs's version with eve-rs's ETag",
          status == 200 and body.get("_etag") == v3.get("_etag") and body.get("tag") == "a", body)
    status, body = call(rs, "DELETE", f"/notes/{note['_id']}", headers={"If-Match": v3["_etag"]})
    check("eve-rs deletes a versioned document", status == 204, body)
    status, body = call(eve, "GET", f"/notes/{note['_id']}?version=1")
    check("Eve finds no history left", status == 404, body)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Starts a MongoDB-compatible test server (SecantusDB, from PyPI) on
# 127.0.0.1 for the MongoDB suites, and prints its connection URI.
#
#   scripts/mongo-test-server.sh start [PORT] [--standalone]   # prints the URI
#   scripts/mongo-test-server.sh stop  [PORT]
#
# SecantusDB is GPL: it is only installed into a cache venv and run as an
# external process, never vendored or linked. It needs Python 3.12 (pyenv
# 3.12.1 on the project's machines). By default it advertises itself as a
# one-member replica set, so multi-document transactions work;
# --standalone makes it look like a standalone mongod (no transactions),
# for the layer's standalone code path.
#
# Environment: EVE_MONGO_TEST_CACHE (venv parent, default
# ~/.cache/eve-rs), EVE_MONGO_TEST_WAIT (seconds to wait for `hello`,
# default 60).
set -euo pipefail

cmd="${1:-start}"
port="${2:-27217}"
mode="${3:-}"
version="0.7.0b3"
cache="${EVE_MONGO_TEST_CACHE:-$HOME/.cache/eve-rs}"
venv="$cache/secantusdb-$version"
run_dir="$cache/run"
pid_file="$run_dir/secantusd-$port.pid"
log_file="$run_dir/secantusd-$port.log"
wait_secs="${EVE_MONGO_TEST_WAIT:-60}"

die() {
    echo "mongo-test-server: $*" >&2
    exit 1
}

case "$port" in
'' | *[!0-9]*) die "PORT must be a number, got '$port'" ;;
esac

find_python() {
    local root candidate
    if command -v pyenv >/dev/null 2>&1; then
        root="$(pyenv root)"
        candidate="$root/versions/3.12.1/bin/python3"
        [ -x "$candidate" ] && { echo "$candidate"; return; }
        for candidate in "$root"/versions/3.12.*/bin/python3; do
            [ -x "$candidate" ] && { echo "$candidate"; return; }
        done
    fi
    for candidate in "$HOME/.pyenv/versions/3.12.1/bin/python3" python3.12 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
            command -v "$candidate"
            return
        fi
    done
    die "Python 3.12 not found (SecantusDB needs it): install it with pyenv (pyenv install 3.12.1)"
}

install() {
    [ -x "$venv/bin/secantusd-py" ] && return
    local python
    python="$(find_python)"
    echo "mongo-test-server: installing secantusdb==$version into $venv" >&2
    rm -rf "$venv"
    mkdir -p "$cache"
    "$python" -m venv "$venv" || die "cannot create a venv with $python"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "secantusdb==$version" >&2 ||
        die "pip install secantusdb==$version failed"
}

ping() {
    "$venv/bin/python" - "$port" <<'PY' >/dev/null 2>&1
import socket, struct, sys
# OP_MSG {hello: 1, $db: "admin"}: the smallest handshake, no driver needed.
def bson(d):
    body = b""
    for k, v in d.items():
        if isinstance(v, int):
            body += b"\x10" + k.encode() + b"\x00" + struct.pack("<i", v)
        else:
            s = v.encode() + b"\x00"
            body += b"\x02" + k.encode() + b"\x00" + struct.pack("<i", len(s)) + s
    return struct.pack("<i", len(body) + 5) + body + b"\x00"
doc = bson({"hello": 1, "$db": "admin"})
payload = struct.pack("<I", 0) + b"\x00" + doc
msg = struct.pack("<iiii", 16 + len(payload), 1, 0, 2013) + payload
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.settimeout(5)
s.sendall(msg)
head = s.recv(16)
sys.exit(0 if len(head) == 16 and struct.unpack("<i", head[12:16])[0] == 2013 else 1)
PY
}

start() {
    install
    mkdir -p "$run_dir"
    if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null && ping; then
        echo "mongodb://127.0.0.1:$port/?directConnection=true"
        return
    fi
    local args=(--host 127.0.0.1 --port "$port" --storage-path :memory: --log-level WARNING)
    [ "$mode" = "--standalone" ] && args+=(--standalone)
    # setsid: the server outlives this script; `stop` ends it by its pid.
    setsid "$venv/bin/secantusd-py" "${args[@]}" >"$log_file" 2>&1 </dev/null &
    echo $! >"$pid_file"
    local waited=0
    until ping; do
        if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
            tail -n 20 "$log_file" >&2 || true
            die "the server exited during start-up (log: $log_file)"
        fi
        [ "$waited" -ge "$wait_secs" ] && die "no answer to hello on 127.0.0.1:$port after ${wait_secs}s (log: $log_file)"
        sleep 1
        waited=$((waited + 1))
    done
    echo "mongodb://127.0.0.1:$port/?directConnection=true"
}

stop() {
    [ -f "$pid_file" ] || return 0
    local pid
    pid="$(cat "$pid_file")"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 20); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        # A wedged server ignores TERM.
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$pid_file"
}

case "$cmd" in
start) start ;;
stop) stop ;;
*) die "usage: $0 start [PORT] [--standalone] | stop [PORT]" ;;
esac

#!/usr/bin/env bash
# Starts an S3-compatible test server (moto in server mode, from PyPI) on
# 127.0.0.1 for the object-store media suite, and prints its endpoint URL
# (export it as EVE_TEST_S3_URI).
#
#   scripts/s3-test-server.sh start [PORT]   # prints http://127.0.0.1:PORT
#   scripts/s3-test-server.sh stop  [PORT]
#
# moto is only installed into a cache venv and run as an external process.
# Environment: EVE_S3_TEST_CACHE (venv parent, default ~/.cache/eve-rs).
set -euo pipefail

cmd="${1:-start}"
port="${2:-5300}"
version="5.2.5"
cache="${EVE_S3_TEST_CACHE:-$HOME/.cache/eve-rs}"
venv="$cache/moto-$version"
run_dir="$cache/run"
pid_file="$run_dir/moto-$port.pid"
log_file="$run_dir/moto-$port.log"

die() {
    echo "s3-test-server: $*" >&2
    exit 1
}

case "$port" in
'' | *[!0-9]*) die "PORT must be a number, got '$port'" ;;
esac

install() {
    [ -x "$venv/bin/moto_server" ] && return
    echo "s3-test-server: installing moto[server]==$version into $venv" >&2
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv" || die "cannot create a venv with python3"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$version" >&2 ||
        die "pip install moto[server]==$version failed"
}

up() {
    "$venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" >/dev/null 2>&1
}

case "$cmd" in
start)
    install
    mkdir -p "$run_dir"
    if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null && up; then
        echo "http://127.0.0.1:$port"
        exit 0
    fi
    nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log_file" 2>&1 &
    echo $! >"$pid_file"
    for _ in $(seq 1 60); do
        if up; then
            echo "http://127.0.0.1:$port"
            exit 0
        fi
        sleep 0.5
    done
    die "moto did not answer on port $port (log: $log_file)"
    ;;
stop)
    if [ -f "$pid_file" ]; then
        kill "$(cat "$pid_file")" 2>/dev/null || true
        rm -f "$pid_file"
    fi
    ;;
*) die "usage: $0 start|stop [PORT]" ;;
esac

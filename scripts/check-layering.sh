#!/usr/bin/env bash
# Layering check (STYLE.md §2): neither the HTTP crate nor the executor
# reaches a backend. `eve-http` and `eve-exec` must not depend, directly or
# not, on the embedded store (`eve-store-sqlite`, `rusqlite`): stores come
# from `eve-backends`. `eve-exec` is also transport-free: no `axum`,
# `hyper` or `http` below it; `eve-auth` has no backend, `axum` or
# `hyper` below it.
# `eve-http` has no dev-dependency on a backend either: its integration
# suite is the separate crate `eve-http-tests`, which opens its layer
# through `eve-backends` (EVE_TEST_BACKEND); so `cargo tree -p eve-http`,
# dev-dependencies included, shows no rusqlite (checked below).
set -euo pipefail
cd "$(dirname "$0")/.."

deps_of() {
    cargo tree --offline --quiet -p "$1" -e normal,build --prefix none --format '{p}' |
        awk '{print $1}' | sort -u
}

# Self-check: the same query must find rusqlite below eve-backends, or a
# change in cargo tree's output would make the check below pass blindly.
if ! deps_of eve-backends | grep -qx rusqlite; then
    echo "check-layering: cannot see rusqlite below eve-backends; is the check broken?" >&2
    exit 2
fi

status=0
check() {
    local crate=$1
    shift
    local deps
    deps=$(deps_of "$crate")
    for banned in "$@"; do
        if grep -qx "$banned" <<<"$deps"; then
            echo "check-layering: $crate depends on $banned (cargo tree -p $crate -e normal -i $banned)" >&2
            status=1
        fi
    done
}
check eve-http rusqlite eve-store-sqlite
if cargo tree --offline --quiet -p eve-http --prefix none --format '{p}' | awk '{print $1}' | grep -qx rusqlite; then
    echo "check-layering: cargo tree -p eve-http (dev-dependencies included) shows rusqlite" >&2
    status=1
fi
check eve-exec rusqlite eve-store-sqlite axum hyper http
# eve-auth (providers) is transport-free too: `http`'s header types only.
check eve-auth rusqlite eve-store-sqlite axum hyper
[ "$status" -eq 0 ] && echo "check-layering: eve-http, eve-exec and eve-auth do not depend on the embedded store; eve-exec not on HTTP; eve-auth not on a server crate"
exit "$status"

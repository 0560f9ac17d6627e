#!/usr/bin/env bash
# Layering check (STYLE.md §2): the HTTP crate never reaches a backend.
# `eve-http` must not depend, directly or not, on the embedded store
# (`eve-store-sqlite`, `rusqlite`): stores come from `eve-backends`.
# Dev-dependencies are left out: the HTTP tests open their layer through
# `eve-backends` (EVE_TEST_BACKEND), which is not part of what eve-http ships.
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
for crate in eve-http; do
    for banned in rusqlite eve-store-sqlite; do
        if deps_of "$crate" | grep -qx "$banned"; then
            echo "check-layering: $crate depends on $banned (cargo tree -p $crate -e normal -i $banned)" >&2
            status=1
        fi
    done
done
[ "$status" -eq 0 ] && echo "check-layering: eve-http does not depend on the embedded store"
exit "$status"

#!/usr/bin/env bash
# The eve-rs benchmark, one command (bench/README.md):
#   bench/run.sh            full run (about 10 minutes)
#   bench/run.sh --quick    shorter runs, smaller stores
#   bench/run.sh --smoke    tiny numbers, proves the runner works
# Builds the release binaries, installs wrk when it is missing, then runs
# bench/runner (eve-bench-runner) with the given arguments.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! command -v wrk >/dev/null 2>&1; then
  echo "== installing wrk (Debian package)"
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "bench/run.sh: wrk is missing and cannot be installed here (needs apt-get)" >&2
    exit 1
  fi
fi

# A smoke run's numbers mean nothing: it reuses the debug build of the tests.
profile=release
for arg in "$@"; do
  if [ "$arg" = "--smoke" ]; then profile=debug; fi
done
echo "== building $profile binaries"
if [ "$profile" = release ]; then
  cargo build --release --quiet -p eve-rs -p eve-bench-ceiling -p eve-bench-runner
else
  cargo build --quiet -p eve-rs -p eve-bench-ceiling -p eve-bench-runner
fi

target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
EVE_BENCH_PROFILE="$profile" exec "$target/$profile/eve-bench-runner" "$@"

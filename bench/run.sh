#!/usr/bin/env bash
# The eve-rs benchmark, one command (bench/README.md):
#   bench/run.sh            full run (about 10 minutes)
#   bench/run.sh --quick    shorter runs, smaller stores
#   bench/run.sh --smoke    tiny numbers, proves the runner works
#   bench/run.sh --quick --baseline REF
#                           paired run: eve-rs at git commit REF against the
#                           current tree, measured in the same run
# Builds the release binaries, installs wrk when it is missing, then runs
# bench/runner (eve-bench-runner) with the given arguments.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
caller_dir="$(pwd)"
cd "$root"

# --baseline REF is ours (the runner takes the binary it builds); a
# relative --baseline-bin is taken from the caller's directory.
baseline_ref=""
keep_data=false
nice_prefix=()
profile=release
runner_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --baseline)
      [ $# -ge 2 ] || { echo "bench/run.sh: --baseline needs a git ref" >&2; exit 2; }
      baseline_ref="$2"; shift 2; continue ;;
    --baseline-bin)
      [ $# -ge 2 ] || { echo "bench/run.sh: --baseline-bin needs a path" >&2; exit 2; }
      case "$2" in /*) bin="$2" ;; *) bin="$caller_dir/$2" ;; esac
      runner_args+=("--baseline-bin" "$bin"); shift 2; continue ;;
    --nice)
      # Ours: the runner, the servers and wrk run at this niceness (they
      # inherit it); a negative one (root) puts them ahead of other work.
      [ $# -ge 2 ] && [[ "$2" =~ ^-?[0-9]+$ ]] || {
        echo "bench/run.sh: --nice needs a niceness, e.g. -10" >&2; exit 2; }
      nice_prefix=(nice -n "$2"); shift 2; continue ;;
    --keep-data) keep_data=true ;;
    # A smoke run's numbers mean nothing: it reuses the debug build of the tests.
    --smoke) profile=debug ;;
  esac
  runner_args+=("$1"); shift
done

if [ -n "$baseline_ref" ]; then
  sha="$(git rev-parse --verify --quiet "${baseline_ref}^{commit}")" || {
    echo "bench/run.sh: --baseline $baseline_ref is not a commit of this repository" >&2
    exit 2
  }
fi

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

echo "== building $profile binaries"
if [ "$profile" = release ]; then
  cargo build --release --quiet -p eve-rs -p eve-bench-ceiling -p eve-bench-runner
else
  cargo build --quiet -p eve-rs -p eve-bench-ceiling -p eve-bench-runner
fi

target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac

if [ -z "$baseline_ref" ]; then
  EVE_BENCH_PROFILE="$profile" exec "${nice_prefix[@]}" "$target/$profile/eve-bench-runner" "${runner_args[@]}"
fi

# ---- paired run: build eve-rs at $baseline_ref, in the same profile.
# The commit's files come out of git (git archive: no worktree is
# registered) into bench/out/baseline-SHA/src, built with their own target
# directory next to it; the source is removed once built, the whole
# directory at the end unless --keep-data (a kept binary is reused).
short="${sha:0:12}"
dir="$root/bench/out/baseline-$short"
bin="$dir/eve-rs-$profile"
cleanup() {
  rm -rf "$dir/src"
  if [ "$keep_data" = false ]; then rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -x "$bin" ]; then
  echo "== reusing the baseline eve-rs of $baseline_ref ($short): $bin"
else
  echo "== building the baseline eve-rs of $baseline_ref ($short, $profile) in $dir"
  mkdir -p "$dir"
  rm -rf "$dir/src"
  mkdir "$dir/src"
  git archive --format=tar "$sha" | tar -x -C "$dir/src"
  flags=(--quiet -p eve-rs)
  if [ "$profile" = release ]; then flags+=(--release); fi
  (cd "$dir/src" && CARGO_TARGET_DIR="$dir/target" cargo build "${flags[@]}")
  cp "$dir/target/$profile/eve-rs" "$bin"
  rm -rf "$dir/src"
fi
label="\`$short\` (--baseline $baseline_ref)"
# Not exec: the cleanup above runs when the runner is done.
EVE_BENCH_PROFILE="$profile" "${nice_prefix[@]}" "$target/$profile/eve-bench-runner" \
  "${runner_args[@]}" --baseline-bin "$bin" --baseline-label "$label"

#!/usr/bin/env bash
# Fuzz eve-rs for a number of minutes (issue #6, docs/robustness.md).
#
#   scripts/fuzz.sh MINUTES [TARGET...]
#
# Targets: where_clause sort projection settings validator (default: all,
# the time split between them).
#
# Two modes (EVE_FUZZ_MODE=auto|libfuzzer|proptest, default auto):
# - libfuzzer: cargo-fuzz on the targets in fuzz/ (needs a nightly
#   toolchain; cargo-fuzz is installed from crates.io if missing). Crashes
#   are saved in fuzz/artifacts/<target>/ and the script fails.
# - proptest: the same harnesses as property tests on stable
#   (crates/core/tests/fuzz_smoke.rs), run again and again with fresh
#   random seeds until the time is up. Failures are saved (shrunk) in
#   crates/core/tests/regressions.
# auto picks libfuzzer when `cargo +nightly` works, proptest otherwise.
# Every crash found becomes a case in fuzz_smoke.rs's `regressions` test.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes="${1:-}"
if ! [[ "$minutes" =~ ^[0-9]+$ ]] || [ "$minutes" -lt 1 ]; then
    echo "usage: scripts/fuzz.sh MINUTES [TARGET...]" >&2
    exit 2
fi
shift
all=(where_clause sort projection settings validator)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $t "* ]] || { echo "unknown target: $t (known: ${all[*]})" >&2; exit 2; }
done

mode="${EVE_FUZZ_MODE:-auto}"
if [ "$mode" = auto ]; then
    if cargo +nightly --version >/dev/null 2>&1; then mode=libfuzzer; else mode=proptest; fi
fi
if [ "$mode" = libfuzzer ] && ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    if ! cargo install cargo-fuzz --locked; then
        echo "cargo-fuzz could not be installed; using proptest mode" >&2
        mode=proptest
    fi
fi

total=$((minutes * 60))
echo "== fuzzing for ${minutes} min, mode ${mode}, targets: ${targets[*]}"

case "$mode" in
libfuzzer)
    per=$((total / ${#targets[@]}))
    [ "$per" -lt 1 ] && per=1
    status=0
    for t in "${targets[@]}"; do
        echo "== $t (${per}s)"
        mkdir -p "fuzz/corpus/$t"
        (cd fuzz && cargo +nightly fuzz run "$t" "corpus/$t" -- \
            -max_total_time="$per" -max_len=4096 -rss_limit_mb=2048 -timeout=10) || status=1
    done
    if [ "$status" -ne 0 ]; then
        echo "== crashes found: see fuzz/artifacts/ (reproduce: cd fuzz && cargo +nightly fuzz run TARGET ARTIFACT)" >&2
    fi
    exit "$status"
    ;;
proptest)
    filter=()
    for t in "${targets[@]}"; do filter+=("$t"); done
    # Build once, then run batches until the deadline.
    cargo test -p eve-core --test fuzz_smoke --no-run
    deadline=$(( $(date +%s) + total ))
    runs=0
    while [ "$(date +%s)" -lt "$deadline" ]; do
        for t in "${filter[@]}"; do
            EVE_FUZZ_CASES="${EVE_FUZZ_CASES:-5000}" \
                cargo test -q -p eve-core --test fuzz_smoke -- --exact "$t"
        done
        runs=$((runs + 1))
    done
    echo "== ${runs} batches of ${EVE_FUZZ_CASES:-5000} cases per target, no failure"
    ;;
*)
    echo "EVE_FUZZ_MODE must be auto, libfuzzer or proptest" >&2
    exit 2
    ;;
esac

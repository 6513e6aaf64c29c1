#!/usr/bin/env bash
# The short fuzz run CI does (.ci/run): builds every target of fuzz/ with cargo-fuzz on
# stable Rust (no sanitizer; an unoptimised build with debug assertions, which builds in
# half the time of an optimised one) and runs each for FUZZ_SECONDS (default 20) on its
# committed seeds, in a scratch corpus. Any crash, panic, timeout or out-of-memory fails the run and
# leaves the input in fuzz/artifacts/<target>/. See docs/FUZZING.md.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-20}
build=(-s none --dev)
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --quiet
fi
cargo fetch --locked --quiet
cargo fuzz build "${build[@]}"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/exhibit-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
for target in $(cargo fuzz list); do
  mkdir -p "$scratch/$target"
  echo "-- $target (${seconds}s)"
  status=0
  cargo fuzz run "${build[@]}" "$target" "$scratch/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    >"$scratch/$target.log" 2>&1 || status=$?
  grep -E '^(INFO: seed corpus|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|Done )' \
    "$scratch/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$scratch/$target.log"
    echo "FAIL: fuzz target $target exited $status; the input is in fuzz/artifacts/$target/"
    exit 1
  fi
done

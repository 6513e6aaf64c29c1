#!/usr/bin/env bash
# Browser-capture throughput on the demo pages (tests/fixtures/policy-v1.html, demo/terms.html)
# served from 127.0.0.1: N captures with --browser at --jobs 1 and --jobs 2, and the same N as
# plain captures, each into a fresh archive. Prints medians of RUNS runs: seconds per page and
# pages per minute.
#
#   bench/browser.sh                  # N=20, RUNS=3
#   N=40 RUNS=5 bench/browser.sh
#
# Needs Chromium (EXHIBIT_CHROMIUM or chromium on PATH) and python3. Every run starts one
# browser for the command (about 0.5 s) and opens a tab per page, each behind its own proxy.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
N=${N:-20}
cargo build --release --quiet -p exhibit
E="$PWD/target/release/exhibit"
mkdir -p target
work=$(mktemp -d "${BENCH_DIR:-$PWD/target}/exhibit-browser.XXXXXX")
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

mkdir -p "$work/site"
cp tests/fixtures/policy-v1.html "$work/site/privacy"
cp demo/terms.html "$work/site/terms"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$work/site" "$port" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
for i in $(seq "$N"); do
  if [ $((i % 2)) = 0 ]; then echo "http://127.0.0.1:$port/privacy?copy=$i"; else echo "http://127.0.0.1:$port/terms?copy=$i"; fi
done > "$work/list"

now() { date +%s%N; }
run() {
  local dir t0 t1
  dir=$(mktemp -d "$work/a.XXXXXX")
  "$E" --archive "$dir" init >/dev/null
  t0=$(now)
  "$E" --archive "$dir" capture --list "$work/list" "$@" >/dev/null
  t1=$(now)
  python3 -c "print(f'{($t1 - $t0) / 1e9:.3f}')"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { for _ in $(seq "$RUNS"); do run "$@"; done | median; }
report() {
  python3 -c "import sys; t=float(sys.argv[2]); n=int(sys.argv[3]); print(f'  {sys.argv[1]:<22} {t:7.2f} s  {t/n:6.3f} s/page  {60*n/t:6.0f} pages/min')" "$@"
}

echo "== $N demo pages, median of $RUNS runs"
report "plain, --jobs 2" "$(measure --jobs 2)" "$N"
report "--browser, --jobs 1" "$(measure --browser --jobs 1)" "$N"
report "--browser, --jobs 2" "$(measure --browser --jobs 2)" "$N"

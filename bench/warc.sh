#!/usr/bin/env bash
# WARC and WACZ throughput, side by side with the web-archiving tools on the same file:
# warcio (pip install warcio) and, when WACZ=path/to/wacz is given or `wacz` is on PATH,
# py-wacz (pip install wacz).
#
#   bench/warc.sh                      # N=500 documents of ../shared/corpus/stress, 3 runs
#   N=2000 RUNS=5 CORPUS=DIR bench/warc.sh
#
# The documents are served by `python3 -m http.server` on 127.0.0.1 and captured over HTTP
# (import takes http(s) records only). Then, each run:
#   export     exhibit export --all --warc out.warc.gz       (reads objects, checks, writes)
#   recompress warcio recompress out.warc.gz again.warc.gz   (reads and rewrites every record)
#   index      warcio index out.warc.gz                       (reads every record)
#   import     exhibit import out.warc.gz into a new archive  (two passes, stores, extracts, signs)
#   wacz       exhibit export --all --wacz out.wacz           (bundle + WARC + index + signatures)
#   wacz create  py-wacz's `wacz create -f out.warc.gz`       (index + pages from the WARC)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
N=${N:-500}
CORPUS=${CORPUS:-../shared/corpus/stress}
WACZ=${WACZ:-$(command -v wacz || true)}
[ -d "$CORPUS" ] || { echo "warc.sh: corpus $CORPUS not found" >&2; exit 2; }
command -v warcio >/dev/null || { echo "warc.sh: warcio is required (pip install warcio)" >&2; exit 2; }

cargo build --release --quiet -p exhibit
E="$PWD/target/release/exhibit"
mkdir -p target
work=$(mktemp -d "$PWD/target/exhibit-warc-bench.XXXXXX")
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s%N; }
time_cmd() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); python3 -c "print(f'{($t1 - $t0) / 1e9:.3f}')"; }
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.3f}")' "$@"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

corpus=$(cd "$CORPUS" && pwd)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$corpus" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
server=$!
for _ in $(seq 50); do python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" 2>/dev/null && break; sleep 0.1; done
(cd "$corpus" && find . -type f) | sort > "$work/all"
head -n "$N" "$work/all" | sed "s|^\./|http://127.0.0.1:$port/|" > "$work/list"
"$E" --archive "$work/archive" init --origin bench.example >/dev/null
"$E" --archive "$work/archive" capture --list "$work/list" --jobs 2 >/dev/null

ex=(); rc=(); ix=(); im=(); wz=(); wc=()
for i in $(seq "$RUNS"); do
  ex+=("$(time_cmd "$E" --archive "$work/archive" export --all --warc "$work/out-$i.warc.gz")")
  rc+=("$(time_cmd warcio recompress "$work/out-$i.warc.gz" "$work/re-$i.warc.gz")")
  ix+=("$(time_cmd warcio index "$work/out-$i.warc.gz")")
  "$E" --archive "$work/imported-$i" init --origin import.example >/dev/null
  im+=("$(time_cmd "$E" --archive "$work/imported-$i" import "$work/out-$i.warc.gz")")
  wz+=("$(time_cmd "$E" --archive "$work/archive" export --all --wacz "$work/out-$i.wacz")")
  line="   run $i: export ${ex[-1]}s, recompress ${rc[-1]}s, index ${ix[-1]}s, import ${im[-1]}s, wacz ${wz[-1]}s"
  if [ -n "$WACZ" ]; then
    wc+=("$(time_cmd "$WACZ" create -f "$work/out-$i.warc.gz" -o "$work/py-$i.wacz")")
    line="$line, wacz create ${wc[-1]}s"
  fi
  echo "$line"
done
peak=$(/usr/bin/time -f %M "$E" --archive "$work/imported-1" import "$work/out-1.warc.gz" 2>&1 >/dev/null | tail -1)
size=$(stat -c %s "$work/out-1.warc.gz")
records=$(warcio index "$work/out-1.warc.gz" | wc -l)
echo
echo "$N documents over HTTP: $records WARC records, $((size / 1024)) KiB compressed"
printf '%-22s %8ss\n' "exhibit export" "$(median "${ex[@]}")"
printf '%-22s %8ss   export / recompress %s×\n' "warcio recompress" "$(median "${rc[@]}")" "$(ratio "$(median "${ex[@]}")" "$(median "${rc[@]}")")"
printf '%-22s %8ss   export / index %s×\n' "warcio index" "$(median "${ix[@]}")" "$(ratio "$(median "${ex[@]}")" "$(median "${ix[@]}")")"
printf '%-22s %8ss   import / index %s×   (peak RSS of a re-import %s KiB)\n' "exhibit import" "$(median "${im[@]}")" "$(ratio "$(median "${im[@]}")" "$(median "${ix[@]}")")" "$peak"
printf '%-22s %8ss\n' "exhibit export --wacz" "$(median "${wz[@]}")"
if [ -n "$WACZ" ]; then
  printf '%-22s %8ss   export --wacz / wacz create %s×\n' "wacz create" "$(median "${wc[@]}")" "$(ratio "$(median "${wz[@]}")" "$(median "${wc[@]}")")"
fi

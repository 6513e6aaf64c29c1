#!/usr/bin/env bash
# WARC export throughput, side by side with warcio (pip install warcio) on the same file.
#
#   bench/warc.sh                      # N=500 documents of ../shared/corpus/stress, 3 runs
#   N=2000 RUNS=5 CORPUS=DIR bench/warc.sh
#
#   export     exhibit export --all --warc out.warc.gz     (reads objects, checks, writes)
#   recompress warcio recompress out.warc.gz again.warc.gz (reads and rewrites every record)
#   index      warcio index out.warc.gz                     (reads every record)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
N=${N:-500}
CORPUS=${CORPUS:-../shared/corpus/stress}
[ -d "$CORPUS" ] || { echo "warc.sh: corpus $CORPUS not found" >&2; exit 2; }
command -v warcio >/dev/null || { echo "warc.sh: warcio is required (pip install warcio)" >&2; exit 2; }

cargo build --release --quiet -p exhibit
E="$PWD/target/release/exhibit"
mkdir -p target
work=$(mktemp -d "$PWD/target/exhibit-warc-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

now() { date +%s%N; }
time_cmd() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); python3 -c "print(f'{($t1 - $t0) / 1e9:.3f}')"; }
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.3f}")' "$@"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

find "$(cd "$CORPUS" && pwd)" -type f | sort > "$work/all"
head -n "$N" "$work/all" > "$work/list"
"$E" --archive "$work/archive" init --origin bench.example >/dev/null
"$E" --archive "$work/archive" capture --list "$work/list" --jobs 2 >/dev/null

ex=(); rc=(); ix=()
for i in $(seq "$RUNS"); do
  ex+=("$(time_cmd "$E" --archive "$work/archive" export --all --warc "$work/out-$i.warc.gz")")
  rc+=("$(time_cmd warcio recompress "$work/out-$i.warc.gz" "$work/re-$i.warc.gz")")
  ix+=("$(time_cmd warcio index "$work/out-$i.warc.gz")")
  echo "   run $i: export ${ex[-1]}s, warcio recompress ${rc[-1]}s, warcio index ${ix[-1]}s"
done
size=$(stat -c %s "$work/out-1.warc.gz")
records=$(warcio index "$work/out-1.warc.gz" | wc -l)
echo
echo "$N documents: $records WARC records, $((size / 1024)) KiB compressed"
printf '%-22s %8ss\n' "exhibit export" "$(median "${ex[@]}")"
printf '%-22s %8ss   export / recompress %s×\n' "warcio recompress" "$(median "${rc[@]}")" "$(ratio "$(median "${ex[@]}")" "$(median "${rc[@]}")")"
printf '%-22s %8ss   export / index %s×\n' "warcio index" "$(median "${ix[@]}")" "$(ratio "$(median "${ex[@]}")" "$(median "${ix[@]}")")"

#!/usr/bin/env bash
# What the evidence report costs: bundling and verifying with it, side by side with a build from
# before reports (OLD=DIR holding its release exhibit and exhibit-verify) and with the stock tools.
#
#   OLD=/tmp/oldtarget/release bench/report.sh    # N=100 documents of ../shared/corpus/stress
#   N=400 RUNS=5 CORPUS=DIR OLD=… bench/report.sh
#
#   bundle  exhibit bundle of N captures (+ report)       vs  the old exhibit bundle (no report)
#   verify  exhibit-verify of that bundle (+ check 14)    vs  the old exhibit-verify of its bundle
#   stock   exhibit-verify of the new bundle               vs  tar --zstd -x + sha256sum -c of it
#   report  exhibit report --out report.pdf --html …       (alone; printed, no ratio)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
N=${N:-100}
CORPUS=${CORPUS:-../shared/corpus/stress}
OLD=${OLD:?set OLD to a directory with the release exhibit and exhibit-verify from before reports}
[ -d "$CORPUS" ] || { echo "report.sh: corpus $CORPUS not found" >&2; exit 2; }

cargo build --release --quiet -p exhibit -p exhibit-verify
E="$PWD/target/release/exhibit"
V="$PWD/target/release/exhibit-verify"
mkdir -p target
work=$(mktemp -d "$PWD/target/exhibit-report-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

now() { date +%s%N; }
time_cmd() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); python3 -c "print(f'{($t1 - $t0) / 1e9:.3f}')"; }
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.3f}")' "$@"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

find "$(cd "$CORPUS" && pwd)" -type f | sort > "$work/all"
head -n "$N" "$work/all" > "$work/list"
"$E" --archive "$work/archive" init --origin bench.example >/dev/null
"$E" --archive "$work/archive" capture --list "$work/list" --jobs 2 >/dev/null
echo "== $N documents captured from $CORPUS ($RUNS runs each)"
records=$("$E" --archive "$work/archive" --json list --limit "$N" \
  | python3 -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))')

nb=(); ob=(); nv=(); ov=(); sv=(); rp=()
for i in $(seq "$RUNS"); do
  export SOURCE_DATE_EPOCH=1777529721
  # shellcheck disable=SC2086
  nb+=("$(time_cmd "$E" --archive "$work/archive" bundle $records --out "$work/new-$i.tar.zst")")
  # shellcheck disable=SC2086
  ob+=("$(time_cmd "$OLD/exhibit" --archive "$work/archive" bundle $records --out "$work/old-$i.tar.zst")")
  # Without --key both verifiers exit 3 (not pinned); the time is what counts here.
  nv+=("$(time_cmd bash -c "'$V' '$work/new-$i.tar.zst'; test \$? = 3")")
  ov+=("$(time_cmd bash -c "'$OLD/exhibit-verify' '$work/old-$i.tar.zst'; test \$? = 3")")
  mkdir -p "$work/x-$i"
  sv+=("$(time_cmd bash -c "tar --zstd -xf '$work/new-$i.tar.zst' -C '$work/x-$i' && cd '$work/x-$i'/new-$i && sha256sum -c --quiet manifest-sha256.txt && sha256sum -c --quiet tagmanifest-sha256.txt")")
  # shellcheck disable=SC2086
  rp+=("$(time_cmd "$E" --archive "$work/archive" report $records --out "$work/r-$i.pdf" --html "$work/r-$i.html")")
  echo "   run $i: bundle ${nb[-1]}s (old ${ob[-1]}s), verify ${nv[-1]}s (old ${ov[-1]}s, stock ${sv[-1]}s), report ${rp[-1]}s"
done
unset SOURCE_DATE_EPOCH
pages=$(python3 -c "import re,sys; d=open(sys.argv[1],'rb').read(); print(len(re.findall(rb'/Type\s*/Page[^s]', d)))" "$work/r-1.pdf")
echo
printf '%-8s %9s %9s %8s\n' what new old/stock ratio
printf '%-8s %8ss %8ss %7s×   %s\n' bundle "$(median "${nb[@]}")" "$(median "${ob[@]}")" "$(ratio "$(median "${nb[@]}")" "$(median "${ob[@]}")")" "with the report vs before reports"
printf '%-8s %8ss %8ss %7s×   %s\n' verify "$(median "${nv[@]}")" "$(median "${ov[@]}")" "$(ratio "$(median "${nv[@]}")" "$(median "${ov[@]}")")" "with check 14 vs before reports"
printf '%-8s %8ss %8ss %7s×   %s\n' stock "$(median "${nv[@]}")" "$(median "${sv[@]}")" "$(ratio "$(median "${nv[@]}")" "$(median "${sv[@]}")")" "exhibit-verify vs tar -x + sha256sum -c"
printf '%-8s %8ss %9s %8s   %s\n' report "$(median "${rp[@]}")" - - "exhibit report: $pages pages, PDF $(stat -c %s "$work/r-1.pdf") bytes, HTML $(stat -c %s "$work/r-1.html") bytes"

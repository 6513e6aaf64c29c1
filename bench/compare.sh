#!/usr/bin/env bash
# exhibit against the stock tools, on the same bytes, in one run: prints medians and ratios.
#
#   bench/compare.sh                 # everything (about 5 minutes on 2 cores)
#   RUNS=5 bench/compare.sh          # more runs per measurement (default 3; medians reported)
#   CORPUS=DIR bench/compare.sh      # the files to ingest (default ../shared/corpus/stress)
#   BUNDLE_MIB=1024 bench/compare.sh # size of the bundle benchmark (default 1024 MiB)
#   LOOKUPS=1 bench/compare.sh       # also run bench/lookup.sh (10k/100k/1M-capture catalogs)
#
# What is compared (each pair does the same work on the same bytes; exhibit also does what the
# stock tools don't: BLAKE3, signatures, the catalog, the log, fsyncs):
#   ingest  exhibit capture --list --jobs 2 (fresh archive)  vs  openssl dgst -sha256 over the
#           files + tar | zstd -3 -T1
#   floor   the object work of that ingest alone (crates/capture/examples/object_floor.rs: bytes
#           and text objects, nothing else) vs the same stock pipeline; floor-b: bytes only
#   fsck    exhibit fsck --full of that archive               vs  openssl dgst -sha256 over the files
#   bundle  exhibit bundle of BUNDLE_MIB of captures          vs  tar --zstd -c of the same files
#   verify  exhibit-verify of that bundle                     vs  tar --zstd -x + sha256sum -c
#   rss     peak resident memory of capturing a 512 MiB random file (target <= 128 MiB)
# The page cache is warmed before each timed command (every side reads from memory).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
CORPUS=${CORPUS:-../shared/corpus/stress}
BUNDLE_MIB=${BUNDLE_MIB:-1024}
JOBS=${JOBS:-2}
for tool in openssl zstd tar sha256sum python3; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is required" >&2; exit 2; }
done
if [ ! -d "$CORPUS" ]; then
  echo "compare.sh: corpus $CORPUS not found (set CORPUS=DIR to any directory of documents)" >&2
  exit 2
fi

echo "== building (release)"
cargo build --release --quiet -p exhibit -p exhibit-verify
cargo build --release --quiet -p exhibit-capture --example object_floor
E="$PWD/target/release/exhibit"
FLOOR="$PWD/target/release/examples/object_floor"
V="$PWD/target/release/exhibit-verify"
CORPUS=$(cd "$CORPUS" && pwd)

# Scratch space on the build's filesystem (target/), not /tmp: a /tmp that many test runs have
# filled and emptied makes every file creation slower (ext4 skips recently freed inodes), which
# would penalise the side that creates files. Every run gets fresh directories; nothing is
# deleted until the end, for the same reason.
mkdir -p target
work=$(mktemp -d "${BENCH_DIR:-$PWD/target}/exhibit-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

now() { date +%s%N; }
# time_cmd CMD... : prints the wall-clock seconds of one run (stdout of CMD discarded).
time_cmd() {
  local t0 t1
  t0=$(now)
  "$@" >/dev/null
  t1=$(now)
  python3 -c "print(f'{($t1 - $t0) / 1e9:.3f}')"
}
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.3f}")' "$@"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
warm() { find "$@" -type f -print0 | xargs -0 cat >/dev/null; }
results=()
report() { # name exhibit_median stock_median what
  local r
  r=$(ratio "$2" "$3")
  results+=("$(printf '%-8s %9ss %9ss %7s×   %s' "$1" "$2" "$3" "$r" "$4")")
  printf '   %s: exhibit %ss, stock %ss, ratio %s\n' "$1" "$2" "$3" "$r"
}

echo "== machine"
nproc_n=$(nproc)
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || uname -m)
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo 2>/dev/null || echo "?")
fs=$(df -T "$work" | awk 'NR==2 {print $2}')
echo "   $nproc_n CPUs ($cpu), $mem, $(uname -sr), temp dir on $fs"
echo "   $(openssl version), zstd $(zstd -V | grep -o 'v[0-9.]*'), $(tar --version | head -1)"

# --- ingest ---------------------------------------------------------------------------------
find "$CORPUS" -type f | sort > "$work/list"
files=$(wc -l < "$work/list")
bytes=$(xargs -d '\n' cat < "$work/list" | wc -c)
echo "== ingest: $files files, $((bytes / 1048576)) MiB from $CORPUS ($RUNS runs each)"
ex=(); st=()
for i in $(seq "$RUNS"); do
  "$E" --archive "$work/archive-$i" init --origin bench.example >/dev/null
  warm "$CORPUS"
  ex+=("$(time_cmd "$E" --archive "$work/archive-$i" capture --list "$work/list" --jobs "$JOBS")")
  warm "$CORPUS"
  st+=("$(time_cmd bash -c "xargs -d '\n' openssl dgst -sha256 < '$work/list' > /dev/null && tar -cf - -T '$work/list' 2>/dev/null | zstd -3 -T1 -q -c > '$work/stock.tar.zst'")")
  echo "   run $i: exhibit ${ex[-1]}s, stock ${st[-1]}s"
done
report ingest "$(median "${ex[@]}")" "$(median "${st[@]}")" "capture --list --jobs $JOBS vs openssl dgst + tar | zstd -3 -T1"
# The floor: the object work of that ingest alone (bytes and text objects, hashed, compressed
# and written, nothing else), so the ratio above can be split into "the format" and "the rest".
fl=(); fb=()
for i in $(seq "$RUNS"); do
  warm "$CORPUS"
  fl+=("$("$FLOOR" "$work/list" "$work/floor-$i" --jobs "$JOBS")")
  warm "$CORPUS"
  fb+=("$("$FLOOR" "$work/list" "$work/floor-bytes-$i" --jobs "$JOBS" --bytes-only)")
  echo "   floor run $i: bytes+text objects ${fl[-1]}s, bytes objects only ${fb[-1]}s"
done
report floor "$(median "${fl[@]}")" "$(median "${st[@]}")" "object work alone (bytes + text objects), vs the same stock pipeline"
report floor-b "$(median "${fb[@]}")" "$(median "${st[@]}")" "bytes objects alone (no text), vs the same stock pipeline"
ln -s "$work/archive-1" "$work/archive"
echo "   archive: $(du -sm "$work/archive-1" | cut -f1) MiB on disk; stock .tar.zst: $(($(stat -c %s "$work/stock.tar.zst") / 1048576)) MiB"

# --- fsck --full ------------------------------------------------------------------------------
echo "== fsck --full of that archive vs openssl dgst -sha256 over the raw files"
if "$E" --archive "$work/archive" fsck --full >/dev/null 2>&1; then
  ex=(); st=()
  for i in $(seq "$RUNS"); do
    warm "$work/archive"
    ex+=("$(time_cmd "$E" --archive "$work/archive" fsck --full)")
    warm "$CORPUS"
    st+=("$(time_cmd bash -c "xargs -d '\n' openssl dgst -sha256 < '$work/list' > /dev/null")")
    echo "   run $i: exhibit ${ex[-1]}s, stock ${st[-1]}s"
  done
  report fsck "$(median "${ex[@]}")" "$(median "${st[@]}")" "fsck --full vs openssl dgst -sha256"
else
  echo "   SKIP: exhibit fsck --full is not available or failed"
fi

# --- bundle and verify ------------------------------------------------------------------------
echo "== bundle of $BUNDLE_MIB MiB of captures vs tar --zstd -c; exhibit-verify vs tar --zstd -x + sha256sum -c"
mkdir -p "$work/big"
# Compressible, realistic bytes: the corpus concatenated into 64 MiB files (a NUL first, so
# they are binary documents: no text extraction, as for PDFs).
n=$(( (BUNDLE_MIB + 63) / 64 ))
python3 - "$work/list" "$work/big" "$n" <<'PY'
import sys
paths = open(sys.argv[1]).read().split("\n")[:-1]
out, n = sys.argv[2], int(sys.argv[3])
corpus = b"".join(open(p, "rb").read() for p in paths)
for i in range(n):
    with open(f"{out}/part-{i:03}.bin", "wb") as f:
        f.write(b"\0" + str(i).encode())
        left = (64 << 20) - 1 - len(str(i))
        while left > 0:
            chunk = corpus[: left]
            f.write(chunk)
            left -= len(chunk)
PY
"$E" --archive "$work/barchive" init --origin bench.example >/dev/null
ls "$work/big"/*.bin > "$work/biglist"
"$E" --archive "$work/barchive" capture --list "$work/biglist" --jobs "$JOBS" >/dev/null
(cd "$work/big" && sha256sum ./*.bin > "$work/big.sha256")
fp=$("$E" --archive "$work/barchive" --json key show | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
ex=(); st=(); exv=(); stv=()
for i in $(seq "$RUNS"); do
  rm -f "$work/b.tar.zst" "$work/t.tar.zst"
  warm "$work/barchive/objects"
  ex+=("$(time_cmd "$E" --archive "$work/barchive" bundle $(seq -f 'EX-C-%06g' 1 "$n") --out "$work/b.tar.zst")")
  warm "$work/big"
  st+=("$(time_cmd tar --zstd -cf "$work/t.tar.zst" -C "$work/big" .)")
  warm "$work/b.tar.zst"
  exv+=("$(time_cmd "$V" "$work/b.tar.zst" --key "$fp")")
  mkdir "$work/x-$i"
  warm "$work/t.tar.zst"
  stv+=("$(time_cmd bash -c "tar --zstd -xf '$work/t.tar.zst' -C '$work/x-$i' && cd '$work/x-$i' && sha256sum -c --quiet '$work/big.sha256'")")
  rm -rf "$work/x-$i"
  echo "   run $i: bundle ${ex[-1]}s vs tar ${st[-1]}s; verify ${exv[-1]}s vs untar+sha256sum ${stv[-1]}s"
done
report bundle "$(median "${ex[@]}")" "$(median "${st[@]}")" "bundle of $n × 64 MiB vs tar --zstd -c"
report verify "$(median "${exv[@]}")" "$(median "${stv[@]}")" "exhibit-verify vs tar --zstd -x + sha256sum -c"
echo "   bundle $(($(stat -c %s "$work/b.tar.zst") / 1048576)) MiB, tar.zst $(($(stat -c %s "$work/t.tar.zst") / 1048576)) MiB"
rm -f "$work/b.tar.zst" "$work/t.tar.zst"

# --- peak memory ------------------------------------------------------------------------------
echo "== peak RSS of capturing a 512 MiB random file"
head -c $((512 << 20)) /dev/urandom > "$work/random.bin"
"$E" --archive "$work/rarchive" init --origin bench.example >/dev/null
rss_kib=$(python3 - "$E" "$work/rarchive" "$work/random.bin" <<'PY'
import resource, subprocess, sys
subprocess.run([sys.argv[1], "--archive", sys.argv[2], "capture", sys.argv[3]],
               check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
)
rss_mib=$(python3 -c "print(f'{$rss_kib / 1024:.1f}')")
echo "   peak RSS ${rss_mib} MiB (target <= 128 MiB)"

if [ "${LOOKUPS:-0}" = 1 ] && [ -x bench/lookup.sh ]; then
  echo "== look-ups (bench/lookup.sh)"
  bench/lookup.sh
fi

echo
echo "== summary (medians of $RUNS runs; ratio = exhibit / stock, lower is better)"
printf '%-8s %10s %10s %8s   %s\n' "" "exhibit" "stock" "ratio" "what"
for r in "${results[@]}"; do echo "$r"; done
echo "rss      ${rss_mib} MiB peak for a 512 MiB capture"

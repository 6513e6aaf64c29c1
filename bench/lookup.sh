#!/usr/bin/env bash
# Look-up times at 10k, 100k and 1M captures (issue #8: look-ups stay O(log n)).
#
#   bench/lookup.sh [WORKDIR]
#
# Builds the release `exhibit` and the `synthetic_archive` example, creates one synthetic
# archive per size under WORKDIR (default: $TMPDIR/exhibit-lookup-bench; kept and reused on the
# next run, delete it to regenerate), captures one real file into each (the "probe": a capture
# whose manifest, signature, object and log leaf all exist, so `show` and `verify --hash` run to
# the end), then times each command with the real binary: the median of RUNS runs after one
# warm-up run (warm page cache), wall clock including process start; the runs of the sizes are
# interleaved so that load from elsewhere falls on all of them alike.
#
# Environment: SIZES (default "10000 100000 1000000"), RUNS (default 5), EXHIBIT (a prebuilt
# exhibit binary: skips building it), CARGO_TARGET_DIR as usual.
# The 1M archive takes about 1.5 GB and a minute or two to generate.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
work=${1:-${TMPDIR:-/tmp}/exhibit-lookup-bench}
sizes=${SIZES:-10000 100000 1000000}
runs=${RUNS:-5}

cd "$root"
if [ -z "${EXHIBIT:-}" ]; then
    cargo build --quiet --release --bin exhibit
    EXHIBIT=$target/release/exhibit
fi
cargo build --quiet --release -p exhibit-store --example synthetic_archive
generator=$target/release/examples/synthetic_archive

mkdir -p "$work"
probe=$work/probe-terms.txt
printf '# Probe terms\n\nThe probe document, captured for real on top of the synthetic rows.\n' >"$probe"

for n in $sizes; do
    dir=$work/n$n
    info=$work/n$n.info
    if [ -f "$info" ] && [ -d "$dir" ]; then
        continue
    fi
    rm -rf "$dir" "$info"
    echo "generating $n captures in $dir ..." >&2
    "$generator" "$dir" "$n" >"$info.tmp"
    "$EXHIBIT" --archive "$dir" --json capture "$probe" >"$info.probe"
    python3 - "$info.probe" >>"$info.tmp" <<'EOF'
import json, sys
c = json.loads(open(sys.argv[1]).readline())
print(f"probe_capture={c['capture_id']}")
print(f"probe_version={c['version_id']}")
print(f"probe_document={c['document_id']}")
print(f"probe_sha256={c['sha256']}")
EOF
    rm -f "$info.probe"
    mv "$info.tmp" "$info"
done

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"\
     "$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "binary:  $EXHIBIT"
echo "median of $runs runs after a warm-up (warm page cache), including process start; CPU time"
echo "is the command's own user+system time, which load from other processes hardly affects"
echo

python3 - "$EXHIBIT" "$work" "$runs" $sizes <<'EOF'
import os, statistics, subprocess, sys, tempfile, time

exhibit, work, runs, sizes = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]

def info(n):
    out = {}
    for line in open(f"{work}/n{n}.info"):
        k, _, v = line.strip().partition("=")
        out[k] = v
    return out

def commands(i):
    n = int(i["captures"])
    mid = f"EX-C-{n // 2:06d}"
    mid_doc = f"EX-D-{int(i['documents']) // 2:06d}"
    probe = i["probe_sha256"]
    return [
        ("show HASH-PREFIX (16)", ["show", probe[:16]], 0),
        ("show CAPTURE-ID", ["show", i["probe_capture"]], 0),
        ("show PREFIX (no match)", ["show", "0123456789abcdef"], None),
        ("verify --hash PREFIX", ["verify", "--hash", probe[:16]], 0),
        ("list --limit 20", ["list", "--limit", "20"], 0),
        ("list --limit 20 --before MID", ["list", "--limit", "20", "--before", mid], 0),
        ("list --document BIGGEST", ["list", "--limit", "20", "--document", i["biggest_document"]], 0),
        ("list --document PROBE (1 capt.)", ["list", "--limit", "20", "--document", i["probe_document"]], 0),
        ("history BIGGEST (2000 capt.)", ["history", i["biggest_document"]], 0),
        ("documents", ["documents"], 0),
        ("documents --after MID", ["documents", "--after", mid_doc], 0),
        ("bundle VERSION-ID", ["bundle", "--out", f"{work}/probe.tar.zst", i["probe_version"]], 0),
    ]

def run(dir, args, want):
    """Runs one command: (wall-clock ms, CPU ms of the process: user + system)."""
    if "--out" in args:  # bundle never replaces a file
        out = args[args.index("--out") + 1]
        if os.path.exists(out):
            os.remove(out)
    with tempfile.TemporaryFile() as err:
        t = time.perf_counter_ns()
        p = subprocess.Popen([exhibit, "--archive", dir, *args], stdout=subprocess.DEVNULL,
                             stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = (time.perf_counter_ns() - t) / 1e6
        p.returncode = os.waitstatus_to_exitcode(status)
        if want is not None and p.returncode != want:
            err.seek(0)
            sys.exit(f"{' '.join(args)} on {dir}: exit {p.returncode}: {err.read().decode()[-500:]}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000

# Rounds interleave the sizes, so that load from elsewhere on the machine falls on all of them.
infos = {n: info(n) for n in sizes}
cmds = {n: commands(infos[n]) for n in sizes}
labels = [label for label, _, _ in cmds[sizes[0]]]
times = {}
for n in sizes:  # warm-up: page cache, and the bundle's checkpoint
    for label, args, want in cmds[n]:
        run(f"{work}/n{n}", args, want)
for _ in range(runs):
    for k, label in enumerate(labels):
        for n in sizes:
            _, args, want = cmds[n][k]
            times.setdefault((label, n), []).append(run(f"{work}/n{n}", args, want))

def fmt_n(n):
    n = int(n)
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)

def table(title, which):
    results = {key: statistics.median(t[which] for t in v) for key, v in times.items()}
    head = f"{title:<32}" + "".join(f"{fmt_n(n):>10}" for n in sizes)
    if len(sizes) > 1:
        head += f"{fmt_n(sizes[-1]) + '/' + fmt_n(sizes[0]):>10}"
    print(head)
    worst = 0.0
    for label in labels:
        row = f"{label:<32}" + "".join(f"{results[(label, n)]:>10.1f}" for n in sizes)
        if len(sizes) > 1:
            ratio = results[(label, sizes[-1])] / results[(label, sizes[0])]
            worst = max(worst, ratio)
            row += f"{ratio:>9.2f}x"
        print(row)
    if len(sizes) > 1:
        print(f"{'worst ratio':<32}{'':>{10 * len(sizes)}}{worst:>9.2f}x   (target: at most 1.5x)")
    print()

table("wall clock, ms (median)", 0)
table("CPU time (user+sys), ms (median)", 1)
EOF

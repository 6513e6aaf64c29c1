#!/usr/bin/env bash
# Time to first byte of `exhibit serve`'s pages at 10k and 1M captures (issue #24: the first
# byte of any page at 1M captures within 1.5x of the same page at 10k).
#
#   bench/serve.sh [WORKDIR]
#
# Uses the synthetic archives of bench/lookup.sh: the same WORKDIR (default
# $TMPDIR/exhibit-lookup-bench), made the same way (the `synthetic_archive` example, then one
# real file captured on top, the "probe"), so an archive of a size is generated once for both
# benches. On top of that, once per archive, a "serve probe": an HTML policy captured twice with
# a change (a document with two real versions: a record page whose checks run to the end, a
# diff, a feed entry). Then starts the release `exhibit serve --listen 127.0.0.1:0 --no-notify`
# on each archive and measures each page's time to first byte with curl
# (`%{time_starttransfer}`: connect, request, and the server's work up to its first byte): the
# median of RUNS requests after one warm-up request (warm page cache), the sizes interleaved
# so that load from elsewhere falls on all of them alike. Every answer must be a 200.
#
# Environment: SIZES (default "10000 1000000"), RUNS (default 7), EXHIBIT (a prebuilt exhibit
# binary: skips building it), CARGO_TARGET_DIR as usual.
# The 1M archive takes about 1.5 GB and a minute or two to generate.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
work=${1:-${TMPDIR:-/tmp}/exhibit-lookup-bench}
sizes=${SIZES:-10000 1000000}
runs=${RUNS:-7}

cd "$root"
if [ -z "${EXHIBIT:-}" ]; then
    cargo build --quiet --release --bin exhibit
    EXHIBIT=$target/release/exhibit
fi
command -v curl >/dev/null || { echo "bench/serve.sh needs curl" >&2; exit 2; }

mkdir -p "$work"
# The archives, exactly as bench/lookup.sh makes them (keep the two in step).
probe=$work/probe-terms.txt
printf '# Probe terms\n\nThe probe document, captured for real on top of the synthetic rows.\n' >"$probe"
for n in $sizes; do
    dir=$work/n$n
    info=$work/n$n.info
    if [ -f "$info" ] && [ -d "$dir" ]; then
        continue
    fi
    if [ -z "${generator:-}" ]; then
        cargo build --quiet --release -p exhibit-store --example synthetic_archive
        generator=$target/release/examples/synthetic_archive
    fi
    rm -rf "$dir" "$info" "$work/n$n.serve"
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

# The serve probe: two versions of one HTML policy.
page() {
    printf '<!doctype html><html><head><meta charset="utf-8"><title>Serve Probe Privacy Notice</title></head>
<body><h1>Serve Probe Privacy Notice</h1><p>Last updated: %s</p><p>%s</p>
<p>We share data only with processors bound by contract.</p></body></html>\n' "$1" "$2"
}
page "March 3, 2026" "Your messages are never used to train our models." >"$work/serve-probe-v1.html"
page "April 30, 2026" "Your messages may be used to train our models." >"$work/serve-probe-v2.html"
probe_url=https://serve-probe.example/privacy-notice
for n in $sizes; do
    dir=$work/n$n
    serve_info=$work/n$n.serve
    # Made after the archive's .info (an archive lookup.sh generated anew has no serve probe yet).
    [ "$serve_info" -nt "$work/n$n.info" ] && continue
    "$EXHIBIT" --archive "$dir" --json capture "$work/serve-probe-v1.html" --url "$probe_url" \
        --entity "Serve Probe Ltd" >"$serve_info.1"
    "$EXHIBIT" --archive "$dir" --json capture "$work/serve-probe-v2.html" --url "$probe_url" \
        >"$serve_info.2"
    python3 - "$serve_info.1" "$serve_info.2" >"$serve_info.tmp" <<'EOF'
import json, sys
v1, v2 = (json.loads(open(f).readline()) for f in sys.argv[1:3])
assert v2["changed"], v2
print(f"serve_capture={v2['capture_id']}")
print(f"serve_document={v2['document_id']}")
print(f"serve_v1={v1['version_id']}")
print(f"serve_v2={v2['version_id']}")
print(f"serve_sha256={v2['sha256']}")
EOF
    rm -f "$serve_info.1" "$serve_info.2"
    mv "$serve_info.tmp" "$serve_info"
done

# One server per archive, stopped on exit.
pids=()
stop() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap stop EXIT
urls=()
for n in $sizes; do
    out=$work/serve-n$n.out
    rm -f "$out"
    "$EXHIBIT" --archive "$work/n$n" serve --listen 127.0.0.1:0 --no-notify >"$out" 2>"$work/serve-n$n.err" &
    pids+=($!)
    url=""
    for _ in $(seq 600); do
        url=$(grep -m1 -o 'http://[^ ]*' "$out" 2>/dev/null || true)
        [ -n "$url" ] && break
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$url" ]; then
        echo "exhibit serve on $work/n$n printed no URL: $(cat "$work/serve-n$n.err")" >&2
        exit 1
    fi
    urls+=("$n=$url")
done

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"\
     "$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "binary:  $EXHIBIT"
echo "time to first byte (curl time_starttransfer), median of $runs requests after a warm-up"
echo

python3 - "$work" "$runs" "${urls[@]}" <<'EOF'
import statistics, subprocess, sys

work, runs, pairs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
servers = dict(p.split("=", 1) for p in pairs)
sizes = list(servers)

def info(n):
    out = {}
    for name in (f"{work}/n{n}.info", f"{work}/n{n}.serve"):
        for line in open(name):
            k, _, v = line.strip().partition("=")
            out[k] = v
    return out

def pages(i):
    doc = i["serve_document"]
    mid = max(1, int(i["documents"]) // 2)
    return [
        ("/ (documents)", "/"),
        ("/?q=SHA256-PREFIX (12)", f"/?q={i['serve_sha256'][:12]}"),
        ("/?q=URL-WORD", "/?q=serve-probe"),
        ("/documents/PROBE", f"/documents/{doc}"),
        ("/records/PROBE-CAPTURE", f"/records/{i['serve_capture']}"),
        ("/diff?from=V1&to=V2", f"/diff?from={i['serve_v1']}&to={i['serve_v2']}"),
        ("/feed.atom", "/feed.atom"),
        ("/documents/PROBE/feed.atom", f"/documents/{doc}/feed.atom"),
        ("/feed.atom?entity=PROBE", "/feed.atom?entity=Serve%20Probe%20Ltd"),
        ("/?entity=PROBE", "/?entity=Serve%20Probe%20Ltd"),
        ("/?after=MID", f"/?after={mid}"),
    ]

def ttfb(url):
    """Milliseconds to the first byte of one GET of url (which must answer 200)."""
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_starttransfer}", url],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    if out[0] != "200":
        sys.exit(f"GET {url}: HTTP {out[0]}")
    return float(out[1]) * 1000

plist = {n: pages(info(n)) for n in sizes}
labels = [label for label, _ in plist[sizes[0]]]
for n in sizes:  # warm-up
    for _, path in plist[n]:
        ttfb(servers[n].rstrip("/") + path)
times = {}
for _ in range(runs):
    for k, label in enumerate(labels):
        for n in sizes:
            path = plist[n][k][1]
            times.setdefault((label, n), []).append(ttfb(servers[n].rstrip("/") + path))

def fmt_n(n):
    n = int(n)
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)

results = {key: statistics.median(v) for key, v in times.items()}
head = f"{'page':<30}" + "".join(f"{fmt_n(n) + ' ms':>12}" for n in sizes)
if len(sizes) > 1:
    head += f"{'ratio':>9}"
print(head)
worst = 0.0
for label in labels:
    row = f"{label:<30}" + "".join(f"{results[(label, n)]:>12.2f}" for n in sizes)
    if len(sizes) > 1:
        ratio = results[(label, sizes[-1])] / results[(label, sizes[0])]
        worst = max(worst, ratio)
        row += f"{ratio:>8.2f}x"
    print(row)
if len(sizes) > 1:
    print(f"{'worst ratio':<30}{'':>{12 * len(sizes)}}{worst:>8.2f}x   (target: at most 1.5x)")
EOF

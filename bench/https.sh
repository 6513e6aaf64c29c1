#!/usr/bin/env bash
# What recording connections costs a plain (non-browser) capture: the same N documents captured
# over HTTP and over HTTPS from a local server, and, with OLD=path/to/an/older/exhibit, over
# HTTP by a build from before the connection record (which pooled connections and recorded no
# address or handshake). Prints medians of RUNS runs and their ratios.
#
#   bench/https.sh                         # 500 documents of ../shared/corpus/stress, 3 runs
#   N=1000 RUNS=5 OLD=/work/before/target/release/exhibit bench/https.sh
#
# The server is Python's threading http.server (with an ssl context for HTTPS) serving the
# corpus directory; the same server code answers both sides, so the ratios compare exhibit.
# Each HTTPS capture makes its own connection and full handshake (FORMAT §3.10: no pooling, no
# resumption), with a P-256 leaf under a private root given by --ca-cert.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
N=${N:-500}
JOBS=${JOBS:-2}
CORPUS=${CORPUS:-../shared/corpus/stress}
[ -d "$CORPUS" ] || { echo "https.sh: corpus $CORPUS not found (set CORPUS=DIR)" >&2; exit 2; }
cargo build --release --quiet -p exhibit
E="$PWD/target/release/exhibit"
CORPUS=$(cd "$CORPUS" && pwd)
mkdir -p target
work=$(mktemp -d "${BENCH_DIR:-$PWD/target}/exhibit-https.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# A root CA and a leaf for 127.0.0.1 (EC P-256).
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=bench root" -keyout root.key -out root.pem \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout leaf.key -out leaf.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA root.pem -CAkey root.key -CAcreateserial -days 2 \
  -extfile leaf.ext -out leaf.pem 2>/dev/null

cat > serve.py <<'EOF'
import functools, http.server, ssl, sys
directory, port, tls = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "tls"
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
handler = functools.partial(Quiet, directory=directory)
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
if tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain("leaf.pem", "leaf.key")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
EOF
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP_PORT=$(port); HTTPS_PORT=$(port)
python3 serve.py "$CORPUS" "$HTTP_PORT" plain > http.log 2>&1 & pids+=($!)
python3 serve.py "$CORPUS" "$HTTPS_PORT" tls > https.log 2>&1 & pids+=($!)
for _ in $(seq 50); do grep -q ready http.log && grep -q ready https.log && break; sleep 0.1; done

# N files of the corpus (it nests them in directories), as URL paths.
python3 - "$CORPUS" "$N" > names <<'EOF2'
import os, sys, urllib.parse
root, n = sys.argv[1], int(sys.argv[2])
paths = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
for p in paths[:n]:
    print(urllib.parse.quote(p))
EOF2
sed "s|^|http://127.0.0.1:$HTTP_PORT/|" names > http.list
sed "s|^|https://127.0.0.1:$HTTPS_PORT/|" names > https.list

now() { date +%s%N; }
# run BIN LIST [ARGS...]: seconds to capture LIST into a fresh archive.
run() {
  local bin=$1 list=$2 dir t0 t1
  shift 2
  dir=$(mktemp -d "$work/a.XXXXXX")
  "$bin" --archive "$dir" init >/dev/null
  t0=$(now)
  "$bin" --archive "$dir" capture --list "$list" --jobs "$JOBS" "$@" >/dev/null
  t1=$(now)
  python3 -c "print(f'{($t1 - $t0) / 1e9:.3f}')"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { for _ in $(seq "$RUNS"); do run "$@"; done | median; }

echo "== $N documents, --jobs $JOBS, median of $RUNS runs"
http=$(measure "$E" http.list)
https=$(measure "$E" https.list --ca-cert root.pem)
printf '  http   (this build)   %8.3f s  %6.0f captures/s\n' "$http" "$(python3 -c "print($N/$http)")"
printf '  https  (this build)   %8.3f s  %6.0f captures/s  https/http %.2fx\n' "$https" \
  "$(python3 -c "print($N/$https)")" "$(python3 -c "print($https/$http)")"
if [ -n "${OLD:-}" ]; then
  old=$(measure "$OLD" http.list)
  printf '  http   (OLD build)    %8.3f s  %6.0f captures/s  this/OLD %.2fx\n' "$old" \
    "$(python3 -c "print($N/$old)")" "$(python3 -c "print($http/$old)")"
fi

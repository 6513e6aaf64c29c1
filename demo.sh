#!/usr/bin/env bash
# exhibit demo — runs offline on synthetic policy pages (tests/fixtures, demo/): serves them on 127.0.0.1, captures them,
# changes the privacy policy, captures again, and checks the evidence with stock tools.
#
#   ./demo.sh                    build (release), run, then serve the archive's pages until Ctrl-C
#   ./demo.sh --no-serve         the same, but stop after checking the served pages (CI runs this)
#   EXHIBIT_DEMO_KEEP=1 ./demo.sh  keep the demo archive afterwards
set -euo pipefail
cd "$(dirname "$0")"
serve_after=1
for arg in "$@"; do
  case "$arg" in
    --no-serve) serve_after=0 ;;
    *) echo "usage: ./demo.sh [--no-serve]" >&2; exit 2 ;;
  esac
done

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "Building exhibit (release)"
cargo build --release --quiet -p exhibit -p exhibit-verify
exhibit_bin="$PWD/target/release/exhibit"
exhibit() { "$exhibit_bin" "$@"; }
exhibit_verify() { "$PWD/target/release/exhibit-verify" "$@"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/exhibit-demo.XXXXXX")
server_pid=""
tsa_pid=""
witness_pid=""
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$tsa_pid" ] && kill "$tsa_pid" 2>/dev/null || true
  [ -n "$witness_pid" ] && kill "$witness_pid" 2>/dev/null || true
  if [ "${EXHIBIT_DEMO_KEEP:-0}" = 1 ]; then echo "Demo archive kept at $work/archive"; else rm -rf "$work"; fi
}
trap cleanup EXIT

site="$work/site"
mkdir -p "$site"
cp tests/fixtures/policy-v1.html "$site/privacy"
cp demo/terms.html "$site/terms"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$site" "$port" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"

export EXHIBIT_ARCHIVE="$work/archive"
step "Create an archive (a fresh Ed25519 signing key is generated)"
run exhibit init --origin demo.exhibit.example

step "Capture two policies over HTTP"
run exhibit capture "$base/privacy" --entity "Example Corp" --title "Example Corp Privacy Policy"
run exhibit capture "$base/terms" --entity "Example Corp"

step "Capture again: nothing changed, the current version is confirmed"
run exhibit capture "$base/privacy"

step "The company edits its privacy policy; the next capture opens a new version"
cp tests/fixtures/policy-v2.html "$site/privacy"
run exhibit --json capture "$base/privacy"

step "A page that is gone is still evidence: a signed failed-capture record (exit 1)"
run exhibit capture "$base/cookies" || echo "(exit $? — as expected)"

step "History of the privacy policy"
run exhibit history "$base/privacy"

step "What changed between the two versions of the privacy policy"
run exhibit diff EX-V-000001 EX-V-000003
run exhibit diff EX-V-000001 EX-V-000003 --word --context 0

step "Show the latest privacy capture; its signature is checked as it is shown"
run exhibit show EX-C-000004

step "Check it without exhibit: the signature with openssl ..."
manifest="$EXHIBIT_ARCHIVE/manifests/C/000/EX-C-000004.json"
run openssl pkeyutl -verify -pubin -inkey "$EXHIBIT_ARCHIVE/keys/signing.pub.pem" -rawin \
  -in "$manifest" -sigfile "$manifest.sig"

step "... and the stored bytes with zstd and sha256sum (compare with SHA-256 above)"
sha=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["content"]["sha256"])' "$manifest")
object="$EXHIBIT_ARCHIVE/objects/${sha:0:2}/$sha.zst"
printf '$ zstd -dcq %s | sha256sum\n' "$object"
zstd -dcq "$object" | sha256sum

step "A forged manifest fails the same check"
sed 's/Example Corp/Example C0rp/' "$manifest" > "$work/forged.json"
openssl pkeyutl -verify -pubin -inkey "$EXHIBIT_ARCHIVE/keys/signing.pub.pem" -rawin \
  -in "$work/forged.json" -sigfile "$manifest.sig" || echo "(rejected — as expected)"

step "The signer's fingerprint, as ssh-keygen -l would print it"
run exhibit key show

step "The append-only log: a signed checkpoint (keep it: it pins today's history)"
printf '$ exhibit log checkpoint > checkpoint-then\n'
exhibit log checkpoint > "$work/checkpoint-then"
cat "$work/checkpoint-then"

step "Capture more, then prove that today's log still extends that checkpoint"
run exhibit capture "$base/terms"
run exhibit log consistency "$work/checkpoint-then"

step "Hand over evidence: a signed bundle of the privacy policy's captures"
fingerprint=$(exhibit --json key show | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
run exhibit bundle "$base/privacy" --out "$work/evidence.tar.zst"

step "The other side verifies it offline with the standalone verifier, pinning the fingerprint"
run exhibit_verify "$work/evidence.tar.zst" --key "$fingerprint"

step "... or with stock tools alone, following VERIFY.txt inside the bundle"
(cd "$work" && tar --zstd -xOf evidence.tar.zst evidence/VERIFY.txt | sed -n 's/^\$ //p' \
  | grep -v '^bagit.py' > verify-steps.sh && bash -e verify-steps.sh >/dev/null && echo "every VERIFY.txt step passed")

step "Cite the latest privacy capture, as a filing would (16-hex hash and an ellipsis)"
run exhibit cite EX-C-000004 --short
exhibit cite EX-C-000004 --short > "$work/citation.txt"

step "Months later, someone pastes that record out of a PDF (CRLFs, indentation, prose) and checks it"
python3 - "$work/citation.txt" "$work/pasted.txt" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
text = "As recorded in Exhibit 7:\r\n" + "".join("    " + l + "\r\n" for l in lines) + "See paragraph 12.\r\n"
open(sys.argv[2], "w", encoding="utf-8", newline="").write(text)
PY
run exhibit verify --citation "$work/pasted.txt"

step "One field changed (the URL) and the same check fails, naming the field (exit 1)"
sed 's#/privacy#/privacy-old#' "$work/pasted.txt" > "$work/altered.txt"
exhibit verify --citation "$work/altered.txt" | grep -E 'URL|FAILED' || echo "(exit 1 — as expected)"

step "Quote a clause of the first version (a signed, logged provision), and see whether it survived"
run exhibit cite EX-V-000001 --quote "We do not use your content to train our models."
run exhibit show EX-P-000001

step "Trusted time: an RFC 3161 Time-Stamp Authority stamps the log (a local one: openssl ts behind HTTP)"
python3 tools/tsa-server.py --dir "$work/tsa" > "$work/tsa.out" 2>&1 &
tsa_pid=$!
for _ in $(seq 100); do grep -q '^CA:' "$work/tsa.out" 2>/dev/null && break; sleep 0.1; done
tsa_url=$(sed -n 's/^TSA URL: //p' "$work/tsa.out")
run exhibit tsa add "$tsa_url" --ca "$work/tsa/ca.pem"
run exhibit log timestamp

step "A witness (C2SP tlog-witness) cosigns each checkpoint after checking it extends the last it saw"
printf '$ exhibit witness serve --dir %s --log "$(exhibit log key)" &\n' "$work/witness"
# The binary itself in the background (not the shell function), so that $! is the witness.
"$exhibit_bin" witness serve --listen 127.0.0.1:0 --dir "$work/witness" --log "$(exhibit log key)" \
  --name witness.demo/w1 > "$work/witness.out" 2>/dev/null &
witness_pid=$!
for _ in $(seq 100); do [ -s "$work/witness.out" ] && break; sleep 0.1; done
read -r witness_vkey witness_url < "$work/witness.out"
run exhibit witness add "$witness_url" --vkey "$witness_vkey" --name w1
run exhibit log witness

step "A bundle now carries the token and the cosignature beside its checkpoint: exhibit-verify and openssl ts check them"
run exhibit bundle EX-P-000001 --out "$work/stamped.tar.zst"
run exhibit_verify "$work/stamped.tar.zst" --key "$fingerprint" --tsa-ca "$work/tsa/ca.pem" \
  --witness "$witness_vkey"
(cd "$work" && mkdir -p stamped-check && tar --zstd -xf stamped.tar.zst -C stamped-check \
  && openssl ts -verify -data stamped-check/stamped/exhibit/checkpoint \
       -in stamped-check/stamped/exhibit/checkpoint.tsr -CAfile tsa/ca.pem)

if command -v "${EXHIBIT_CHROMIUM:-chromium}" >/dev/null 2>&1; then
  step "What the reader saw: the terms page in headless Chromium (every response, the DOM, a screenshot, a PDF)"
  cp "$site/terms" "$site/terms.html"   # served as text/html, so that a browser shows it
  printf '$ exhibit --json capture %s --browser\n' "$base/terms.html"
  browser_id=$(exhibit --json capture "$base/terms.html" --browser \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["capture_id"])')
  exhibit show "$browser_id" | sed -n '/^Browser/,/^Resources/p'
  printf '$ exhibit cat %s --screenshot > terms.png\n' "$browser_id"
  exhibit cat "$browser_id" --screenshot > "$work/terms.png"
  python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(); print("screenshot: PNG, %dx%d pixels" % struct.unpack(">II", d[16:24]))' "$work/terms.png"
else
  step "Browser captures: skipped (no chromium on PATH; on Debian: apt install chromium)"
fi

step "A report a court can read: PDF and HTML, signed, rebuilt and checked by exhibit-verify"
report_records="EX-D-000001 EX-P-000001 ${browser_id:-}"
run exhibit report $report_records --out "$work/report.pdf" --html "$work/report.html"
if command -v pdfinfo >/dev/null 2>&1; then
  pdfinfo "$work/report.pdf" | grep -E '^(Title|Pages|Page size):'
  pdftotext -layout -f 2 -l 2 "$work/report.pdf" - | sed -n '1,14p'
fi
run exhibit bundle $report_records --out "$work/reported.tar.zst"
run exhibit_verify "$work/reported.tar.zst" --key "$fingerprint" --tsa-ca "$work/tsa/ca.pem"

step "The same records as a web archive: WARC 1.1 with the signed manifests as metadata records"
run exhibit export --warc "$work/evidence.warc.gz" EX-D-000001 EX-P-000001
if command -v warcio >/dev/null 2>&1; then
  printf '$ warcio check -v %s\n' "$work/evidence.warc.gz"
  warcio check -v "$work/evidence.warc.gz" > "$work/warcio-check.txt"
  printf 'warcio: %s records, %s with "digest pass"\n' \
    "$(grep -c 'WARC-Record-ID' "$work/warcio-check.txt")" "$(grep -c 'digest pass' "$work/warcio-check.txt")"
fi

step "A WACZ package for ReplayWeb.page and pywb that carries the bundle; a WARC imported elsewhere"
run exhibit export --wacz "$work/evidence.wacz" EX-D-000001 EX-P-000001
printf '$ exhibit-verify %s --key %s | grep …\n' "$work/evidence.wacz" "$fingerprint"
exhibit_verify "$work/evidence.wacz" --key "$fingerprint" > "$work/wacz-verify.txt"
grep -E '^(Checks|Report)|WACZ package' "$work/wacz-verify.txt"
run exhibit --archive "$work/second" init --origin second.exhibit.example
run exhibit --archive "$work/second" import "$work/evidence.warc.gz"

step "Rotate the signing key: old records keep verifying; a reader pinned to the first key follows the signed handover"
old_log_key=$(exhibit log key)
run exhibit key rotate
step "The witness follows the rotation: its operator adds the archive's new log key beside the old"
witness_addr=${witness_url#http://}
witness_addr=${witness_addr%%/*}
kill "$witness_pid" 2>/dev/null || true
wait "$witness_pid" 2>/dev/null || true
: > "$work/witness.out"
printf '$ exhibit witness serve --dir %s --log "%s" --log "$(exhibit log key)" &\n' "$work/witness" "$old_log_key"
"$exhibit_bin" witness serve --listen "$witness_addr" --dir "$work/witness" --log "$old_log_key" \
  --log "$(exhibit log key)" --name witness.demo/w1 > "$work/witness.out" 2>/dev/null &
witness_pid=$!
for _ in $(seq 100); do [ -s "$work/witness.out" ] && break; sleep 0.1; done
run exhibit capture "$base/terms"
run exhibit witness list
run exhibit key history
run exhibit bundle "$base/privacy" "$base/terms" --out "$work/rotated.tar.zst"
printf '$ exhibit-verify %s --key %s | tail -1\n' "$work/rotated.tar.zst" "$fingerprint"
exhibit_verify "$work/rotated.tar.zst" --key "$fingerprint" | tail -1

step "Browse the archive: documents, timelines, diffs, Atom feeds, and record pages whose checks run as they are served"
: > "$work/serve.out"
printf '$ exhibit serve --listen 127.0.0.1:0 &\n'
"$exhibit_bin" serve --listen 127.0.0.1:0 > "$work/serve.out" 2>/dev/null &
serve_pid=$!
for _ in $(seq 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
serve_url=$(grep -o 'http://[^ ]*' "$work/serve.out" | head -1)
[ -n "$serve_url" ] || { echo "exhibit serve did not start" >&2; exit 1; }
printf '$ curl -s %srecords/EX-C-000001 | grep data-check=\"hash\"\n' "$serve_url"
python3 - "${serve_url}records/EX-C-000001" <<'PY'
import re, sys, urllib.request
page = urllib.request.urlopen(sys.argv[1]).read().decode()
mark = re.search(r'<li class="check ok" data-check="hash">.*?</li>', page)
if not mark:
    sys.exit("the record page does not say the hash is verified")
print(re.sub(r"<[^>]+>", "", mark.group(0)))
PY

printf '\nDone. Every capture above is a signed manifest; see docs/VERIFYING.md.\n'
if [ "$serve_after" = 1 ]; then
  printf '\nThe demo archive is served at %s — open it in a browser; Ctrl-C stops (and deletes the demo archive).\n' "$serve_url"
  wait "$serve_pid"
else
  printf '\nThe demo archive was served at %s (--no-serve: stopped).\n' "$serve_url"
fi

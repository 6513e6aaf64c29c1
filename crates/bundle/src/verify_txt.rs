//! VERIFY.txt: a literal recipe for checking the bundle with stock tools.
//!
//! Every line that starts with `$ ` is a command that works when pasted (without the `$ `) into
//! a POSIX shell on Linux or macOS with OpenSSL 3, run from the directory holding the bundle
//! file. The commands only read the bag, except for the extraction and one scratch file outside
//! it. Tests run them exactly as written.

use std::fmt::Write as _;

use crate::contents::{Bundle, BundleRecord};
use crate::layout::{self, shell_quote as sh};

/// Renders VERIFY.txt for a bundle.
pub(crate) fn render(bundle: &Bundle<'_>, records: &[BundleRecord], seal_fp: &str) -> String {
    let file = &sh(&bundle.file_name);
    let bag = &bundle.name;
    let check_dir = format!("{bag}-check");
    let seal_key = layout::key_path(seal_fp);
    let mut s = String::new();
    let _ = write!(
        s,
        "How to verify this evidence bundle with stock tools
===================================================

{file} is a BagIt 1.0 bag holding {n} signed record(s) from the exhibit archive
\"{origin}\", sealed by the key {seal_fp}.

You need a POSIX shell, tar and zstd, sha256sum (on macOS: `shasum -a 256` wherever
sha256sum appears), OpenSSL 3, and for step 2b bagit.py (`pip install bagit`). Lines that start
with \"$ \" are commands: paste them without the \"$ \", in the directory that holds {file}.
Every command must succeed; any failure means the bundle is not what it claims to be.
The standalone verifier does all of this in one step: exhibit-verify {file} --key {seal_fp}

1. Extract the bag into a new directory and enter it.

$ mkdir -p {check_dir} && tar --zstd -xf {file} -C {check_dir}
$ cd {check_dir}/{bag}

   (A tar without --zstd: zstd -dc {file} | tar -xf - -C {check_dir})

2. Check every file against the bag's manifests: each line must end in OK.

$ sha256sum -c manifest-sha256.txt
$ sha256sum -c tagmanifest-sha256.txt

2b. bagit.py checks the same and the bag's structure (completeness, Payload-Oxum):

$ bagit.py --validate .

3. Pin the key. A signature proves only that the holder of a key signed; make sure the key is
   the one you expect. This prints its fingerprint, computed the way `ssh-keygen -l` does:

$ openssl pkey -pubin -in {seal_key} -outform DER | tail -c 32 > ../key.raw
$ {{ printf '\\000\\000\\000\\013ssh-ed25519\\000\\000\\000\\040'; cat ../key.raw; }} | openssl dgst -sha256 -binary | base64 | tr -d '='

   It must print {seal_b64}, i.e. {seal_fp}, and that must match the
   fingerprint you obtained independently (from the filing that cites these records, or from
   the archive operator).

4. Check the seal: the signature over tagmanifest-sha256.txt, which lists the SHA-256 of every
   other tag file, including manifest-sha256.txt, which lists every payload file.

$ openssl pkeyutl -verify -pubin -inkey {seal_key} -rawin -in tagmanifest-sha256.txt -sigfile tagmanifest-sha256.txt.sig

5. Check each record's signed manifest (verify the file exactly as it is; never reformat it):

",
        n = records.len(),
        origin = bundle.origin,
        seal_b64 = seal_fp.trim_start_matches("SHA256:"),
    );
    for r in records {
        let m = layout::manifest_path(&r.id);
        let key = layout::key_path(r.manifest.signer());
        let _ = writeln!(
            s,
            "$ openssl pkeyutl -verify -pubin -inkey {key} -rawin -in {m} -sigfile {m}.sig"
        );
    }
    if let Some(first) = records.iter().find(|r| r.tlog_proof.is_some()) {
        let key = layout::key_path(first.manifest.signer());
        let sig_prefix = sh(&format!("— {} ", first.manifest.origin()));
        let note = match &bundle.checkpoint {
            Some(_) => layout::CHECKPOINT.to_owned(),
            None => "../checkpoint.note".to_owned(),
        };
        let _ = write!(
            s,
            "
5b. Check the log checkpoint. Each record's exhibit/proofs/<id>.tlog-proof holds its position
   in the archive's append-only Merkle log, the inclusion path, and a checkpoint (origin, tree
   size, root hash) signed as a C2SP signed note with the same key. These commands check that
   every proof names the same checkpoint and the checkpoint's signature; the inclusion path is
   checked by exhibit-verify or any RFC 9162 implementation (docs/VERIFYING.md shows the
   algorithm).

"
        );
        if bundle.checkpoint.is_some() {
            let _ = writeln!(
                s,
                "$ bad=0; for p in exhibit/proofs/*.tlog-proof; do sed '1,/^$/d' \"$p\" | cmp - {note} || bad=1; done; test $bad = 0"
            );
        } else {
            let _ = writeln!(
                s,
                "$ sed '1,/^$/d' {} > {note}",
                layout::proof_path(&first.id)
            );
        }
        let _ = write!(
            s,
            "$ sed '/^$/,$d' {note} > ../checkpoint.txt
$ grep -F {sig_prefix} {note} | head -n 1 | awk '{{print $NF}}' | base64 -d | tail -c 64 > ../checkpoint.sig
$ openssl pkeyutl -verify -pubin -inkey {key} -rawin -in ../checkpoint.txt -sigfile ../checkpoint.sig
$ cat ../checkpoint.txt

   The last command prints the log's origin, its tree size and root hash at the time of the
   bundle. Keep it: a later checkpoint of the same log must be consistent with it
   (`exhibit log consistency` proves that for the operator).
"
        );
    }
    if bundle.checkpoint.is_some() && !bundle.timestamps.is_empty() {
        let _ = write!(
            s,
            "
5c. Check the trusted timestamp{plural}. Each .tsr file is an RFC 3161 time-stamp token in which
   a Time-Stamp Authority (TSA) signed the SHA-256 of the file beside it (a byte-identical copy
   of exhibit/checkpoint) together with a time: every record this checkpoint covers existed no
   later than that time, whatever the archive's own clock said. Get the TSA's CA certificate
   from the TSA itself, not from this bundle, and save it as tsa-ca.pem beside {file} (for
   several TSAs, concatenate their CA certificates into that one file). Each verify command
   must print \"Verification: OK\"; the -text command prints the time (\"Time stamp:\").

",
            plural = if bundle.timestamps.len() > 1 { "s" } else { "" },
        );
        for (n, t) in bundle.timestamps.iter().enumerate() {
            let (data, token) = layout::timestamp_paths(n, &t.tsa);
            let _ = writeln!(s, "   TSA {}:", t.tsa);
            if n > 0 {
                let _ = writeln!(s, "$ cmp {data} {}", layout::CHECKPOINT);
            }
            let _ = writeln!(
                s,
                "$ openssl ts -verify -data {data} -in {token} -CAfile ../../tsa-ca.pem"
            );
            let _ = writeln!(
                s,
                "$ openssl ts -reply -in {token} -text | grep -E 'Time stamp:|Accuracy:'"
            );
        }
    }
    let _ = write!(
        s,
        "
6. Compare the captured bytes with what each manifest claims and with the citation. The hash
   printed by sha256sum, the \"sha256\" in the manifest's \"content\" and the SHA-256 line of
   exhibit/citation.txt must be the same; a hash quoted in a filing (often truncated, as in
   4abc7ff0d7779bee…) must be a prefix of it. Each command below fails if its check does not hold.

"
    );
    for (r, manifest) in records.iter().filter_map(|r| Some((r, r.capture()?))) {
        let Some(c) = &manifest.content else {
            continue;
        };
        let m = layout::manifest_path(&r.id);
        let data = layout::content_path(&c.sha256, &c.media_type);
        let _ = writeln!(s, "   {} ({}):", r.id, manifest.document.url);
        let _ = writeln!(
            s,
            "$ grep -q '\"content\":{{\"blake3\":\"{}\",\"media_type\":\"{}\",\"sha256\":\"{}\"' {m}",
            c.blake3,
            c.media_type.replace('\'', ""),
            c.sha256
        );
        let _ = writeln!(s, "$ echo '{}  {data}' | sha256sum -c -", c.sha256);
        let _ = writeln!(
            s,
            "$ grep -q 'SHA-256: {}' {}",
            c.sha256,
            layout::CITATION_TXT
        );
    }
    let provisions: Vec<_> = records
        .iter()
        .filter_map(|r| match &r.manifest {
            exhibit_core::AnyManifest::Provision(p) => Some(p),
            exhibit_core::AnyManifest::Capture(_) => None,
        })
        .collect();
    if !provisions.is_empty() {
        let _ = write!(
            s,
            "
7. Check each quoted provision: the bytes at the range its manifest gives, in the text of the
   version it quotes, hash to the quote's SHA-256 (tail -c counts from 1, so the start is
   byte_start + 1; head -c takes byte_end - byte_start bytes).

"
        );
        for p in provisions {
            let q = &p.quote;
            let m = layout::manifest_path(&p.id);
            let text = layout::text_path(&p.text.sha256);
            let _ = writeln!(
                s,
                "   {} (quoting {} of {}, characters {}..{}):",
                p.id, p.version, p.capture.id, q.char_start, q.char_end
            );
            let _ = writeln!(
                s,
                "$ grep -q '\"byte_end\":{},\"byte_start\":{},' {m}",
                q.byte_end, q.byte_start
            );
            let _ = writeln!(s, "$ grep -q '\"sha256\":\"{}\",\"text\":' {m}", q.sha256);
            let _ = writeln!(
                s,
                "$ grep -q '\"text\":{{\"sha256\":\"{}\",\"size\":{}}}' {m}",
                p.text.sha256, p.text.size
            );
            let capture_manifest = layout::manifest_path(&p.capture.id);
            let _ = writeln!(
                s,
                "$ echo '{}  {capture_manifest}' | sha256sum -c -",
                p.capture.manifest_sha256
            );
            let _ = writeln!(
                s,
                "$ grep -q '\"text\":{{\"blake3\":\"[0-9a-f]*\",\"charset\":\"[^\"]*\",\"extractor\":{{.*}},\"sha256\":\"{}\",\"size\":{}}}' {capture_manifest}",
                p.text.sha256, p.text.size
            );
            let _ = writeln!(
                s,
                "$ tail -c +{} {text} | head -c {} | sha256sum | grep -q '^{} '",
                q.byte_start + 1,
                q.byte_end - q.byte_start,
                q.sha256
            );
        }
    }
    if bundle.report.is_some() {
        let _ = write!(
            s,
            "
8. The evidence report, {pdf} and {html}, is a tag file: step 2 checked its
   SHA-256 and step 4 its seal. It is a reading aid made from the records above; a person
   checks each hash it prints against them with the commands of step 6. exhibit-verify also
   rebuilds the report from the records and compares it byte for byte, so it says nothing the
   records do not (docs/VERIFYING.md, \"Checking a printed report\").
",
            pdf = layout::REPORT_PDF,
            html = layout::REPORT_HTML,
        );
    }
    let _ = write!(
        s,
        "
What this proves, and what it does not
--------------------------------------

Proven, once the key is pinned: the key holder signed each manifest (what was captured, from
which URL, how, and when it says it was captured), and the files in data/ are exactly the bytes
those manifests describe, and each manifest was appended to the archive's log at the position
its proof gives, under a checkpoint the key holder signed.{stamped} Not proven by this bundle
alone: that the capture time is true — it is the signer's claim{bound} — nor that the log seen by
others is the same one (compare checkpoints you or others kept), nor that the server sent the
same bytes to everyone who asked.
",
        stamped = if bundle.timestamps.is_empty() {
            ""
        } else {
            " With step 5c, a TSA you trust\nstates that this checkpoint, and so every record in it, existed no later than its time."
        },
        bound = if bundle.timestamps.is_empty() {
            ", with no independent timestamp in this bundle"
        } else {
            "; a timestamp bounds it only from\nabove"
        },
    );
    s
}

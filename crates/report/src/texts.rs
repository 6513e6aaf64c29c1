//! The report's fixed wording: introductions, what each hash proves, and the declaration
//! templates. Kept apart from `compose` so a lawyer can review every sentence in one file.

use crate::doc::{Block, Field, Span};
use crate::facts::Facts;

/// The report's title.
pub const TITLE: &str = "Evidence report";

/// Under the title on the cover.
pub const COVER_INTRO: &str = "This report describes web and document captures kept by an \
exhibit archive, and everything needed to check them. Every fact in it is read from the signed \
records of the evidence bundle it comes with; the report itself is evidence of nothing the \
records do not prove, and exhibit-verify rebuilds it from those records and checks that it says \
exactly what they say. Times are UTC. Hashes are printed in full, in hexadecimal, each on one \
line.";

/// The sections, as the cover lists them.
pub const CONTENTS: &[&str] = &[
    "One section per record: what was captured, from where, when; the screenshot; the text; the change since the previous version",
    "Integrity: every hash, signature, log position and timestamp, and what each proves",
    "Provenance: connections, TLS certificates, browser, software",
    "Chain of custody: captured, logged, timestamped, bundled",
    "How to verify this independently, with the commands for this bundle",
    "Limitations: what is and is not proven",
    "Declarations: templates for a person to complete and sign",
];

/// The label of an imported capture's time: when exhibit imported it, not when it was captured.
pub const IMPORTED_AT: &str = "Imported at";
/// What an imported capture's WARC date is.
pub const WARC_DATE_CLAIM: &str = "claimed by the WARC file's writer, not by exhibit";
/// What an imported capture proves about its origin.
pub const IMPORTED_NOTE: &str = "This capture was imported from a WARC file: exhibit vouches that \
    these bytes were the payload of the record named here, in the file with the SHA-256 given, \
    with the record's digests checked. It does not vouch that the record's writer fetched them \
    from the URL, nor at the date, the WARC states.";

/// Opens the integrity section.
pub const INTEGRITY_INTRO: &str = "Each value below can be recomputed from the bundle with stock \
tools (see \"How to verify this independently\"). What each kind of value proves:";

/// What each kind of value proves.
pub const WHAT_PROVES: &[(&str, &str)] = &[
    (
        "SHA-256, BLAKE3",
        "identify the exact bytes received: changing a single bit changes both. Two independent \
         hash functions, so that a weakness found in one does not open the record to doubt",
    ),
    (
        "Text SHA-256",
        "identifies the text extracted from those bytes; equal text hashes mean the same version",
    ),
    (
        "Manifest SHA-256",
        "identifies the signed record itself (the manifest): the signature and the log leaf are \
         over exactly these bytes",
    ),
    (
        "Signed by",
        "the fingerprint of the Ed25519 key that signed the manifest; compare it with one \
         obtained independently from the archive operator",
    ),
    (
        "Log position",
        "the manifest is a leaf of the archive's append-only Merkle log, whose checkpoint the \
         same key signed: records cannot be removed or altered later without the log showing it",
    ),
    (
        "Timestamp",
        "an RFC 3161 token in which a Time-Stamp Authority signed the checkpoint's hash with its \
         own clock. Once the token is checked against the TSA's CA certificate, obtained from \
         the TSA itself (exhibit-verify --tsa-ca), every record in the checkpoint existed no \
         later than that time; before, the token's signer is only what it calls itself",
    ),
];

/// Opens the provenance section.
pub const PROVENANCE_INTRO: &str = "How each capture was made, as its signed record states it: \
the network connections (the address answered and, for HTTPS, the certificate chain the server \
presented), the browser and its settings for a rendered capture, and the software that \
extracted the text.";

/// Opens the chain-of-custody section.
pub const CUSTODY_INTRO: &str = "Each step each record went through, with its time and the file \
in the bundle that evidences it. A time \"claimed by the signer\" is the archive's own clock; a \
timestamp is an independent authority's.";

/// Opens the verification section.
pub const VERIFY_INTRO: &str = "Anyone holding the bundle this report came in (called \
BUNDLE.tar.zst below) can check every statement in this report without trusting exhibit or the \
archive operator. The standalone verifier does it in one step, and also rebuilds this report \
from the records and compares it byte for byte (pin the key with a fingerprint obtained \
independently):";

/// Introduces the stock-tool commands.
pub const VERIFY_BY_HAND: &str = "Or by hand, with stock tools only (tar, zstd, sha256sum, \
OpenSSL 3, bagit.py). Each command must succeed; any failure means the bundle is not what it \
claims to be. The files the report names, and their hashes, are checked here:";

/// Closes the verification section.
pub const VERIFY_MORE: &str = "The timestamp commands need the TSA's CA certificate, obtained \
from the TSA, saved as tsa-ca.pem beside the bundle. The bundle's VERIFY.txt gives these steps \
and more (computing the key's fingerprint, checking the log checkpoint and the quoted \
provisions), each explained; docs/VERIFYING.md in exhibit's source explains every check.";

/// Opens the limitations section.
pub const LIMITATIONS_INTRO: &str = "What the checks of exhibit-verify prove and what they do \
not, in the words it prints, for a reader who has not yet pinned anything:";

/// What pinning the key adds.
pub const LIMITATIONS_PINNING: &str = "Pinning the key turns the first of these limitations into \
a proof: obtain the archive key's fingerprint from an independent channel (the filing that cites \
these records, or the archive operator) and give it to exhibit-verify with --key; then every \
signer is the key you expect.";

/// What trusting the TSA adds, when the records are timestamped.
pub const LIMITATIONS_TSA: &str = "Trusting the Time-Stamp Authority bounds the capture times: \
obtain the TSA's CA certificate from the TSA itself and give it to exhibit-verify with \
--tsa-ca; then each timestamp proves that every record existed no later than its time. A \
timestamp in this report names its TSA only as the TSA's own certificate does; until that \
check, it proves nothing about time.";

/// Closes the limitations section: what the report itself is.
pub const LIMITATIONS_REPORT: &str = "This report is a reading aid. It is made from the records \
by software and adds nothing to them: where it and the records differ, the records govern, and \
exhibit-verify reports the difference as a failure. It does not state who operated the archive \
or why; the declarations below are for a person to make.";

/// The declaration templates: FRE 902(13), FRE 902(14), and a statement of truth.
pub fn declarations(b: &mut Vec<Block>, facts: &Facts) {
    b.push(Block::Heading {
        level: 1,
        text: "Declarations".into(),
    });
    b.push(para(
        "Templates for a person with knowledge of the archive to complete, review with counsel, \
         and sign. exhibit never completes or signs them. Each lists the records of this report \
         by id and SHA-256. Under Rule 902(11), the proponent must give the adverse party \
         reasonable written notice and make the records and this certification available for \
         inspection before offering them.",
    ));
    let records: Vec<Field> = facts
        .identified()
        .into_iter()
        .map(|(id, sha)| Field::mono(id, sha))
        .collect();

    b.push(heading("Certification of records generated by an electronic process or system (Fed. R. Evid. 902(13)), declared under 28 U.S.C. § 1746"));
    b.push(para("I, the undersigned, declare:"));
    b.push(Block::List(
        [
            "I am over eighteen years of age and competent to make this declaration. I am employed by or act for the organization named below, and I am familiar with the archive that produced the records listed below and with how it operates.",
            "The records listed below were generated by exhibit, an electronic process that requests a document over the network (or reads it from a file), stores the exact bytes received, computes their SHA-256 and BLAKE3 hashes, extracts their text, and signs a record of all of this with the archive's Ed25519 key, appending each record to an append-only Merkle log.",
            "The process produces an accurate result: any alteration of the stored bytes or of a signed record changes its hash and makes its signature fail, which anyone can check with the standalone verifier or with stock tools, as this report describes.",
            "The records were made at or near the time of the capture they describe, in the regular course of the archive's operation.",
        ]
        .iter()
        .map(|s| vec![Span::regular(*s)])
        .collect(),
    ));
    b.push(Block::Fields(records.clone()));
    signature_block(b, facts);

    b.push(heading("Certification of data copied from an electronic device, storage medium or file (Fed. R. Evid. 902(14)), declared under 28 U.S.C. § 1746"));
    b.push(para("I, the undersigned, declare:"));
    b.push(Block::List(
        [
            "I am qualified by my knowledge of the archive and of hash verification to make this certification.",
            "The data listed below are copies of data captured by the archive. Each is identified by its SHA-256 hash, a process of digital identification: the hash of a copy equals the hash of the original if, and in practice only if, the copy is identical to it.",
            "I computed the SHA-256 hash of each copy produced and compared it with the hash recorded in the archive's signed record for it, listed below; they are identical.",
        ]
        .iter()
        .map(|s| vec![Span::regular(*s)])
        .collect(),
    ));
    b.push(Block::Fields(records.clone()));
    signature_block(b, facts);

    b.push(heading("Statement of truth (for use in any jurisdiction)"));
    b.push(para(
        "I believe that the facts stated in this report about the records listed below are true, \
         and that the copies produced are identical to the data the archive captured. I \
         understand that making a false statement in a document verified by a statement of truth \
         may expose me to proceedings or penalties under the law that applies to me.",
    ));
    b.push(Block::Fields(records));
    b.push(Block::Blank("Name".into()));
    b.push(Block::Blank("Position or capacity".into()));
    b.push(Block::Blank("Signature".into()));
    b.push(Block::Blank("Date".into()));
}

fn heading(text: &str) -> Block {
    Block::Heading {
        level: 2,
        text: text.to_owned(),
    }
}

fn para(text: &str) -> Block {
    Block::Paragraph(vec![Span::regular(text)])
}

fn signature_block(b: &mut Vec<Block>, facts: &Facts) {
    b.push(Block::Paragraph(vec![Span::regular(format!(
        "This certification refers to evidence report {}. I declare under penalty of perjury under \
         the laws of the United States of America that the foregoing is true and correct.",
        facts.id
    ))]));
    b.push(Block::Blank("Executed on (date)".into()));
    b.push(Block::Blank("At (city, state or country)".into()));
    b.push(Block::Blank("Name".into()));
    b.push(Block::Blank("Title".into()));
    b.push(Block::Blank("Organization".into()));
    b.push(Block::Blank("Signature".into()));
}

//! What a verified bundle proves and what it does not: the one list, printed by
//! `exhibit-verify` after its checks and by the report under "Limitations".

/// The trusted timestamp that bounds the records' existence, when one checked out.
#[derive(Clone, Copy, Debug)]
pub struct StampBound<'a> {
    /// What it bounds: "existed no later than" this time (RFC 3339).
    pub no_later_than: &'a str,
    /// The token file.
    pub file: &'a str,
    /// The TSA (signer subject).
    pub tsa: &'a str,
    /// The CA the token chains to.
    pub trusted_by: &'a str,
}

/// What the verification established, as far as the list depends on it.
#[derive(Clone, Copy, Debug)]
pub struct Established<'a> {
    /// The fingerprints of every signer.
    pub signers: &'a [String],
    /// Every check passed and every signer is a key the reader pinned.
    pub all_pinned: bool,
    /// The reader gave trusted keys at all.
    pub keys_given: bool,
    /// The earliest trusted timestamp, if one was checked against a trusted TSA CA.
    pub trusted_stamp: Option<StampBound<'a>>,
    /// How many timestamps the bundle has.
    pub stamps: usize,
    /// Whether trusted TSA CA certificates were given to check them against.
    pub tsa_anchors_given: bool,
    /// Whether any record was imported from a WARC file (method `warc-import`).
    pub imported: bool,
    /// The witnesses the reader trusts that cosigned the checkpoint, when as many did as the
    /// reader required (check 16); `None` when none was required.
    pub witnessed: Option<Witnessed<'a>>,
}

/// The witnesses that vouched for the checkpoint.
#[derive(Clone, Copy, Debug)]
pub struct Witnessed<'a> {
    /// Their names.
    pub names: &'a [String],
    /// The earliest of their cosignatures' times (RFC 3339, UTC).
    pub earliest: &'a str,
}

/// (proven, not proven).
pub fn conclusions(e: &Established<'_>) -> (Vec<String>, Vec<String>) {
    let mut proven = vec![
        "the bag is complete and every file is byte for byte what its manifests list".to_owned(),
        format!(
            "each record's manifest is signed by {} and describes exactly the bytes in data/",
            e.signers.join(", ")
        ),
        if e.signers.len() > 1 {
            // Several keys: the archive rotated its key (docs/FORMAT.md §2.1).
            "each manifest is a leaf, at the position its proof gives, of the log tree that one checkpoint describes, and is signed by the key the archive's key history names for that position; the checkpoint by the key it names for its size".to_owned()
        } else {
            "each manifest is a leaf, at the position its proof gives, of the log tree that one checkpoint signed by the same key describes".to_owned()
        },
    ];
    if e.all_pinned {
        proven.push(if e.signers.len() > 1 {
            "every signing key is one you pinned, or one the archive's key history links to a key you pinned".into()
        } else {
            "every signing key is one you pinned".into()
        });
    }
    if let Some(first) = e.trusted_stamp {
        proven.push(format!(
            "every record in this bundle existed no later than {} (the RFC 3161 timestamp of {} over its checkpoint, by {}, whose certificate chains to the CA you trust, {}; the TSA's time plus its stated accuracy)",
            first.no_later_than, first.file, first.tsa, first.trusted_by
        ));
    }
    let mut not_proven = vec![
        if e.trusted_stamp.is_none() {
            "the capture times: they are the signer's claim (no trusted independent timestamp checked)".to_owned()
        } else {
            "the capture times themselves: they are the signer's claim; the timestamp only bounds them from above".to_owned()
        },
        "that the server sent the same bytes to everyone who asked".to_owned(),
    ];
    match e.witnessed {
        Some(w) => proven.push(format!(
            "that the log showed one history: witnesses you trust ({}) cosigned its checkpoint, each stating that at its time (the earliest {}) this tree was the largest it had seen of this log, consistent with every tree it saw before",
            w.names.join(", "),
            w.earliest
        )),
        None => not_proven.insert(
            1,
            "that others were shown the same log: compare the checkpoint with one kept independently (exhibit log consistency)"
                .to_owned(),
        ),
    }
    if e.imported {
        not_proven.push(
            "for records imported from a WARC file: that its writer fetched those bytes from the URL at the date the WARC states (exhibit vouches only that they were the payload of the record it cites, in the file whose SHA-256 it gives)"
                .to_owned(),
        );
    }
    if e.stamps > 0 && !e.tsa_anchors_given {
        not_proven.push(format!(
            "the timestamp{}: present, but not checked against a TSA CA you trust (--tsa-ca PEM)",
            if e.stamps > 1 { "s" } else { "" }
        ));
    }
    if !e.keys_given {
        not_proven.insert(
            0,
            "who the signer is: no trusted key was given (--key)".into(),
        );
    }
    (proven, not_proven)
}

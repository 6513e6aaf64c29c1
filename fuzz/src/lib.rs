//! Shared pieces of exhibit's fuzz targets: the fuzz-only signing key the seed corpus is made
//! with (so that mutated seeds reach the code behind signature checks), and reference
//! implementations that the targets compare the library with.
//!
//! See `docs/FUZZING.md`.

use exhibit_sign::{PublicKey, SigningKey};

/// The log origin (and key name) of the archive `seeds.sh` builds.
pub const ORIGIN: &str = "fuzz.exhibit.invalid";

/// The fuzz-only Ed25519 key that signs every seed (PKCS#8 PEM). It protects nothing.
pub const KEY_PEM: &str = include_str!("../key.pem");

/// The signing key of [`KEY_PEM`].
pub fn signing_key() -> SigningKey {
    SigningKey::from_pkcs8_pem(KEY_PEM).expect("fuzz/key.pem is a PKCS#8 Ed25519 key")
}

/// The public key of [`KEY_PEM`].
pub fn public_key() -> PublicKey {
    signing_key().public_key()
}

/// The root that `proof` leads to from `leaf` at `index` in a tree of `size` leaves, or `None`
/// if the path has the wrong length for that position: RFC 9162 §2.1.3.2 transcribed literally
/// from the RFC's pseudo-code (a deliberately different shape from
/// `exhibit_core::merkle::verify_inclusion`, which splits the path into inner and border parts).
/// The proof verifies iff this is `Some(root)`.
pub fn reference_root(
    leaf: &[u8; 32],
    index: u64,
    size: u64,
    proof: &[[u8; 32]],
) -> Option<[u8; 32]> {
    if index >= size {
        return None;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return None;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = exhibit_core::merkle::node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = exhibit_core::merkle::node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    (snode == 0).then_some(r)
}

/// Which stock tar reader [`reference_extract`] models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TarFlavor {
    /// GNU tar 1.34, `tar -xf`.
    Gnu,
    /// Python 3.11 `tarfile`, `extractall`.
    Python,
}

/// What a stock tar reader extracts from an uncompressed tar: every regular file's path (as
/// bytes, a directory's trailing `/` dropped) and bytes, a later entry replacing an earlier one;
/// `Err` where the tool fails, warns, or does something this model leaves out (links, devices,
/// pax and GNU extension entries, sparse files, paths it would rewrite). Written from the tools'
/// documented and observed behaviour, independently of `exhibit_bundle`'s strict parser, and
/// lenient where they are:
///
/// - the archive ends at the first all-zero block; Python also ends, silently, at a short or
///   invalid header after the first (GNU tar fails);
/// - checksum: the unsigned or the signed byte sum, the field read as a number;
/// - numbers: GNU tar skips one leading NUL and leading blanks, reads octal digits, then needs
///   a NUL or blank, and reads base-256 (`0x80`); Python cuts at the first NUL, strips blanks
///   and reads Python integer syntax in base 8 (sign, `0o`, `_`), and base-256 (`0x80`, `0xff`);
/// - the prefix field: GNU tar joins `prefix/name` only when the magic is `ustar\0`; Python
///   whenever the prefix is not empty;
/// - entry types: `0`, NUL, `7` and (Python) unknown types are regular files whose data
///   follows; a directory (`5`, or for Python a NUL-type name ending in `/`, for GNU tar any
///   regular type ending in `/`) carries no data, whatever its size field says.
pub fn reference_extract(
    tar: &[u8],
    flavor: TarFlavor,
) -> Result<std::collections::BTreeMap<Vec<u8>, Vec<u8>>, String> {
    use std::collections::{BTreeMap, BTreeSet};
    let python = flavor == TarFlavor::Python;
    let mut files: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut dirs: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut at = 0usize;
    loop {
        let Some(h) = tar.get(at..at + 512) else {
            if python && at > 0 {
                return Ok(files);
            }
            return Err(format!("unexpected end of archive at byte {at}"));
        };
        if h.iter().all(|&b| b == 0) {
            return Ok(files);
        }
        let number = |f: &[u8]| {
            if python {
                python_number(f)
            } else {
                gnu_number(f)
            }
        };
        // Invalid header: GNU tar fails; Python stops there (fails on the first header).
        let stop = |why: String| {
            if python && at > 0 { Ok(None) } else { Err(why) }
        };
        let parsed: Result<Option<(Vec<u8>, u8, u64)>, String> = (|| {
            let recorded = number(&h[148..156]);
            let unsigned: i64 = h
                .iter()
                .enumerate()
                .map(|(i, &b)| {
                    if (148..156).contains(&i) {
                        32
                    } else {
                        i64::from(b)
                    }
                })
                .sum();
            let signed: i64 = h
                .iter()
                .enumerate()
                .map(|(i, &b)| {
                    if (148..156).contains(&i) {
                        32
                    } else {
                        i64::from(b as i8)
                    }
                })
                .sum();
            if recorded != Some(unsigned) && recorded != Some(signed) {
                return stop(format!("bad checksum at byte {at}"));
            }
            let mut fields = vec![(100..108), (108..116), (116..124), (124..136), (136..148)];
            if python {
                fields.extend([329..337, 337..345]);
            }
            for r in fields {
                let Some(v) = number(&h[r.clone()]) else {
                    return stop(format!("bad number at byte {}", at + r.start));
                };
                // GNU tar: a mode, uid or gid out of its C type's range is an error.
                let ranged = matches!(r.start, 100 | 108 | 116);
                if !python && ranged && !(0..=i64::from(u32::MAX)).contains(&v) {
                    return Err(format!("number out of range at byte {}", at + r.start));
                }
            }
            let Some(size) = number(&h[124..136]).and_then(|s| u64::try_from(s).ok()) else {
                return Err(format!("negative size at byte {at}"));
            };
            let cut = |f: &[u8]| -> Vec<u8> { f.iter().copied().take_while(|&b| b != 0).collect() };
            let mut name = cut(&h[0..100]);
            let prefix = cut(&h[345..500]);
            let flag = h[156];
            let ustar_magic = &h[257..263] == b"ustar\0";
            if python {
                if flag == 0 && name.ends_with(b"/") || flag == b'5' {
                    while name.ends_with(b"/") {
                        name.pop();
                    }
                    if flag == 0 {
                        return Ok(Some((join(&prefix, &name), b'5', size)));
                    }
                }
                if !prefix.is_empty() {
                    name = join(&prefix, &name);
                }
            } else if ustar_magic && !prefix.is_empty() {
                name = join(&prefix, &name);
            }
            Ok(Some((name, flag, size)))
        })();
        let Some((mut path, flag, size)) = parsed? else {
            return Ok(files);
        };
        let regular = match flag {
            b'0' | 0 | b'7' => true,
            b'5' => false,
            b'1' | b'2' | b'3' | b'4' | b'6' => {
                return Err(format!("link or special file at byte {at} (not modelled)"));
            }
            b'x' | b'g' | b'X' | b'L' | b'K' | b'S' | b'D' | b'M' | b'N' | b'V' => {
                return Err(format!(
                    "extension entry {:?} at byte {at} (not modelled)",
                    flag as char
                ));
            }
            _ if python => true,
            _ => return Err(format!("unknown type {:?} at byte {at}", flag as char)),
        };
        let directory = !regular || (!python && path.ends_with(b"/"));
        while directory && path.ends_with(b"/") {
            path.pop();
        }
        if path.is_empty()
            || path.starts_with(b"/")
            || path
                .split(|&b| b == b'/')
                .any(|c| c.is_empty() || c == b"." || c == b"..")
        {
            return Err(format!(
                "path {:?} the tools would rewrite or refuse (not modelled)",
                String::from_utf8_lossy(&path)
            ));
        }
        let ancestors: Vec<&[u8]> = path
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'/')
            .map(|(i, _)| &path[..i])
            .collect();
        if ancestors.iter().any(|a| files.contains_key(*a)) {
            return Err(format!("a path below a file at byte {at}"));
        }
        at += 512;
        if directory {
            if files.contains_key(&path) {
                return Err(format!("a directory over a file at byte {at}"));
            }
            dirs.insert(path);
            continue;
        }
        if dirs.contains(&path) {
            return Err(format!("a file over a directory at byte {at}"));
        }
        let size = usize::try_from(size).map_err(|_| "huge size".to_owned())?;
        let Some(data) = at.checked_add(size).and_then(|end| tar.get(at..end)) else {
            return Err(format!("data cut short at byte {at}"));
        };
        for a in ancestors {
            dirs.insert(a.to_vec());
        }
        files.insert(path, data.to_vec());
        at += size.div_ceil(512) * 512;
    }
}

fn join(prefix: &[u8], name: &[u8]) -> Vec<u8> {
    if prefix.is_empty() {
        return name.to_vec();
    }
    [prefix, b"/", name].concat()
}

/// GNU tar's `from_header`: one leading NUL skipped, then blanks, then octal digits or a
/// base-256 number, then the end, a NUL or a blank.
fn gnu_number(f: &[u8]) -> Option<i64> {
    let space = |b: u8| b" \t\n\x0b\x0c\r".contains(&b);
    let mut i = usize::from(f.first() == Some(&0));
    while i < f.len() && space(f[i]) {
        i += 1;
    }
    if i == f.len() {
        return None;
    }
    let mut v: i64 = 0;
    if (b'0'..=b'7').contains(&f[i]) {
        while i < f.len() && (b'0'..=b'7').contains(&f[i]) {
            v = v.checked_mul(8)?.checked_add(i64::from(f[i] - b'0'))?;
            i += 1;
        }
    } else if f[i] == 0x80 && i == 0 {
        for &b in &f[1..] {
            v = v.checked_mul(256)?.checked_add(i64::from(b))?;
        }
        i = f.len();
    } else if f[i] != 0 {
        return None;
    }
    if i < f.len() && f[i] != 0 && !space(f[i]) {
        return None;
    }
    Some(v)
}

/// Python's `tarfile.nti`: base-256 when the first byte is `0x80` or `0xff`, else the text up to
/// the first NUL, ASCII, stripped, as `int(text or "0", 8)`.
fn python_number(f: &[u8]) -> Option<i64> {
    if f.first() == Some(&0x80) || f.first() == Some(&0xff) {
        let mut v: i128 = 0;
        for &b in &f[1..] {
            v = v * 256 + i128::from(b);
        }
        if f[0] == 0xff {
            v -= 256i128.pow(f.len() as u32 - 1);
        }
        return i64::try_from(v).ok();
    }
    let text: Vec<u8> = f.iter().copied().take_while(|&b| b != 0).collect();
    if !text.is_ascii() {
        return None;
    }
    let space = |b: &u8| b" \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f".contains(b);
    let start = text.iter().position(|b| !space(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !space(b))
        .map_or(start, |e| e + 1);
    let mut s = &text[start..end];
    if s.is_empty() {
        return Some(0);
    }
    let negative = s[0] == b'-';
    if s[0] == b'-' || s[0] == b'+' {
        s = &s[1..];
    }
    if s.len() >= 2 && s[0] == b'0' && (s[1] == b'o' || s[1] == b'O') {
        s = &s[2..];
        // `0o_7` is valid: an underscore may follow the base prefix.
        if s.first() == Some(&b'_') {
            s = &s[1..];
        }
    }
    if s.is_empty() || s[0] == b'_' || s[s.len() - 1] == b'_' || s.windows(2).any(|w| w == b"__") {
        return None;
    }
    let mut v: i64 = 0;
    for &b in s.iter().filter(|&&b| b != b'_') {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/seeds/bundle_tar_differential/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The model reads a bundle and stock tar's repacks of it alike, and sees issue 17's hidden
    /// entry as GNU tar and Python do (checked by hand with both tools on these seeds).
    #[test]
    fn the_model_reads_the_seeds_as_the_tools_do() {
        for flavor in [TarFlavor::Gnu, TarFlavor::Python] {
            let genuine = reference_extract(&seed("evidence.tar"), flavor).unwrap();
            assert_eq!(genuine.len(), 17, "{flavor:?}");
            for repack in ["evidence-gnu.tar", "evidence-ustar.tar"] {
                assert_eq!(
                    reference_extract(&seed(repack), flavor).unwrap(),
                    genuine,
                    "{flavor:?} {repack}"
                );
            }
            let attacked =
                reference_extract(&seed("directory-hiding-an-entry.tar"), flavor).unwrap();
            let replaced: Vec<_> = attacked
                .iter()
                .filter(|(path, bytes)| genuine.get(*path) != Some(*bytes))
                .map(|(path, bytes)| (String::from_utf8_lossy(path).into_owned(), bytes.clone()))
                .collect();
            assert_eq!(replaced.len(), 1, "{flavor:?}");
            assert!(replaced[0].0.starts_with("evidence/data/content/"));
            assert_eq!(replaced[0].1, b"replaced\n");
        }
    }

    #[test]
    fn numbers_as_each_tool_reads_them() {
        for (field, gnu, python) in [
            (&b"0000644\0"[..], Some(0o644), Some(0o644)),
            (b"\x000000644", Some(0o644), Some(0)),
            (b" 644 \0\0\0", Some(0o644), Some(0o644)),
            (b"6_44\0\0\0\0", None, Some(0o644)),
            (b"0o644\0\0\0", None, Some(0o644)),
            (b"644 1\0\0\0", Some(0o644), None),
            (b"\x80\0\0\0\0\0\0\x10", Some(16), Some(16)),
            (b"\0\0\0\0\0\0\0\0", Some(0), Some(0)),
        ] {
            assert_eq!(gnu_number(field), gnu, "GNU {field:?}");
            assert_eq!(python_number(field), python, "Python {field:?}");
        }
    }
}

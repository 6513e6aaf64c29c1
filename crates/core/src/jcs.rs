//! RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes every manifest is signed as.
//!
//! Hand-written because it is the format itself, and because it runs for every manifest an
//! archive writes and every one a verifier checks. The `serde_json_canonicalizer` crate it
//! replaces produced the same bytes but re-parsed each object key as JSON, sorted through
//! per-key UTF-16 copies and boxed a writer for every token: half of the single writer's time
//! in a batch ingest went to allocation (docs/PERFORMANCE.md). That crate remains the reference
//! this module is tested against, value for value (`tests` below and the `manifest_parse` fuzz
//! target).
//!
//! serde_json does the serialising and the string escaping (which RFC 8785 §3.2.2.2 shares with
//! it: `\"`, `\\`, `\b \f \n \r \t`, other controls as lower-case `\u00xx`, everything else
//! literal). This formatter writes every token into one buffer and, when an object ends, puts
//! its members in the order of their names' UTF-16 code units (§3.2.3), refusing a name given
//! twice. Numbers are formatted as ECMAScript does (§3.2.2.3): integers up to 2^53 exactly as
//! digits, anything else through the ECMAScript double formatting of `ryu-js`.

use std::io;
use std::ops::Range;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};

/// The RFC 8785 canonical bytes of `value`.
///
/// Fails on a map whose keys are not strings, on a name given twice in one object, and on a
/// raw JSON fragment. (A non-finite float is written as `null`, as serde_json does; no manifest
/// type holds a float.)
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(1024);
    let formatter = Canonical {
        out: &mut out,
        objects: Vec::new(),
        names: Vec::new(),
        in_name: false,
        scratch: Vec::new(),
    };
    let mut serializer = serde_json::Serializer::with_formatter(io::sink(), formatter);
    value.serialize(&mut serializer)?;
    Ok(out)
}

/// A member of an object being written: where its name (quoted, escaped) and value lie in the
/// output, and where its unescaped name lies in [`Canonical::names`].
struct Member {
    name: Range<usize>,
    value_end: usize,
    sort_name: Range<usize>,
}

/// An object being written.
struct Object {
    /// Where its first member starts in the output (just after `{`).
    start: usize,
    /// Where its members' unescaped names start in [`Canonical::names`].
    names_start: usize,
    members: Vec<Member>,
    /// The member whose value is being written: its name and unescaped name.
    pending: Option<(Range<usize>, Range<usize>)>,
    /// Where the pending member's name starts (output, names).
    name_start: (usize, usize),
}

/// The formatter: writes into `out` (never into the writer serde_json passes, a sink).
struct Canonical<'o> {
    out: &'o mut Vec<u8>,
    objects: Vec<Object>,
    /// Unescaped member names of the open objects, for sorting.
    names: Vec<u8>,
    /// Whether a member name is being written.
    in_name: bool,
    /// Where an object's members are copied while they are put in order.
    scratch: Vec<u8>,
}

fn invalid(message: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Compares two names by their UTF-16 code units (RFC 8785 §3.2.3), which differs from UTF-8
/// byte order only between U+E000..U+FFFF and the supplementary planes.
fn utf16_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    match (std::str::from_utf8(a), std::str::from_utf8(b)) {
        (Ok(a), Ok(b)) if !a.is_ascii() || !b.is_ascii() => a.encode_utf16().cmp(b.encode_utf16()),
        _ => a.cmp(b),
    }
}

impl Canonical<'_> {
    /// Writes number text (to the name too, inside a member name: serde_json quotes integer
    /// map keys).
    fn number(&mut self, text: &str) {
        self.text(text.as_bytes(), text.as_bytes());
    }

    /// Writes `written`; inside a member name, also records what it denotes (`unescaped`).
    fn text(&mut self, written: &[u8], unescaped: &[u8]) {
        self.out.extend_from_slice(written);
        if self.in_name {
            self.names.extend_from_slice(unescaped);
        }
    }

    fn float(&mut self, value: f64) -> io::Result<()> {
        if !value.is_finite() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "NaN and infinities are not JSON",
            ));
        }
        self.number(ryu_js::Buffer::new().format_finite(value));
        Ok(())
    }

    /// An integer, as ECMAScript writes the double nearest to it.
    fn integer<I: itoa::Integer + Into<i128>>(&mut self, value: I) -> io::Result<()> {
        const EXACT: i128 = 1 << 53;
        let wide: i128 = value.into();
        if (-EXACT..=EXACT).contains(&wide) {
            self.number(itoa::Buffer::new().format(value));
            Ok(())
        } else {
            self.float(wide as f64)
        }
    }
}

/// The formatter methods for integer types, each writing [`Canonical::integer`].
macro_rules! integers {
    ($($method:ident: $type:ty),* $(,)?) => {
        $(
            fn $method<W: ?Sized + io::Write>(&mut self, _: &mut W, value: $type) -> io::Result<()> {
                self.integer(value)
            }
        )*
    };
}

impl Formatter for Canonical<'_> {
    fn write_null<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn write_bool<W: ?Sized + io::Write>(&mut self, _: &mut W, value: bool) -> io::Result<()> {
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
        Ok(())
    }

    integers! {
        write_i8: i8,
        write_i16: i16,
        write_i32: i32,
        write_i64: i64,
        write_i128: i128,
        write_u8: u8,
        write_u16: u16,
        write_u32: u32,
        write_u64: u64,
    }

    fn write_u128<W: ?Sized + io::Write>(&mut self, _: &mut W, value: u128) -> io::Result<()> {
        match i128::try_from(value) {
            Ok(v) => self.integer(v),
            Err(_) => self.float(value as f64),
        }
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, _: &mut W, value: f32) -> io::Result<()> {
        self.float(f64::from(value))
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, _: &mut W, value: f64) -> io::Result<()> {
        self.float(value)
    }

    fn write_number_str<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        value: &str,
    ) -> io::Result<()> {
        let number = value
            .parse::<f64>()
            .map_err(|_| invalid("a number that is not a double"))?;
        self.float(number)
    }

    fn begin_string<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.out.push(b'"');
        Ok(())
    }

    fn end_string<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.out.push(b'"');
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        self.text(fragment.as_bytes(), fragment.as_bytes());
        Ok(())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let (written, byte): (&[u8], u8) = match escape {
            CharEscape::Quote => (b"\\\"", b'"'),
            CharEscape::ReverseSolidus => (b"\\\\", b'\\'),
            // RFC 8785 never escapes the solidus (serde_json does not either).
            CharEscape::Solidus => (b"/", b'/'),
            CharEscape::Backspace => (b"\\b", 0x08),
            CharEscape::FormFeed => (b"\\f", 0x0c),
            CharEscape::LineFeed => (b"\\n", b'\n'),
            CharEscape::CarriageReturn => (b"\\r", b'\r'),
            CharEscape::Tab => (b"\\t", b'\t'),
            CharEscape::AsciiControl(byte) => {
                let hex = [
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 0xf)],
                ];
                self.text(&hex, &[byte]);
                return Ok(());
            }
        };
        self.text(written, &[byte]);
        Ok(())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.out.push(b'[');
        Ok(())
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.out.push(b']');
        Ok(())
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if !first {
            self.out.push(b',');
        }
        Ok(())
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.out.push(b'{');
        self.objects.push(Object {
            start: self.out.len(),
            names_start: self.names.len(),
            members: Vec::new(),
            pending: None,
            name_start: (0, 0),
        });
        Ok(())
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, _: &mut W, _: bool) -> io::Result<()> {
        let (out, names) = (self.out.len(), self.names.len());
        let object = self
            .objects
            .last_mut()
            .ok_or_else(|| invalid("a member outside an object"))?;
        object.name_start = (out, names);
        self.in_name = true;
        Ok(())
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.in_name = false;
        let (out, names) = (self.out.len(), self.names.len());
        let object = self
            .objects
            .last_mut()
            .ok_or_else(|| invalid("a member outside an object"))?;
        let (out_start, names_start) = object.name_start;
        object.pending = Some((out_start..out, names_start..names));
        Ok(())
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        let value_end = self.out.len();
        let object = self
            .objects
            .last_mut()
            .ok_or_else(|| invalid("a member outside an object"))?;
        let (name, sort_name) = object
            .pending
            .take()
            .ok_or_else(|| invalid("a member value without a name"))?;
        object.members.push(Member {
            name,
            value_end,
            sort_name,
        });
        Ok(())
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        let mut object = self
            .objects
            .pop()
            .ok_or_else(|| invalid("an object ended twice"))?;
        let names = &self.names;
        object
            .members
            .sort_by(|a, b| utf16_order(&names[a.sort_name.clone()], &names[b.sort_name.clone()]));
        if object
            .members
            .windows(2)
            .any(|w| names[w[0].sort_name.clone()] == names[w[1].sort_name.clone()])
        {
            return Err(invalid("a member name given twice in one object"));
        }
        // The members were written one after another, unseparated; write them back in order.
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.out[object.start..]);
        self.out.truncate(object.start);
        for (i, member) in object.members.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            let at = |offset: usize| offset - object.start;
            self.out
                .extend_from_slice(&self.scratch[at(member.name.start)..at(member.name.end)]);
            self.out.push(b':');
            self.out
                .extend_from_slice(&self.scratch[at(member.name.end)..at(member.value_end)]);
        }
        self.out.push(b'}');
        self.names.truncate(object.names_start);
        Ok(())
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(&mut self, _: &mut W, _: &str) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "raw JSON fragments have no canonical form",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn canonical(v: &Value) -> String {
        String::from_utf8(to_vec(v).unwrap()).unwrap()
    }

    /// RFC 8785 §3.2.3: members sorted by UTF-16 code units, not by code points or UTF-8.
    #[test]
    fn rfc_8785_sorting_example() {
        let v: Value = serde_json::from_str(
            r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#,
        )
        .unwrap();
        let order: Vec<&str> = vec![
            "Carriage Return",
            "One",
            "Control",
            "Latin Small Letter O With Diaeresis",
            "Euro Sign",
            "Emoji: Grinning Face",
            "Hebrew Letter Dalet With Dagesh",
        ];
        let out = canonical(&v);
        let mut at = 0;
        for name in order {
            let found = out[at..]
                .find(name)
                .unwrap_or_else(|| panic!("{name} in {out}"));
            at += found;
        }
    }

    /// RFC 8785 §3.2.2: literals, escapes and ECMAScript numbers.
    #[test]
    fn rfc_8785_values_example() {
        let v: Value = serde_json::from_str(
            r#"{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","literals":[null,true,false]}"#,
        )
        .unwrap();
        assert_eq!(
            canonical(&v),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn integers_are_exact_up_to_2_pow_53_and_doubles_beyond() {
        assert_eq!(canonical(&json!(9007199254740992u64)), "9007199254740992");
        assert_eq!(canonical(&json!(-9007199254740992i64)), "-9007199254740992");
        assert_eq!(canonical(&json!(u64::MAX)), "18446744073709552000");
        assert_eq!(canonical(&json!(9007199254740993u64)), "9007199254740992");
    }

    #[test]
    fn nested_objects_sort_at_every_level_and_duplicates_are_refused() {
        let v = json!({"b": {"z": 1, "a": [ {"y": 2, "x": {}} ]}, "a": "\u{1}"});
        assert_eq!(
            canonical(&v),
            r#"{"a":"\u0001","b":{"a":[{"x":{},"y":2}],"z":1}}"#
        );
        #[derive(Serialize)]
        struct Twice {
            a: u8,
            #[serde(rename = "a")]
            b: u8,
        }
        assert!(to_vec(&Twice { a: 1, b: 2 }).is_err());
        // Escaped names sort by what they denote.
        let v: Value = serde_json::from_str(r#"{"\"b":1,"\\a":2,"\u0001":3}"#).unwrap();
        assert_eq!(canonical(&v), r#"{"\u0001":3,"\"b":1,"\\a":2}"#);
    }

    /// A small deterministic generator of JSON values: nested objects and arrays, names and
    /// strings drawn from tricky characters (escapes, controls, BMP above U+E000, astral).
    fn arbitrary(seed: &mut u64, depth: u32) -> Value {
        fn next(seed: &mut u64) -> u64 {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        }
        fn string(seed: &mut u64) -> String {
            const CHARS: &[char] = &[
                'a',
                'b',
                'Z',
                '0',
                '"',
                '\\',
                '/',
                '\n',
                '\u{1}',
                '\u{1f}',
                '\u{7f}',
                'é',
                '\u{e000}',
                '\u{fb33}',
                '\u{ffff}',
                '😀',
                '\u{10000}',
                ' ',
            ];
            let len = next(seed) % 5;
            (0..len)
                .map(|_| CHARS[(next(seed) % CHARS.len() as u64) as usize])
                .collect()
        }
        match next(seed) % if depth > 3 { 6 } else { 8 } {
            0 => Value::Null,
            1 => Value::Bool(next(seed).is_multiple_of(2)),
            2 => json!(next(seed) >> (next(seed) % 64)),
            3 => json!(-((next(seed) >> 12) as i64)),
            4 => json!((next(seed) % 100_000) as f64 / 7.0),
            5 => Value::String(string(seed)),
            6 => Value::Array(
                (0..next(seed) % 4)
                    .map(|_| arbitrary(seed, depth + 1))
                    .collect(),
            ),
            _ => Value::Object(
                (0..next(seed) % 5)
                    .map(|_| (string(seed), arbitrary(seed, depth + 1)))
                    .collect(),
            ),
        }
    }

    /// The same bytes as the reference implementation, on thousands of generated values.
    #[test]
    fn same_bytes_as_serde_json_canonicalizer() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let v = arbitrary(&mut seed, 0);
            let ours = to_vec(&v).unwrap();
            let reference = serde_json_canonicalizer::to_vec(&v).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&reference),
                "{v:?}"
            );
        }
    }
}

//! The XML of the S3 API: error documents, ListObjectsV2 pages, and the multipart upload's
//! requests and answers. Bodies are small and bounded by the caller, so they are read into a
//! tiny element tree (quick-xml's pull reader underneath) and picked apart by name.

use quick_xml::Reader;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;

/// An element: its local name (namespace prefix dropped), its text, its children.
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The text of the first child named `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// Every child named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// Deeper documents are refused (S3's go three or four levels down).
const MAX_DEPTH: usize = 32;

/// Parses a whole document into its root element.
pub(crate) fn parse(body: &[u8]) -> Result<Element, String> {
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    let bad = |e: &dyn std::fmt::Display| format!("invalid XML: {e}");
    loop {
        let event = reader.read_event().map_err(|e| bad(&e))?;
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err("XML nested too deeply".into());
                }
                if root.is_some() {
                    return Err("invalid XML: content after the root element".into());
                }
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                stack.push(Element {
                    name,
                    ..Element::default()
                });
            }
            Event::Empty(empty) => {
                let name = String::from_utf8_lossy(empty.local_name().as_ref()).into_owned();
                let element = Element {
                    name,
                    ..Element::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None if root.is_none() => root = Some(element),
                    None => return Err("invalid XML: content after the root element".into()),
                }
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| "invalid XML: unbalanced end tag".to_string())?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Text(text) => {
                let text = text.decode().map_err(|e| bad(&e))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Event::CData(data) => {
                let data = data.decode().map_err(|e| bad(&e))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&data);
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(|e| bad(&e))? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = reference.decode().map_err(|e| bad(&e))?;
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| format!("invalid XML: unknown entity &{name};"))?
                            .to_owned()
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err("invalid XML: the document ends inside an element".into());
    }
    root.ok_or_else(|| "invalid XML: no root element".into())
}

/// The `Code` and `Message` of an S3 error document, if `body` is one.
pub(crate) fn error_code(body: &[u8]) -> Option<(String, String)> {
    let root = parse(body).ok()?;
    if root.name != "Error" {
        return None;
    }
    let code = root.child_text("Code")?.trim().to_owned();
    let message = root.child_text("Message").unwrap_or("").trim().to_owned();
    Some((code, message))
}

/// One page of ListObjectsV2.
#[derive(Debug, Default)]
pub(crate) struct ListPage {
    /// (full key, size, ETag without quotes).
    pub objects: Vec<(String, u64, String)>,
    /// The token of the next page, when the listing is truncated.
    pub next: Option<String>,
}

/// Parses a `ListBucketResult` (ListObjectsV2).
pub(crate) fn list_page(body: &[u8]) -> Result<ListPage, String> {
    let root = parse(body)?;
    if root.name != "ListBucketResult" {
        return Err(format!("expected ListBucketResult, got {}", root.name));
    }
    let mut page = ListPage::default();
    for contents in root.children_named("Contents") {
        let key = contents
            .child_text("Key")
            .ok_or("a Contents element without Key")?;
        let size = contents
            .child_text("Size")
            .ok_or("a Contents element without Size")?
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("the size of {key:?} is not a number"))?;
        let etag = contents.child_text("ETag").unwrap_or("");
        page.objects
            .push((key.to_owned(), size, unquote(etag.trim()).to_owned()));
    }
    let truncated = root
        .child_text("IsTruncated")
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("true"));
    if truncated {
        let token = root
            .child_text("NextContinuationToken")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or("a truncated listing without NextContinuationToken")?;
        page.next = Some(token.to_owned());
    }
    Ok(page)
}

/// The `UploadId` of an `InitiateMultipartUploadResult`.
pub(crate) fn upload_id(body: &[u8]) -> Result<String, String> {
    let root = parse(body)?;
    if root.name != "InitiateMultipartUploadResult" {
        return Err(format!(
            "expected InitiateMultipartUploadResult, got {}",
            root.name
        ));
    }
    root.child_text("UploadId")
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| "no UploadId".into())
}

/// What a 200 answer to CompleteMultipartUpload says: S3 can report an error inside a 200
/// (the status is sent before the parts are assembled).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Completed {
    /// The object's ETag, without quotes.
    Done(String),
    /// `(code, message)` of an `<Error>` document.
    Failed(String, String),
}

/// Parses the answer to CompleteMultipartUpload.
pub(crate) fn completed(body: &[u8]) -> Result<Completed, String> {
    let root = parse(body)?;
    match root.name.as_str() {
        "CompleteMultipartUploadResult" => Ok(Completed::Done(
            unquote(root.child_text("ETag").unwrap_or("").trim()).to_owned(),
        )),
        "Error" => Ok(Completed::Failed(
            root.child_text("Code").unwrap_or("").trim().to_owned(),
            root.child_text("Message").unwrap_or("").trim().to_owned(),
        )),
        other => Err(format!(
            "expected CompleteMultipartUploadResult, got {other}"
        )),
    }
}

/// One uploaded part, for the CompleteMultipartUpload request.
pub(crate) struct Part {
    pub number: u32,
    /// Its ETag as the store gave it (quotes or not).
    pub etag: String,
    /// Base64 SHA-256 of the part.
    pub checksum_sha256: String,
}

/// The body of CompleteMultipartUpload.
pub(crate) fn complete_request(parts: &[Part]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
    );
    for part in parts {
        out.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag>\
             <ChecksumSHA256>{}</ChecksumSHA256></Part>",
            part.number,
            escape(part.etag.as_str()),
            escape(part.checksum_sha256.as_str()),
        ));
    }
    out.push_str("</CompleteMultipartUpload>");
    out
}

/// The body of CreateBucket outside us-east-1 (where it must be absent).
pub(crate) fn create_bucket_request(region: &str) -> String {
    format!(
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
        escape(region)
    )
}

/// An ETag without its surrounding quotes.
pub(crate) fn unquote(etag: &str) -> &str {
    etag.strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or(etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_documents() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a&amp;b</Key></Error>"#;
        assert_eq!(
            error_code(body),
            Some((
                "NoSuchKey".into(),
                "The specified key does not exist.".into()
            ))
        );
        assert_eq!(error_code(b"<html>nope</html>"), None);
        assert_eq!(error_code(b"not xml at all <"), None);
        assert_eq!(error_code(b""), None);
    }

    #[test]
    fn list_pages() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>p/a &amp; b&#x20;&lt;c&gt;&#233;</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>
    <ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key><![CDATA[p/b]]></Key><ETag>"abc-2"</ETag><Size>17825792</Size></Contents>
  <NextContinuationToken>tok/en==</NextContinuationToken>
</ListBucketResult>"#;
        let page = list_page(body).unwrap();
        assert_eq!(
            page.objects,
            vec![
                (
                    "p/a & b <c>é".to_string(),
                    5,
                    "5d41402abc4b2a76b9719d911017c592".to_string()
                ),
                ("p/b".to_string(), 17825792, "abc-2".to_string()),
            ]
        );
        assert_eq!(page.next.as_deref(), Some("tok/en=="));

        let last = b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
        let page = list_page(last).unwrap();
        assert!(page.objects.is_empty() && page.next.is_none());

        let no_token = b"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>";
        assert!(list_page(no_token).is_err());
        assert!(list_page(b"<Error><Code>X</Code></Error>").is_err());
        assert!(list_page(b"<ListBucketResult><Contents><Key>k</Key><Size>x</Size></Contents></ListBucketResult>").is_err());
        assert!(list_page(b"<ListBucketResult><Contents>").is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn multipart_documents() {
        let init = br#"<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkSUQ</UploadId></InitiateMultipartUploadResult>"#;
        assert_eq!(upload_id(init).unwrap(), "VXBsb2FkSUQ");
        assert!(upload_id(b"<InitiateMultipartUploadResult/>").is_err());

        let done = br#"<CompleteMultipartUploadResult><Location>x</Location><ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag></CompleteMultipartUploadResult>"#;
        assert_eq!(
            completed(done).unwrap(),
            Completed::Done("3858f62230ac3c915f300c664312c11f-9".into())
        );
        let failed =
            b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>";
        assert_eq!(
            completed(failed).unwrap(),
            Completed::Failed(
                "InternalError".into(),
                "We encountered an internal error.".into()
            )
        );

        let body = complete_request(&[Part {
            number: 1,
            etag: "\"e1\"".into(),
            checksum_sha256: "abc+/=".into(),
        }]);
        assert!(body.contains(
            "<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag>\
             <ChecksumSHA256>abc+/=</ChecksumSHA256></Part>"
        ));
        // What it writes, it reads back.
        let root = parse(body.as_bytes()).unwrap();
        let part = root.child("Part").unwrap();
        assert_eq!(part.child_text("ETag"), Some("\"e1\""));
        assert!(create_bucket_request("eu-west-3").contains("<LocationConstraint>eu-west-3<"));
        assert_eq!(unquote("\"x\""), "x");
        assert_eq!(unquote("x"), "x");
    }
}

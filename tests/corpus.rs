//! Captures of real policy snapshots from Open Terms Archive (../shared/corpus/html), in date
//! order per document, under their real source URLs. Skips with a message when the corpus is
//! absent (a user's fresh clone has none).

use std::collections::BTreeMap;

use crate::common::*;

/// (source_url, path) of every html row in INDEX.tsv, grouped by document, oldest first.
fn html_documents(corpus: &std::path::Path) -> BTreeMap<String, Vec<std::path::PathBuf>> {
    let index = std::fs::read_to_string(corpus.join("INDEX.tsv")).unwrap();
    let mut lines = index.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (kind, url, path, date) = (col("kind"), col("source_url"), col("path"), col("date"));
    let mut docs: BTreeMap<String, Vec<(String, std::path::PathBuf)>> = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        if f[kind] == "html" {
            docs.entry(f[url].to_owned())
                .or_default()
                .push((f[date].to_owned(), corpus.join(f[path])));
        }
    }
    docs.into_iter()
        .map(|(u, mut v)| {
            v.sort();
            (u, v.into_iter().map(|(_, p)| p).collect())
        })
        .collect()
}

#[test]
fn real_snapshots_version_by_text_and_verify() {
    let Some(corpus) = corpus() else { return };
    let docs = html_documents(&corpus);
    assert!(
        docs.len() >= 20,
        "expected the 26 html documents, found {}",
        docs.len()
    );
    let (dir, archive) = new_archive();
    let mut captures = 0;
    let mut versions = 0;
    for (url, files) in &docs {
        let mut args = vec!["--json", "capture", "--url", url.as_str()];
        let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        args.extend(paths.iter().map(String::as_str));
        let out = exhibit(&archive, &args);
        let lines = json_lines(&out);
        assert_eq!(lines.len(), files.len(), "{url}: {}", stderr(&out));
        let mut previous_text: Option<&str> = None;
        for (c, file) in lines.iter().zip(files) {
            let bytes = std::fs::read(file).unwrap();
            assert_eq!(c["sha256"], sha256_hex(&bytes), "{}", file.display());
            let text = c["text_sha256"].as_str().expect("html yields text");
            let changed = previous_text != Some(text);
            assert_eq!(
                c["changed"],
                changed,
                "{}: version decision",
                file.display()
            );
            versions += usize::from(changed);
            previous_text = Some(text);
            captures += 1;
        }
        let h = &json_lines(&exhibit(&archive, &["--json", "history", url]))[0];
        let n: u64 = h["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["captures"].as_u64().unwrap())
            .sum();
        assert_eq!(n, files.len() as u64, "{url}");
    }
    eprintln!(
        "corpus: {} documents, {captures} captures, {versions} versions",
        docs.len()
    );
    // Every capture's signature verifies; spot-check the stored bytes of the last one.
    for n in 1..=captures {
        let id = format!("EX-C-{n:06}");
        let j = &json_lines(&exhibit(&archive, &["--json", "show", &id]))[0];
        assert_eq!(j["signature_valid"], true, "{id}");
    }

    // The report of the document with the most versions, from its real pages: every capture's
    // hash on a page, and the bundle that carries it verifies, report rebuilt and identical.
    let (url, _) = docs.iter().max_by_key(|(_, files)| files.len()).unwrap();
    let bundle = dir.path().join("corpus.tar.zst");
    ok(&exhibit(
        &archive,
        &["bundle", url, "--out", bundle.to_str().unwrap()],
    ));
    let v = exhibit_verify(&[bundle.to_str().unwrap(), "--key", &fingerprint(&archive)]);
    assert!(ok(&v).contains("rebuilt from the records, identical"));
    if have("pdftotext") {
        let x = dir.path().join("corpus-x");
        std::fs::create_dir(&x).unwrap();
        untar(&bundle, &x);
        let bag = std::fs::read_dir(&x)
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path();
        let text = std::process::Command::new("pdftotext")
            .arg("-layout")
            .arg(bag.join("exhibit/report.pdf"))
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout).into_owned();
        let listed = json_lines(&exhibit(&archive, &["--json", "list", "--limit", "1000"]));
        for c in listed.iter().filter(|c| c["url"] == url.as_str()) {
            let sha = c["sha256"].as_str().unwrap();
            assert!(text.contains(sha), "{url}: the report lacks {sha}");
        }
    }
}

//! Shared by the corpus test and the extraction-quality example: reference Markdown to the
//! words a reader sees.

/// Remove Markdown link and image targets (`](url)`) and images' alt text, which are not text a
/// reader sees and which we do not keep either.
pub fn strip_markdown_targets(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let mut rest = md;
    while let Some(i) = rest.find("](") {
        let (before, after) = rest.split_at(i);
        // Drop the image alt text: `![alt](src)`.
        let before = match before.rfind("![") {
            Some(j) if !before[j..].contains(']') => &before[..j],
            _ => before,
        };
        out.push_str(before);
        out.push(' ');
        let after = &after[2..];
        // Skip to the closing parenthesis (URLs may contain balanced parentheses).
        let mut depth = 1usize;
        let mut end = after.len();
        for (k, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                '\n' => {
                    end = k;
                    break;
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

//! Every relative link in the repository's Markdown resolves: `[text](path)` to an existing
//! file or directory, `[text](#anchor)` to a heading of the same file (GitHub's slugs).
//!
//! Absolute URLs (`https:`, `mailto:` …) are not fetched. Code blocks and code spans are
//! skipped, as GitHub renders no links there.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

#[test]
fn relative_links_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = markdown_files(root);
    assert!(
        files.iter().any(|f| f.ends_with("README.md")),
        "no README.md found under {}",
        root.display()
    );
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let name = file.strip_prefix(root).unwrap().display().to_string();
        let anchors = anchors(&text);
        for link in links(&text) {
            checked += 1;
            if resolves(root, file, &link, &anchors) {
                continue;
            }
            broken.push(format!("{name}: ({link})"));
        }
    }
    assert!(checked > 0, "no relative links found in {files:?}");
    assert!(
        broken.is_empty(),
        "broken relative links:\n{}",
        broken.join("\n")
    );
}

/// The `*.md` files of the repository, outside `target/`, hidden directories and `node_modules/`.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy();
            if path.is_dir() {
                // Build output, VCS data and installed tools (`.stack/`, `node_modules`)
                // hold other projects' Markdown.
                if name != "target" && !name.starts_with('.') && name != "node_modules" {
                    dirs.push(path);
                }
            } else if name.ends_with(".md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Whether `link`, found in `file`, points at something that exists.
fn resolves(root: &Path, file: &Path, link: &str, anchors: &BTreeSet<String>) -> bool {
    if let Some(anchor) = link.strip_prefix('#') {
        return anchors.contains(&percent_decode(anchor).to_lowercase());
    }
    let path = link.split(['#', '?']).next().unwrap_or_default();
    let path = percent_decode(path);
    let target = match path.strip_prefix('/') {
        Some(from_root) => root.join(from_root),
        None => file.parent().unwrap().join(path),
    };
    target.exists()
}

/// The relative link targets of `[text](target)`, `![alt](target)` and `[label]: target`.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose_lines(text) {
        let line = without_code_spans(&line);
        // Reference definitions: `[label]: target "title"`.
        let trimmed = line.trim_start();
        if let Some(label_end) = trimmed.strip_prefix('[').and_then(|t| t.find(']')) {
            if let Some(def) = trimmed[label_end + 2..].strip_prefix(':') {
                if let Some(target) = def.split_whitespace().next() {
                    out.push(target.trim_matches(['<', '>']).to_string());
                }
                continue;
            }
        }
        // Inline links: `](target)` or `](target "title")`, possibly `](<target>)`.
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let inside = rest[..end].trim();
            let target = if let Some(angled) = inside.strip_prefix('<') {
                angled.split('>').next().unwrap_or_default()
            } else {
                inside.split_whitespace().next().unwrap_or_default()
            };
            out.push(target.to_string());
            rest = &rest[end..];
        }
    }
    out.retain(|l| !l.is_empty() && !is_absolute(l));
    out
}

/// `scheme:` (https:, mailto:, …) or protocol-relative `//host`.
fn is_absolute(link: &str) -> bool {
    if link.starts_with("//") {
        return true;
    }
    match link.find(':') {
        Some(colon) => {
            let scheme = &link[..colon];
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !link[..colon].contains('/')
        }
        None => false,
    }
}

/// The lines outside fenced code blocks (``` or ~~~).
fn prose_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence: Option<&str> = None;
    for line in text.lines() {
        let t = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| t.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(f), Some(m)) if f == m => fence = None,
            (None, None) => out.push(line.to_string()),
            _ => {}
        }
    }
    out
}

/// The line with its `code spans` removed.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
        } else if !in_code {
            out.push(c);
        }
    }
    out
}

/// The anchors GitHub generates for the file's headings, `-1`, `-2` … for repeats.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = BTreeSet::new();
    for line in prose_lines(text) {
        let t = line.trim_start();
        let hashes = t.chars().take_while(|&c| c == '#').count();
        if hashes == 0 || hashes > 6 || !t[hashes..].starts_with([' ', '\t']) {
            continue;
        }
        let slug = slug(t[hashes..].trim().trim_end_matches('#').trim());
        let n = seen.entry(slug.clone()).or_insert(0);
        out.insert(if *n == 0 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        });
        *n += 1;
    }
    out
}

/// GitHub's heading slug: the text of links kept, lowercase, letters, digits, `_` and `-`
/// kept, spaces to `-`, everything else dropped.
fn slug(heading: &str) -> String {
    // `[text](url)` contributes only its text.
    let mut text = String::new();
    let mut rest = heading;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        match (after.find("]("), after.find(')')) {
            (Some(close), Some(end)) if close < end => {
                text.push_str(&rest[..open]);
                text.push_str(&after[..close]);
                rest = &after[end + 1..];
            }
            _ => {
                text.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    text.push_str(rest);
    text.to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn slugs_follow_github() {
    assert_eq!(slug("Reading order"), "reading-order");
    assert_eq!(slug("`chat/turn.rs` first"), "chatturnrs-first");
    assert_eq!(slug("What's in the box?"), "whats-in-the-box");
    assert_eq!(slug("OTLP: traces & metrics"), "otlp-traces--metrics");
    assert_eq!(slug("See [the docs](docs/x.md) now"), "see-the-docs-now");
    let a = anchors("# Title\n## Setup\n## Setup\n```\n# not a heading\n```\n");
    assert_eq!(
        a.into_iter().collect::<Vec<_>>(),
        ["setup", "setup-1", "title"]
    );
    assert_eq!(
        links("[a](docs/x.md#y) `[b](no.md)` [c](https://e.org) [d]: ./e.md\n"),
        ["docs/x.md#y"]
    );
    assert_eq!(links("[d]: ./e.md \"title\"\n"), ["./e.md"]);
    assert_eq!(links("[a](x.md) and [d]: y.md\n"), ["x.md"]);
    assert_eq!(percent_decode("a%20b"), "a b");
}

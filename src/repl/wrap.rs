//! Word wrap for streamed replies, as `ollama run` does it: on a terminal, a line breaks
//! at a space, never inside a word unless the word alone is wider than the line.
//!
//! The reply arrives a few characters at a time, so a word may already be on screen when
//! we learn it does not fit. [`WordWrap`] then does what `ollama run` does: it erases the
//! word's start from the line and writes it again at the start of the next one. That needs
//! cursor movement, which is one reason this adapter is only ever put in front of a
//! terminal; piped stdout gets the model's text byte for byte.
//!
//! Only whitespace at a break we make is dropped (the break stands in for it). The
//! reply's own line starts keep theirs, so a code block keeps its indentation, and a tab
//! is passed on as a tab, counted as moving to the next tab stop (every 8 columns).
//!
//! [`fill`] is the batch version, for laying out `/help` and `/trace` lines.

use std::io::{self, Write};

use unicode_width::UnicodeWidthChar;

/// A `Write` adapter that word-wraps UTF-8 text at `width` columns.
pub(crate) struct WordWrap<W: Write> {
    inner: W,
    width: usize,
    /// Columns used on the current line.
    col: usize,
    /// The word being written (already on screen), with its width in columns.
    word: String,
    word_cols: usize,
    /// The current line began at a break we made, not at one of the reply's newlines:
    /// whitespace at its start is the wrap point's, and dropped.
    soft_break: bool,
    /// The tail of a UTF-8 character split between two writes.
    partial: Vec<u8>,
}

/// Tab stops are every 8 columns, as terminals set them by default.
const TAB: usize = 8;

impl<W: Write> WordWrap<W> {
    pub(crate) fn new(inner: W, width: usize) -> Self {
        WordWrap {
            inner,
            width: width.max(2),
            col: 0,
            word: String::new(),
            word_cols: 0,
            soft_break: false,
            partial: Vec::new(),
        }
    }

    fn put(&mut self, c: char, out: &mut String) {
        match c {
            '\n' => {
                out.push('\n');
                self.col = 0;
                self.soft_break = false;
                self.end_word();
            }
            ' ' | '\t' => {
                self.end_word();
                // A tab moves the cursor to the next tab stop, every 8 columns.
                let advance = if c == '\t' { TAB - self.col % TAB } else { 1 };
                if self.col + advance > self.width
                    || (c == '\t' && self.col + advance == self.width)
                {
                    // Whitespace that does not fit on the line becomes the line break. (A
                    // tab reaching the edge would leave the cursor in the last column,
                    // where the next character overwrites the one there.)
                    out.push('\n');
                    self.col = 0;
                    self.soft_break = true;
                } else if self.col == 0 && self.soft_break {
                    // Whitespace at the start of a *wrapped* line is dropped: the break
                    // stands in for it. After a hard newline it is indentation, and kept.
                } else {
                    // The reply's own byte: a tab stays a tab.
                    out.push(c);
                    self.col += advance;
                }
            }
            c => {
                let w = c.width().unwrap_or(0);
                if self.col + w > self.width {
                    let start = self.col - self.word_cols;
                    if start > 0 && self.word_cols > 0 && self.word_cols + w <= self.width {
                        // Take the word back: to the line's start, forward to the word, erase
                        // to the end of the line, then write it again on the next line.
                        out.push_str(&format!("\r\x1b[{start}C\x1b[K\n{}", self.word));
                        self.col = self.word_cols;
                    } else {
                        // No space to break at: the word is wider than the line.
                        out.push('\n');
                        self.col = 0;
                        self.end_word();
                    }
                }
                out.push(c);
                self.col += w;
                self.soft_break = false;
                self.word.push(c);
                self.word_cols += w;
            }
        }
    }

    fn end_word(&mut self) {
        self.word.clear();
        self.word_cols = 0;
    }
}

impl<W: Write> Write for WordWrap<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.partial.extend_from_slice(buf);
        let valid = match std::str::from_utf8(&self.partial) {
            Ok(s) => s.len(),
            // An incomplete character at the end waits for the next write; invalid bytes
            // cannot come from Ollama's JSON, which is UTF-8 by definition.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => e.valid_up_to() + e.error_len().unwrap_or(0),
        };
        let bytes: Vec<u8> = self.partial.drain(..valid).collect();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let mut out = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            self.put(c, &mut out);
        }
        self.inner.write_all(out.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Breaks `text` into lines of at most `width` columns at spaces; every line after the
/// first starts with `indent` (a hanging indent). A word wider than the line is cut.
pub(crate) fn fill(text: &str, width: usize, indent: &str) -> Vec<String> {
    let indent_cols = super::term::columns(indent);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut cols = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word = word.to_string();
        loop {
            let word_cols = super::term::columns(&word);
            let lead = if lines.is_empty() { 0 } else { indent_cols };
            let room = width.saturating_sub(lead).max(1);
            let gap = usize::from(cols > 0);
            if cols + gap + word_cols <= room {
                if gap == 1 {
                    line.push(' ');
                }
                line.push_str(&word);
                cols += gap + word_cols;
                break;
            }
            if cols > 0 {
                lines.push(std::mem::take(&mut line));
                cols = 0;
                continue;
            }
            // A word wider than the whole line: cut it where the line ends.
            let (head, tail) = split_at_columns(&word, room);
            lines.push(head);
            word = tail;
            if word.is_empty() {
                break;
            }
        }
    }
    if cols > 0 || lines.is_empty() {
        lines.push(line);
    }
    for l in lines.iter_mut().skip(1) {
        l.insert_str(0, indent);
    }
    lines
}

/// The longest prefix of `text` that fits in `cols` columns (at least one character), and the rest.
pub(crate) fn split_at_columns(text: &str, cols: usize) -> (String, String) {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > cols && i > 0 {
            return (text[..i].to_string(), text[i..].to_string());
        }
        used += w;
    }
    (text.to_string(), String::new())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// What a terminal of `width` columns shows for `bytes`: understands the few controls
    /// [`WordWrap`] emits (`\r`, `\n`, `ESC[nC`, `ESC[K`) and wraps at the edge itself, as
    /// a terminal does, so a test sees a mid-word break exactly where a user would.
    pub(crate) fn screen(bytes: &[u8], width: usize) -> Vec<String> {
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let mut rows: Vec<Vec<char>> = vec![Vec::new()];
        let (mut row, mut col) = (0usize, 0usize);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => col = 0,
                // To the next tab stop, or the last column: a tab never wraps.
                '\t' => col = ((col / 8 + 1) * 8).min(width - 1),
                '\n' => {
                    row += 1;
                    col = 0;
                    if rows.len() <= row {
                        rows.push(Vec::new());
                    }
                }
                '\x1b' => {
                    assert_eq!(chars.next(), Some('['));
                    let mut n = String::new();
                    let cmd = loop {
                        let d = chars.next().unwrap();
                        if d.is_ascii_digit() {
                            n.push(d);
                        } else {
                            break d;
                        }
                    };
                    match cmd {
                        'C' => col = (col + n.parse::<usize>().unwrap_or(1)).min(width - 1),
                        'K' => rows[row].truncate(col),
                        other => panic!("unexpected escape {other}"),
                    }
                }
                c => {
                    if col >= width {
                        row += 1;
                        col = 0;
                        if rows.len() <= row {
                            rows.push(Vec::new());
                        }
                    }
                    let r = &mut rows[row];
                    while r.len() < col {
                        r.push(' ');
                    }
                    if r.len() == col {
                        r.push(c);
                    } else {
                        r[col] = c;
                    }
                    col += 1;
                }
            }
        }
        rows.into_iter()
            .map(|r| r.into_iter().collect::<String>().trim_end().to_string())
            .collect()
    }

    fn wrapped(chunks: &[&str], width: usize) -> Vec<String> {
        let mut w = WordWrap::new(Vec::new(), width);
        for chunk in chunks {
            w.write_all(chunk.as_bytes()).unwrap();
        }
        screen(&w.inner, width)
    }

    /// Lines break at spaces, even when a word arrives in pieces across the edge.
    #[test]
    fn breaks_at_spaces_never_mid_word() {
        let text = "The quick brown fox jumps over the lazy dog and keeps running";
        let expected = vec![
            "The quick brown fox",
            "jumps over the lazy",
            "dog and keeps",
            "running",
        ];
        assert_eq!(wrapped(&[text], 20), expected);
        // The same text streamed as sub-word tokens, as a model sends it.
        let tokens: Vec<String> = text
            .as_bytes()
            .chunks(3)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
        assert_eq!(wrapped(&tokens, 20), expected);
    }

    /// A word wider than the line is cut; newlines and multi-byte characters pass through.
    #[test]
    fn long_words_newlines_and_utf8() {
        assert_eq!(
            wrapped(&["ab abcdefghijkl x"], 10),
            vec!["ab", "abcdefghij", "kl x"]
        );
        assert_eq!(wrapped(&["one\ntwo three"], 9), vec!["one", "two three"]);
        let mut w = WordWrap::new(Vec::new(), 20);
        let bytes = "héllo wörld".as_bytes();
        for b in bytes {
            w.write_all(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(String::from_utf8(w.inner).unwrap(), "héllo wörld");
    }

    /// Indentation after the reply's own newlines (and at its very start) is kept, and a
    /// tab stays a tab byte: a code block looks as the model wrote it.
    #[test]
    fn indentation_and_tabs_are_kept() {
        let reply = "def f():\n    return 1\n\tTAB";
        let mut w = WordWrap::new(Vec::new(), 40);
        w.write_all(reply.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(w.inner.clone()).unwrap(), reply);
        assert_eq!(
            screen(&w.inner, 40),
            vec!["def f():", "    return 1", "        TAB"]
        );
        // Streamed a character at a time, as a model may send indentation.
        let chars: Vec<String> = reply.chars().map(String::from).collect();
        let chars: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(
            wrapped(&chars, 40),
            vec!["def f():", "    return 1", "        TAB"]
        );
        assert_eq!(
            wrapped(&["  two spaces first"], 40),
            vec!["  two spaces first"]
        );
    }

    /// Only whitespace at a break we make is dropped; a tab counts to its tab stop, and
    /// one that would reach the edge is the break.
    #[test]
    fn soft_breaks_drop_their_whitespace_and_tabs_take_their_columns() {
        // Spaces at the wrap point do not indent the wrapped line.
        assert_eq!(
            wrapped(&["aaaa bbbb    cccc"], 9),
            vec!["aaaa bbbb", "cccc"]
        );
        // "ab", the tab to column 8, "cd ": 11 columns, so "ef" goes to the next line.
        assert_eq!(wrapped(&["ab\tcd ef"], 12), vec!["ab      cd", "ef"]);
        assert_eq!(wrapped(&["abcdefgh\tx"], 16), vec!["abcdefgh", "x"]);
    }

    /// `fill` keeps every line within the width and indents the continuation lines.
    #[test]
    fn fill_hangs_and_fits() {
        let lines = fill("Rate the last reply with a linked span", 16, "  ");
        assert_eq!(
            lines,
            vec!["Rate the last", "  reply with a", "  linked span"]
        );
        for l in fill("a https://example.com/a/very/long/url/indeed b", 12, "") {
            assert!(l.chars().count() <= 12, "{l:?}");
        }
    }
}

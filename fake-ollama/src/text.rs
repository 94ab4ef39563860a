//! Making up the model's text and counting its "tokens".
//!
//! The fake has no model, but the stream it sends should look like one: a real
//! model streams one token per chunk, and tokens are word-ish pieces with their
//! leading space attached (`"Hello"`, `"!"`, `" How"`, `" can"` in the reference
//! transcript). [`tokenize`] reproduces that shape with three rules, so that
//! clients meet chunks that start with a space, chunks that are a lone
//! punctuation mark, and non-ASCII text (`é` stays inside its word; an emoji is a
//! piece of its own). Joining the pieces always gives the input back.
//!
//! The token counts reported in the final chunk are made up the same way, but
//! deterministically, so tests can assert them (see [`prompt_tokens`]).

/// Splits `text` into the pieces that will be streamed, one chunk each.
///
/// * whitespace sticks to the front of the next piece (`" How"`, `"\nWaves"`);
/// * letters and digits extend the current piece (`"Hello"`, `" café"`);
/// * any other character (punctuation, symbols, emoji) is a piece of its own,
///   with the whitespace in front of it (`"!"`, `" <"`, `" 🙂"`).
///
/// Whitespace at the very end becomes a last piece of its own.
pub(crate) fn tokenize(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let has_visible = |s: &str| s.chars().any(|c| !c.is_whitespace());
    for c in text.chars() {
        if c.is_whitespace() {
            if has_visible(&current) {
                pieces.push(std::mem::take(&mut current));
            }
            current.push(c);
        } else if c.is_alphanumeric() {
            current.push(c);
        } else {
            if has_visible(&current) {
                pieces.push(std::mem::take(&mut current));
            }
            current.push(c);
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// The words [`lorem`] cycles through: plain ASCII letters, no punctuation, so
/// `Reply::Words(n)` streams exactly `n` chunks.
const LOREM: [&str; 32] = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "ex",
    "ea",
];

/// `n` deterministic lorem-ipsum words separated by single spaces
/// (`"lorem ipsum dolor"` for 3). [`tokenize`] turns it into exactly `n` pieces.
pub(crate) fn lorem(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(LOREM[i % LOREM.len()]);
    }
    out
}

/// The words [`musing`] cycles through, for `Thinking::Words(n)`: plain ASCII
/// letters like [`LOREM`], and none of them a lorem word, so a test can tell a
/// thinking chunk from a content chunk by its text alone.
const MUSING: [&str; 16] = [
    "hmm", "okay", "so", "first", "consider", "what", "is", "being", "asked", "then", "check",
    "again", "right", "that", "works", "now",
];

/// `n` deterministic thinking words separated by single spaces (`"hmm okay
/// so"` for 3). [`tokenize`] turns it into exactly `n` pieces.
pub(crate) fn musing(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(MUSING[i % MUSING.len()]);
    }
    out
}

/// The fake's `prompt_eval_count`: whitespace-separated words over all the
/// messages' contents, plus 4 per message (a stand-in for the chat template's
/// role markers).
pub(crate) fn prompt_tokens<'a>(contents: impl IntoIterator<Item = &'a str>) -> u64 {
    contents
        .into_iter()
        .map(|c| c.split_whitespace().count() as u64 + 4)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_the_reference_transcript() {
        assert_eq!(
            tokenize("Hello! How can I help you today?"),
            ["Hello", "!", " How", " can", " I", " help", " you", " today", "?"]
        );
    }

    #[test]
    fn non_ascii_and_html_characters() {
        assert_eq!(
            tokenize("Café é 🙂 <tag> & more"),
            ["Café", " é", " 🙂", " <", "tag", ">", " &", " more"]
        );
    }

    #[test]
    fn newlines_and_trailing_whitespace() {
        assert_eq!(tokenize("a\n\nb  "), ["a", "\n\nb", "  "]);
        assert_eq!(tokenize(""), Vec::<String>::new());
        assert_eq!(tokenize("   "), ["   "]);
    }

    #[test]
    fn joining_the_pieces_gives_the_text_back() {
        for text in [
            "You said: [fault:truncate] please",
            "  leading, trailing.  ",
            "x<y && y>z; naïve 中文 👍🏽!",
            "line one\nline two\r\n\tindented",
        ] {
            assert_eq!(tokenize(text).concat(), text);
        }
    }

    #[test]
    fn lorem_gives_exactly_n_pieces() {
        assert_eq!(lorem(3), "lorem ipsum dolor");
        for n in [0, 1, 2, 31, 32, 33, 100] {
            assert_eq!(tokenize(&lorem(n)).len(), n);
        }
    }

    #[test]
    fn musing_gives_exactly_n_pieces_and_no_lorem_word() {
        assert_eq!(musing(3), "hmm okay so");
        for n in [0, 1, 15, 16, 17, 50] {
            assert_eq!(tokenize(&musing(n)).len(), n);
        }
        assert!(MUSING.iter().all(|w| !LOREM.contains(w)));
    }

    #[test]
    fn prompt_tokens_counts_words_plus_four_per_message() {
        assert_eq!(prompt_tokens(["Say hello."]), 2 + 4);
        assert_eq!(
            prompt_tokens(["You are terse.", "  Hi  there "]),
            3 + 4 + 2 + 4
        );
        assert_eq!(prompt_tokens([""]), 4);
        assert_eq!(prompt_tokens(Vec::<&str>::new()), 0);
    }
}

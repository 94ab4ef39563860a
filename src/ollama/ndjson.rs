//! Splitting a byte stream into NDJSON lines.
//!
//! The network hands us bytes in arbitrary pieces: a JSON line may arrive in several reads,
//! and a multi-byte UTF-8 character may be cut in two. So we buffer *bytes*, split on
//! `b'\n'` (which never occurs inside a UTF-8 multi-byte sequence), and only decode complete
//! lines. This module is pure and has no I/O, so its tests can cut the input at every byte.

use bytes::{Buf, BytesMut};

/// Accumulates bytes and yields complete lines (without the trailing `\n`).
#[derive(Debug, Default)]
pub struct LineDecoder {
    buf: BytesMut,
    /// Where to resume looking for `\n`, so a long line is not rescanned on every read.
    scanned: usize,
}

impl LineDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the network.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Returns the next complete line, if one is buffered. Blank lines are skipped.
    pub fn next_line(&mut self) -> Option<BytesMut> {
        loop {
            let Some(newline) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') else {
                self.scanned = self.buf.len();
                return None;
            };
            let mut line = self.buf.split_to(self.scanned + newline + 1);
            self.scanned = 0;
            line.truncate(line.len() - 1);
            if line.last() == Some(&b'\r') {
                line.truncate(line.len() - 1);
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                return Some(line);
            }
        }
    }

    /// At end of stream: the unterminated last line, if any. Ollama's `c.JSON` replies
    /// (e.g. the `messages: []` load answer) end without `\n`.
    pub fn finish(&mut self) -> Option<BytesMut> {
        self.scanned = 0;
        let rest = self.buf.split();
        (!rest.iter().all(u8::is_ascii_whitespace)).then_some(rest)
    }

    /// Bytes received but not yet returned as a line.
    pub fn pending(&self) -> usize {
        self.buf.remaining()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(pieces: &[&[u8]]) -> Vec<String> {
        let mut dec = LineDecoder::new();
        let mut out = Vec::new();
        for piece in pieces {
            dec.push(piece);
            while let Some(line) = dec.next_line() {
                out.push(String::from_utf8(line.to_vec()).unwrap());
            }
        }
        if let Some(rest) = dec.finish() {
            out.push(String::from_utf8(rest.to_vec()).unwrap());
        }
        out
    }

    /// Cutting the input at every byte position, including inside `é` and `🙂`, gives the same lines.
    #[test]
    fn every_split_point_gives_the_same_lines() {
        let input = "{\"a\":\"héllo\"}\n{\"b\":\"🙂 ok\"}\n\n{\"c\":1}".as_bytes();
        let expected = vec!["{\"a\":\"héllo\"}", "{\"b\":\"🙂 ok\"}", "{\"c\":1}"];
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let got = lines_of(&[&input[..i], &input[i..j], &input[j..]]);
                assert_eq!(got, expected, "split at {i} and {j}");
            }
        }
    }

    /// One byte at a time works too, and CRLF line ends are accepted.
    #[test]
    fn byte_by_byte_and_crlf() {
        let input = b"{\"x\":1}\r\n{\"y\":2}\n";
        let pieces: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(lines_of(&pieces), vec!["{\"x\":1}", "{\"y\":2}"]);
    }

    proptest::proptest! {
        /// Any bytes, cut into any pieces, decode to the same lines as one contiguous
        /// read, and never panic: the network decides the cuts, not us.
        #[test]
        fn any_cuts_decode_like_one_read(
            body in proptest::collection::vec(proptest::prop_oneof![
                4 => proptest::num::u8::ANY,
                1 => proptest::strategy::Just(b'\n'),
                1 => proptest::strategy::Just(b'\r'),
            ], 0..2048),
            cuts in proptest::collection::vec(0usize..2048, 0..16),
        ) {
            let whole = lines_of_bytes(&[&body]);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(body.len())).collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut from = 0;
            for cut in cuts {
                pieces.push(&body[from..cut]);
                from = cut;
            }
            pieces.push(&body[from..]);
            proptest::prop_assert_eq!(lines_of_bytes(&pieces), whole);
        }
    }

    fn lines_of_bytes(pieces: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut dec = LineDecoder::new();
        let mut out = Vec::new();
        for piece in pieces {
            dec.push(piece);
            while let Some(line) = dec.next_line() {
                out.push(line.to_vec());
            }
        }
        out.extend(dec.finish().map(|rest| rest.to_vec()));
        out
    }

    /// A body without a final newline still yields its last line at the end.
    #[test]
    fn unterminated_last_line() {
        assert_eq!(lines_of(&[b"{\"done\":true}"]), vec!["{\"done\":true}"]);
    }
}

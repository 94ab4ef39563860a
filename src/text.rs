//! Small text helpers shared by the terminal and the telemetry code.

/// Cuts `text` to at most `max_chars` characters (never inside a UTF-8 character),
/// saying how much was dropped.
pub fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((cut, _)) => {
            let dropped = text[cut..].chars().count();
            format!("{}… [{dropped} more characters]", &text[..cut])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::truncate;

    /// Short text is unchanged; long text is cut on a character boundary.
    #[test]
    fn truncates_on_char_boundary() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 2), "hé… [3 more characters]");
    }
}

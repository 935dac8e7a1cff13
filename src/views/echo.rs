//! Input echoed back in an error message: enough to recognise it, never all of it.

/// The first 40 characters of `raw`, with "…" when there were more. Echoing input back
/// helps; echoing 2,000 characters of it does not.
pub fn shorten(raw: &str) -> String {
    shorten_to(raw, 40)
}

/// The first `max_chars` characters of `raw`, with "…" when there were more: for text
/// a page shows in a list (an email's last error), where a line is enough.
pub fn shorten_to(raw: &str, max_chars: usize) -> String {
    match raw.char_indices().nth(max_chars) {
        None => raw.to_owned(),
        Some((end, _)) => format!("{}…", &raw[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_longer_than_the_limit_is_cut_and_marked() {
        assert_eq!(shorten_to("héllo", 5), "héllo");
        assert_eq!(shorten_to("héllo!", 5), "héllo…");
        assert_eq!(shorten_to("", 0), "");
        assert_eq!(shorten(&"é".repeat(41)), format!("{}…", "é".repeat(40)));
    }
}

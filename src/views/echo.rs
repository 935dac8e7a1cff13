//! Input echoed back in an error message: enough to recognise it, never all of it.

/// The first 40 characters of `raw`, with "…" when there were more. Echoing input back
/// helps; echoing 2,000 characters of it does not.
pub fn shorten(raw: &str) -> String {
    shorten_to(raw, 40)
}

/// The first `max_chars` characters of `raw`, with "…" when there were more: for text
/// a page shows in a list (an email's last error), where a line is enough.
/// Control characters (a NUL, an escape) are written as escapes (`\0`, `\u{1b}`), never
/// put raw into a page.
pub fn shorten_to(raw: &str, max_chars: usize) -> String {
    let (kept, cut) = match raw.char_indices().nth(max_chars) {
        None => (raw, ""),
        Some((end, _)) => (&raw[..end], "…"),
    };
    let mut shown = String::with_capacity(kept.len() + cut.len());
    for c in kept.chars() {
        if c.is_control() {
            shown.extend(c.escape_debug());
        } else {
            shown.push(c);
        }
    }
    shown.push_str(cut);
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_as_escapes() {
        assert_eq!(shorten("a\0b\u{1b}[31m"), "a\\0b\\u{1b}[31m");
    }

    #[test]
    fn only_text_longer_than_the_limit_is_cut_and_marked() {
        assert_eq!(shorten_to("héllo", 5), "héllo");
        assert_eq!(shorten_to("héllo!", 5), "héllo…");
        assert_eq!(shorten_to("", 0), "");
        assert_eq!(shorten(&"é".repeat(41)), format!("{}…", "é".repeat(40)));
    }
}

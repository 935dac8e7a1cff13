//! Input echoed back in an error message: enough to recognise it, never all of it.

/// The first 40 characters of `raw`, with "…" when there were more. Echoing input back
/// helps; echoing 2,000 characters of it does not.
pub fn shorten(raw: &str) -> String {
    const MAX_ECHO: usize = 40;
    if raw.chars().count() <= MAX_ECHO {
        raw.to_owned()
    } else {
        let head: String = raw.chars().take(MAX_ECHO).collect();
        format!("{head}…")
    }
}

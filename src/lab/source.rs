//! The source the lab shows is the real source: the files are compiled into the
//! binary (`include_str!`) and each function is cut out of its file by name.

/// The function whose signature starts with `signature` (e.g. `pub async fn load_page`),
/// with its doc comment, up to its closing brace at the start of a line.
pub fn function(file: &str, signature: &str) -> Option<String> {
    let lines: Vec<&str> = file.lines().collect();
    let start = lines.iter().position(|line| line.starts_with(signature))?;
    let mut first = start;
    while first > 0 && lines[first - 1].trim_start().starts_with("///") {
        first -= 1;
    }
    let end = start + lines[start..].iter().position(|line| *line == "}")?;
    Some(lines[first..=end].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "use x;\n\n/// Does a thing.\n/// Twice.\npub async fn thing(a: u8) -> u8 {\n    if a > 0 {\n        a\n    } else {\n        0\n    }\n}\n\nfn other() {}\n";

    #[test]
    fn cuts_a_function_with_its_doc_comment() {
        let thing = function(FILE, "pub async fn thing").unwrap();
        assert!(thing.starts_with("/// Does a thing."));
        assert!(thing.ends_with("    }\n}"));
        assert!(!thing.contains("other"));
        assert_eq!(function(FILE, "pub fn missing"), None);
    }

    #[test]
    fn every_function_the_lab_shows_exists() {
        for pattern in super::super::catalog::PATTERNS {
            for side in [&pattern.naive, &pattern.optimized] {
                assert!(
                    function(side.source, side.signature).is_some(),
                    "{}: {} in {}",
                    pattern.slug,
                    side.signature,
                    side.file
                );
            }
        }
    }
}

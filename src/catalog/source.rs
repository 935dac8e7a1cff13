//! The source the lab shows is the real source: the files are compiled into the
//! binary (`include_str!`) and each function is cut out of its file by name.

/// The function `name` declared at the start of a line of `file` (`fn name`, `pub fn
/// name`, `pub async fn name`, …) or as a method one level in, with its doc comment,
/// up to its closing brace at the same indentation.
pub fn function(file: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = file.lines().collect();
    let start = lines.iter().position(|line| declares(line, name))?;
    let indent = &lines[start][..lines[start].len() - lines[start].trim_start().len()];
    let mut first = start;
    while first > 0 && lines[first - 1].trim_start().starts_with("///") {
        first -= 1;
    }
    let one_line = lines[start].trim_end().ends_with('}');
    let closing = format!("{indent}}}");
    let end = if one_line {
        start
    } else {
        start + lines[start..].iter().position(|line| *line == closing)?
    };
    let cut: Vec<&str> = lines[first..=end]
        .iter()
        .map(|line| line.strip_prefix(indent).unwrap_or(line))
        .collect();
    Some(cut.join("\n"))
}

/// The line (from 1) where the function `name` is declared in `file`, for links.
pub fn line_of(file: &str, name: &str) -> Option<usize> {
    file.lines()
        .position(|line| declares(line, name))
        .map(|i| i + 1)
}

/// Whether `line` starts the declaration of the function `name`.
fn declares(line: &str, name: &str) -> bool {
    let Some((head, rest)) = line.split_once("fn ") else {
        return false;
    };
    let qualifiers_only = head
        .split_whitespace()
        .all(|word| matches!(word, "pub" | "pub(crate)" | "async" | "const" | "unsafe"));
    let after = rest.strip_prefix(name).unwrap_or("-");
    let indent = line.len() - line.trim_start().len();
    (indent == 0 || line.starts_with("    ") && indent == 4)
        && qualifiers_only
        && after.starts_with(['(', '<'])
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "use x;\n\n/// Does a thing.\n/// Twice.\npub async fn thing(a: u8) -> u8 {\n    if a > 0 {\n        a\n    } else {\n        0\n    }\n}\n\nfn other() {}\n";

    #[test]
    fn cuts_a_function_with_its_doc_comment() {
        let thing = function(FILE, "thing").unwrap();
        assert!(thing.starts_with("/// Does a thing."));
        assert!(thing.ends_with("    }\n}"));
        assert!(!thing.contains("other"));
        assert_eq!(function(FILE, "missing"), None);
        assert_eq!(function(FILE, "thin"), None, "a name, not a prefix");
        assert!(function(FILE, "other").is_some());
    }
}

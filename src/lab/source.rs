//! The source the lab shows is the real source: the files are compiled into the
//! binary (`include_str!`) and each function is cut out of its file by name.

/// The function `name` declared at the start of a line of `file` (`fn name`, `pub fn
/// name`, `pub async fn name`, …) or as a method one level in, with its doc comment,
/// up to its closing brace at the same indentation.
///
/// `Type::method` names the method of that type's `impl` block, where several types
/// in one file have a method of that name (`MemoryStore::lookup`); it comes with its
/// `impl` line, so the reader sees whose method it is.
pub fn function(file: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = file.lines().collect();
    if let Some((owner, _)) = name.split_once("::") {
        let start = declaration(&lines, name)?;
        let impl_line = lines[..start]
            .iter()
            .rev()
            .find(|line| implements(line, owner))?;
        let body = cut(&lines, start)?;
        let indented: Vec<String> = body
            .lines()
            .map(|line| {
                if line.is_empty() {
                    String::new()
                } else {
                    format!("    {line}")
                }
            })
            .collect();
        return Some(format!("{impl_line}\n{}\n}}", indented.join("\n")));
    }
    let start = declaration(&lines, name)?;
    cut(&lines, start)
}

/// The line (from 1) where the function `name` is declared in `file`, for links.
pub fn line_of(file: &str, name: &str) -> Option<usize> {
    let lines: Vec<&str> = file.lines().collect();
    declaration(&lines, name).map(|i| i + 1)
}

/// The index of the line declaring `name` (or `Type::method`, inside `impl … Type`).
fn declaration(lines: &[&str], name: &str) -> Option<usize> {
    match name.split_once("::") {
        Some((owner, method)) => {
            let mut in_block = false;
            lines.iter().position(|line| {
                if implements(line, owner) {
                    in_block = true;
                } else if *line == "}" {
                    in_block = false;
                }
                in_block && line.starts_with("    ") && declares(line, method)
            })
        }
        None => lines.iter().position(|line| declares(line, name)),
    }
}

/// Whether `line` opens an `impl` block for the type `owner` (`impl Owner {`,
/// `impl Trait for Owner {`, `impl<T> Owner<T> {`).
fn implements(line: &str, owner: &str) -> bool {
    let Some(head) = line.strip_prefix("impl") else {
        return false;
    };
    let head = head.trim_end().trim_end_matches('{').trim_end();
    let target = match head.rsplit_once(" for ") {
        Some((_, target)) => target,
        None if head.starts_with('<') => head.split_once("> ").map_or("", |(_, rest)| rest),
        None => head,
    };
    let ident: String = target
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    ident == owner
}

/// The function declared at `start`, from its doc comment and attributes (a
/// `#[tracing::instrument]`) to its closing brace.
fn cut(lines: &[&str], start: usize) -> Option<String> {
    let indent = &lines[start][..lines[start].len() - lines[start].trim_start().len()];
    let mut first = start;
    while first > 0 && {
        let above = lines[first - 1].trim_start();
        above.starts_with("///") || above.starts_with("#[")
    } {
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

    const FILE: &str = "use x;\n\n/// Does a thing.\n/// Twice.\n#[tracing::instrument]\npub async fn thing(a: u8) -> u8 {\n    if a > 0 {\n        a\n    } else {\n        0\n    }\n}\n\nfn other() {}\n";

    #[test]
    fn cuts_a_function_with_its_doc_comment_and_attributes() {
        let thing = function(FILE, "thing").unwrap();
        assert!(thing.starts_with("/// Does a thing."));
        assert!(thing.ends_with("    }\n}"));
        assert!(!thing.contains("other"));
        assert_eq!(function(FILE, "missing"), None);
        assert_eq!(function(FILE, "thin"), None, "a name, not a prefix");
        assert!(function(FILE, "other").is_some());
    }

    const TWO_IMPLS: &str = "trait Store {\n    fn lookup(&self) -> u8;\n}\n\nimpl Store for Memory {\n    /// In memory.\n    fn lookup(&self) -> u8 {\n        1\n    }\n}\n\nimpl<T: Clone> Redis<T> {\n    fn lookup(&self) -> u8 {\n        2\n    }\n}\n";

    #[test]
    fn a_method_named_by_its_type_is_cut_from_that_impl_with_its_impl_line() {
        assert_eq!(
            function(TWO_IMPLS, "Memory::lookup").as_deref(),
            Some(
                "impl Store for Memory {\n    /// In memory.\n    fn lookup(&self) -> u8 {\n        1\n    }\n}"
            )
        );
        assert!(function(TWO_IMPLS, "Redis::lookup").unwrap().contains("2"));
        assert_eq!(line_of(TWO_IMPLS, "Redis::lookup"), Some(13));
        assert_eq!(function(TWO_IMPLS, "Missing::lookup"), None);
    }
}

//! Quick fixes: a diagnostic whose help line says "did you mean `x`?" (or "`x`, `y` or `z`")
//! offers to put each suggestion in place of the name its primary label marks.

use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// One replacement a quick fix makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub span: Span,
    pub replacement: String,
}

/// The suggestions of a help line: the backquoted names after "did you mean".
fn suggestions(help: &str) -> Vec<&str> {
    let Some(rest) = help.split_once("did you mean ").map(|(_, r)| r) else {
        return Vec::new();
    };
    let rest = rest.split('?').next().unwrap_or("");
    rest.split('`').skip(1).step_by(2).collect()
}

/// The quick fixes of a diagnostic; `marked` is the text its primary label covers. A quoted
/// name (a member in an assertion) keeps its quotes.
pub fn fixes(d: &Diagnostic, marked: &str) -> Vec<Fix> {
    let (Some(help), Some(span)) = (&d.help, d.primary_span()) else {
        return Vec::new();
    };
    let quoted = marked.len() >= 2 && marked.starts_with('"') && marked.ends_with('"');
    suggestions(help)
        .into_iter()
        .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
        .map(|s| {
            let replacement = if quoted {
                format!("\"{s}\"")
            } else {
                s.to_owned()
            };
            Fix {
                title: format!("Change to `{s}`"),
                span,
                replacement,
            }
        })
        .filter(|f| f.replacement != marked)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_after_did_you_mean_are_suggestions() {
        assert_eq!(suggestions("did you mean `data`?"), ["data"]);
        assert_eq!(
            suggestions("did you mean `a`, `b` or `c`?"),
            ["a", "b", "c"]
        );
        assert!(suggestions("declare it first: no role `x` is declared").is_empty());
        assert_eq!(
            suggestions("`x` is a keyword; did you mean `role`? or `y`"),
            ["role"]
        );
    }
}

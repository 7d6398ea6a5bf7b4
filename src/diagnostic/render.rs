//! Rendering diagnostics: miette's graphical reports for people, JSON for tools.
//!
//! The only module that imports miette's renderers. Secondary labels in another file than the
//! primary one become related reports, each with its own source.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteSpanContents, SourceSpan};
use serde::Serialize;

use super::{Diagnostic, Label, Severity};
use crate::source::SourceSet;

/// How to draw human output.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
    /// Terminal width for wrapping.
    pub width: usize,
}

impl Style {
    /// Plain unicode without colour, fixed width: stable output for tests and pipes.
    pub fn plain() -> Style {
        Style {
            color: false,
            width: 100,
        }
    }
}

/// A file as miette reads it: lines found with the file's [`LineIndex`] (miette's own `str`
/// source scans from the start of the file for every label), and a line longer than
/// [`WIDE`] shown as a window around the label, so that one huge line does not make every
/// report as long as the file.
struct Windowed<'s> {
    name: &'s str,
    text: &'s str,
    lines: &'s crate::source::LineIndex,
}

/// Bytes of context shown when lines are longer (a 10 MB one-line file stays readable).
const WIDE: usize = 2048;
/// Bytes shown on either side of a label in a wide line.
const AROUND: usize = 120;

impl Windowed<'_> {
    fn floor(&self, mut i: usize) -> usize {
        i = i.min(self.text.len());
        while !self.text.is_char_boundary(i) {
            i -= 1;
        }
        i
    }

    fn ceil(&self, mut i: usize) -> usize {
        i = i.min(self.text.len());
        while !self.text.is_char_boundary(i) {
            i += 1;
        }
        i
    }
}

impl miette::SourceCode for Windowed<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let len = self.text.len();
        let start = span.offset().min(len);
        let end = (span.offset() + span.len()).clamp(start, len);
        let first_line = self.lines.line_of(start as u32);
        let last_line = self.lines.line_of(end.saturating_sub(1).max(start) as u32);
        let line_start = self.lines.line_start(first_line, len);
        let name = self.name.to_owned();
        // `line_count` as miette's own sources give it: the line breaks before the data's end
        // (it decides which labels share one snippet).
        let breaks = |end: usize| self.lines.line_of(end as u32);
        let boxed = |data: &'a str, at: usize, line: usize, column: usize| {
            Box::new(MietteSpanContents::new_named(
                name.clone(),
                data.as_bytes(),
                (at, data.len()).into(),
                line,
                column,
                breaks(at + data.len()),
            )) as Box<dyn miette::SpanContents<'a> + 'a>
        };
        if before == 0 && after == 0 {
            // The label itself: its line, and its column in bytes (as miette counts them).
            return Ok(boxed(
                &self.text[start..end],
                start,
                first_line,
                start - line_start,
            ));
        }
        let from_line = first_line.saturating_sub(before);
        let to_line = last_line + after;
        let from = self.lines.line_start(from_line, len);
        let to = self.lines.line_start(to_line + 1, len);
        if to - from <= WIDE {
            return Ok(boxed(&self.text[from..to], from, from_line, 0));
        }
        // Wide lines: the label's own line only, clipped around the label.
        let line_end = self.lines.line_start(first_line + 1, len);
        let from = self.floor(start.saturating_sub(AROUND).max(line_start));
        let to = self.ceil((end.max(start + 1) + AROUND).min(line_end).min(from + WIDE));
        Ok(boxed(&self.text[from..to], from, first_line, 0))
    }
}

/// One report (or related sub-report) as miette sees it.
struct Report<'s> {
    message: String,
    code: Option<String>,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<Windowed<'s>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report<'s>>,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code
            .as_ref()
            .map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

fn windowed(sources: &SourceSet, id: crate::source::SourceId) -> Windowed<'_> {
    let f = sources.get(id);
    Windowed {
        name: &f.name,
        text: &f.text,
        lines: &f.lines,
    }
}

fn source_span(sources: &SourceSet, label: &Label) -> SourceSpan {
    let len = sources.get(label.span.source).text.len() as u32;
    let start = label.span.start.min(len);
    let end = label.span.end.clamp(start, len);
    SourceSpan::new((start as usize).into(), (end - start) as usize)
}

fn report<'s>(sources: &'s SourceSet, d: &Diagnostic) -> Report<'s> {
    let severity = match d.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let primary_source = d.primary_span().map(|s| s.source);
    let named = |id| windowed(sources, id);
    let mut labels = Vec::new();
    let mut related = Vec::new();
    for (i, label) in d.labels.iter().enumerate() {
        let span = source_span(sources, label);
        if Some(label.span.source) == primary_source {
            let text = Some(label.message.clone());
            labels.push(if i == 0 {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            });
        } else {
            related.push(Report {
                message: label.message.clone(),
                code: None,
                severity: miette::Severity::Advice,
                help: None,
                source: Some(named(label.span.source)),
                labels: vec![LabeledSpan::new_with_span(
                    Some(label.message.clone()),
                    span,
                )],
                related: Vec::new(),
            });
        }
    }
    let help = d.help.clone();
    Report {
        message: d.message.clone(),
        code: Some(d.code.as_str().to_owned()),
        severity,
        help,
        source: primary_source.map(named),
        labels,
        related,
    }
}

fn handler(style: Style) -> GraphicalReportHandler {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
}

/// Renders diagnostics for people, followed by nothing else (the caller prints the summary).
pub fn human(sources: &SourceSet, diagnostics: &[Diagnostic], style: Style) -> String {
    let handler = handler(style);
    let mut out = String::new();
    for d in diagnostics {
        let r = report(sources, d);
        if handler.render_report(&mut out, &r).is_err() {
            out.push_str(&format!(
                "{}[{}]: {}\n",
                d.severity.as_str(),
                d.code,
                d.message
            ));
        }
        out.push('\n');
    }
    out
}

/// One diagnostic in the JSON output (SPEC §4).
#[derive(Serialize, schemars::JsonSchema)]
pub struct JsonDiagnostic<'a> {
    pub severity: &'static str,
    pub code: &'static str,
    pub message: &'a str,
    pub help: Option<&'a str>,
    pub file: Option<&'a str>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    /// Secondary labels: where else the problem shows.
    pub related: Vec<JsonLabel<'a>>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct JsonLabel<'a> {
    pub message: &'a str,
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
}

#[derive(Serialize, schemars::JsonSchema)]
struct JsonOutput<'a> {
    diagnostics: Vec<JsonDiagnostic<'a>>,
    errors: usize,
    warnings: usize,
}

/// Diagnostics as tool-readable values.
pub fn json_diagnostics<'a>(
    sources: &'a SourceSet,
    diagnostics: &'a [Diagnostic],
) -> Vec<JsonDiagnostic<'a>> {
    diagnostics
        .iter()
        .map(|d| {
            let position = |span: crate::source::Span, offset: u32| {
                let f = sources.get(span.source);
                f.lines.line_col(&f.text, offset)
            };
            let primary = d.primary_span();
            let start = primary.map(|s| position(s, s.start));
            let end = primary.map(|s| position(s, s.end));
            JsonDiagnostic {
                severity: d.severity.as_str(),
                code: d.code.as_str(),
                message: &d.message,
                help: d.help.as_deref(),
                file: primary.map(|s| sources.get(s.source).name.as_str()),
                line: start.map(|p| p.0),
                column: start.map(|p| p.1),
                end_line: end.map(|p| p.0),
                end_column: end.map(|p| p.1),
                related: d
                    .labels
                    .iter()
                    .skip(1)
                    .map(|l| {
                        let (line, column) = position(l.span, l.span.start);
                        JsonLabel {
                            message: &l.message,
                            file: &sources.get(l.span.source).name,
                            line,
                            column,
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The `--format json` document of `check` and `build`.
pub fn json(sources: &SourceSet, diagnostics: &[Diagnostic]) -> String {
    let (errors, warnings) = super::counts(diagnostics);
    let out = JsonOutput {
        diagnostics: json_diagnostics(sources, diagnostics),
        errors,
        warnings,
    };
    #[expect(
        clippy::expect_used,
        reason = "cannot fail: derived `Serialize` structs of strings, numbers, options and lists (no maps) serialise infallibly"
    )]
    let mut s = serde_json::to_string_pretty(&out).expect("json output");
    s.push('\n');
    s
}

/// A labelled report without a diagnostic code: a failing assertion of `charter test`.
pub fn failure(
    sources: &SourceSet,
    span: crate::source::Span,
    message: &str,
    label: &str,
    notes: &[String],
    style: Style,
) -> String {
    let r = Report {
        message: message.to_owned(),
        code: None,
        severity: miette::Severity::Error,
        help: if notes.is_empty() {
            None
        } else {
            Some(notes.join("\n"))
        },
        source: Some(windowed(sources, span.source)),
        labels: vec![LabeledSpan::new_primary_with_span(
            Some(label.to_owned()),
            source_span(
                sources,
                &Label {
                    span,
                    message: String::new(),
                },
            ),
        )],
        related: Vec::new(),
    };
    let handler = handler(style);
    let mut out = String::new();
    if handler.render_report(&mut out, &r).is_err() {
        out = format!("error: {message}\n");
    }
    out
}

/// A file name as a relative URI reference (RFC 3986): `/` separates segments (on Windows
/// also `\\`), unreserved characters stay, every other byte of the UTF-8 name is
/// percent-encoded (`#`, `%`, `?`, spaces, newlines, `:` which would read as a scheme, and
/// non-ASCII letters), so a viewer opens the file that was meant.
pub fn uri_path(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            // A Windows separator; on unix a backslash is part of the name.
            b'\\' if cfg!(windows) => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// SARIF 2.1.0 for code-scanning tools: one rule per code (help text from
/// `docs/diagnostics.md`), one result per diagnostic with its region and related locations.
/// `extra` results (failing assertions of `charter test`) use the rule `assertion`.
pub fn sarif(sources: &SourceSet, diagnostics: &[Diagnostic], extra: &[SarifExtra]) -> String {
    use serde_json::json;
    let position = |span: crate::source::Span, offset: u32| {
        let f = sources.get(span.source);
        f.lines.line_col(&f.text, offset)
    };
    let location = |span: crate::source::Span| {
        let (sl, sc) = position(span, span.start);
        let (el, ec) = position(span, span.end);
        json!({
            "physicalLocation": {
                "artifactLocation": { "uri": uri_path(&sources.get(span.source).name) },
                "region": { "startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec.max(sc) }
            }
        })
    };
    let mut rules: Vec<serde_json::Value> = super::Code::ALL
        .iter()
        .map(|c| {
            let (meaning, fix) = super::code_docs(*c);
            json!({
                "id": c.as_str(),
                "name": c.summary(),
                "shortDescription": { "text": c.summary() },
                "fullDescription": { "text": meaning },
                "help": { "text": format!("{meaning}\n\nFix: {fix}"), "markdown": format!("{meaning}\n\n**Fix:** {fix}") },
                "defaultConfiguration": { "level": c.severity().as_str() }
            })
        })
        .collect();
    rules.push(json!({
        "id": "assertion",
        "name": "failing assertion",
        "shortDescription": { "text": "an assertion of a `test` block does not hold" },
        "defaultConfiguration": { "level": "error" }
    }));
    let mut results: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|d| {
            let mut r = json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": super::Code::ALL.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": d.severity.as_str(),
                "message": { "text": match &d.help { Some(h) => format!("{}\nhelp: {h}", d.message), None => d.message.clone() } },
            });
            if let Some(span) = d.primary_span() {
                r["locations"] = json!([location(span)]);
            }
            let related: Vec<serde_json::Value> = d
                .labels
                .iter()
                .skip(1)
                .enumerate()
                .map(|(i, l)| {
                    let mut loc = location(l.span);
                    loc["id"] = json!(i);
                    loc["message"] = json!({ "text": l.message });
                    loc
                })
                .collect();
            if !related.is_empty() {
                r["relatedLocations"] = json!(related);
            }
            r
        })
        .collect();
    for e in extra {
        results.push(json!({
            "ruleId": "assertion",
            "ruleIndex": rules.len() - 1,
            "level": "error",
            "message": { "text": e.message },
            "locations": [location(e.span)],
        }));
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "charter",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }]
    });
    #[expect(
        clippy::expect_used,
        reason = "cannot fail: a `serde_json::Value` with string keys serialises infallibly"
    )]
    let mut s = serde_json::to_string_pretty(&doc).expect("sarif json");
    s.push('\n');
    s
}

/// A result that is not a compiler diagnostic (a failing assertion).
pub struct SarifExtra {
    pub span: crate::source::Span,
    pub message: String,
}

/// GitHub Actions workflow commands: `::error file=…,line=…,col=…::message`, one a line.
pub fn github(sources: &SourceSet, diagnostics: &[Diagnostic], extra: &[SarifExtra]) -> String {
    // Escaping of workflow commands: data escapes %, CR, LF; properties also `:` and `,`.
    fn data(s: &str) -> String {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn property(s: &str) -> String {
        data(s).replace(':', "%3A").replace(',', "%2C")
    }
    let mut out = String::new();
    let mut line = |level: &str, span: Option<crate::source::Span>, title: &str, message: &str| {
        let mut props = Vec::new();
        if let Some(span) = span {
            let f = sources.get(span.source);
            let (sl, sc) = f.lines.line_col(&f.text, span.start);
            let (el, ec) = f.lines.line_col(&f.text, span.end);
            props.push(format!("file={}", property(&f.name)));
            props.push(format!("line={sl}"));
            props.push(format!("col={sc}"));
            props.push(format!("endLine={el}"));
            props.push(format!("endColumn={ec}"));
        }
        props.push(format!("title={}", property(title)));
        out.push_str(&format!(
            "::{level} {}::{}\n",
            props.join(","),
            data(message)
        ));
    };
    for d in diagnostics {
        let message = match &d.help {
            Some(h) => format!("{} (help: {h})", d.message),
            None => d.message.clone(),
        };
        line(
            d.severity.as_str(),
            d.primary_span(),
            &format!("charter {}", d.code),
            &message,
        );
    }
    for e in extra {
        line("error", Some(e.span), "charter test", &e.message);
    }
    out
}

/// The JSON Schema of `check --format json` and `build --format json`
/// (docs/schema/diagnostics.schema.json), from the types that write it.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::default()
        .for_serialize()
        .into_generator();
    serde_json::to_value(generator.into_root_schema_for::<JsonOutput<'static>>())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn uri_paths_are_percent_encoded() {
        assert_eq!(
            super::uri_path("policies/acme/prod.charter"),
            "policies/acme/prod.charter"
        );
        assert_eq!(
            super::uri_path("my dir/#1 100%?\nü:x.charter"),
            "my%20dir/%231%20100%25%3F%0A%C3%BC%3Ax.charter"
        );
        let backslash = if cfg!(windows) {
            "a/b.charter"
        } else {
            "a%5Cb.charter"
        };
        assert_eq!(super::uri_path("a\\b.charter"), backslash);
    }
}

//! `charter test`: the policy's `test` blocks run on its snapshot (`charter::testing`), with
//! the results in every diagnostic format.

use charter::diagnostic::{self, render};
use charter::query::Index;
use serde_json::json;

use super::load::compile_path;
use super::output::{
    CheckArgs, DiagFormat, errln, out, outln, print_diagnostics, print_json, style,
};

/// `charter test`: builds the policy in memory and runs its `test` blocks' assertions; exit 1
/// when one fails (or the policy does not compile), 2 when a filter selects no test.
pub(crate) fn run(args: &CheckArgs, filter: Option<&str>) -> u8 {
    let (sources, compiled) = match compile_path(&args.path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let diagnostics = &compiled.diagnostics;
    let (errors, warnings) = diagnostic::counts(diagnostics);
    if errors > 0 || (args.deny_warnings && warnings > 0) {
        if print_diagnostics(args, &sources, diagnostics) {
            errln!("error: the policy does not compile, so its tests cannot run");
        }
        return 1;
    }
    if let Some(f) = filter
        && !compiled.ir.tests.iter().any(|t| t.name.contains(f))
    {
        // A filter that selects nothing would pass while testing nothing.
        let names: Vec<String> = compiled
            .ir
            .tests
            .iter()
            .map(|t| format!("  \"{}\"", t.name))
            .collect();
        let message = format!(
            "no test name contains `{f}`{}",
            if names.is_empty() {
                " (the policy has no tests)".to_owned()
            } else {
                format!("; the tests are:\n{}", names.join("\n"))
            }
        );
        if args.format == DiagFormat::Json {
            let tests: Vec<&str> = compiled.ir.tests.iter().map(|t| t.name.as_str()).collect();
            outln!(
                "{}",
                json!({ "error": format!("no test name contains `{f}`"), "tests": tests })
            );
        }
        errln!("error: {message}");
        return 2;
    }
    let index = Index::new(charter::build(&sources, &compiled));
    let results = charter::testing::run(&compiled.ir.tests, &index, &sources, filter);
    let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
    let passed = results.len() - failed.len();
    let extra = || -> Vec<render::SarifExtra> {
        failed
            .iter()
            .map(|r| render::SarifExtra {
                span: r.span,
                message: format!("{}: {}", r.message, r.notes.join("; ")),
            })
            .collect()
    };
    match args.format {
        DiagFormat::Sarif => out!("{}", render::sarif(&sources, diagnostics, &extra())),
        DiagFormat::Github => {
            out!("{}", render::github(&sources, diagnostics, &extra()));
            if failed.is_empty() {
                // Something to see in the run's summary when all is well.
                outln!(
                    "::notice title=charter test::{passed} passed, 0 failed ({} tests)",
                    compiled.ir.tests.len()
                );
            }
        }
        DiagFormat::Json => {
            let failures: Vec<_> = failed
                .iter()
                .map(|r| {
                    let f = sources.get(r.span.source);
                    let (line, column) = f.lines.line_col(&f.text, r.span.start);
                    json!({
                        "test": r.test, "file": f.name, "line": line, "column": column,
                        "assertion": r.text, "message": r.message, "notes": r.notes,
                    })
                })
                .collect();
            let out = json!({ "passed": passed, "failed": failed.len(), "failures": failures });
            print_json(&out);
        }
        DiagFormat::Human => {
            if !diagnostics.is_empty() {
                print_diagnostics(args, &sources, diagnostics);
            }
            let st = style(args.color);
            let mut current = None;
            for r in &results {
                if current != Some(&r.test) {
                    outln!("test \"{}\"", r.test);
                    current = Some(&r.test);
                }
                outln!("  {} {}", if r.passed { "ok  " } else { "FAIL" }, r.text);
            }
            for r in &failed {
                out!(
                    "\n{}",
                    render::failure(
                        &sources,
                        r.span,
                        &r.message,
                        "this assertion fails",
                        &r.notes,
                        st
                    )
                );
            }
            if results.is_empty() {
                outln!(
                    "no assertions ran{}",
                    filter
                        .map(|f| format!(" (no test matches `{f}`)"))
                        .unwrap_or_default()
                );
            }
            outln!("{passed} passed, {} failed", failed.len());
        }
    }
    u8::from(!failed.is_empty())
}

//! `charter report`: Enterprise Console reports (`charter::report`) of a policy or a snapshot.

use std::path::Path;

use super::load::load_index;
use super::output::{fail, out, pretty_json};

/// `--report` of `charter report enterprise`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum ReportName {
    ProjectSpaces,
    WebUsers,
    MobileWorkers,
    TwoFactor,
    ApiAccess,
    CrossSpace,
    Roles,
}

/// `--format` of reports: CSV for people and spreadsheets, or JSON.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum TableFormat {
    #[value(alias = "human")]
    Csv,
    Json,
}

/// `charter report enterprise`: one Enterprise Console report, as CSV or JSON, to standard
/// output or (atomically) to a file.
pub(crate) fn enterprise(
    path: &Path,
    enterprise: &str,
    server: Option<&str>,
    report: ReportName,
    output: Option<&Path>,
    format: TableFormat,
    key: Option<&Path>,
) -> u8 {
    use charter::report::EnterpriseReport as R;
    let index = match load_index(path, key) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let kind = match report {
        ReportName::ProjectSpaces => R::ProjectSpaces,
        ReportName::WebUsers => R::WebUsers,
        ReportName::MobileWorkers => R::MobileWorkers,
        ReportName::TwoFactor => R::TwoFactor,
        ReportName::ApiAccess => R::ApiAccess,
        ReportName::CrossSpace => R::CrossSpace,
        ReportName::Roles => R::Roles,
    };
    let table = match charter::report::enterprise(&index.snapshot, enterprise, server, kind) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let text = match format {
        TableFormat::Csv => table.to_csv(),
        TableFormat::Json => format!("{}\n", pretty_json(&table.to_json())),
    };
    match output {
        Some(out) => match charter::output::write_atomic(out, text.as_bytes()) {
            Ok(()) => 0,
            Err(e) => fail(format_args!("cannot write `{}`: {e}", out.display())),
        },
        None => {
            out!("{text}");
            0
        }
    }
}

/// `--format` of `charter report matrix`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum MatrixFormat {
    Html,
    Csv,
    Markdown,
    Json,
}

/// `charter report matrix`: the access matrix of every space (or one), to standard output or
/// (atomically) to a file.
pub(crate) fn matrix(
    path: &Path,
    space: Option<&str>,
    format: Option<MatrixFormat>,
    output: Option<&Path>,
    key: Option<&Path>,
) -> u8 {
    let index = match load_index(path, key) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let space_ix = match space
        .map(|id| super::load::space_of(&index, id))
        .transpose()
    {
        Ok(s) => s,
        Err(code) => return code,
    };
    let format = format.unwrap_or_else(|| {
        match output.and_then(|o| o.extension()).and_then(|e| e.to_str()) {
            Some("html" | "htm") => MatrixFormat::Html,
            Some("csv") => MatrixFormat::Csv,
            Some("json") => MatrixFormat::Json,
            _ => MatrixFormat::Markdown,
        }
    });
    let m = charter::report::matrix::matrix(&index, space_ix);
    let text = match format {
        MatrixFormat::Html => m.to_html(),
        MatrixFormat::Csv => m.to_csv(),
        MatrixFormat::Markdown => m.to_markdown(),
        MatrixFormat::Json => pretty_json(&m.to_json()) + "\n",
    };
    match output {
        Some(file) => match charter::output::write_atomic(file, text.as_bytes()) {
            Ok(()) => 0,
            Err(e) => fail(format_args!("cannot write `{}`: {e}", file.display())),
        },
        None => {
            out!("{text}");
            0
        }
    }
}

/// `charter export sqlite PATH -o FILE.db`.
pub(crate) fn sqlite(path: &Path, output: &Path, key: Option<&Path>) -> u8 {
    let index = match load_index(path, key) {
        Ok(i) => i,
        Err(code) => return code,
    };
    match charter::sqlite::write(&index, output) {
        Ok(()) => 0,
        Err(e) => fail(format_args!("cannot write `{}`: {e}", output.display())),
    }
}

//! `charter diff`: the semantic diff (`charter::diff`) of two versions of a policy, each a
//! policy path, a snapshot or `REV:PATH` in git (`git.rs`).

use std::io::IsTerminal;
use std::path::Path;

use charter::pipeline::is_snapshot_path;
use charter::query::Index;

use super::git;
use super::load::load_index;
use super::output::{Color, fail, out, print_json};

/// `--format` of `charter diff`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum DiffFormat {
    Human,
    Json,
    Markdown,
}

/// `--fail-on` of `charter diff`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum FailOn {
    Escalation,
}

/// A policy version for `diff`: a path (policy or snapshot) or `REV:PATH` in git. With a
/// public key, a snapshot must be signed by it (policies are read from their sources).
fn load_version(spec: &str, key: Option<&Path>) -> Result<Index, u8> {
    let path = Path::new(spec);
    if !path.exists()
        && let Some((rev, rest)) = spec.split_once(':')
        && !rev.is_empty()
    {
        return git::load(rev, rest).map(Index::new);
    }
    load_index(path, key.filter(|_| is_snapshot_path(path)))
}

/// `charter diff OLD NEW`: who gains and who loses what; exit 1 with `--fail-on escalation`
/// when someone gains.
pub(crate) fn run(
    old: &str,
    new: &str,
    format: DiffFormat,
    fail_on: Option<FailOn>,
    color: Color,
    key: Option<&Path>,
) -> u8 {
    if let Some(k) = key
        && !is_snapshot_path(Path::new(old))
        && !is_snapshot_path(Path::new(new))
    {
        return fail(format_args!(
            "`--verify-key {}` checks snapshots' signatures, and neither `{old}` nor `{new}` is a snapshot",
            k.display()
        ));
    }
    let (old, new) = match (load_version(old, key), load_version(new, key)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let d = charter::diff::diff(&old, &new);
    match format {
        DiffFormat::Human => {
            out!(
                "{}",
                d.human(color.enabled(std::io::stdout().is_terminal()))
            );
        }
        DiffFormat::Json => print_json(&d),
        DiffFormat::Markdown => out!("{}", d.markdown()),
    }
    match fail_on {
        Some(FailOn::Escalation) if d.escalations > 0 => 1,
        _ => 0,
    }
}

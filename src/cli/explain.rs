//! `charter explain CODE` (a diagnostic's entry of `docs/diagnostics.md`, built in) and
//! `charter init [DIR]` (a starter policy that checks clean and has one test).

use std::path::Path;

use super::output::{fail, out};

/// The diagnostics reference, compiled in so `explain` works wherever the binary is.
const DIAGNOSTICS: &str = include_str!("../../docs/diagnostics.md");

/// The entries of the reference: `(code, text)`, the text from its `## CODE: title` heading
/// to the next heading of that level.
fn entries() -> Vec<(&'static str, &'static str)> {
    let mut starts: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for line in DIAGNOSTICS.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("## ")
            && let Some((code, _)) = rest.split_once(':')
        {
            starts.push((offset, code.trim()));
        }
        offset += line.len();
    }
    starts
        .iter()
        .enumerate()
        .map(|(i, &(at, code))| {
            let end = starts.get(i + 1).map_or(DIAGNOSTICS.len(), |n| n.0);
            (code, DIAGNOSTICS[at..end].trim_end())
        })
        .collect()
}

/// `charter explain CODE`: exit 0 with the entry, 2 for a code that does not exist.
pub(crate) fn explain(code: &str) -> u8 {
    let all = entries();
    let wanted = code.trim();
    match all.iter().find(|(c, _)| c.eq_ignore_ascii_case(wanted)) {
        Some((_, text)) => {
            out!("{text}\n");
            0
        }
        None => {
            let hint =
                charter::diagnostic::suggest::did_you_mean(wanted, all.iter().map(|(c, _)| *c));
            let codes: Vec<&str> = all.iter().map(|(c, _)| *c).collect();
            let hint = if hint.is_empty() {
                String::new()
            } else {
                format!(": {hint}")
            };
            fail(format!(
                "no diagnostic `{}`{hint}\n  codes: {}",
                wanted.escape_debug(),
                codes.join(", ")
            ))
        }
    }
}

/// The starter policy `charter init` writes: one space, a location tree, a custom role, two
/// members and a test, each commented; it checks clean with `--deny-warnings`.
pub const STARTER: &str = r#"# A starter policy: one project space. `charter check .` validates it, `charter test .` runs
# its test, and `charter query . 'who can edit data at north in my-project'` asks it.
# The language is described in docs/language.md of charter's repository.
space my-project "My Project" {
  plan advanced
  server india

  # Location types form a tree; each location's type fits under its parent's.
  location_types {
    region
    district in region
  }
  locations {
    region north "North" {
      district north-1 "North 1"
    }
  }

  # A custom role: what a supervisor may do. Unset permissions keep their defaults.
  role supervisor "Supervisor" {
    mobile_workers           = view
    data                     = edit
    reports                  = all
    # Restricted to the supervisor's locations (and below).
    full_organization_access = off
  }

  web_user "owner@example.org" { role admin }
  web_user "sup@example.org" { role supervisor  locations [north-1] }
  mobile_worker worker-01 { locations [north-1] }
}

test "supervisors stay in their district" {
  assert "sup@example.org" can edit data at north-1 in my-project
  assert "sup@example.org" cannot edit data at north in my-project
}
"#;

/// `charter init [DIR]`: writes `DIR/policy.charter`; refuses a directory that already holds
/// `.charter` files (exit 2), so it never overwrites a policy.
pub(crate) fn init(dir: &Path) -> u8 {
    if dir.exists() && !dir.is_dir() {
        return fail(format!("`{}` is not a directory", dir.display()));
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        let existing = entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "charter"));
        if existing {
            return fail(format!(
                "`{}` already holds `.charter` files: `charter init` starts a new policy only",
                dir.display()
            ));
        }
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        return fail(format!("cannot create `{}`: {e}", dir.display()));
    }
    let path = dir.join("policy.charter");
    if let Err(e) = charter::output::write_atomic(&path, STARTER.as_bytes()) {
        return fail(format!("cannot write `{}`: {e}", path.display()));
    }
    let d = dir.display();
    out!(
        "wrote {}\nnext: `charter check {d}`, then `charter test {d}`\n",
        path.display()
    );
    0
}

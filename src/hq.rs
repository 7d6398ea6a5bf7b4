//! The round trip with CommCare HQ: a space written as HQ's own exchange files
//! (`HQ-FORMATS.md`: the role JSON, the mobile-worker and web-user workbooks, the locations
//! workbook), and read back from them.
//!
//! - [`policy`]: snapshot entries → policy text (what `import` writes).
//! - [`roles`]: role objects (`{"user_roles": [...]}`) both ways; the permission fields come
//!   from the catalogue's HQ names (`model::hq`).
//! - [`workbook`]: sheets as plain rows; the only module that knows `calamine` and
//!   `rust_xlsxwriter`.
//! - [`export`]: a snapshot's space → the four files.
//! - [`import`]: the four files → a space entry, with every unmapped cell reported.

pub mod export;
pub mod headers;
pub mod import;
pub mod policy;
pub mod roles;
pub mod workbook;

use crate::snapshot::{Snapshot, SpaceEntry};
use crate::source::SourceSet;

/// The policy of `snapshot` with space `imported.id` replaced by `imported`: the sources
/// `drift` compiles to compare production with the reviewed policy (every other space and
/// enterprise written back from the snapshot, which rebuilds it unchanged).
pub fn with_space(snapshot: &Snapshot, imported: &SpaceEntry) -> SourceSet {
    let enterprises: Vec<_> = snapshot.enterprises.iter().collect();
    let mut spaces: Vec<&SpaceEntry> = snapshot
        .spaces
        .iter()
        .map(|s| if s.id == imported.id { imported } else { s })
        .collect();
    if !snapshot.spaces.iter().any(|s| s.id == imported.id) {
        spaces.push(imported);
    }
    let mut sources = SourceSet::default();
    sources.add(
        format!("{}.charter", imported.id),
        policy::write_file(&enterprises, &spaces),
    );
    sources
}

/// The roles whose declared values differ between the policy's space and the space imported
/// from HQ where the effective values agree (a value that grants nothing here, such as a
/// permission whose feature flag the space lacks): `diff` compares access, so these are said
/// apart. One line per role: `role: key policy → HQ, ...`.
pub fn declared_differences(policy: &SpaceEntry, production: Option<&SpaceEntry>) -> Vec<String> {
    use crate::model::Permission;
    let Some(production) = production else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in production
        .roles
        .iter()
        .filter(|r| r.from_enterprise.is_none())
    {
        let Some(p) = policy.roles.iter().find(|p| p.id == r.id) else {
            continue;
        };
        let changes: Vec<String> = Permission::ALL
            .iter()
            .filter(|&&k| r.value(k) == p.value(k))
            .filter_map(|&k| {
                let (was, now) = (policy::declared(p, k), policy::declared(r, k));
                (was != now)
                    .then(|| format!("`{}` {} → {}", k.key(), was.to_source(), now.to_source()))
            })
            .collect();
        if !changes.is_empty() {
            out.push(format!("`{}`: {}", r.id, changes.join(", ")));
        }
    }
    out
}

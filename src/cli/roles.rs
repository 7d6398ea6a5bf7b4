//! `charter roles PATH --space ID`: every role a space holds (built-in, declared, received
//! from an upstream or through Enterprise Permissions) with its effective values, and the rule
//! behind each value that differs from the declared one.

use std::path::Path;

use charter::model::Permission;
use charter::query::explain::reason_text;

use super::load::load_index;
use super::output::{OutputFormat, out, print_json};

pub(crate) fn run(
    path: &Path,
    space: &str,
    format: Option<OutputFormat>,
    verify_key: Option<&Path>,
) -> u8 {
    let index = match load_index(path, verify_key) {
        Ok(ix) => ix,
        Err(code) => return code,
    };
    let s = match super::load::space_of(&index, space) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let entry = &index.snapshot.spaces[s as usize];
    if matches!(format, Some(OutputFormat::Json)) {
        print_json(&serde_json::json!({ "space": entry.id, "roles": entry.roles }));
        return 0;
    }
    let mut text = format!("roles of `{}` ({} in all)\n", entry.id, entry.roles.len());
    for (role, ix) in entry.roles.iter().zip(&index.spaces[s as usize].roles) {
        let origin = match (&role.from_upstream, &role.from_enterprise) {
            (Some(u), _) => format!("received from upstream `{u}`"),
            (None, Some(e)) => format!("through Enterprise Permissions from `{e}`"),
            (None, None) => role.origin.clone(),
        };
        text.push_str(&format!("\n{} \"{}\" ({origin})\n", role.id, role.name));
        let mut off = 0;
        for &p in Permission::ALL {
            let value = ix.value(p);
            let reason = ix.reason(p).map(|r| format!("  ({})", reason_text(r)));
            if *value == p.default_off() && reason.is_none() {
                off += 1;
                continue;
            }
            let line = format!(
                "  {:<28} {:<12}{}",
                p.key(),
                value.to_source(),
                reason.unwrap_or_default()
            );
            text.push_str(line.trim_end());
            text.push('\n');
        }
        if off > 0 {
            text.push_str(&format!("  ({off} more off or none)\n"));
        }
    }
    out!("{text}");
    0
}

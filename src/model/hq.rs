//! CommCare HQ's own names for permissions (the `HqUserRole` fields of `users/models.py` and
//! the role editor's labels, listed on the catalogue's rows), so that a policy written with
//! them gets the charter key they map to instead of a spelling suggestion.

use super::Permission;

/// An HQ name and what to write instead: the key and, where the name implies one, the value.
pub struct HqName {
    pub hq: &'static str,
    pub key: Permission,
    pub value: Option<&'static str>,
}

/// Every HQ name of the catalogue (its rows' `hq` lists).
pub fn names() -> impl Iterator<Item = HqName> {
    Permission::ALL.iter().flat_map(|&key| {
        key.entry()
            .hq
            .iter()
            .map(move |&(hq, value)| HqName { hq, key, value })
    })
}

/// What HQ name `word` maps to.
pub fn lookup(word: &str) -> Option<HqName> {
    names().find(|n| n.hq == word)
}

/// Words people write for a switch or a level, and the value they mean: `no` is `off`, not
/// the nearest spelling `on`.
pub fn synonym(kind: super::Kind, word: &str) -> Option<&'static str> {
    use super::Kind;
    let w = word.to_ascii_lowercase();
    match (kind, w.as_str()) {
        (
            Kind::Switch | Kind::SwitchOrItems(_),
            "no" | "false" | "0" | "disabled" | "disable" | "n" | "deny" | "none",
        ) => Some("off"),
        (
            Kind::Switch | Kind::SwitchOrItems(_),
            "yes" | "true" | "1" | "enabled" | "enable" | "y" | "allow" | "all",
        ) => Some("on"),
        (Kind::LoginAs, "no" | "false" | "0" | "off" | "disabled" | "n") => Some("none"),
        (Kind::LoginAs, "yes" | "true" | "1" | "on" | "enabled" | "y" | "any") => Some("all"),
        (Kind::Level | Kind::AdminOnlyEdit, "no" | "false" | "0" | "off" | "disabled") => {
            Some("none")
        }
        (Kind::Level | Kind::AdminOnlyEdit, "read" | "readonly" | "read-only" | "read_only") => {
            Some("view")
        }
        (Kind::Level | Kind::AdminOnlyEdit, "write" | "manage" | "full" | "modify" | "on") => {
            Some("edit")
        }
        (Kind::Items(_), "yes" | "true" | "on" | "every" | "any") => Some("all"),
        (Kind::Items(_), "no" | "false" | "off") => Some("none"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_hq_name_is_a_charter_key() {
        for n in names() {
            assert!(Permission::from_key(n.hq).is_none(), "{}", n.hq);
            if let Some(v) = n.value {
                assert!(n.key.parse_word(v).is_ok(), "{} = {v}", n.hq);
            }
        }
    }
}

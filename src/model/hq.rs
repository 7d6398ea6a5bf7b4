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

    /// Every field of HQ's `HqPermissions` (HQ-PERMISSIONS.md §1, in declaration order, then
    /// the later fields of the newest role editor), with the charter key it must map to. Written
    /// out from HQ's list, not from the catalogue, so a field the catalogue forgets fails here.
    const HQ_PERMISSIONS: &[(&str, &str)] = &[
        ("edit_web_users", "web_users"),
        ("view_web_users", "web_users"),
        ("view_roles", "roles_and_permissions"),
        ("edit_commcare_users", "mobile_workers"),
        ("view_commcare_users", "mobile_workers"),
        ("edit_groups", "groups"),
        ("view_groups", "groups"),
        ("edit_users_in_groups", "change_group_membership"),
        ("edit_locations", "locations"),
        ("view_locations", "locations"),
        ("edit_users_in_locations", "change_location_workers"),
        ("view_data_dict", "data_dictionary"),
        ("edit_data_dict", "data_dictionary"),
        ("edit_motech", "integrations"),
        ("edit_data", "data"),
        ("edit_apps", "applications"),
        ("view_apps", "applications"),
        ("edit_shared_exports", "manage_shared_exports"),
        ("access_all_locations", "full_organization_access"),
        ("access_api", "access_apis"),
        ("access_web_apps", "web_apps"),
        ("edit_messaging", "messaging"),
        ("access_release_management", "release_management"),
        ("edit_linked_configurations", "linked_configurations"),
        ("edit_reports", "create_and_edit_reports"),
        ("download_reports", "download_and_email_reports"),
        ("view_reports", "reports"),
        ("view_report_list", "reports"),
        ("edit_ucrs", "configurable_reports"),
        ("view_tableau", "tableau_reports"),
        ("view_tableau_list", "tableau_reports"),
        ("edit_billing", "manage_subscription_info"),
        ("report_an_issue", "report_issues"),
        ("access_mobile_endpoints", "mobile_app_access"),
        ("view_file_dropzone", "file_dropzone"),
        ("edit_file_dropzone", "file_dropzone"),
        ("login_as_all_users", "login_as"),
        ("limited_login_as", "login_as"),
        ("access_default_login_as_user", "login_as_default_user"),
        ("manage_data_registry", "manage_registries"),
        ("manage_data_registry_list", "manage_registries"),
        ("view_data_registry_contents", "view_registry_data"),
        ("view_data_registry_contents_list", "view_registry_data"),
        ("manage_attendance_tracking", "attendance_tracking"),
        ("manage_domain_alerts", "project_alerts"),
        // Later fields (newest edit_role.js / my_role.py).
        ("edit_user_tableau_config", "tableau_config"),
        ("view_user_tableau_config", "tableau_config"),
        ("edit_commcare_analytics", "analytics"),
        ("view_commcare_analytics", "analytics"),
        ("commcare_analytics_roles", "analytics_roles"),
        ("commcare_analytics_roles_list", "analytics_roles"),
        ("edit_user_profile", "user_profiles"),
        ("edit_user_profile_list", "user_profiles"),
        ("web_apps_list", "web_apps"),
    ];

    #[test]
    fn every_hq_permission_field_maps_to_its_key() {
        assert_eq!(HQ_PERMISSIONS.len(), 45 + 9);
        for &(field, key) in HQ_PERMISSIONS {
            let mapped = lookup(field).map(|n| n.key.key());
            assert_eq!(mapped, Some(key), "HQ field `{field}`");
        }
        // And the other way: every HQ name on a row is one of HQ's fields or a documented
        // alias, so a typo in a row's `hq` list cannot pass as a mapping.
        const ALIASES: &[&str] = &[
            "view_data",
            "api_access",
            "access_all_reports",
            "subscription",
            "default_landing_page",
            "is_non_admin_editable",
        ];
        for n in names() {
            assert!(
                HQ_PERMISSIONS.iter().any(|(f, _)| *f == n.hq) || ALIASES.contains(&n.hq),
                "`{}` on the row of `{}` is not an HQ field",
                n.hq,
                n.key.key()
            );
        }
    }

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

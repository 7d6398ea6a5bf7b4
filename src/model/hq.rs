//! CommCare HQ's own names for permissions (the `HqUserRole` fields of `users/models.py` and
//! the role editor's labels), so that a policy written with them gets the charter key they map
//! to instead of a spelling suggestion.

use super::Permission;

/// An HQ name and what to write instead: the key and, where the name implies one, the value.
pub struct HqName {
    pub hq: &'static str,
    pub key: Permission,
    pub value: Option<&'static str>,
}

const fn name(hq: &'static str, key: Permission, value: Option<&'static str>) -> HqName {
    HqName { hq, key, value }
}

use Permission as P;

/// The table (HQ-PERMISSIONS.md, `HqUserRole` fields and role-editor labels).
pub const HQ_NAMES: &[HqName] = &[
    name("edit_web_users", P::WebUsers, Some("edit")),
    name("view_web_users", P::WebUsers, Some("view")),
    name("view_roles", P::RolesAndPermissions, Some("view")),
    name("edit_commcare_users", P::MobileWorkers, Some("edit")),
    name("view_commcare_users", P::MobileWorkers, Some("view")),
    name("edit_groups", P::Groups, Some("edit")),
    name("view_groups", P::Groups, Some("view")),
    name("edit_users_in_groups", P::ChangeGroupMembership, Some("on")),
    name("edit_locations", P::Locations, Some("edit")),
    name("view_locations", P::Locations, Some("view")),
    name(
        "edit_users_in_locations",
        P::ChangeLocationWorkers,
        Some("on"),
    ),
    name("edit_data", P::Data, Some("edit")),
    name("view_data", P::Data, Some("view")),
    name("edit_apps", P::Applications, Some("edit")),
    name("view_apps", P::Applications, Some("view")),
    name("edit_shared_exports", P::ManageSharedExports, Some("on")),
    name("access_all_locations", P::FullOrganizationAccess, None),
    name("access_api", P::AccessApis, Some("on")),
    name("api_access", P::AccessApis, Some("on")),
    name("access_web_apps", P::WebApps, Some("on")),
    name("edit_messaging", P::Messaging, Some("on")),
    name("edit_reports", P::CreateAndEditReports, Some("on")),
    name("view_reports", P::Reports, Some("all")),
    name("access_all_reports", P::Reports, Some("all")),
    name("view_report_list", P::Reports, None),
    name("edit_billing", P::ManageSubscriptionInfo, Some("on")),
    name("subscription", P::ManageSubscriptionInfo, Some("on")),
    name("access_mobile_endpoints", P::MobileAppAccess, Some("on")),
    name("default_landing_page", P::LandingPage, None),
    name("is_non_admin_editable", P::NonAdminEditable, None),
    name("download_reports", P::DownloadAndEmailReports, Some("on")),
];

/// What HQ name `word` maps to.
pub fn lookup(word: &str) -> Option<&'static HqName> {
    HQ_NAMES.iter().find(|n| n.hq == word)
}

/// Words people write for a switch or a level, and the value they mean: `no` is `off`, not
/// the nearest spelling `on`.
pub fn synonym(kind: super::Kind, word: &str) -> Option<&'static str> {
    use super::Kind;
    let w = word.to_ascii_lowercase();
    match (kind, w.as_str()) {
        (Kind::Switch, "no" | "false" | "0" | "disabled" | "disable" | "n" | "deny" | "none") => {
            Some("off")
        }
        (Kind::Switch, "yes" | "true" | "1" | "enabled" | "enable" | "y" | "allow" | "all") => {
            Some("on")
        }
        (Kind::Level | Kind::AdminOnlyEdit, "no" | "false" | "0" | "off" | "disabled") => {
            Some("none")
        }
        (Kind::Level | Kind::AdminOnlyEdit, "read" | "readonly" | "read-only" | "read_only") => {
            Some("view")
        }
        (Kind::Level | Kind::AdminOnlyEdit, "write" | "manage" | "full" | "modify" | "on") => {
            Some("edit")
        }
        (Kind::Reports, "yes" | "true" | "on" | "every" | "any") => Some("all"),
        (Kind::Reports, "no" | "false" | "off") => Some("none"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_hq_name_is_a_charter_key() {
        for n in HQ_NAMES {
            assert!(Permission::from_key(n.hq).is_none(), "{}", n.hq);
        }
    }
}

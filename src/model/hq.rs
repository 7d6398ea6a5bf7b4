//! CommCare HQ's own names for permissions (the `HqUserRole` fields of `users/models.py` and
//! the role editor's labels, listed on the catalogue's rows), so that a policy written with
//! them gets the charter key they map to instead of a spelling suggestion.

use super::{Items, Kind, LandingPage, Level, LoginAs, Permission, Value};

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

/// Every field of `HqPermissions.to_json()` that a role object carries, in HQ's declaration
/// order, then the newest role editor's later fields (HQ-PERMISSIONS.md §1).
pub const FIELDS: &[&str] = &[
    "edit_web_users",
    "view_web_users",
    "view_roles",
    "edit_commcare_users",
    "view_commcare_users",
    "edit_groups",
    "view_groups",
    "edit_users_in_groups",
    "edit_locations",
    "view_locations",
    "edit_users_in_locations",
    "view_data_dict",
    "edit_data_dict",
    "edit_motech",
    "edit_data",
    "edit_apps",
    "view_apps",
    "edit_shared_exports",
    "access_all_locations",
    "access_api",
    "access_web_apps",
    "edit_messaging",
    "access_release_management",
    "edit_linked_configurations",
    "edit_reports",
    "download_reports",
    "view_reports",
    "view_report_list",
    "edit_ucrs",
    "view_tableau",
    "view_tableau_list",
    "edit_billing",
    "report_an_issue",
    "access_mobile_endpoints",
    "view_file_dropzone",
    "edit_file_dropzone",
    "login_as_all_users",
    "limited_login_as",
    "access_default_login_as_user",
    "manage_data_registry",
    "manage_data_registry_list",
    "view_data_registry_contents",
    "view_data_registry_contents_list",
    "manage_attendance_tracking",
    "manage_domain_alerts",
    "edit_user_tableau_config",
    "view_user_tableau_config",
    "edit_commcare_analytics",
    "view_commcare_analytics",
    "commcare_analytics_roles",
    "commcare_analytics_roles_list",
    "edit_user_profile",
    "edit_user_profile_list",
    "web_apps_list",
];

/// HQ has no view-only Data permission (`edit_data` is view, export and edit): charter's
/// `data = view` travels in this extra field, which HQ ignores.
pub const VIEW_DATA: &str = "view_data";

/// One field's value in a role object's `permissions`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue {
    Bool(bool),
    List(Vec<String>),
}

/// The fields a permission's value is written as: `(field, value)` for every field of
/// [`FIELDS`] on the permission's row (and [`VIEW_DATA`] for `data = view`). Role-level
/// settings (`landing_page`, `non_admin_editable`, `assignable_by`) have none: they are
/// fields of the role object, not of its permissions.
pub fn encode(p: Permission, value: &Value) -> Vec<(&'static str, FieldValue)> {
    let mut out = Vec::new();
    for &(field, word) in p.entry().hq {
        let extra = field == VIEW_DATA && matches!(value, Value::Level(Level::View));
        if !FIELDS.contains(&field) && !extra {
            continue;
        }
        if let Some(v) = field_value(p, value, word) {
            out.push((field, v));
        }
    }
    out
}

fn field_value(p: Permission, value: &Value, word: Option<&str>) -> Option<FieldValue> {
    let items = |v: &Value| match v {
        Value::Items(Items::Some(ids)) => ids.clone(),
        _ => Vec::new(),
    };
    Some(match (p.kind(), word) {
        (Kind::Level | Kind::AdminOnlyEdit, Some(w)) => {
            let at = p.parse_word(w).ok()?.level();
            FieldValue::Bool(value.level() >= at)
        }
        (Kind::Switch, _) => FieldValue::Bool(matches!(value, Value::Switch(true))),
        (Kind::SwitchOrItems(_), Some(_)) => FieldValue::Bool(matches!(value, Value::Switch(true))),
        (Kind::Items(_), Some(_)) => FieldValue::Bool(matches!(value, Value::Items(Items::All))),
        (Kind::Items(_) | Kind::SwitchOrItems(_), None) => FieldValue::List(items(value)),
        (Kind::LoginAs, Some(w)) => {
            FieldValue::Bool(matches!(value, Value::LoginAs(l) if l.as_str() == w))
        }
        _ => return None,
    })
}

/// A permission's value from its fields (`field` looks one up in the role object). `None`
/// when the object has none of them (HQ's class default then applies: the caller uses
/// [`Permission::default_value`] and says so). A field of the wrong shape reads as absent.
pub fn decode(p: Permission, field: impl Fn(&str) -> Option<FieldValue>) -> Option<Value> {
    let mut seen = false;
    let mut level = Level::None;
    let mut on = false;
    let mut list: Vec<String> = Vec::new();
    let mut login_as = LoginAs::None;
    for &(name, word) in p.entry().hq {
        let Some(v) = field(name) else { continue };
        seen = true;
        match (v, word) {
            (FieldValue::Bool(true), Some(w)) => {
                if let Ok(parsed) = p.parse_word(w) {
                    level = level.max(parsed.level());
                    if let Value::LoginAs(l) = parsed {
                        login_as = login_as.max(l);
                    }
                }
                on = true;
            }
            (FieldValue::Bool(b), None) => on |= b,
            (FieldValue::List(ids), None) => list.extend(ids),
            _ => {}
        }
    }
    if !seen {
        return None;
    }
    let ids: Vec<&str> = list.iter().map(String::as_str).collect();
    Some(match p.kind() {
        Kind::Level | Kind::AdminOnlyEdit => Value::Level(level),
        Kind::Switch => Value::Switch(on),
        Kind::LoginAs => Value::LoginAs(login_as),
        Kind::Items(_) if on => Value::Items(Items::All),
        Kind::SwitchOrItems(_) if on => Value::Switch(true),
        Kind::Items(_) | Kind::SwitchOrItems(_) => p.parse_list(&ids).ok()?,
        Kind::LandingPage | Kind::RoleList => return None,
    })
}

/// Whether `p` is a field of the role object itself (`default_landing_page`,
/// `is_non_admin_editable`, `assignable_by`), not of its `permissions`.
pub fn is_role_field(p: Permission) -> bool {
    matches!(
        p,
        Permission::LandingPage | Permission::NonAdminEditable | Permission::AssignableBy
    )
}

/// `default_landing_page` of a role object: HQ's word for a landing page (`None`: null).
pub fn landing_page_field(page: LandingPage) -> Option<&'static str> {
    match page {
        LandingPage::Default => None,
        LandingPage::Dashboard => Some("dashboard"),
        LandingPage::WebApps => Some("webapps"),
        LandingPage::Reports => Some("reports"),
        LandingPage::Downloads => Some("downloads"),
    }
}

/// The landing page HQ's `default_landing_page` word names.
pub fn landing_page_from_field(word: Option<&str>) -> Option<LandingPage> {
    Some(match word {
        None => LandingPage::Default,
        Some("dashboard") => LandingPage::Dashboard,
        Some("webapps") => LandingPage::WebApps,
        Some("reports") => LandingPage::Reports,
        Some("downloads") => LandingPage::Downloads,
        Some(_) => return None,
    })
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
    fn the_field_list_is_hqs() {
        let listed: Vec<&str> = HQ_PERMISSIONS.iter().map(|(f, _)| *f).collect();
        assert_eq!(listed, FIELDS);
    }

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

    /// Every value of every permission survives `encode` then `decode`.
    #[test]
    fn every_value_round_trips() {
        let ids = || vec!["a".to_owned(), "b".to_owned()];
        for &p in Permission::ALL.iter().filter(|p| !is_role_field(**p)) {
            let mut values: Vec<Value> = match p.kind() {
                Kind::Level | Kind::AdminOnlyEdit => ["none", "view", "edit"]
                    .iter()
                    .filter_map(|w| p.parse_word(w).ok())
                    .collect(),
                Kind::Switch => vec![Value::Switch(false), Value::Switch(true)],
                Kind::SwitchOrItems(_) => vec![
                    Value::Switch(false),
                    Value::Switch(true),
                    Value::Items(Items::Some(ids())),
                ],
                Kind::Items(_) => vec![
                    Value::Items(Items::None),
                    Value::Items(Items::All),
                    Value::Items(Items::Some(ids())),
                ],
                Kind::LoginAs => LoginAs::ALL.iter().map(|l| Value::LoginAs(*l)).collect(),
                Kind::LandingPage | Kind::RoleList => continue,
            };
            if p == Permission::RolesAndPermissions {
                values.retain(|v| v.level() < Level::Edit);
            }
            for v in values {
                let fields = encode(p, &v);
                assert!(!fields.is_empty(), "{}", p.key());
                let back = decode(p, |f| {
                    fields.iter().find(|(n, _)| *n == f).map(|(_, v)| v.clone())
                });
                assert_eq!(back.as_ref(), Some(&v), "{} = {}", p.key(), v.to_source());
            }
        }
        for page in LandingPage::ALL {
            assert_eq!(
                landing_page_from_field(landing_page_field(page)),
                Some(page)
            );
        }
    }

    /// Every field of [`FIELDS`] is written for some permission: the role object is complete.
    #[test]
    fn encoding_writes_every_field() {
        let mut written: Vec<&str> = Permission::ALL
            .iter()
            .flat_map(|&p| encode(p, &p.default_value()))
            .map(|(f, _)| f)
            .collect();
        written.sort_unstable();
        let mut all = FIELDS.to_vec();
        all.sort_unstable();
        assert_eq!(written, all);
    }
}

//! The permission catalogue and the plan-gated space features: the domain as one table.
//!
//! Every fact about a permission is one row of [`CATALOGUE`] (the `catalogue!` table below):
//! its key, kind, label, HQ names, default, whether full organization access hides it, whether
//! it holds only at a restricted member's locations, its plan gate, its parent
//! (sub-permissions). The effective-permission
//! rules ([`super::rules::RULES`]), the lints and the queries read these rows; nothing else
//! lists permissions. Adding a permission is one row here and its line in
//! `docs/language.md`.

use super::{FeatureFlag, ItemKind, Kind, Level, Plan};

/// What a gated permission needs from its space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    Plan(Plan),
    /// An HQ feature flag the space turns on (`features [...]`).
    Feature(FeatureFlag),
}

/// A gate: without what it needs, the permission grants nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gate {
    pub needs: Needs,
    /// Only this value is gated (`landing_page = downloads` falls back to `default`); `None`:
    /// every value but `none`/`off`.
    pub value: Option<&'static str>,
    /// Whether the product refuses the setting without it (an error) rather than ignoring it
    /// (a warning: it grants nothing).
    pub refused: bool,
    /// What a space without it lacks, in a message ("API access").
    pub lacks: &'static str,
}

/// One permission's row.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub key: &'static str,
    pub kind: Kind,
    /// The name in the product documentation (the role editor's label).
    pub label: &'static str,
    /// CommCare HQ's names for it (`HqPermissions` fields, role fields) and, where the name
    /// implies one, the value it means.
    pub hq: &'static [(&'static str, Option<&'static str>)],
    /// A switch that is on for a new custom role.
    pub default_on: bool,
    /// What `full_organization_access = off` leaves of it: `None` everything; `Some(none)`:
    /// nothing (hidden); `Some(view)`: at most `view` (HQ's `normalize()` clears `edit_apps`
    /// but not `view_apps`).
    pub without_full_access: Option<Level>,
    /// Holds only at a restricted member's locations (and below).
    pub location_scoped: bool,
    /// A setting of the role, not something its holders can do: never asked about, and
    /// `admin` holds its default.
    pub setting: bool,
    /// Not a privilege to escalate by (reporting an issue to support).
    pub benign: bool,
    /// A sub-permission: on when `mobile_workers = edit`, or when the parent is `edit` and it
    /// is on.
    pub sub_of: Option<Permission>,
    /// Has no effect unless the role reaches some report.
    pub needs_report: bool,
    pub gate: Option<Gate>,
    /// Used through Web Apps, so a member who logs in as a mobile worker (Login-As) gets the
    /// worker's value of it, at the worker's locations.
    pub in_web_apps: bool,
}

const fn row(key: &'static str, kind: Kind, label: &'static str) -> Entry {
    Entry {
        key,
        kind,
        label,
        hq: &[],
        default_on: false,
        without_full_access: None,
        location_scoped: false,
        setting: matches!(kind, Kind::LandingPage | Kind::RoleList),
        benign: false,
        sub_of: None,
        needs_report: false,
        gate: None,
        in_web_apps: false,
    }
}

const fn level(key: &'static str, label: &'static str) -> Entry {
    row(key, Kind::Level, label)
}

const fn switch(key: &'static str, label: &'static str) -> Entry {
    row(key, Kind::Switch, label)
}

const fn items(key: &'static str, of: ItemKind, label: &'static str) -> Entry {
    row(key, Kind::Items(of), label)
}

impl Entry {
    const fn hq(mut self, names: &'static [(&'static str, Option<&'static str>)]) -> Entry {
        self.hq = names;
        self
    }
    const fn in_web_apps(mut self) -> Entry {
        self.in_web_apps = true;
        self
    }
    const fn default_on(mut self) -> Entry {
        self.default_on = true;
        self
    }
    /// `full_organization_access = off` forces it to `none`/`off`.
    const fn hidden(mut self) -> Entry {
        self.without_full_access = Some(Level::None);
        self
    }
    /// `full_organization_access = off` lowers it to `view`.
    const fn view_only_without_full_access(mut self) -> Entry {
        self.without_full_access = Some(Level::View);
        self
    }
    const fn scoped(mut self) -> Entry {
        self.location_scoped = true;
        self
    }
    const fn setting(mut self) -> Entry {
        self.setting = true;
        self
    }
    const fn benign(mut self) -> Entry {
        self.benign = true;
        self
    }
    const fn sub_of(mut self, parent: Permission) -> Entry {
        self.sub_of = Some(parent);
        self
    }
    const fn needs_report(mut self) -> Entry {
        self.needs_report = true;
        self
    }
    const fn gate(
        mut self,
        needs: Needs,
        value: Option<&'static str>,
        refused: bool,
        lacks: &'static str,
    ) -> Entry {
        self.gate = Some(Gate {
            needs,
            value,
            refused,
            lacks,
        });
        self
    }
    /// Refused below `plan` (an error when set).
    const fn plan(self, plan: Plan, lacks: &'static str) -> Entry {
        self.gate(Needs::Plan(plan), None, true, lacks)
    }
    /// Grants nothing below `plan` (a warning when set).
    const fn plan_ignored(self, plan: Plan, lacks: &'static str) -> Entry {
        self.gate(Needs::Plan(plan), None, false, lacks)
    }
    /// Only `value` is refused below `plan`.
    const fn plan_for(self, value: &'static str, plan: Plan, lacks: &'static str) -> Entry {
        self.gate(Needs::Plan(plan), Some(value), true, lacks)
    }
    /// Grants nothing without feature flag `flag` (a warning when set).
    const fn feature(self, flag: FeatureFlag) -> Entry {
        self.gate(Needs::Feature(flag), None, false, "")
    }
    /// Only `value` grants nothing without feature flag `flag`.
    const fn feature_for(self, value: &'static str, flag: FeatureFlag) -> Entry {
        self.gate(Needs::Feature(flag), Some(value), false, "")
    }
}

macro_rules! catalogue {
    ($($variant:ident => $entry:expr;)*) => {
        /// Every permission a role has (SPEC §2), in catalogue order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Permission { $($variant,)* }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];
        }

        /// The rows, indexed by `Permission as usize`.
        pub const CATALOGUE: &[Entry] = &[$($entry,)*];
    };
}

use FeatureFlag as F;
use Permission as P;
use Plan::{Advanced, Pro, Standard};

catalogue! {
    WebUsers => level("web_users", "Web Users")
        .hq(&[("edit_web_users", Some("edit")), ("view_web_users", Some("view"))])
        .hidden();
    MobileWorkers => level("mobile_workers", "Mobile Workers")
        .hq(&[("edit_commcare_users", Some("edit")), ("view_commcare_users", Some("view"))])
        .scoped();
    Groups => level("groups", "Groups")
        .hq(&[("edit_groups", Some("edit")), ("view_groups", Some("view"))])
        .hidden();
    ChangeGroupMembership => switch("change_group_membership", "Groups (sub-permission)")
        .hq(&[("edit_users_in_groups", Some("on"))])
        .scoped()
        .sub_of(P::Groups);
    Locations => level("locations", "Locations")
        .hq(&[("edit_locations", Some("edit")), ("view_locations", Some("view"))])
        .scoped();
    ChangeLocationWorkers => switch("change_location_workers", "Locations (sub-permission)")
        .hq(&[("edit_users_in_locations", Some("on"))])
        .scoped()
        .sub_of(P::Locations);
    Data => level("data", "Data")
        .hq(&[("edit_data", Some("edit")), ("view_data", Some("view"))])
        .scoped()
        .in_web_apps();
    WebApps => row("web_apps", Kind::SwitchOrItems(ItemKind::Applications), "Web Apps")
        .hq(&[("access_web_apps", Some("on")), ("web_apps_list", None)])
        .plan_ignored(Advanced, "Web Apps")
        .in_web_apps();
    Messaging => switch("messaging", "Messaging").hq(&[("edit_messaging", Some("on"))]);
    AccessApis => switch("access_apis", "Access APIs")
        .hq(&[("access_api", Some("on")), ("api_access", Some("on"))])
        .plan_ignored(Pro, "API access");
    Applications => level("applications", "Applications")
        .hq(&[("edit_apps", Some("edit")), ("view_apps", Some("view"))])
        .view_only_without_full_access();
    RolesAndPermissions => row("roles_and_permissions", Kind::AdminOnlyEdit, "Roles & Permissions")
        .hq(&[("view_roles", Some("view"))])
        .hidden();
    ManageSharedExports => switch("manage_shared_exports", "Manage Shared Exports")
        .hq(&[("edit_shared_exports", Some("on"))])
        .scoped()
        .plan(Pro, "shared exports");
    CreateAndEditReports => switch("create_and_edit_reports", "Create and Edit Reports")
        .hq(&[("edit_reports", Some("on"))])
        .hidden();
    Reports => items("reports", ItemKind::Reports, "Access All Reports / Access Specific Reports")
        .hq(&[("view_reports", Some("all")), ("access_all_reports", Some("all")), ("view_report_list", None)])
        .scoped();
    ManageSubscriptionInfo => switch("manage_subscription_info", "Manage Subscription Info")
        .hq(&[("edit_billing", Some("on")), ("subscription", Some("on"))])
        .hidden();
    FullOrganizationAccess => switch("full_organization_access", "Full Organization Access")
        .hq(&[("access_all_locations", None)])
        .default_on();
    MobileAppAccess => switch("mobile_app_access", "Mobile App Access")
        .hq(&[("access_mobile_endpoints", Some("on"))]);
    LandingPage => row("landing_page", Kind::LandingPage, "Default Landing Page")
        .hq(&[("default_landing_page", None)])
        .plan_for("downloads", Pro, "the downloads page");
    ReportIssues => switch("report_issues", "Allow Reporting Issues")
        .hq(&[("report_an_issue", Some("on"))])
        .default_on()
        .benign();
    NonAdminEditable => switch("non_admin_editable", "Non-Admin Editable")
        .hq(&[("is_non_admin_editable", None)])
        .setting();
    AssignableBy => row("assignable_by", Kind::RoleList, "Assignable by");
    DownloadAndEmailReports => switch("download_and_email_reports", "Download and Email Reports")
        .hq(&[("download_reports", Some("on"))])
        .scoped()
        .needs_report();
    DataDictionary => level("data_dictionary", "Data Dictionary")
        .hq(&[("edit_data_dict", Some("edit")), ("view_data_dict", Some("view"))])
        .hidden()
        .plan_ignored(Advanced, "the Data Dictionary");
    Integrations => switch("integrations", "Integration Access")
        .hq(&[("edit_motech", Some("on"))])
        .feature(F::Integrations);
    ReleaseManagement => switch("release_management", "Linked Project Spaces")
        .hq(&[("access_release_management", Some("on"))])
        .plan_ignored(Pro, "release management");
    LinkedConfigurations => switch("linked_configurations", "Linked Configurations")
        .hq(&[("edit_linked_configurations", Some("on"))])
        .plan_ignored(Pro, "release management");
    ConfigurableReports => switch("configurable_reports", "Create and Edit Configurable Reports")
        .hq(&[("edit_ucrs", Some("on"))])
        .hidden()
        .feature(F::ConfigurableReports);
    TableauReports => items("tableau_reports", ItemKind::TableauReports, "Access All Tableau Reports")
        .hq(&[("view_tableau", Some("all")), ("view_tableau_list", None)])
        .hidden()
        .feature(F::Tableau);
    FileDropzone => level("file_dropzone", "Dropzone")
        .hq(&[("edit_file_dropzone", Some("edit")), ("view_file_dropzone", Some("view"))])
        .plan_ignored(Pro, "the file dropzone");
    LoginAs => row("login_as", Kind::LoginAs, "Login-As All Users / Limit Login-As")
        .hq(&[("login_as_all_users", Some("all")), ("limited_login_as", Some("limited"))])
        .feature_for("limited", F::RestrictedLoginAs);
    LoginAsDefaultUser => switch("login_as_default_user", "Login-As Default User")
        .hq(&[("access_default_login_as_user", Some("on"))])
        .feature(F::RestrictedLoginAs);
    ManageRegistries => items("manage_registries", ItemKind::Registries, "Manage Registries")
        .hq(&[("manage_data_registry", Some("all")), ("manage_data_registry_list", None)])
        .feature(F::DataRegistry);
    ViewRegistryData => items("view_registry_data", ItemKind::Registries, "View Registry Data")
        .hq(&[("view_data_registry_contents", Some("all")), ("view_data_registry_contents_list", None)])
        .feature(F::DataRegistry);
    AttendanceTracking => switch("attendance_tracking", "Attendance Tracking")
        .hq(&[("manage_attendance_tracking", Some("on"))])
        .plan_ignored(Pro, "attendance tracking");
    ProjectAlerts => switch("project_alerts", "Manage Project Alerts")
        .hq(&[("manage_domain_alerts", Some("on"))])
        .plan_ignored(Advanced, "project alerts");
    UserProfiles => items("user_profiles", ItemKind::Profiles, "Assign All User Profiles")
        .hq(&[("edit_user_profile", Some("all")), ("edit_user_profile_list", None)])
        .plan_ignored(Advanced, "user profiles");
    Analytics => level("analytics", "CommCare Analytics")
        .hq(&[("edit_commcare_analytics", Some("edit")), ("view_commcare_analytics", Some("view"))])
        .feature(F::Analytics);
    AnalyticsRoles => items("analytics_roles", ItemKind::AnalyticsRoles, "CommCare Analytics roles")
        .hq(&[("commcare_analytics_roles", Some("all")), ("commcare_analytics_roles_list", None)])
        .feature(F::Analytics);
    TableauConfig => level("tableau_config", "Manage Tableau Configuration")
        .hq(&[("edit_user_tableau_config", Some("edit")), ("view_user_tableau_config", Some("view"))])
        .feature(F::Tableau);
}

/// A space-level feature that needs a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Declaring a role (or redefining a built-in one).
    CustomRoles,
    LocationTypes,
    Locations,
    /// `upstream`: on both spaces.
    LinkedSpaces,
    /// A location-restricted role (`full_organization_access = off`).
    RestrictedRoles,
}

/// The features and the plan each needs.
pub const FEATURES: &[(Feature, Plan)] = &[
    (Feature::CustomRoles, Standard),
    (Feature::LocationTypes, Advanced),
    (Feature::Locations, Advanced),
    (Feature::LinkedSpaces, Pro),
    (Feature::RestrictedRoles, Advanced),
];

impl Feature {
    pub fn plan(self) -> Plan {
        FEATURES
            .iter()
            .find(|(f, _)| *f == self)
            .map_or(Plan::Community, |(_, p)| *p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogue as `docs/language.md` shows it.
    fn doc_table() -> String {
        let mut t = String::from(
            "| key | values | custom default | HQ role editor | HQ fields | without full organization access | restricted members | needs |\n\
             | --- | --- | --- | --- | --- | --- | --- | --- |\n",
        );
        for &p in Permission::ALL {
            let e = p.entry();
            let values = match e.kind {
                Kind::AdminOnlyEdit => "`none \\| view` (`edit`: admin only, E0207)".to_owned(),
                Kind::Items(k) => format!("`all \\| none \\| [{} ids]`", k.noun()),
                Kind::SwitchOrItems(k) => format!("`on \\| off \\| [{} ids]`", k.noun()),
                Kind::RoleList => "`[role ids]`".to_owned(),
                kind => format!("`{}`", kind.words().join(" \\| ")),
            };
            let needs = e.gate.map_or(String::new(), |g| {
                let needs = match g.needs {
                    Needs::Plan(plan) => format!("plan `{}`", plan.as_str()),
                    Needs::Feature(flag) => format!("feature `{}`", flag.as_str()),
                };
                match g.value {
                    Some(v) => format!("`{v}`: {needs}"),
                    None => needs,
                }
            });
            let hq: Vec<String> = e.hq.iter().map(|(f, _)| format!("`{f}`")).collect();
            let foa = match e.without_full_access {
                Some(Level::None) => "hidden".to_owned(),
                Some(cap) => format!("at most `{}`", cap.as_str()),
                None => String::new(),
            };
            t.push_str(&format!(
                "| `{}` | {values} | `{}` | {} | {} | {foa} | {} | {needs} |\n",
                e.key,
                p.default_value().to_source(),
                e.label,
                hq.join(", "),
                if e.location_scoped {
                    "at their locations"
                } else {
                    ""
                },
            ));
        }
        t
    }

    #[test]
    fn the_language_docs_show_the_catalogue() {
        let docs = include_str!("../../docs/language.md");
        let expected = doc_table();
        assert!(
            docs.contains(&expected),
            "docs/language.md's permission table differs from the catalogue; it should read:\n{expected}"
        );
    }

    #[test]
    fn rows_and_features_are_complete_and_consistent() {
        assert_eq!(CATALOGUE.len(), Permission::ALL.len());
        for (i, e) in CATALOGUE.iter().enumerate() {
            assert!(
                !CATALOGUE[..i].iter().any(|o| o.key == e.key),
                "{} twice",
                e.key
            );
            if let Some(parent) = e.sub_of {
                assert_eq!(e.kind, Kind::Switch, "{}", e.key);
                assert_eq!(CATALOGUE[parent as usize].kind, Kind::Level, "{}", e.key);
            }
            assert!(!e.default_on || e.kind == Kind::Switch, "{}", e.key);
            assert!(!(e.setting && e.location_scoped), "{}", e.key);
            if let Some(value) = e.gate.and_then(|g| g.value) {
                let p = Permission::ALL[i];
                assert!(p.parse_word(value).is_ok(), "{}: gate on `{value}`", e.key);
            }
        }
        for f in [
            Feature::CustomRoles,
            Feature::LocationTypes,
            Feature::Locations,
            Feature::LinkedSpaces,
            Feature::RestrictedRoles,
        ] {
            assert_eq!(FEATURES.iter().filter(|(g, _)| *g == f).count(), 1);
        }
    }
}

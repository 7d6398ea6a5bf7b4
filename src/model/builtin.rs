//! The six built-in roles every space holds (`BUILTIN-ROLES.md`).
//!
//! Values are written in the policy language's own words and parsed by the same code as user
//! input, so the table cannot drift from what a user could write.

use super::{Permission, RoleValues};

/// A built-in role: id, display name, and its values that differ from the custom defaults.
pub struct BuiltinRole {
    pub id: &'static str,
    pub name: &'static str,
    values: &'static [(&'static str, &'static str)],
}

/// The reserved role id; `admin` holds everything and cannot be redefined.
pub const ADMIN: &str = "admin";

/// The role of a mobile worker declared without one.
pub const MOBILE_WORKER_DEFAULT: &str = "mobile-worker-default";

/// Built-in roles, in the order the product lists them.
pub const BUILTIN_ROLES: &[BuiltinRole] = &[
    BuiltinRole {
        id: ADMIN,
        name: "Admin",
        values: &[],
    },
    BuiltinRole {
        id: "app-editor",
        name: "App Editor",
        values: &[
            ("applications", "edit"),
            ("reports", "all"),
            ("download_and_email_reports", "on"),
        ],
    },
    BuiltinRole {
        id: "billing-admin",
        name: "Billing Admin",
        values: &[("manage_subscription_info", "on")],
    },
    BuiltinRole {
        id: "field-implementer",
        name: "Field Implementer",
        values: &[
            ("mobile_workers", "edit"),
            ("groups", "edit"),
            ("locations", "edit"),
            ("manage_shared_exports", "on"),
            ("reports", "all"),
            ("download_and_email_reports", "on"),
        ],
    },
    BuiltinRole {
        id: "read-only",
        name: "Read Only",
        values: &[("reports", "all"), ("download_and_email_reports", "on")],
    },
    BuiltinRole {
        id: MOBILE_WORKER_DEFAULT,
        name: "Mobile Worker Default",
        values: &[("mobile_app_access", "on"), ("web_apps", "on")],
    },
];

impl BuiltinRole {
    pub fn find(id: &str) -> Option<&'static BuiltinRole> {
        BUILTIN_ROLES.iter().find(|r| r.id == id)
    }

    /// The values that differ from the custom defaults, as policy words (`admin`: none listed,
    /// it holds everything).
    pub fn words(&self) -> &'static [(&'static str, &'static str)] {
        self.values
    }

    /// The role's values as declared (before effective rules).
    #[expect(
        clippy::expect_used,
        reason = "the table is ours: catalogue keys and valid words (`every_builtin_parses`)"
    )]
    pub fn values(&self) -> RoleValues {
        if self.id == ADMIN {
            return RoleValues::admin();
        }
        let mut values = RoleValues::default();
        for (key, word) in self.values {
            // INVARIANT: the table above uses catalogue keys and valid words (unit-tested).
            let permission = Permission::from_key(key).expect("built-in key");
            values.set(
                permission,
                permission.parse_word(word).expect("built-in value"),
            );
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Items, Level};

    #[test]
    fn every_builtin_parses() {
        for role in BUILTIN_ROLES {
            let _ = role.values();
        }
        let fi = BuiltinRole::find("field-implementer").unwrap().values();
        assert_eq!(fi.level(Permission::MobileWorkers), Level::Edit);
        assert_eq!(fi.reports(), &Items::All);
        assert!(fi.switch(Permission::FullOrganizationAccess));
        let admin = BuiltinRole::find(ADMIN).unwrap().values();
        assert_eq!(admin.level(Permission::RolesAndPermissions), Level::Edit);
    }
}

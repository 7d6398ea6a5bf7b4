//! The sheet names and column headers of HQ's bulk workbooks, exactly as `HQ-FORMATS.md`
//! documents them (§2 users, §3 locations): the one place they are spelled.

/// The sheet of users in both user workbooks.
pub const USERS: &str = "users";
/// The mobile-worker workbook's groups sheet.
pub const GROUPS: &str = "groups";
/// The locations workbook's sheet of location types.
pub const TYPES: &str = "types";

/// A header's shape (`excel.py`): `name N` is item N of a list, `prefix: key` an entry of a
/// map; the base name keeps a trailing `?` (a yes/no column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Header<'a> {
    Plain(&'a str),
    Numbered(&'a str, u32),
    Keyed(&'a str, &'a str),
}

impl<'a> Header<'a> {
    pub fn parse(text: &'a str) -> Header<'a> {
        let text = text.trim();
        if let Some((prefix, key)) = text.split_once(':') {
            return Header::Keyed(prefix.trim(), key.trim());
        }
        if let Some((base, n)) = text.rsplit_once(' ') {
            if let Ok(n) = n.parse::<u32>() {
                return Header::Numbered(base.trim_end(), n);
            }
        }
        Header::Plain(text)
    }

    /// The base name (`group` of `group 2`, `data` of `data: x`).
    pub fn base(&self) -> &'a str {
        match self {
            Header::Plain(b) | Header::Numbered(b, _) | Header::Keyed(b, _) => b,
        }
    }
}

/// Mobile workers: the download's columns, in order (`bulk_download.py`); `N` columns are
/// written `name 1..N`, `data` columns `data: key`.
pub const MOBILE_DOWNLOAD: &[&str] = &[
    "username",
    "password",
    "name",
    "email",
    "language",
    "role",
    "user_id",
    "is_active",
    "User IMEIs (read only)",
    "registered_on (read only)",
    "last_submission (read only)",
    "last_sync (read only)",
    "phone-number",
    "deactivate_after",
    "user_profile",
    "data",
    "uncategorized_data",
    "group",
    "location_code",
    "domain",
];

/// Mobile workers: the headers the importer accepts (`user_importer/importer.py`; `username`
/// is required), besides
/// the "(read only)" columns and the conditional ones of [`MOBILE_CONDITIONAL`].
pub const MOBILE_UPLOAD: &[&str] = &[
    "username",
    "data",
    "email",
    "group",
    "language",
    "name",
    "password",
    "phone-number",
    "uncategorized_data",
    "user_id",
    "is_active",
    "is_account_confirmed",
    "send_confirmation_email",
    "send_confirmation_sms",
    "location_code",
    "role",
    "user_profile",
    "web_user",
    "remove_web_user",
    "remove",
    "first_name",
    "last_name",
    "status",
];

/// Mobile workers: accepted when a toggle or setting is on (`domain`, custom deactivation,
/// Tableau syncing), and the deprecated name of `location_code`.
pub const MOBILE_CONDITIONAL: &[&str] = &[
    "domain",
    "deactivate_after",
    "tableau_role",
    "tableau_groups",
    "location-sms-code",
];

/// The groups sheet's columns.
pub const GROUP_COLUMNS: &[&str] = &["id", "name", "case-sharing?", "reporting?", "data"];

/// Web users: the download's columns, in order (`dump_web_users`).
pub const WEB_DOWNLOAD: &[&str] = &[
    "username",
    "first_name",
    "last_name",
    "email",
    "role",
    "last_access_date (read only)",
    "last_login (read only)",
    "status",
    "remove",
    "user_profile",
    "data",
    "uncategorized_data",
    "location_code",
    "domain",
    "tableau_role",
    "tableau_groups",
];

/// The `types` sheet's columns, exactly.
pub const TYPE_COLUMNS: &[&str] = &[
    "code",
    "name",
    "parent_code",
    "Delete(Y/N)",
    "Shares Cases Y/N",
    "View Child Cases (Y/N)",
];

/// A location-type sheet's required columns, exactly.
pub const LOCATION_COLUMNS: &[&str] = &[
    "location_id",
    "site_code",
    "name",
    "parent_site_code",
    "external_id",
    "latitude",
    "longitude",
    "Delete(Y/N)",
];

/// A location-type sheet's optional columns (`data: field`, `consumption: product`).
pub const LOCATION_OPTIONAL: &[&str] = &[
    "data",
    "uncategorized_data",
    "Delete Uncategorized Data(Y/N)",
    "consumption",
];

/// Whether the mobile-worker importer accepts `header`.
pub fn mobile_accepts(header: &str) -> bool {
    let base = Header::parse(header).base();
    header.trim_end().ends_with("(read only)")
        || MOBILE_UPLOAD.contains(&base)
        || MOBILE_CONDITIONAL.contains(&base)
}

/// Whether the web-user upload accepts `header`.
pub fn web_accepts(header: &str) -> bool {
    let base = Header::parse(header).base();
    header.trim_end().ends_with("(read only)") || WEB_DOWNLOAD.contains(&base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_as_hq_reads_them() {
        assert_eq!(Header::parse("group 2"), Header::Numbered("group", 2));
        assert_eq!(
            Header::parse("data: login_as_user"),
            Header::Keyed("data", "login_as_user")
        );
        assert_eq!(
            Header::parse("case-sharing?"),
            Header::Plain("case-sharing?")
        );
        assert_eq!(Header::parse("Delete(Y/N)"), Header::Plain("Delete(Y/N)"));
        assert!(mobile_accepts("last_sync (read only)"));
        assert!(mobile_accepts("location_code 3"));
        assert!(!mobile_accepts("usrname"));
        assert!(web_accepts("location_code 1"));
        assert!(!web_accepts("password"));
    }
}

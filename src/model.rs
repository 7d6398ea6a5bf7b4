//! The domain: the permission catalogue, levels, plans, the built-in roles and the
//! effective-permission rules.
//!
//! Invariant: nothing here knows about syntax, spans or ids. `resolve`, `check` and `emit` use
//! this module; it uses none of them.

pub mod builtin;
pub mod catalogue;
pub mod hq;
pub mod rules;

pub use catalogue::{CATALOGUE, Entry, Feature, Gate, Needs, Permission};

use std::fmt;

/// `none < view < edit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    None,
    View,
    Edit,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::View => "view",
            Level::Edit => "edit",
        }
    }
}

/// Subscription plans, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Plan {
    Community,
    Standard,
    Pro,
    Advanced,
    Enterprise,
}

impl Plan {
    pub const ALL: [Plan; 5] = [
        Plan::Community,
        Plan::Standard,
        Plan::Pro,
        Plan::Advanced,
        Plan::Enterprise,
    ];
    pub const WORDS: [&'static str; 5] = ["community", "standard", "pro", "advanced", "enterprise"];

    pub fn as_str(self) -> &'static str {
        Plan::WORDS[self as usize]
    }

    pub fn parse(word: &str) -> Option<Plan> {
        Plan::WORDS
            .iter()
            .position(|w| *w == word)
            .map(|i| Plan::ALL[i])
    }
}

/// What a space is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Environment {
    Live,
    Test,
    Training,
}

impl Environment {
    pub const WORDS: [&'static str; 3] = ["live", "test", "training"];

    pub fn as_str(self) -> &'static str {
        Environment::WORDS[self as usize]
    }

    pub fn parse(word: &str) -> Option<Environment> {
        match word {
            "live" => Some(Environment::Live),
            "test" => Some(Environment::Test),
            "training" => Some(Environment::Training),
            _ => None,
        }
    }
}

/// CommCare HQ feature flags a space may turn on (`features [...]`, SPEC §2b): some
/// permissions grant nothing without theirs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FeatureFlag {
    Integrations,
    ConfigurableReports,
    Tableau,
    RestrictedLoginAs,
    DataRegistry,
    Analytics,
}

impl FeatureFlag {
    pub const ALL: [FeatureFlag; 6] = [
        FeatureFlag::Integrations,
        FeatureFlag::ConfigurableReports,
        FeatureFlag::Tableau,
        FeatureFlag::RestrictedLoginAs,
        FeatureFlag::DataRegistry,
        FeatureFlag::Analytics,
    ];
    pub const WORDS: [&'static str; 6] = [
        "integrations",
        "configurable_reports",
        "tableau",
        "restricted_login_as",
        "data_registry",
        "analytics",
    ];

    pub fn as_str(self) -> &'static str {
        FeatureFlag::WORDS[self as usize]
    }

    pub fn parse(word: &str) -> Option<FeatureFlag> {
        FeatureFlag::WORDS
            .iter()
            .position(|w| *w == word)
            .map(|i| FeatureFlag::ALL[i])
    }
}

/// A set of feature flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FeatureFlags(u8);

impl FeatureFlags {
    pub fn insert(&mut self, flag: FeatureFlag) {
        self.0 |= 1 << flag as u8;
    }

    pub fn contains(self, flag: FeatureFlag) -> bool {
        self.0 & (1 << flag as u8) != 0
    }

    /// The flags in catalogue order.
    pub fn iter(self) -> impl Iterator<Item = FeatureFlag> {
        FeatureFlag::ALL
            .into_iter()
            .filter(move |f| self.contains(*f))
    }
}

/// `landing_page` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LandingPage {
    Default,
    Dashboard,
    WebApps,
    Reports,
    Downloads,
}

impl LandingPage {
    pub const WORDS: [&'static str; 5] =
        ["default", "dashboard", "web_apps", "reports", "downloads"];
    const ALL: [LandingPage; 5] = [
        LandingPage::Default,
        LandingPage::Dashboard,
        LandingPage::WebApps,
        LandingPage::Reports,
        LandingPage::Downloads,
    ];

    pub fn as_str(self) -> &'static str {
        LandingPage::WORDS[self as usize]
    }
}

/// Which items (reports, registries, profiles, ...) a role reaches: `all`, `none` or a list.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Items {
    None,
    All,
    /// Ids, in the order written, without repeats.
    Some(Vec<String>),
}

/// What the ids of an [`Kind::Items`] permission name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// The space's `report`s (and, for `all`, CommCare's standard reports).
    Reports,
    /// The space's `application`s.
    Applications,
    /// The space's `registry` declarations.
    Registries,
    /// The space's `profile`s.
    Profiles,
    /// Tableau visualisations, named as HQ names them (not declared in a policy).
    TableauReports,
    /// CommCare Analytics (Superset) roles, named as HQ names them (not declared).
    AnalyticsRoles,
}

impl ItemKind {
    /// What the ids name, as messages say it.
    pub fn noun(self) -> &'static str {
        match self {
            ItemKind::Reports => "report",
            ItemKind::Applications => "application",
            ItemKind::Registries => "registry",
            ItemKind::Profiles => "profile",
            ItemKind::TableauReports => "Tableau report",
            ItemKind::AnalyticsRoles => "analytics role",
        }
    }

    /// Whether the ids must be declared in the space (`report`, `application`, `registry`,
    /// `profile`); the others are HQ's own names.
    pub fn is_declared(self) -> bool {
        !matches!(self, ItemKind::TableauReports | ItemKind::AnalyticsRoles)
    }
}

/// The name a mobile worker's `login_as [...]` gives HQ's default Login-As user: web users
/// whose role has `login_as_default_user` may log in as it (no email is `default`).
pub const DEFAULT_LOGIN_AS: &str = "default";

/// `login_as` values: whom a web user may log in as in Web Apps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LoginAs {
    None,
    /// Only mobile workers whose `login_as` names the user (HQ's `limited_login_as`).
    Limited,
    /// Every mobile worker the user can reach (HQ's `login_as_all_users`).
    All,
}

impl LoginAs {
    pub const WORDS: [&'static str; 3] = ["none", "limited", "all"];
    const ALL: [LoginAs; 3] = [LoginAs::None, LoginAs::Limited, LoginAs::All];

    pub fn as_str(self) -> &'static str {
        LoginAs::WORDS[self as usize]
    }
}

/// The shape of a permission's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Level,
    Switch,
    /// `roles_and_permissions`: a level whose `edit` only `admin` may hold.
    AdminOnlyEdit,
    /// `all`, `none` or a list of ids of a declared kind.
    Items(ItemKind),
    /// `on`, `off` or a list of ids (`web_apps = [intake]`: some applications only).
    SwitchOrItems(ItemKind),
    /// `none`, `limited` or `all`.
    LoginAs,
    LandingPage,
    RoleList,
}

impl Kind {
    /// Words accepted for this kind (lists excluded).
    pub fn words(self) -> &'static [&'static str] {
        match self {
            Kind::Level | Kind::AdminOnlyEdit => &["none", "view", "edit"],
            Kind::Switch => &["on", "off"],
            Kind::Items(_) => &["all", "none"],
            Kind::SwitchOrItems(_) => &["on", "off"],
            Kind::LoginAs => &LoginAs::WORDS,
            Kind::LandingPage => &LandingPage::WORDS,
            Kind::RoleList => &[],
        }
    }

    /// The kind of ids its lists name (`reports = [...]`, `web_apps = [...]`).
    pub fn item_kind(self) -> Option<ItemKind> {
        match self {
            Kind::Items(k) | Kind::SwitchOrItems(k) => Some(k),
            _ => None,
        }
    }

    /// Asked about with `use` (a switch, `web_apps`, `login_as`): `view` and `edit` mean the
    /// same, that it grants anything.
    pub fn is_switch_like(self) -> bool {
        matches!(self, Kind::Switch | Kind::SwitchOrItems(_) | Kind::LoginAs)
    }

    /// The levels a query may ask of a permission of this kind (SPEC §4): `view`/`edit` for
    /// levels, `view` for reports, any of `view`/`edit`/`use` for switches (all mean "on").
    /// Settings that are not grants (landing page, assignable-by) cannot be asked about.
    pub fn query_levels(self) -> &'static [&'static str] {
        match self {
            Kind::Level | Kind::AdminOnlyEdit => &["view", "edit"],
            Kind::Switch | Kind::SwitchOrItems(_) => &["view", "edit", "use"],
            Kind::Items(ItemKind::Reports) => &["view"],
            Kind::Items(_) => &["view", "use"],
            Kind::LoginAs => &["use"],
            Kind::LandingPage | Kind::RoleList => &[],
        }
    }
}

/// Number of permissions in the catalogue.
pub const PERMISSION_COUNT: usize = Permission::ALL.len();

impl Permission {
    /// The permission's catalogue row.
    pub fn entry(self) -> &'static Entry {
        &CATALOGUE[self as usize]
    }

    pub fn key(self) -> &'static str {
        self.entry().key
    }

    pub fn kind(self) -> Kind {
        self.entry().kind
    }

    /// The permission's name in the product documentation.
    pub fn seed_name(self) -> &'static str {
        self.entry().label
    }

    pub fn from_key(key: &str) -> Option<Permission> {
        // A map, not a scan of the catalogue: every role's keys and every query line ask.
        static BY_KEY: std::sync::OnceLock<rustc_hash::FxHashMap<&'static str, Permission>> =
            std::sync::OnceLock::new();
        BY_KEY
            .get_or_init(|| Permission::ALL.iter().map(|p| (p.key(), *p)).collect())
            .get(key)
            .copied()
    }

    pub fn keys() -> impl Iterator<Item = &'static str> {
        Permission::ALL.iter().map(|p| p.key())
    }

    /// The levels a query may ask of this permission; none for the role's settings (its
    /// landing page, who may assign it: `assignable_by`, `non_admin_editable`), which are not
    /// something its holders can do.
    pub fn query_levels(self) -> &'static [&'static str] {
        if self.is_setting() {
            return &[];
        }
        self.kind().query_levels()
    }

    pub fn is_location_scoped(self) -> bool {
        self.entry().location_scoped
    }

    /// Whether `full_organization_access = off` hides it entirely (forces `none`/`off`).
    pub fn is_hidden_without_full_access(self) -> bool {
        self.entry().without_full_access == Some(Level::None)
    }

    /// The highest level it keeps with `full_organization_access = off`, if FOA limits it.
    pub fn cap_without_full_access(self) -> Option<Level> {
        self.entry().without_full_access
    }

    /// The permissions that `full_organization_access = off` hides (forced to `none`/`off`).
    pub fn hidden_without_full_access() -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(|p| p.is_hidden_without_full_access())
    }

    /// A setting of the role rather than something its holders can do.
    pub fn is_setting(self) -> bool {
        self.entry().setting
    }

    /// The parent of a sub-permission (`change_group_membership` -> `groups`).
    pub fn parent(self) -> Option<Permission> {
        self.entry().sub_of
    }

    /// Has no effect unless the role reaches some report.
    pub fn needs_report(self) -> bool {
        self.entry().needs_report
    }

    pub fn gate(self) -> Option<Gate> {
        self.entry().gate
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// One permission's value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    Level(Level),
    Switch(bool),
    Items(Items),
    LoginAs(LoginAs),
    LandingPage(LandingPage),
    Roles(Vec<String>),
}

impl Value {
    /// The value as written in a policy (`edit`, `on`, `[a, b]`).
    pub fn to_source(&self) -> String {
        match self {
            Value::Level(l) => l.as_str().to_owned(),
            Value::Switch(true) => "on".to_owned(),
            Value::Switch(false) => "off".to_owned(),
            Value::Items(Items::All) => "all".to_owned(),
            Value::Items(Items::None) => "none".to_owned(),
            Value::Items(Items::Some(ids)) | Value::Roles(ids) => {
                format!("[{}]", ids.join(", "))
            }
            Value::LoginAs(l) => l.as_str().to_owned(),
            Value::LandingPage(p) => p.as_str().to_owned(),
        }
    }
}

impl Value {
    /// The value as a level: a switch on is `edit`, a list or `all` is `view` (some item
    /// reached), `login_as = limited` is `view` and `all` is `edit`; settings are `none`.
    pub fn level(&self) -> Level {
        match self {
            Value::Level(l) => *l,
            Value::Switch(true) => Level::Edit,
            Value::Switch(false) => Level::None,
            Value::Items(Items::None) => Level::None,
            Value::Items(_) => Level::View,
            Value::LoginAs(LoginAs::None) => Level::None,
            Value::LoginAs(LoginAs::Limited) => Level::View,
            Value::LoginAs(LoginAs::All) => Level::Edit,
            Value::LandingPage(_) | Value::Roles(_) => Level::None,
        }
    }

    /// The items a list-like value reaches; a switch of `on | off | [ids]` reaches all or none.
    fn reach(&self) -> Option<&Items> {
        const ALL: &Items = &Items::All;
        const NONE: &Items = &Items::None;
        match self {
            Value::Items(items) => Some(items),
            Value::Switch(true) => Some(ALL),
            Value::Switch(false) => Some(NONE),
            _ => None,
        }
    }

    /// Whether this value (of some permission) grants something `other` (of the same
    /// permission) does not: a higher level, or an item `other` does not reach.
    pub fn exceeds(&self, other: &Value) -> bool {
        match (self.reach(), other.reach()) {
            (Some(a), Some(b))
                if matches!(self, Value::Items(_)) || matches!(other, Value::Items(_)) =>
            {
                match (a, b) {
                    (Items::None, _) | (_, Items::All) => false,
                    (Items::All, _) => true,
                    (Items::Some(a), Items::None) => !a.is_empty(),
                    (Items::Some(a), Items::Some(b)) => {
                        let b: std::collections::HashSet<&String> = b.iter().collect();
                        a.iter().any(|id| !b.contains(id))
                    }
                }
            }
            _ => self.level() > other.level(),
        }
    }
}

/// Why a value could not be parsed (the caller words the message: `model` holds no prose).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueError {
    /// The word is not one of the kind's words.
    NotAValue,
    /// A list was given to a permission that takes a word.
    NotAList,
}

impl Permission {
    /// The custom-role default of this permission (SPEC §2).
    pub fn default_value(self) -> Value {
        match self.kind() {
            Kind::Level | Kind::AdminOnlyEdit => Value::Level(Level::None),
            Kind::Switch | Kind::SwitchOrItems(_) => Value::Switch(self.entry().default_on),
            Kind::Items(_) => Value::Items(Items::None),
            Kind::LoginAs => Value::LoginAs(LoginAs::None),
            Kind::LandingPage => Value::LandingPage(LandingPage::Default),
            Kind::RoleList => Value::Roles(Vec::new()),
        }
    }

    /// The highest value of this permission, as `admin` holds it; a setting at its default
    /// (admins are assigned by admins only, so `admin` is not `non_admin_editable`).
    pub fn max_value(self) -> Value {
        if self.is_setting() {
            return self.default_value();
        }
        match self.kind() {
            Kind::Level | Kind::AdminOnlyEdit => Value::Level(Level::Edit),
            Kind::Switch | Kind::SwitchOrItems(_) => Value::Switch(true),
            Kind::Items(_) => Value::Items(Items::All),
            Kind::LoginAs => Value::LoginAs(LoginAs::All),
            Kind::LandingPage => Value::LandingPage(LandingPage::Default),
            Kind::RoleList => Value::Roles(Vec::new()),
        }
    }

    /// Parses a word value (`edit`, `on`, `all`, `dashboard`).
    pub fn parse_word(self, word: &str) -> Result<Value, ValueError> {
        let kind = self.kind();
        let parsed = match kind {
            Kind::Level | Kind::AdminOnlyEdit => match word {
                "none" => Some(Value::Level(Level::None)),
                "view" => Some(Value::Level(Level::View)),
                "edit" => Some(Value::Level(Level::Edit)),
                _ => None,
            },
            Kind::Switch | Kind::SwitchOrItems(_) => match word {
                "on" => Some(Value::Switch(true)),
                "off" => Some(Value::Switch(false)),
                _ => None,
            },
            Kind::Items(_) => match word {
                "all" => Some(Value::Items(Items::All)),
                "none" => Some(Value::Items(Items::None)),
                _ => None,
            },
            Kind::LoginAs => LoginAs::WORDS
                .iter()
                .position(|w| *w == word)
                .map(|i| Value::LoginAs(LoginAs::ALL[i])),
            Kind::LandingPage => LandingPage::WORDS
                .iter()
                .position(|w| *w == word)
                .map(|i| Value::LandingPage(LandingPage::ALL[i])),
            Kind::RoleList => None,
        };
        parsed.ok_or(ValueError::NotAValue)
    }

    /// Parses a list value (`[visits, pregnancy]`); repeats are dropped.
    pub fn parse_list(self, items: &[&str]) -> Result<Value, ValueError> {
        // A set: a list of n ids must not cost n² comparisons.
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        let ids: Vec<String> = items
            .iter()
            .filter(|item| seen.insert(**item))
            .map(|item| (*item).to_owned())
            .collect();
        match self.kind() {
            Kind::Items(_) => Ok(Value::Items(if ids.is_empty() {
                Items::None
            } else {
                Items::Some(ids)
            })),
            // `web_apps = []` is `off`.
            Kind::SwitchOrItems(_) if ids.is_empty() => Ok(Value::Switch(false)),
            Kind::SwitchOrItems(_) => Ok(Value::Items(Items::Some(ids))),
            Kind::RoleList => Ok(Value::Roles(ids)),
            _ => Err(ValueError::NotAList),
        }
    }
}

/// A role's values, one per permission, indexed by `Permission as usize`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoleValues {
    values: Vec<Value>,
}

impl Default for RoleValues {
    fn default() -> Self {
        RoleValues {
            values: Permission::ALL.iter().map(|p| p.default_value()).collect(),
        }
    }
}

impl RoleValues {
    /// Every permission at its highest: the `admin` role.
    pub fn admin() -> RoleValues {
        RoleValues {
            values: Permission::ALL.iter().map(|p| p.max_value()).collect(),
        }
    }

    pub fn get(&self, p: Permission) -> &Value {
        &self.values[p as usize]
    }

    pub fn set(&mut self, p: Permission, v: Value) {
        self.values[p as usize] = v;
    }

    pub fn level(&self, p: Permission) -> Level {
        self.get(p).level()
    }

    pub fn switch(&self, p: Permission) -> bool {
        matches!(self.get(p), Value::Switch(true))
    }

    pub fn reports(&self) -> &Items {
        match self.get(Permission::Reports) {
            Value::Items(r) => r,
            // INVARIANT: `set` is only called with values parsed for the permission's kind.
            _ => unreachable!("reports holds a Reports value"),
        }
    }

    pub fn landing_page(&self) -> LandingPage {
        match self.get(Permission::LandingPage) {
            Value::LandingPage(p) => *p,
            _ => LandingPage::Default,
        }
    }

    pub fn assignable_by(&self) -> &[String] {
        match self.get(Permission::AssignableBy) {
            Value::Roles(r) => r,
            _ => &[],
        }
    }
}

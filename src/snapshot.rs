//! The compiled snapshot (SPEC §5): what `build` writes and queries load.
//!
//! Deterministic by construction: every collection is a sorted `Vec` or a `BTreeMap`, and the
//! snapshot carries a digest of its own contents so a hand-edited file is detected on load.
//! Serde derives live here and on nothing else but config.
//!
//! Values are stored as the policy's words (`"edit"`, `["visits"]`), so the file reads like the
//! policy. They are decoded in one place, [`RoleEntry::value`] and [`RoleEntry::reason`], into
//! `model`'s types; `query::Index` decodes every role once when it is built, and the query,
//! diff and report code compares those typed values, never words.

pub mod format;
pub mod lazy;
pub mod sign;
pub mod validate;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::rules::Reason;
use crate::model::{FeatureFlag, Permission, Plan, Value};

/// Bumped whenever the snapshot's shape or meaning changes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Snapshot {
    pub format_version: u32,
    pub compiler_version: String,
    /// `sha256:` of every source file (relative path and contents), in path order.
    pub source_digest: String,
    /// `sha256:` of the written file with this value replaced by `format::PLACEHOLDER`; empty
    /// in a snapshot that was not written.
    pub content_digest: String,
    /// Ed25519 signature of `content_digest` by the key of `build --sign` (see
    /// `format::signing_message`); absent in an unsigned snapshot.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub signature: Option<SignatureEntry>,
    pub enterprises: Vec<EnterpriseEntry>,
    pub spaces: Vec<SpaceEntry>,
    /// Where each space's entry lies in the written JSON file, with what crosses spaces: a
    /// query reads the spaces it asks about, not the whole file (`snapshot::lazy`). Written by
    /// `build` in JSON only; covered by the content digest and any signature like the rest.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub index: Option<SnapshotIndex>,
}

/// The `index` of a JSON snapshot: one entry per space, in the order of `spaces`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SnapshotIndex {
    pub spaces: Vec<IndexedSpace>,
}

/// A space's place in the file and its shell: its entry's fields that other spaces' checks and
/// answers read (links, enterprise, server, grants), the same as in the entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IndexedSpace {
    /// The byte range of the space's entry in the file: `[start, end)`, from `{` to `}`.
    pub at: [u64; 2],
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub enterprise: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub upstream: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub upstream_remote: bool,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub downstream: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub grants: Vec<GrantEntry>,
}

impl IndexedSpace {
    /// The index entry of `entry`, written at `at`.
    pub fn of(entry: &SpaceEntry, at: [u64; 2]) -> IndexedSpace {
        IndexedSpace {
            at,
            id: entry.id.clone(),
            enterprise: entry.enterprise.clone(),
            server: entry.server.clone(),
            upstream: entry.upstream.clone(),
            upstream_remote: entry.upstream_remote,
            downstream: entry.downstream.clone(),
            grants: entry.grants.clone(),
        }
    }

    /// Whether this is `entry`'s shell.
    pub fn describes(&self, entry: &SpaceEntry) -> bool {
        self.id == entry.id
            && self.enterprise == entry.enterprise
            && self.server == entry.server
            && self.upstream == entry.upstream
            && self.upstream_remote == entry.upstream_remote
            && self.downstream == entry.downstream
            && self.grants == entry.grants
    }

    /// The space as far as the index knows it: its shell, with no contents.
    pub fn shell(&self) -> SpaceEntry {
        SpaceEntry {
            id: self.id.clone(),
            name: None,
            enterprise: self.enterprise.clone(),
            plan: String::new(),
            server: self.server.clone(),
            upstream: self.upstream.clone(),
            upstream_remote: self.upstream_remote,
            downstream: self.downstream.clone(),
            environment: None,
            two_factor: None,
            features: Vec::new(),
            location_types: Vec::new(),
            locations: Vec::new(),
            groups: Vec::new(),
            reports: Vec::new(),
            applications: Vec::new(),
            registries: Vec::new(),
            profiles: Vec::new(),
            grants: self.grants.clone(),
            roles: Vec::new(),
            members: Vec::new(),
        }
    }
}

/// Who signed a snapshot, and the signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SignatureEntry {
    /// The first 16 hex digits of SHA-256 of the 32 public-key bytes: names the key.
    pub key_id: String,
    /// The 64-byte Ed25519 signature, in 128 lower-case hex digits.
    pub ed25519: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnterpriseEntry {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    pub admins: Vec<String>,
    /// Ids of the spaces that declare `enterprise ID`.
    pub spaces: Vec<String>,
    /// Enterprise Permissions; absent when the enterprise declares none.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub permissions: Option<EnterprisePermissionsEntry>,
}

/// `permissions { source S spaces [...] }`: members of `source` are members of every space of
/// `spaces` with their source role (HQ's `EnterprisePermissions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnterprisePermissionsEntry {
    /// A space of the enterprise.
    pub source: String,
    /// Spaces of the enterprise on the source's server, in the order written; never the source.
    pub spaces: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SpaceEntry {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub enterprise: Option<String>,
    pub plan: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub upstream: Option<String>,
    /// `upstream ID remote`: the upstream lives on another server, linked through HQ's
    /// `DomainLink.remote_base_url`. Written only when true; only with `upstream`.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub upstream_remote: bool,
    /// Spaces whose `upstream` is this one, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub downstream: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub environment: Option<String>,
    /// `required` or `optional`; absent when the policy does not say.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub two_factor: Option<String>,
    /// The feature flags the space turns on (`features [...]`), in catalogue order.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub features: Vec<String>,
    pub location_types: Vec<LocationTypeEntry>,
    /// In preorder; `enter` is the preorder number and `exit` one past the last descendant's,
    /// so A is at or below B when `B.enter <= A.enter < B.exit`.
    pub locations: Vec<LocationEntry>,
    pub groups: Vec<NamedEntry>,
    pub reports: Vec<NamedEntry>,
    /// `application ID "Name"`, in source order.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub applications: Vec<NamedEntry>,
    /// `registry ID "Name" { case_types [...] }`, in source order.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub registries: Vec<RegistryEntry>,
    /// `profile ID "Name"` (user profiles), in source order.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub profiles: Vec<NamedEntry>,
    /// `grant REGISTRY to [SPACES]`: one entry per granted registry, in source order.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub grants: Vec<GrantEntry>,
    pub roles: Vec<RoleEntry>,
    pub members: Vec<MemberEntry>,
}

/// A data registry the space owns: its id, name and schema (the case types it shares).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RegistryEntry {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub case_types: Vec<String>,
}

/// A registry grant (HQ's `RegistryGrant`): the spaces of `to` may read this space's data of
/// the registry's case types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GrantEntry {
    /// A registry of this space.
    pub registry: String,
    /// Other spaces of the snapshot, on this space's server, in the order written.
    pub to: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LocationTypeEntry {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub parent: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LocationEntry {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub parent: Option<String>,
    pub enter: u32,
    pub exit: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NamedEntry {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
}

/// A permission value: a word (`edit`, `on`, `all`) or a list of ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PermissionValue {
    Word(String),
    List(Vec<String>),
}

/// Why an effective value differs from the declared one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReasonEntry {
    /// The value as written (or as the built-in role defines it).
    pub declared: PermissionValue,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub implied_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hidden_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub requires_plan: Option<String>,
    /// The feature flag the space lacks (`features [...]`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub requires_feature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub requires: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RoleEntry {
    pub id: String,
    pub name: String,
    /// `builtin`, `custom` or `redefined` (a built-in role the policy redefines).
    pub origin: String,
    /// The upstream space this read-only role is received from.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub from_upstream: Option<String>,
    /// The source space of Enterprise Permissions whose role this is (its id is then
    /// `SOURCE/ROLE`), held here by the source's web users.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub from_enterprise: Option<String>,
    /// Effective values, every permission of the catalogue.
    pub permissions: BTreeMap<String, PermissionValue>,
    /// For each effective value that differs from the declared one: the declared value and why.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub reasons: BTreeMap<String, ReasonEntry>,
}

impl RoleEntry {
    /// The `admin` role, or an enterprise user's source `admin` (`SOURCE/admin`): HQ carries
    /// admin status over with the source membership.
    pub fn is_admin(&self) -> bool {
        is_admin_role(&self.id, self.from_enterprise.is_some())
    }
}

impl MemberEntry {
    /// Whether the member holds `admin` (its own, or its enterprise source's).
    pub fn holds_admin(&self) -> bool {
        is_admin_role(&self.role, self.enterprise_source.is_some())
    }
}

fn is_admin_role(id: &str, from_enterprise: bool) -> bool {
    let admin = crate::model::builtin::ADMIN;
    id == admin || (from_enterprise && id.rsplit_once('/').is_some_and(|(_, r)| r == admin))
}

/// An effective value that differs from the declared one, decoded: the declared value and
/// the rule that changed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueReason {
    pub declared: Value,
    pub cause: Reason,
}

impl PermissionValue {
    /// The value of `p` this is. Total on a validated snapshot (`validate` checks every value
    /// is of its permission's kind); anything else reads as granting nothing, never as a grant.
    pub fn decode(&self, p: Permission) -> Value {
        let decoded = match self {
            PermissionValue::Word(w) => p.parse_word(w),
            PermissionValue::List(ids) => {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                p.parse_list(&ids)
            }
        };
        decoded.unwrap_or_else(|_| p.default_off())
    }
}

impl RoleEntry {
    /// The effective value of `p` (of a validated snapshot, which has every permission).
    pub fn value(&self, p: Permission) -> Value {
        self.permissions
            .get(p.key())
            .map_or_else(|| p.default_off(), |v| v.decode(p))
    }

    /// Why the effective value of `p` differs from the declared one, if it does. A validated
    /// reason names exactly one cause, a permission or a plan.
    pub fn reason(&self, p: Permission) -> Option<ValueReason> {
        let r = self.reasons.get(p.key())?;
        let permission = |k: &Option<String>| k.as_deref().and_then(Permission::from_key);
        let cause = if let Some(by) = permission(&r.implied_by) {
            Reason::ImpliedBy(by)
        } else if let Some(by) = permission(&r.hidden_by) {
            Reason::HiddenBy(by)
        } else if let Some(plan) = r.requires_plan.as_deref().and_then(Plan::parse) {
            Reason::RequiresPlan(plan)
        } else if let Some(flag) = r.requires_feature.as_deref().and_then(FeatureFlag::parse) {
            Reason::RequiresFeature(flag)
        } else {
            // An unvalidated reason without a cause says nothing.
            Reason::Requires(permission(&r.requires)?)
        };
        Some(ValueReason {
            declared: r.declared.decode(p),
            cause,
        })
    }
}

/// `"all"` or the assigned location ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ScopeEntry {
    All(String),
    Locations(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MemberEntry {
    pub name: String,
    pub kind: MemberKindEntry,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub role_from_upstream: Option<String>,
    /// A member by Enterprise Permissions: the source space whose membership this is.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub enterprise_source: Option<String>,
    /// Where the member may act: `all`, or its assigned locations (and below).
    pub scope: ScopeEntry,
    /// With scope `all`: the locations the member is nevertheless assigned (a mobile worker's
    /// facility). A restricted member's assigned locations are its scope; see [`MemberEntry::assigned`].
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub locations: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub groups: Vec<String>,
    /// A mobile worker's `login_as`: the web users of this space (as the space names them)
    /// who may log in as the worker when their role has `login_as = limited`.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub login_as: Vec<String>,
    /// The effective landing page (`default` resolved by member kind).
    pub landing_page: LandingPageEntry,
}

impl MemberEntry {
    /// The locations the member is assigned, whatever its scope.
    pub fn assigned(&self) -> &[String] {
        match &self.scope {
            ScopeEntry::Locations(ids) => ids,
            ScopeEntry::All(_) => &self.locations,
        }
    }
}

/// How a member is identified: `web_user` (by email) or `mobile_worker` (by username).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberKindEntry {
    WebUser,
    MobileWorker,
}

impl MemberKindEntry {
    /// "web user", "mobile worker".
    pub fn words(self) -> &'static str {
        match self {
            MemberKindEntry::WebUser => "web user",
            MemberKindEntry::MobileWorker => "mobile worker",
        }
    }
}

/// Where a member lands after login (never `default`: resolved by member kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LandingPageEntry {
    Dashboard,
    WebApps,
    Reports,
    Downloads,
}

/// The JSON Schema of a snapshot (docs/schema/snapshot.schema.json), from its types. The
/// schema says the shape; `snapshot::validate` checks what a shape cannot (references, the
/// tree, values of each permission's kind).
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::default()
        .for_serialize()
        .into_generator();
    serde_json::to_value(generator.into_root_schema_for::<Snapshot>()).unwrap_or_default()
}

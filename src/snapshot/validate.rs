//! A loaded snapshot is untrusted input: its content digest catches accidents, not edits made
//! by someone who recomputes it. Before a snapshot is indexed, [`validate`] checks everything
//! the index and the queries rely on, and refuses the snapshot with one line naming the first
//! problem, never guessing (an unknown role is not read as `admin`, an unknown word not as
//! `view`).
//!
//! Linear in the snapshot's size: every lookup is a hash lookup in a table built once per
//! space, and the location tree is checked in one pass with a stack of open intervals.

use std::collections::{HashMap, HashSet};

use crate::snapshot::MemberKindEntry;

use super::{
    FORMAT_VERSION, LocationEntry, PermissionValue, RoleEntry, ScopeEntry, Snapshot, SpaceEntry,
};
use crate::model::rules::Context;
use crate::model::{FeatureFlag, FeatureFlags, ItemKind, Kind, Level, Needs, Permission, Plan};

/// What is wrong with a snapshot, in one line (lowercase, names in backticks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! bail {
    ($($arg:tt)*) => {
        return Err(Invalid(format!($($arg)*)))
    };
}

/// Checks that every reference of the snapshot resolves, ids are unique, the location tree is
/// a tree labelled in preorder, every permission holds a value of its kind, and the effective
/// values agree with the reasons recorded where that can be checked.
pub fn validate(snapshot: &Snapshot) -> Result<(), Invalid> {
    validate_partial(snapshot, |_| true)
}

/// [`validate`] of a snapshot read in part (`snapshot::lazy`): what crosses spaces (ids,
/// enterprises, upstream links, grants) in full, from every space's entry or its shell, and
/// the contents of the spaces `read` says were read.
pub fn validate_partial(snapshot: &Snapshot, read: impl Fn(usize) -> bool) -> Result<(), Invalid> {
    if snapshot.format_version != FORMAT_VERSION {
        bail!(
            "format version {} is not {FORMAT_VERSION}",
            snapshot.format_version
        );
    }
    for (field, digest) in [
        ("source_digest", &snapshot.source_digest),
        ("content_digest", &snapshot.content_digest),
    ] {
        // The in-memory snapshot of a policy has no content digest yet.
        if field == "content_digest" && digest.is_empty() {
            continue;
        }
        if !is_digest(digest) {
            bail!("`{field}` is not `sha256:` followed by 64 hex digits");
        }
    }

    if let Some(sig) = &snapshot.signature {
        let hex = |t: &str, n: usize| {
            t.len() == n
                && t.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !hex(&sig.key_id, 16) || !hex(&sig.ed25519, 128) {
            bail!("`signature` is not a key id of 16 and a signature of 128 hex digits");
        }
    }

    let spaces = unique(
        "space",
        "the snapshot",
        snapshot.spaces.iter().map(|s| &s.id),
    )?;
    let enterprises = unique(
        "enterprise",
        "the snapshot",
        snapshot.enterprises.iter().map(|e| &e.id),
    )?;
    let mut listed_in: HashMap<&str, usize> = HashMap::new();
    for e in &snapshot.enterprises {
        *listed_in.entry(e.id.as_str()).or_default() += e.spaces.len();
    }
    let mut declaring: HashMap<&str, usize> = HashMap::new();
    for s in &snapshot.spaces {
        if let Some(e) = s.enterprise.as_deref() {
            if !enterprises.contains_key(e) {
                bail!(
                    "space `{}` declares enterprise `{e}`, which the snapshot does not have",
                    s.id
                );
            }
            *declaring.entry(e).or_default() += 1;
        }
    }
    for e in &snapshot.enterprises {
        let mut listed = HashSet::with_capacity(e.spaces.len());
        for id in &e.spaces {
            let Some(&s) = spaces.get(id.as_str()) else {
                bail!(
                    "enterprise `{}` lists space `{id}`, which the snapshot does not have",
                    e.id
                );
            };
            if snapshot.spaces[s].enterprise.as_deref() != Some(e.id.as_str()) {
                bail!(
                    "enterprise `{}` lists space `{id}`, which does not declare that enterprise",
                    e.id
                );
            }
            if !listed.insert(id.as_str()) {
                bail!("enterprise `{}` lists space `{id}` twice", e.id);
            }
        }
    }
    // Every listed space declares its enterprise (above) and there are as many of one as of
    // the other, so the two sides are the same set.
    for e in &snapshot.enterprises {
        let (l, d) = (
            listed_in.get(e.id.as_str()).copied().unwrap_or(0),
            declaring.get(e.id.as_str()).copied().unwrap_or(0),
        );
        if l != d {
            bail!(
                "enterprise `{}` lists {l} spaces, but {d} spaces declare it",
                e.id
            );
        }
    }

    upstreams(snapshot, &spaces)?;
    // Registries other spaces grant to each space, which its roles may name too.
    let mut granted: HashMap<&str, Vec<&str>> = HashMap::new();
    for s in &snapshot.spaces {
        for g in &s.grants {
            for to in &g.to {
                granted
                    .entry(to.as_str())
                    .or_default()
                    .push(g.registry.as_str());
            }
        }
    }
    for (i, s) in snapshot.spaces.iter().enumerate() {
        if read(i) {
            space(s, granted.get(s.id.as_str()).map_or(&[], Vec::as_slice))?;
        }
    }
    if let Some(index) = &snapshot.index {
        // The index repeats what crosses spaces (a query reading only some spaces goes by
        // it); checked last, so that an edited entry is named for what is wrong in it.
        if index.spaces.len() != snapshot.spaces.len() {
            bail!(
                "the index lists {} spaces, but the snapshot has {}",
                index.spaces.len(),
                snapshot.spaces.len()
            );
        }
        for (indexed, s) in index.spaces.iter().zip(&snapshot.spaces) {
            if !indexed.describes(s) {
                bail!(
                    "the index entry of space `{}` does not match its entry (`{}`)",
                    s.id,
                    indexed.id
                );
            }
        }
    }
    Ok(())
}

fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Ids to their positions; a repeated id is refused.
fn unique<'a>(
    what: &str,
    within: &str,
    ids: impl Iterator<Item = &'a String>,
) -> Result<HashMap<&'a str, usize>, Invalid> {
    let mut map = HashMap::new();
    for (i, id) in ids.enumerate() {
        if map.insert(id.as_str(), i).is_some() {
            bail!("{what} `{id}` appears twice in {within}");
        }
    }
    Ok(map)
}

/// Upstream and downstream references resolve, agree, and form no cycle; `upstream_remote`
/// comes with an upstream. Servers are not compared: a remote upstream is on another server,
/// and an upstream's server changes no answer about the roles it passes down.
fn upstreams(snapshot: &Snapshot, spaces: &HashMap<&str, usize>) -> Result<(), Invalid> {
    let mut up: Vec<Option<usize>> = Vec::with_capacity(snapshot.spaces.len());
    for s in &snapshot.spaces {
        up.push(match s.upstream.as_deref() {
            None if s.upstream_remote => bail!(
                "space `{}` has a remote upstream link but no upstream",
                s.id
            ),
            None => None,
            Some(u) => match spaces.get(u) {
                Some(&i) => Some(i),
                None => bail!(
                    "space `{}` has upstream `{u}`, which the snapshot does not have",
                    s.id
                ),
            },
        });
    }
    let mut downstream_count = vec![0usize; snapshot.spaces.len()];
    for u in up.iter().flatten() {
        downstream_count[*u] += 1;
    }
    for (i, s) in snapshot.spaces.iter().enumerate() {
        let mut seen = HashSet::with_capacity(s.downstream.len());
        for d in &s.downstream {
            let Some(&di) = spaces.get(d.as_str()) else {
                bail!(
                    "space `{}` lists downstream `{d}`, which the snapshot does not have",
                    s.id
                );
            };
            if up[di] != Some(i) || !seen.insert(di) {
                bail!(
                    "space `{}` lists downstream `{d}`, whose upstream it is not (or twice)",
                    s.id
                );
            }
        }
        if seen.len() != downstream_count[i] {
            bail!(
                "space `{}` does not list every space whose upstream it is as downstream",
                s.id
            );
        }
    }
    forest(&up, |c| {
        format!(
            "the upstream of space `{}` leads back to it",
            snapshot.spaces[c].id
        )
    })?;
    Ok(())
}

fn space(s: &SpaceEntry, granted: &[&str]) -> Result<(), Invalid> {
    let within = format!("space `{}`", s.id);
    let Some(plan) = Plan::parse(&s.plan) else {
        bail!(
            "space `{}` has plan `{}`, which is not a plan",
            s.id,
            s.plan
        );
    };
    if let Some(e) = &s.environment
        && crate::model::Environment::parse(e).is_none()
    {
        bail!("space `{}` has environment `{e}`, which is not one", s.id);
    }
    if let Some(t) = &s.two_factor
        && t != "required"
        && t != "optional"
    {
        bail!(
            "space `{}` has two_factor `{t}`, not `required` or `optional`",
            s.id
        );
    }

    let types = unique(
        "location type",
        &within,
        s.location_types.iter().map(|t| &t.id),
    )?;
    let mut type_parent = Vec::with_capacity(s.location_types.len());
    for t in &s.location_types {
        type_parent.push(match &t.parent {
            None => None,
            Some(p) => match types.get(p.as_str()) {
                Some(&i) => Some(i),
                None => bail!(
                    "location type `{}` of space `{}` is in `{p}`, which the space does not have",
                    t.id,
                    s.id
                ),
            },
        });
    }
    forest(&type_parent, |i| {
        format!(
            "location type `{}` of space `{}` is inside itself",
            s.location_types[i].id, s.id
        )
    })?;

    let locations = unique("location", &within, s.locations.iter().map(|l| &l.id))?;
    location_tree(s, &locations, &types)?;
    let groups = unique("group", &within, s.groups.iter().map(|g| &g.id))?;
    let reports = unique("report", &within, s.reports.iter().map(|r| &r.id))?;
    let roles = unique("role", &within, s.roles.iter().map(|r| &r.id))?;
    let applications = unique("application", &within, s.applications.iter().map(|a| &a.id))?;
    let mut registries = unique("registry", &within, s.registries.iter().map(|r| &r.id))?;
    for id in granted {
        let next = registries.len();
        registries.entry(id).or_insert(next);
    }
    let profiles = unique("profile", &within, s.profiles.iter().map(|p| &p.id))?;
    let mut features = FeatureFlags::default();
    for f in &s.features {
        match FeatureFlag::parse(f) {
            Some(flag) => features.insert(flag),
            None => bail!(
                "space `{}` turns on `{f}`, which is not a feature flag",
                s.id
            ),
        }
    }
    let ids = Ids {
        reports: &reports,
        roles: &roles,
        applications: &applications,
        registries: &registries,
        profiles: &profiles,
    };
    for r in &s.roles {
        role(s, plan, features, r, &ids)?;
    }

    let mut names: HashSet<String> = HashSet::with_capacity(s.members.len());
    for m in &s.members {
        if m.name.is_empty() {
            bail!("a member of space `{}` has an empty name", s.id);
        }
        // Names compare ignoring ASCII case (SPEC §1): two spellings would be one member.
        if !names.insert(m.name.to_ascii_lowercase()) {
            bail!("member `{}` appears twice in space `{}`", m.name, s.id);
        }
        let Some(&r) = roles.get(m.role.as_str()) else {
            bail!(
                "member `{}` of space `{}` holds role `{}`, which the space does not have",
                m.name,
                s.id,
                m.role
            );
        };
        let role = &s.roles[r];
        if m.role_from_upstream != role.from_upstream {
            bail!(
                "member `{}` of space `{}` holds role `{}` with another upstream than the role's",
                m.name,
                s.id,
                m.role
            );
        }
        if m.enterprise_source != role.from_enterprise {
            bail!(
                "member `{}` of space `{}` holds role `{}` from another source space than the role's",
                m.name,
                s.id,
                m.role
            );
        }
        let full = word(role, Permission::FullOrganizationAccess) == Some("on");
        let assigned = match (&m.scope, full) {
            (ScopeEntry::All(w), true) if w == "all" => &m.locations,
            (ScopeEntry::Locations(ids), false) if m.locations.is_empty() => ids,
            (ScopeEntry::All(w), _) if w != "all" => bail!(
                "member `{}` of space `{}` has scope `{w}`, not `all` or a list of locations",
                m.name,
                s.id
            ),
            _ => bail!(
                "member `{}` of space `{}` has a scope that does not match role `{}` (`full_organization_access` {})",
                m.name,
                s.id,
                m.role,
                if full {
                    "on: scope `all`"
                } else {
                    "off: its locations"
                }
            ),
        };
        for l in assigned {
            if !locations.contains_key(l.as_str()) {
                bail!(
                    "member `{}` of space `{}` is assigned location `{l}`, which the space does not have",
                    m.name,
                    s.id
                );
            }
        }
        for g in &m.groups {
            if !groups.contains_key(g.as_str()) {
                bail!(
                    "member `{}` of space `{}` is in group `{g}`, which the space does not have",
                    m.name,
                    s.id
                );
            }
        }
    }
    // A worker's `login_as` names web users of the space (ignoring ASCII case) or `default`.
    let web_users: HashSet<String> = s
        .members
        .iter()
        .filter(|m| m.kind == MemberKindEntry::WebUser)
        .map(|m| m.name.to_ascii_lowercase())
        .collect();
    for m in s.members.iter().filter(|m| !m.login_as.is_empty()) {
        if m.kind != MemberKindEntry::MobileWorker {
            bail!(
                "member `{}` of space `{}` has a `login_as` list: only mobile workers are logged in as",
                m.name,
                s.id
            );
        }
        for n in &m.login_as {
            if !n.eq_ignore_ascii_case(crate::model::DEFAULT_LOGIN_AS)
                && !web_users.contains(&n.to_ascii_lowercase())
            {
                bail!(
                    "mobile worker `{}` of space `{}` names `{n}` in `login_as`, which is not a web user of the space",
                    m.name,
                    s.id
                );
            }
        }
    }
    Ok(())
}

/// `parent` pointers form a forest (no cycle); `cycle` names the entry found on one. A
/// colouring walk: each entry is visited once, so the check is linear.
fn forest(parent: &[Option<usize>], cycle: impl Fn(usize) -> String) -> Result<(), Invalid> {
    let mut state = vec![0u8; parent.len()];
    for start in 0..parent.len() {
        let mut chain = Vec::new();
        let mut cur = Some(start);
        while let Some(c) = cur {
            match state[c] {
                2 => break,
                1 => return Err(Invalid(cycle(c))),
                _ => {
                    state[c] = 1;
                    chain.push(c);
                    cur = parent[c];
                }
            }
        }
        for c in chain {
            state[c] = 2;
        }
    }
    Ok(())
}

/// The locations are in preorder, `enter` is the position and `exit` one past the last
/// descendant, and `parent` is exactly the innermost enclosing interval. One pass with a stack
/// of the intervals still open; this also rules out cycles (a parent comes before its child).
fn location_tree(
    s: &SpaceEntry,
    locations: &HashMap<&str, usize>,
    types: &HashMap<&str, usize>,
) -> Result<(), Invalid> {
    let n = s.locations.len();
    let at = |l: &LocationEntry| format!("location `{}` of space `{}`", l.id, s.id);
    let mut open: Vec<usize> = Vec::new();
    for (i, l) in s.locations.iter().enumerate() {
        if !types.contains_key(l.ty.as_str()) {
            bail!(
                "{} has type `{}`, which the space does not have",
                at(l),
                l.ty
            );
        }
        if l.enter as usize != i {
            bail!(
                "{} has `enter` {}, but it is number {i} in preorder",
                at(l),
                l.enter
            );
        }
        if l.exit as usize <= i || l.exit as usize > n {
            bail!("{} has `exit` {}, outside {}..={n}", at(l), l.exit, i + 1);
        }
        while open
            .last()
            .is_some_and(|&o| s.locations[o].exit as usize <= i)
        {
            open.pop();
        }
        let parent = match &l.parent {
            None => None,
            Some(p) => match locations.get(p.as_str()) {
                Some(&pi) => Some(pi),
                None => bail!("{} is inside `{p}`, which the space does not have", at(l)),
            },
        };
        if parent != open.last().copied() {
            bail!(
                "{} is not inside its parent's `enter`..`exit` interval, or another location's interval encloses it",
                at(l)
            );
        }
        if let Some(&o) = open.last()
            && l.exit > s.locations[o].exit
        {
            bail!(
                "{} has `exit` {} beyond its parent's {}",
                at(l),
                l.exit,
                s.locations[o].exit
            );
        }
        open.push(i);
    }
    Ok(())
}

/// The role's effective value of a word-valued permission.
fn word(role: &RoleEntry, p: Permission) -> Option<&str> {
    match role.permissions.get(p.key()) {
        Some(PermissionValue::Word(w)) => Some(w),
        _ => None,
    }
}

/// A space's ids that permission lists name.
struct Ids<'a> {
    reports: &'a HashMap<&'a str, usize>,
    roles: &'a HashMap<&'a str, usize>,
    applications: &'a HashMap<&'a str, usize>,
    registries: &'a HashMap<&'a str, usize>,
    profiles: &'a HashMap<&'a str, usize>,
}

impl Ids<'_> {
    /// The ids a list of `kind` must name, and what they are; `None` for HQ's own names
    /// (Tableau visualisations, analytics roles), which a policy does not declare.
    fn of(&self, kind: Kind) -> Option<(&HashMap<&str, usize>, &'static str)> {
        match kind {
            Kind::RoleList => Some((self.roles, "role")),
            Kind::Items(ItemKind::Reports) => Some((self.reports, "report")),
            Kind::Items(k) | Kind::SwitchOrItems(k) => {
                let ids = match k {
                    ItemKind::Reports => self.reports,
                    ItemKind::Applications => self.applications,
                    ItemKind::Registries => self.registries,
                    ItemKind::Profiles => self.profiles,
                    ItemKind::TableauReports | ItemKind::AnalyticsRoles => return None,
                };
                Some((ids, k.noun()))
            }
            _ => None,
        }
    }
}

/// Whether a value is one of `p`'s kind; lists must name declared ids of the list's kind.
fn in_range(p: Permission, v: &PermissionValue, ids: &Ids<'_>) -> Result<(), String> {
    match (p.kind(), v) {
        (Kind::Items(_) | Kind::SwitchOrItems(_) | Kind::RoleList, PermissionValue::List(list)) => {
            let mut seen = HashSet::with_capacity(list.len());
            for id in list {
                if let Some((declared, what)) = ids.of(p.kind())
                    && !declared.contains_key(id.as_str())
                {
                    return Err(format!(
                        "lists {what} `{id}`, which the space does not have"
                    ));
                }
                if !seen.insert(id.as_str()) {
                    return Err(format!("lists `{id}` twice"));
                }
            }
            Ok(())
        }
        (kind, PermissionValue::Word(w)) if kind.words().contains(&w.as_str()) => Ok(()),
        (kind, PermissionValue::Word(w)) => {
            Err(format!("is `{w}`, which is not {}", kind.describe_values()))
        }
        (kind, PermissionValue::List(_)) => Err(format!(
            "is a list, which is not {}",
            kind.describe_values()
        )),
    }
}

fn role(
    s: &SpaceEntry,
    plan: Plan,
    features: FeatureFlags,
    r: &RoleEntry,
    ids: &Ids<'_>,
) -> Result<(), Invalid> {
    let at = || format!("role `{}` of space `{}`", r.id, s.id);
    if !matches!(r.origin.as_str(), "builtin" | "custom" | "redefined") {
        bail!(
            "{} has origin `{}`, not `builtin`, `custom` or `redefined`",
            at(),
            r.origin
        );
    }
    if let Some(u) = &r.from_upstream
        && s.upstream.as_ref() != Some(u)
    {
        bail!(
            "{} is received from `{u}`, which is not the space's upstream",
            at()
        );
    }
    if let Some(source) = &r.from_enterprise
        && (r.from_upstream.is_some() || !r.id.starts_with(&format!("{source}/")))
    {
        bail!(
            "{} is from the Enterprise Permissions of `{source}` but is not named `{source}/ROLE`",
            at()
        );
    }
    if r.permissions.len() != Permission::ALL.len() {
        // Either one is missing (reported below) or an unknown key is present.
        if let Some(k) = r
            .permissions
            .keys()
            .find(|k| Permission::from_key(k).is_none())
        {
            bail!("{} has permission `{k}`, which is not a permission", at());
        }
    }
    for &p in Permission::ALL {
        let Some(v) = r.permissions.get(p.key()) else {
            bail!("{} has no value for permission `{p}`", at());
        };
        if let Err(e) = in_range(p, v, ids) {
            bail!("{}: `{p}` {e}", at());
        }
    }
    let full = word(r, Permission::FullOrganizationAccess) == Some("on");
    if r.is_admin() && !full {
        bail!(
            "{} has `full_organization_access` off: admin is never restricted",
            at()
        );
    }
    if !r.is_admin() && word(r, Permission::RolesAndPermissions) == Some("edit") {
        bail!(
            "{}: `roles_and_permissions` is `edit`, which only admin holds",
            at()
        );
    }
    // The effective rules that can be checked from the role alone: a restricted role holds
    // nothing `full_organization_access = off` hides, and nothing the plan does not have.
    let ctx = Context {
        plan,
        report_count: s.reports.len(),
        features,
    };
    for &p in Permission::ALL {
        let value = r.value(p);
        if let Some(cap) = p.cap_without_full_access()
            && !full
            && value.level() > cap
        {
            if cap == Level::None {
                bail!(
                    "{} holds `{p}` with `full_organization_access` off, which hides it",
                    at()
                );
            }
            bail!(
                "{} holds `{p} = {}` with `full_organization_access` off, which lowers it to `{}`",
                at(),
                value.to_source(),
                cap.as_str()
            );
        }
        if let Some(gate) = p.gate()
            && !ctx.has(gate.needs)
            && p.gated(gate, &value)
        {
            let needs = match gate.needs {
                Needs::Plan(needs) => format!(
                    "plan `{}` does not have (it needs `{}`)",
                    s.plan,
                    needs.as_str()
                ),
                Needs::Feature(flag) => format!(
                    "needs the feature flag `{}`, which the space does not turn on",
                    flag.as_str()
                ),
            };
            bail!("{} holds `{p}`, which {needs}", at());
        }
    }
    for (key, reason) in &r.reasons {
        let Some(p) = Permission::from_key(key) else {
            bail!(
                "{} has a reason for `{key}`, which is not a permission",
                at()
            );
        };
        let causes = [
            reason.implied_by.as_deref(),
            reason.hidden_by.as_deref(),
            reason.requires_plan.as_deref(),
            reason.requires_feature.as_deref(),
            reason.requires.as_deref(),
        ];
        if causes.iter().flatten().count() != 1 {
            bail!(
                "{}: the reason for `{p}` does not give exactly one cause",
                at()
            );
        }
        if let Err(e) = in_range(p, &reason.declared, ids) {
            bail!("{}: the declared value of `{p}` {e}", at());
        }
        for cause in [&reason.implied_by, &reason.hidden_by, &reason.requires]
            .into_iter()
            .flatten()
        {
            if Permission::from_key(cause).is_none() {
                bail!(
                    "{}: the reason for `{p}` names `{cause}`, which is not a permission",
                    at()
                );
            }
        }
        if let Some(by) = &reason.hidden_by
            && (by != Permission::FullOrganizationAccess.key()
                || full
                || p.cap_without_full_access().is_none())
        {
            bail!(
                "{}: `{p}` is recorded as hidden by `{by}`, which does not hide it",
                at()
            );
        }
        if let Some(needs) = &reason.requires_plan {
            match Plan::parse(needs) {
                Some(needs) if plan < needs => {}
                _ => bail!(
                    "{}: `{p}` is recorded as needing plan `{needs}`, which the space's plan `{}` does not lack",
                    at(),
                    s.plan
                ),
            }
        }
        if let Some(flag) = &reason.requires_feature {
            match FeatureFlag::parse(flag) {
                Some(f) if !ctx.features.contains(f) => {}
                _ => bail!(
                    "{}: `{p}` is recorded as needing feature flag `{flag}`, which the space does not lack",
                    at()
                ),
            }
        }
        if reason.implied_by.is_some() && word(r, p) != Some("on") {
            bail!("{}: `{p}` is recorded as implied, but it is not on", at());
        }
        // What implies it must hold: `why` would otherwise explain a grant by a value the role
        // does not have.
        if let Some(by) = reason.implied_by.as_deref()
            && word(r, Permission::from_key(by).unwrap_or(p)) != Some("edit")
        {
            bail!(
                "{}: `{p}` is recorded as implied by `{by} = edit`, but the role has no `{by} = edit`",
                at()
            );
        }
        // A reason records a value that differs from the declared one.
        if r.permissions.get(key) == Some(&reason.declared) {
            bail!(
                "{}: the reason for `{p}` records a declared value equal to the effective one",
                at()
            );
        }
    }
    Ok(())
}

//! Decisions in words: the reasons behind a [`Decision`] and, for a denial, the smallest
//! change to the policy that would allow it, as text and as [`Step`]s a tool can apply
//! (applying them allows the request: property-tested, `tests/why_fixes.rs`).

use super::decide::ApiDenial;
use super::index::RoleIx;
use super::{Decision, Index};
use crate::model::rules::Reason;
use crate::model::{Items, Kind, Level, Permission, Value};
use crate::question::{Asked, Channel, Request, Want};
use crate::snapshot::{RoleEntry, ScopeEntry, ValueReason};

/// A role as `why` words it: its snapshot entry (ids, origin) and its decoded values.
#[derive(Clone, Copy)]
struct Held<'a> {
    entry: &'a RoleEntry,
    values: &'a RoleIx,
}

/// Why a rule changed a role's value, as `why` and `diff` word it: "implied by `x = edit`",
/// "declared `edit`, hidden by `full_organization_access = off`".
pub fn reason_text(r: &ValueReason) -> String {
    let declared = r.declared.to_source();
    match r.cause {
        Reason::ImpliedBy(by) => format!("implied by `{by} = edit`"),
        Reason::HiddenBy(by) => format!("declared `{declared}`, hidden by `{by} = off`"),
        Reason::RequiresPlan(plan) => {
            format!("declared `{declared}`, needs plan `{}`", plan.as_str())
        }
        Reason::RequiresFeature(flag) => {
            format!(
                "declared `{declared}`, needs feature flag `{}`",
                flag.as_str()
            )
        }
        Reason::Requires(req) => format!("declared `{declared}`, needs `{req}`"),
    }
}

impl Index {
    /// The first role of the space (in declaration order, `admin` last) that grants `q` to an
    /// unrestricted holder: a member just added has no locations.
    fn role_granting(&self, q: &Request) -> &str {
        let s = self.space(q.space);
        let entry = self.entry(q.space);
        let grants = |r: &RoleIx| {
            r.full_access
                && match q.channel {
                    Channel::Web => r.grants(q.asked, q.want),
                    Channel::Api => r.grants_via_api(q.asked, q.want),
                    Channel::Any => r.grants(q.asked, q.want) || r.grants_via_api(q.asked, q.want),
                }
        };
        s.roles
            .iter()
            .zip(&entry.roles)
            .filter(|(_, e)| e.id != crate::model::builtin::ADMIN)
            .find(|(r, _)| grants(r))
            .map_or(crate::model::builtin::ADMIN, |(_, e)| e.id.as_str())
    }

    /// Location ids from the root down to `loc`, as `india > up > lko`.
    fn path(&self, space: u32, loc: u32) -> String {
        let s = self.space(space);
        let entry = self.entry(space);
        let mut ids = Vec::new();
        let mut cur = Some(loc);
        while let Some(l) = cur {
            ids.push(entry.locations[l as usize].id.as_str());
            cur = s.locations[l as usize].parent;
        }
        ids.reverse();
        ids.join(" > ")
    }

    /// The question in words: "view data at `lko-01` in `acme-prod`".
    pub fn describe(&self, q: &Request) -> String {
        let entry = self.entry(q.space);
        let what = match q.asked {
            Asked::Key(p) if p.kind().is_switch_like() => format!("use `{p}`"),
            Asked::Key(p) => format!(
                "{} `{p}`",
                if q.want == Want::Edit { "edit" } else { "view" }
            ),
            Asked::Report(r) => format!("view report `{}`", entry.reports[r as usize].id),
            Asked::EnterpriseReports => "view `enterprise_reports`".to_owned(),
        };
        let at =
            q.at.map(|l| format!(" at `{}`", entry.locations[l as usize].id))
                .unwrap_or_default();
        format!("{what}{at} in `{}`{}", entry.id, q.channel.words())
    }

    /// Why a decision came out as it did, and for a denial the smallest change that would
    /// allow it, in the domain's words.
    pub fn explain(&self, member: &str, q: &Request, d: &Decision) -> Explanation {
        let entry = self.entry(q.space);
        let mut reasons = Vec::new();
        let mut change = None;
        let mut fix = Vec::new();
        let mut through_login_as = None;
        let role_line = |m: u32, reasons: &mut Vec<String>| {
            let me = &entry.members[m as usize];
            let from = match (&me.role_from_upstream, &me.enterprise_source) {
                (Some(u), _) => format!(" (received from upstream `{u}`)"),
                (None, Some(e)) => format!(" through Enterprise Permissions from `{e}`"),
                (None, None) => String::new(),
            };
            reasons.push(format!(
                "`{member}` is a {} of `{}` with role `{}`{from}",
                me.kind.words(),
                entry.id,
                me.role
            ));
            let r = self.space(q.space).members[m as usize].role as usize;
            Held {
                entry: &entry.roles[r],
                values: &self.space(q.space).roles[r],
            }
        };
        match d {
            Decision::Console => {
                reasons.push(format!(
                    "`{member}` is an enterprise admin of `{}` and `admin` of one of its spaces on server `{}`, so reaches the Enterprise Console and its aggregated reports",
                    entry.enterprise.as_deref().unwrap_or("?"),
                    entry.server.as_deref().unwrap_or("(none)")
                ));
            }
            Decision::NotMember => {
                if q.asked == Asked::EnterpriseReports {
                    reasons.push(match &entry.enterprise {
                        Some(e) => format!("`{member}` is not an enterprise admin of `{e}` who is `admin` of a space of `{e}` on server `{}`", entry.server.as_deref().unwrap_or("(none)")),
                        None => format!("`{}` belongs to no enterprise, so has no Enterprise Console aggregates", entry.id),
                    });
                    let mobile = !member.contains('@')
                        || self.space(q.space).member(member).is_some_and(|m| {
                            entry.members[m as usize].kind
                                == crate::snapshot::MemberKindEntry::MobileWorker
                        });
                    if mobile {
                        reasons.push(format!(
                            "`{member}` is a mobile worker's name: the Enterprise Console is for web users"
                        ));
                    } else if let Some(e) = &entry.enterprise {
                        change = Some(format!(
                            "make `{member}` an enterprise admin and `admin` of a space of the enterprise on the same server"
                        ));
                        fix = vec![
                            Step::MakeEnterpriseAdmin {
                                enterprise: e.clone(),
                                member: member.to_owned(),
                            },
                            match self.space(q.space).member(member) {
                                Some(_) => Step::AssignRole {
                                    space: entry.id.clone(),
                                    member: member.to_owned(),
                                    role: crate::model::builtin::ADMIN.to_owned(),
                                },
                                None => Step::AddMember {
                                    space: entry.id.clone(),
                                    member: member.to_owned(),
                                    role: crate::model::builtin::ADMIN.to_owned(),
                                },
                            },
                        ];
                    }
                } else {
                    reasons.push(format!(
                        "`{member}` is not a member of `{}`: spaces are isolated",
                        entry.id
                    ));
                    if !self.entries().any(|s| {
                        s.members
                            .iter()
                            .any(|m| m.name.eq_ignore_ascii_case(member))
                    }) {
                        reasons.push(format!("no space has a member named `{member}`"));
                    }
                    if q.channel == Channel::Api && q.asked != Asked::Key(Permission::Data) {
                        // Membership would not help: nothing to propose.
                        reasons.push("and the API reaches `data` only, whoever asks".to_owned());
                        return Explanation {
                            allowed: false,
                            reasons,
                            change: None,
                            fix: Vec::new(),
                            through_login_as: None,
                        };
                    }
                    let role = self.role_granting(q);
                    let mut text = format!("add `{member}` to `{}` with role `{role}`", entry.id);
                    fix = vec![Step::AddMember {
                        space: entry.id.clone(),
                        member: member.to_owned(),
                        role: role.to_owned(),
                    }];
                    // No role grants a permission (or the API) the space lacks the plan or
                    // the feature flag for.
                    let asked = match q.asked {
                        Asked::Key(p) => vec![p],
                        _ => Vec::new(),
                    };
                    let api = (q.channel == Channel::Api).then_some(Permission::AccessApis);
                    for (clause, step) in lacking(entry, asked.into_iter().chain(api)) {
                        text.push_str(&clause);
                        fix.push(step);
                    }
                    change = Some(text);
                }
            }
            Decision::Granted { member: m, within } => {
                let role = role_line(*m, &mut reasons);
                reasons.push(self.grant_line(q, role));
                if let Some(l) = within {
                    let at = q.at.unwrap_or(*l);
                    reasons.push(format!(
                        "`{}` ({}) is at or below `{}`, one of the member's locations",
                        entry.locations[at as usize].id,
                        self.path(q.space, at),
                        entry.locations[*l as usize].id
                    ));
                } else if let Some(ScopeEntry::All(_)) =
                    entry.members.get(*m as usize).map(|me| &me.scope)
                {
                    if q.at.is_some() {
                        reasons.push(
                            "the role has full organization access: it holds at every location"
                                .to_owned(),
                        );
                    }
                } else if matches!(q.asked, Asked::Key(p) if !p.is_location_scoped()) {
                    reasons.push(
                        "this permission is not location-scoped: it holds space-wide".to_owned(),
                    );
                }
            }
            Decision::ViaLoginAs {
                member: m,
                worker: k,
                within,
            } => {
                let role = role_line(*m, &mut reasons);
                let worker = &entry.members[*k as usize];
                reasons.push(self.login_as_line(q.space, *m, role, worker));
                let s = self.space(q.space);
                let r = s.members[*k as usize].role as usize;
                let held = Held {
                    entry: &entry.roles[r],
                    values: &s.roles[r],
                };
                reasons.push(format!(
                    "through Login-As of `{}` (role `{}`): {}",
                    worker.name,
                    worker.role,
                    self.grant_line(q, held)
                ));
                match (within, q.at) {
                    (Some(l), Some(at)) => reasons.push(format!(
                        "`{}` ({}) is at or below `{}`, one of `{}`'s locations",
                        entry.locations[at as usize].id,
                        self.path(q.space, at),
                        entry.locations[*l as usize].id,
                        worker.name
                    )),
                    (None, Some(_)) if q.is_location_scoped() => reasons.push(format!(
                        "role `{}` has full organization access: `{}` acts at every location",
                        worker.role, worker.name
                    )),
                    _ => {}
                }
                through_login_as = Some(worker.name.clone());
            }
            Decision::RoleLacks { member: m }
                if role_is_admin(&entry.members[*m as usize])
                    && q.asked == Asked::Key(Permission::NonAdminEditable) =>
            {
                // `admin` lacks one thing only, and no edit gives it: nothing to propose.
                role_line(*m, &mut reasons);
                reasons.push(
                    "`admin` is assigned by admins only, so it is never `non_admin_editable`"
                        .to_owned(),
                );
            }
            Decision::RoleLacks { member: m } => {
                let role = role_line(*m, &mut reasons);
                let (line, mut text, mut steps) = self.lack_line(
                    member,
                    q,
                    role,
                    &entry.members[*m as usize].role_from_upstream,
                );
                reasons.push(line);
                // Granted by the role, the question may still be outside the member's locations.
                let scope_opens = steps.iter().any(|s| {
                    matches!(s, Step::Set { key, value, .. } if key == "full_organization_access" && value == "on")
                });
                if let (Some(at), false) = (q.at, scope_opens)
                    && q.channel != Channel::Api
                    && self.outside_scope(q, *m)
                {
                    let loc = &entry.locations[at as usize].id;
                    text.push_str(&format!(", and assign location `{loc}` to `{member}`"));
                    steps.push(Step::AssignLocation {
                        space: entry.id.clone(),
                        member: member.to_owned(),
                        location: loc.clone(),
                    });
                }
                let from = &entry.members[*m as usize].role_from_upstream;
                let (text, steps) = self.as_redefinition(role, from, text, steps);
                change = Some(text);
                fix = steps;
            }
            Decision::ViaApi { member: m } => {
                let role = role_line(*m, &mut reasons);
                reasons.push(self.grant_line(q, role));
                let restricted =
                    matches!(entry.members[*m as usize].scope, ScopeEntry::Locations(_));
                reasons.push(format!(
                    "role `{}` has `access_apis = on`: through the API the member can {} `data` everywhere in `{}`{}",
                    role.entry.id,
                    if q.want == Want::Edit { "read and change" } else { "read" },
                    entry.id,
                    if restricted {
                        ", outside its locations too (full organization access off does not restrict the API)"
                    } else {
                        ""
                    }
                ));
            }
            Decision::ApiDenied { member: m, why } => {
                let role = role_line(*m, &mut reasons);
                let from = &entry.members[*m as usize].role_from_upstream;
                match why {
                    ApiDenial::NotData => reasons.push(
                        "the API reaches `data` only; ask without `via api` about the web interface"
                            .to_owned(),
                    ),
                    ApiDenial::NoApiAccess => {
                        let apis = Request {
                            asked: Asked::Key(Permission::AccessApis),
                            want: Want::View,
                            ..*q
                        };
                        let (line, mut text, mut steps) =
                            self.lack_line(member, &apis, role, from);
                        reasons.push(format!("{line}: the member has no API access"));
                        // The API reaches data at the role's level: that may be lacking too.
                        let ix = self.space(q.space);
                        let bits = &ix.roles[ix.members[*m as usize].role as usize];
                        if !bits.holds(Permission::Data, q.want) {
                            let (line, more, more_steps) = self.lack_line(member, q, role, from);
                            reasons.push(line);
                            text.push_str(&format!(", and {more}"));
                            steps.extend(more_steps);
                        }
                        let (text, steps) = self.as_redefinition(role, from, text, steps);
                        change = Some(text);
                        fix = steps;
                    }
                    ApiDenial::DataLevel => {
                        reasons.push(format!("role `{}` has `access_apis = on`", role.entry.id));
                        let (line, text, steps) = self.lack_line(member, q, role, from);
                        reasons.push(line);
                        let (text, steps) = self.as_redefinition(role, from, text, steps);
                        change = Some(text);
                        fix = steps;
                    }
                }
            }
            Decision::OutsideScope { member: m, at } => {
                let role = role_line(*m, &mut reasons);
                reasons.push(self.grant_line(q, role));
                let assigned = match &entry.members[*m as usize].scope {
                    ScopeEntry::Locations(ids) => ids
                        .iter()
                        .filter_map(|id| self.space(q.space).location_ids.get(id))
                        .map(|&l| {
                            format!(
                                "`{}` ({})",
                                entry.locations[l as usize].id,
                                self.path(q.space, l)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    ScopeEntry::All(_) => String::new(),
                };
                reasons.push(format!(
                    "but role `{}` is location-restricted (full organization access off), and `{}` ({}) is outside the member's locations: {assigned}",
                    role.entry.id,
                    entry.locations[*at as usize].id,
                    self.path(q.space, *at)
                ));
                change = Some(format!(
                    "assign location `{}` to `{member}`",
                    entry.locations[*at as usize].id
                ));
                fix = vec![Step::AssignLocation {
                    space: entry.id.clone(),
                    member: member.to_owned(),
                    location: entry.locations[*at as usize].id.clone(),
                }];
            }
        }
        Explanation {
            allowed: d.allowed(),
            reasons,
            change,
            fix,
            through_login_as,
        }
    }

    /// Why member `m` may log in as `worker`: its role's `login_as`, and for `limited` the
    /// worker's list naming it; a restricted member, the worker's location.
    fn login_as_line(
        &self,
        space: u32,
        m: u32,
        held: Held<'_>,
        worker: &crate::snapshot::MemberEntry,
    ) -> String {
        let entry = self.entry(space);
        let me = &entry.members[m as usize];
        let value = held.values.value(Permission::LoginAs).to_source();
        let restricted = matches!(me.scope, ScopeEntry::Locations(_));
        let at = worker.assigned().join("`, `");
        let whom = match (value == "all", restricted) {
            (true, false) => format!("every mobile worker of `{}`", entry.id),
            (true, true) => format!(
                "every mobile worker assigned at or below the member's locations; `{}` is at `{at}`",
                worker.name
            ),
            (false, false) => format!(
                "the mobile workers whose `login_as` names the member, as `{}`'s does",
                worker.name
            ),
            (false, true) => format!(
                "the mobile workers whose `login_as` names the member and who are assigned at or below its locations; `{}` names it and is at `{at}`",
                worker.name
            ),
        };
        format!(
            "role `{}` has `login_as = {value}` and Web Apps: it may log in as {whom}",
            held.entry.id
        )
    }

    fn grant_line(&self, q: &Request, held: Held<'_>) -> String {
        let Held {
            entry: role,
            values,
        } = held;
        match q.asked {
            Asked::Report(r) => {
                let id = &self.entry(q.space).reports[r as usize].id;
                match values.value(Permission::Reports) {
                    Value::Items(Items::All) => format!(
                        "role `{}` has `reports = all`, which reaches `{id}`",
                        role.id
                    ),
                    _ => format!("role `{}` lists report `{id}`", role.id),
                }
            }
            Asked::Key(p) => {
                let v = values.value(p);
                let value = v.to_source();
                let implied = match values.reason(p) {
                    Some(r) if matches!(r.cause, Reason::ImpliedBy(_)) => {
                        format!(", {}", reason_text(r))
                    }
                    _ => String::new(),
                };
                let edit_implies = if q.want == Want::View && *v == Value::Level(Level::Edit) {
                    " (edit implies view)"
                } else if *v == Value::Items(Items::All) {
                    ", which reaches CommCare's standard reports and every declared report"
                } else {
                    ""
                };
                format!(
                    "role `{}` has `{p} = {value}`{implied}{edit_implies}",
                    role.id
                )
            }
            Asked::EnterpriseReports => String::new(),
        }
    }

    /// What the role lacks, and the smallest change to the role that would grant it, in words
    /// and as steps.
    fn lack_line(
        &self,
        member: &str,
        q: &Request,
        held: Held<'_>,
        from: &Option<String>,
    ) -> (String, String, Vec<Step>) {
        let Held {
            entry: role,
            values,
        } = held;
        let where_ = from
            .as_ref()
            .map(|u| format!(" in upstream space `{u}`"))
            .unwrap_or_default();
        let entry = self.entry(q.space);
        // A received role is changed where it is declared.
        let home = from.clone().unwrap_or_else(|| entry.id.clone());
        let set = |key: &str, value: &str| Step::Set {
            space: home.clone(),
            role: role.id.clone(),
            key: key.to_owned(),
            value: value.to_owned(),
        };
        match q.asked {
            Asked::Report(r) => {
                let id = &entry.reports[r as usize].id;
                let mut text = format!("add `{id}` to `reports` of role `{}`{where_}", role.id);
                let mut steps = vec![Step::AddReport {
                    space: home.clone(),
                    role: role.id.clone(),
                    report: id.clone(),
                }];
                // The space declaring the role, and every space receiving it, must declare the
                // report it lists (E0102, E0212).
                let home_entry = self.space_ids.get(&home).map(|&h| self.entry(h));
                let lacking: Vec<&str> = home_entry
                    .into_iter()
                    .chain(
                        home_entry
                            .into_iter()
                            .flat_map(|h| &h.downstream)
                            .filter_map(|d| self.space_ids.get(d).map(|&i| self.entry(i))),
                    )
                    .filter(|d| !d.reports.iter().any(|r| &r.id == id))
                    .map(|d| d.id.as_str())
                    .collect();
                if !lacking.is_empty() {
                    text.push_str(&format!(
                        ", and declare report `{id}` in `{}`",
                        lacking.join("`, `")
                    ));
                    steps.extend(lacking.iter().map(|d| Step::DeclareReport {
                        space: (*d).to_owned(),
                        report: id.clone(),
                    }));
                }
                (
                    format!(
                        "role `{}` does not reach report `{id}` (`reports = {}`)",
                        role.id,
                        values.value(Permission::Reports).to_source()
                    ),
                    text,
                    steps,
                )
            }
            Asked::Key(p) => {
                let value = values.value(p).to_source();
                let needed = match (p.kind(), q.want) {
                    (Kind::Level | Kind::AdminOnlyEdit, Want::Edit) => "edit".to_owned(),
                    (Kind::Level | Kind::AdminOnlyEdit, Want::View) => "view".to_owned(),
                    // `on`, `all`: what grants it whatever is asked.
                    _ => p.max_value().to_source(),
                };
                let needed = needed.as_str();
                let mut line = format!("role `{}` has `{p} = {value}`", role.id);
                let reason = values.reason(p);
                let raise = |plan: &str| Step::RaisePlan {
                    space: entry.id.clone(),
                    plan: plan.to_owned(),
                };
                let (text, steps) = if let Some(r) = reason {
                    let declared = r.declared.to_source();
                    // The declared value may itself be short of what is asked.
                    let asked = if q.want == Want::Edit && !p.kind().is_switch_like() {
                        Level::Edit
                    } else {
                        Level::View
                    };
                    let declared_grants = r.declared.level() >= asked;
                    if let Reason::HiddenBy(_) = r.cause {
                        line.push_str(&format!(" ({})", reason_text(r)));
                        let mut steps = vec![set("full_organization_access", "on")];
                        let mut text = "set `full_organization_access = on`".to_owned();
                        if !declared_grants {
                            text.push_str(&format!(" and `{p} = {needed}`"));
                            steps.push(set(p.key(), needed));
                        }
                        (format!("{text} on role `{}`{where_}", role.id), steps)
                    } else if let Reason::RequiresPlan(plan) = r.cause {
                        line.push_str(&format!(
                            " (declared `{declared}`, but the `{}` plan lacks it)",
                            entry.plan
                        ));
                        (
                            format!("raise `{}` to `plan {}`", entry.id, plan.as_str()),
                            vec![raise(plan.as_str())],
                        )
                    } else if let Reason::RequiresFeature(flag) = r.cause {
                        line.push_str(&format!(
                            " (declared `{declared}`, but `{}` does not turn on the feature flag `{}`)",
                            entry.id,
                            flag.as_str()
                        ));
                        (
                            format!(
                                "turn on `{}` in `{}` (`features [{}]`)",
                                flag.as_str(),
                                entry.id,
                                flag.as_str()
                            ),
                            vec![Step::EnableFeature {
                                space: entry.id.clone(),
                                flag: flag.as_str().to_owned(),
                            }],
                        )
                    } else if let Reason::Requires(req) = r.cause {
                        line.push_str(&format!(" (declared `{declared}`, but it needs `{req}`)"));
                        let grant = if req == Permission::Reports {
                            "all"
                        } else {
                            "edit"
                        };
                        (
                            format!("grant `{req}` on role `{}`{where_}", role.id),
                            vec![set(req.key(), grant)],
                        )
                    } else {
                        (
                            format!("set `{p} = {needed}` on role `{}`{where_}", role.id),
                            vec![set(p.key(), needed)],
                        )
                    }
                } else if p == Permission::RolesAndPermissions && q.want == Want::Edit {
                    (
                        "only `admin` edits roles: give the member the `admin` role".to_owned(),
                        vec![Step::AssignRole {
                            space: entry.id.clone(),
                            member: member.to_owned(),
                            role: crate::model::builtin::ADMIN.to_owned(),
                        }],
                    )
                } else {
                    let mut changes = vec![format!("`{p} = {needed}`")];
                    let mut steps = vec![set(p.key(), needed)];
                    let mut parent = p.parent();
                    let foa_off =
                        *values.value(Permission::FullOrganizationAccess) == Value::Switch(false);
                    if parent.is_some_and(|x| x.is_hidden_without_full_access()) && foa_off {
                        // `mobile_workers = edit` grants the sub-permission by itself, and keeps
                        // the role inside its locations (opening the hidden parent would not).
                        changes = vec!["`mobile_workers = edit`".to_owned()];
                        steps = vec![set("mobile_workers", "edit")];
                        parent = None;
                    }
                    if let Some(parent) = parent {
                        changes.push(format!("`{parent} = edit`"));
                        steps.push(set(parent.key(), "edit"));
                    }
                    if p.needs_report()
                        && *values.value(Permission::Reports) == Value::Items(Items::None)
                    {
                        changes.push("`reports = all`".to_owned());
                        steps.push(set("reports", "all"));
                    }
                    // Hidden, or lowered below what is asked (`applications` keeps `view`).
                    let asked = if q.want == Want::Edit {
                        Level::Edit
                    } else {
                        Level::View
                    };
                    let p_hidden = p.cap_without_full_access().is_some_and(|cap| cap < asked);
                    let hidden = [p_hidden.then_some(p), parent]
                        .into_iter()
                        .flatten()
                        .next()
                        .is_some();
                    if hidden && foa_off {
                        line.push_str(" (and it is hidden: full organization access is off)");
                        changes.push("`full_organization_access = on`".to_owned());
                        steps.push(set("full_organization_access", "on"));
                    }
                    let mut text = format!(
                        "set {} on role `{}`{where_}",
                        changes.join(" and "),
                        role.id
                    );
                    for (clause, step) in lacking(entry, [p]) {
                        text.push_str(&clause);
                        steps.push(step);
                    }
                    (text, steps)
                };
                (line, text, steps)
            }
            Asked::EnterpriseReports => (String::new(), String::new(), Vec::new()),
        }
    }

    /// A change to a built-in role is a redefinition, which starts from the custom defaults:
    /// it keeps the built-in's own values too, and needs `plan standard`.
    fn as_redefinition(
        &self,
        held: Held<'_>,
        from: &Option<String>,
        mut text: String,
        mut steps: Vec<Step>,
    ) -> (String, Vec<Step>) {
        let Held {
            entry: role,
            values,
        } = held;
        let Some(builtin) = crate::model::builtin::BuiltinRole::find(&role.id)
            .filter(|_| role.origin == "builtin" && from.is_none())
        else {
            return (text, steps);
        };
        let Some(space) = steps.iter().find_map(|s| match s {
            Step::Set { space, role: r, .. } | Step::AddReport { space, role: r, .. }
                if *r == role.id =>
            {
                Some(space.clone())
            }
            _ => None,
        }) else {
            return (text, steps);
        };
        let set_here: Vec<String> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Set { key, role: r, .. } if *r == role.id => Some(key.clone()),
                Step::AddReport { role: r, .. } if *r == role.id => Some("reports".to_owned()),
                _ => None,
            })
            .collect();
        let kept: Vec<(&str, &str)> = builtin
            .words()
            .iter()
            .copied()
            .filter(|(k, _)| !set_here.iter().any(|s| s == k))
            // A value the plan voids is implicit in the built-in, an error when written (E0209).
            .filter(|(k, _)| {
                Permission::from_key(k)
                    .and_then(|p| values.reason(p))
                    .is_none_or(|r| !matches!(r.cause, Reason::RequiresPlan(_)))
            })
            .collect();
        if !kept.is_empty() {
            let shown: Vec<String> = kept.iter().map(|(k, v)| format!("`{k} = {v}`")).collect();
            text.push_str(&format!(
                " (this redefines the built-in role: keep its {} too)",
                shown.join(", ")
            ));
            for (k, v) in kept {
                steps.push(Step::Set {
                    space: space.clone(),
                    role: role.id.clone(),
                    key: k.to_owned(),
                    value: v.to_owned(),
                });
            }
        }
        let entry = self.space_ids.get(&space).map(|&s| self.entry(s));
        if let Some(entry) = entry
            && crate::model::Plan::parse(&entry.plan)
                .is_some_and(|p| p < crate::model::Plan::Standard)
            && !steps.iter().any(|s| matches!(s, Step::RaisePlan { .. }))
        {
            text.push_str(&format!(
                ", and raise `{}` to `plan standard` (redefining a built-in role needs it)",
                entry.id
            ));
            steps.push(Step::RaisePlan {
                space: entry.id.clone(),
                plan: "standard".to_owned(),
            });
        }
        (text, steps)
    }
}

/// What `space` lacks for the permissions to grant anything, as clauses of a change
/// (", and raise `s` to `plan pro`") with their steps: the highest plan any needs, then each
/// feature flag the space does not turn on.
fn lacking(
    entry: &crate::snapshot::SpaceEntry,
    permissions: impl IntoIterator<Item = Permission>,
) -> Vec<(String, Step)> {
    use crate::model::{FeatureFlag, Needs, Plan};
    let have = Plan::parse(&entry.plan);
    let mut plan: Option<Plan> = None;
    let mut flags: Vec<FeatureFlag> = Vec::new();
    for p in permissions {
        match p.gate().filter(|g| g.value.is_none()).map(|g| g.needs) {
            Some(Needs::Plan(needs)) if have.is_some_and(|have| have < needs) => {
                plan = plan.max(Some(needs));
            }
            Some(Needs::Feature(flag))
                if !entry.features.iter().any(|f| f == flag.as_str()) && !flags.contains(&flag) =>
            {
                flags.push(flag);
            }
            _ => {}
        }
    }
    let raise = plan.map(|plan| {
        (
            format!(", and raise `{}` to `plan {}`", entry.id, plan.as_str()),
            Step::RaisePlan {
                space: entry.id.clone(),
                plan: plan.as_str().to_owned(),
            },
        )
    });
    let enable = flags.into_iter().map(|flag| {
        (
            format!(", and turn on `{}` in `{}`", flag.as_str(), entry.id),
            Step::EnableFeature {
                space: entry.id.clone(),
                flag: flag.as_str().to_owned(),
            },
        )
    });
    raise.into_iter().chain(enable).collect()
}

fn role_is_admin(m: &crate::snapshot::MemberEntry) -> bool {
    m.holds_admin() && m.role_from_upstream.is_none()
}

/// A decision in words.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub allowed: bool,
    pub reasons: Vec<String>,
    /// For a denial: the smallest change that would allow it.
    pub change: Option<String>,
    /// The same change as steps a tool can apply (every step is needed).
    pub fix: Vec<Step>,
    /// Granted by Login-As: the mobile worker logged in as.
    pub through_login_as: Option<String>,
}

/// One edit of the policy, as `why` proposes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Set `key = value` on role `role`, declared in space `space` (an upstream space for a
    /// received role).
    Set {
        space: String,
        role: String,
        key: String,
        value: String,
    },
    /// Add `report` to the `reports` list of a role.
    AddReport {
        space: String,
        role: String,
        report: String,
    },
    /// Declare `report` in `space` (a downstream space receiving a role that lists it).
    DeclareReport { space: String, report: String },
    /// Raise the plan of `space` to `plan`.
    RaisePlan { space: String, plan: String },
    /// Turn on feature flag `flag` in `space` (`features [...]`).
    EnableFeature { space: String, flag: String },
    /// Assign `location` to `member` of `space`.
    AssignLocation {
        space: String,
        member: String,
        location: String,
    },
    /// Give `member` of `space` the role `role`.
    AssignRole {
        space: String,
        member: String,
        role: String,
    },
    /// Add `member` to `space` with `role`.
    AddMember {
        space: String,
        member: String,
        role: String,
    },
    /// Make `member` an admin of `enterprise`.
    MakeEnterpriseAdmin { enterprise: String, member: String },
}

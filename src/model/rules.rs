//! Effective-permission rules (SPEC §3, "Effective permissions") as one data table.
//!
//! Each [`Rule`] rewrites one permission of a role from the values of others. The rules form a
//! dependency graph (a rule reading `groups` runs after the rule that may hide `groups`); it is
//! sorted topologically once with petgraph, and a test proves it acyclic. Every rule that changes
//! a value records a [`Reason`], which the snapshot carries next to the value.

use std::sync::{LazyLock, OnceLock};

use petgraph::graph::DiGraph;

use super::{
    FeatureFlag, FeatureFlags, Gate, Items, Level, Needs, Permission, Plan, RoleValues, Value,
};

/// Why an effective value differs from the declared one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Granted by another permission (`change_group_membership` by `mobile_workers = edit`).
    ImpliedBy(Permission),
    /// Forced off (or down to `view`) by `full_organization_access = off`.
    HiddenBy(Permission),
    /// The space's plan does not have the feature.
    RequiresPlan(Plan),
    /// The space does not turn on the feature flag.
    RequiresFeature(FeatureFlag),
    /// Has no effect without another permission (`change_group_membership` needs `groups = edit`).
    Requires(Permission),
}

/// What a rule does to its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// `full_organization_access = off` lowers the target to this level (`none`: hidden).
    WithoutFullAccess(Level),
    /// Without what the gate needs the target is off (or its gated value falls back to the
    /// default).
    Gated(Gate),
    /// A sub-permission: on when `mobile_workers = edit`, or when `parent = edit` and it is on.
    SubPermission { parent: Permission },
    /// The target needs some reachable report.
    NeedsReachableReport,
}

/// One effective-permission rule.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub target: Permission,
    pub kind: RuleKind,
}

use Permission as P;

/// The rules, derived from the catalogue's rows (one per fact a row states). Order here does
/// not matter: [`evaluation_order`] sorts them by dependencies.
pub static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let mut rules = Vec::new();
    for &target in P::ALL {
        let e = target.entry();
        let mut add = |kind| rules.push(Rule { target, kind });
        if let Some(parent) = e.sub_of {
            add(RuleKind::SubPermission { parent });
        }
        if e.needs_report {
            add(RuleKind::NeedsReachableReport);
        }
        // The gate first: a permission its space lacks is explained by that, not by FOA.
        if let Some(gate) = e.gate {
            add(RuleKind::Gated(gate));
        }
        if let Some(cap) = e.without_full_access {
            add(RuleKind::WithoutFullAccess(cap));
        }
    }
    rules
});

impl Rule {
    /// The permissions whose (effective) values this rule reads.
    pub fn reads(&self) -> Vec<Permission> {
        match self.kind {
            RuleKind::WithoutFullAccess(_) => vec![P::FullOrganizationAccess],
            RuleKind::Gated(_) => Vec::new(),
            RuleKind::SubPermission { parent } => vec![P::MobileWorkers, parent],
            RuleKind::NeedsReachableReport => vec![P::Reports],
        }
    }

    /// Applies the rule; returns the reason when it changed the target.
    fn apply(&self, values: &mut RoleValues, ctx: &Context) -> Option<Reason> {
        let before = values.get(self.target).clone();
        let (after, reason) = match self.kind {
            RuleKind::WithoutFullAccess(cap) => {
                if values.switch(P::FullOrganizationAccess) {
                    return None;
                }
                let after = match (cap, &before) {
                    (Level::None, _) => self.target.default_off(),
                    (cap, Value::Level(l)) => Value::Level((*l).min(cap)),
                    (_, other) => other.clone(),
                };
                (after, Reason::HiddenBy(P::FullOrganizationAccess))
            }
            RuleKind::Gated(gate) => {
                if ctx.has(gate.needs) || !self.target.gated(gate, &before) {
                    return None;
                }
                let reason = match gate.needs {
                    Needs::Plan(plan) => Reason::RequiresPlan(plan),
                    Needs::Feature(flag) => Reason::RequiresFeature(flag),
                };
                (self.target.default_off(), reason)
            }
            RuleKind::SubPermission { parent } => {
                let by_workers = values.level(P::MobileWorkers) == Level::Edit;
                let by_parent = values.level(parent) == Level::Edit && values.switch(self.target);
                let on = by_workers || by_parent;
                let reason = if on {
                    Reason::ImpliedBy(P::MobileWorkers)
                } else {
                    Reason::Requires(parent)
                };
                (Value::Switch(on), reason)
            }
            RuleKind::NeedsReachableReport => {
                if ctx.reaches_some_report(values.reports()) {
                    return None;
                }
                (Value::Switch(false), Reason::Requires(P::Reports))
            }
        };
        if after == before {
            return None;
        }
        values.set(self.target, after);
        Some(reason)
    }
}

impl Permission {
    /// Whether `value` is what `gate` withholds below its plan: the gated value, or any grant.
    pub fn gated(self, gate: Gate, value: &Value) -> bool {
        match gate.value {
            Some(word) => self.parse_word(word).is_ok_and(|v| v == *value),
            None => *value != self.default_off(),
        }
    }

    /// `none`/`off`: what a hidden or unavailable permission becomes, and what a snapshot
    /// value that cannot be decoded reads as (never a grant).
    pub fn default_off(self) -> Value {
        match self.default_value() {
            Value::Switch(_) => Value::Switch(false),
            other => other,
        }
    }
}

/// The space-level facts rules depend on.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    pub plan: Plan,
    /// How many reports the space declares (`reports = all` reaches them all, and the
    /// standard reports every space has).
    pub report_count: usize,
    pub features: FeatureFlags,
}

impl Context {
    /// Whether the space has what a gate needs.
    pub fn has(&self, needs: Needs) -> bool {
        match needs {
            Needs::Plan(plan) => self.plan >= plan,
            Needs::Feature(flag) => self.features.contains(flag),
        }
    }

    pub fn reaches_some_report(&self, reports: &Items) -> bool {
        match reports {
            Items::None => false,
            // Every space has CommCare's standard reports, declared or not.
            Items::All => true,
            Items::Some(ids) => !ids.is_empty(),
        }
    }
}

/// A role's effective values and, for each changed value, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effective {
    pub values: RoleValues,
    /// Indexed by `Permission as usize`.
    pub reasons: Vec<Option<Reason>>,
}

impl Effective {
    pub fn reason(&self, p: Permission) -> Option<Reason> {
        self.reasons[p as usize]
    }
}

/// The plan a permission needs to grant anything, if any (a gate on one value, such as
/// `landing_page = downloads`, is not a need of the permission).
pub fn required_plan(p: Permission) -> Option<Plan> {
    match p.gate()? {
        Gate {
            needs: Needs::Plan(plan),
            value: None,
            ..
        } => Some(plan),
        _ => None,
    }
}

/// The permissions whose `edit` manages users: holders of such a role may assign every
/// `non_admin_editable` role (besides `admin`, who assigns every role).
pub const USER_MANAGEMENT: [Permission; 2] = [P::WebUsers, P::MobileWorkers];

/// Whether a role manages users, given whether it edits a permission; the one place the
/// assignment rule (W0209, `diff`'s "assign role R") reads.
pub fn manages_users(edits: impl Fn(Permission) -> bool) -> bool {
    USER_MANAGEMENT.iter().any(|&p| edits(p))
}

/// The parent permission of a sub-permission (`change_group_membership` -> `groups`).
pub fn sub_permission_parent(p: Permission) -> Option<Permission> {
    p.parent()
}

/// Every sub-permission with its parent, in catalogue order.
pub fn sub_permissions() -> impl Iterator<Item = (Permission, Permission)> {
    P::ALL
        .iter()
        .filter_map(|&p| p.parent().map(|parent| (p, parent)))
}

/// The rule dependency graph: an edge `a -> b` when rule `b` reads the target of rule `a`.
pub fn dependency_graph() -> DiGraph<usize, ()> {
    let mut graph = DiGraph::new();
    let nodes: Vec<_> = (0..RULES.len()).map(|i| graph.add_node(i)).collect();
    for (a, rule_a) in RULES.iter().enumerate() {
        for (b, rule_b) in RULES.iter().enumerate() {
            // Rules on one target run in table order (the gate before FOA); others after
            // the rules whose targets they read.
            let same_target = a < b && rule_a.target == rule_b.target;
            if a != b && (same_target || rule_b.reads().contains(&rule_a.target)) {
                graph.add_edge(nodes[a], nodes[b], ());
            }
        }
    }
    graph
}

/// Rule indexes in dependency order, computed once.
#[expect(
    clippy::expect_used,
    reason = "the rules are derived from our catalogue, acyclic (`rule_table_is_acyclic`)"
)]
pub fn evaluation_order() -> &'static [usize] {
    static ORDER: OnceLock<Vec<usize>> = OnceLock::new();
    ORDER.get_or_init(|| {
        let graph = dependency_graph();
        // INVARIANT: the table is acyclic; `rule_table_is_acyclic` proves it.
        let sorted = petgraph::algo::toposort(&graph, None)
            .expect("effective-permission rules form a cycle");
        sorted.into_iter().map(|n| graph[n]).collect()
    })
}

/// Applies every rule in dependency order.
pub fn evaluate(declared: &RoleValues, ctx: &Context) -> Effective {
    let mut values = declared.clone();
    let mut reasons = vec![None; super::PERMISSION_COUNT];
    for &i in evaluation_order() {
        let rule = &RULES[i];
        if let Some(reason) = rule.apply(&mut values, ctx) {
            reasons[rule.target as usize] = Some(reason);
        }
    }
    Effective { values, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LandingPage;
    use proptest::prelude::*;

    /// Any role a policy can declare: each permission at one of its words, or a list of ids
    /// from a small pool (so that lists overlap), under any plan, features and report count.
    fn declared_and_context() -> impl Strategy<Value = (RoleValues, Context)> {
        let per_permission = proptest::collection::vec(
            (
                any::<prop::sample::Index>(),
                proptest::collection::vec(0usize..4, 0..4),
            ),
            P::ALL.len(),
        );
        (per_permission, 0..Plan::ALL.len(), any::<u8>(), 0usize..3).prop_map(
            |(picks, plan, flags, report_count)| {
                let mut declared = RoleValues::default();
                for (&p, (pick, ids)) in P::ALL.iter().zip(picks) {
                    let words = p.kind().words();
                    let list =
                        p.kind().item_kind().is_some() || p.kind() == super::super::Kind::RoleList;
                    let choices = words.len() + usize::from(list);
                    let at = pick.index(choices.max(1));
                    let value = if at < words.len() {
                        p.parse_word(words[at])
                    } else {
                        let ids: Vec<String> = ids.iter().map(|i| format!("id{i}")).collect();
                        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                        p.parse_list(&ids)
                    };
                    if let Ok(v) = value {
                        declared.set(p, v);
                    }
                }
                let mut features = FeatureFlags::default();
                for (i, &f) in FeatureFlag::ALL.iter().enumerate() {
                    if flags & (1 << i) != 0 {
                        features.insert(f);
                    }
                }
                let ctx = Context {
                    plan: Plan::ALL[plan],
                    report_count,
                    features,
                };
                (declared, ctx)
            },
        )
    }

    proptest! {
        /// HQ's `normalize()` is idempotent, and so is charter's: the effective values are a
        /// fixed point of the rules.
        #[test]
        fn evaluating_twice_changes_nothing((declared, ctx) in declared_and_context()) {
            let once = evaluate(&declared, &ctx).values;
            let twice = evaluate(&once, &ctx).values;
            prop_assert_eq!(once, twice);
        }

        /// The effective value never exceeds the declared one, except where a rule says another
        /// permission implies it (`mobile_workers = edit` grants its sub-permissions); every
        /// changed value has a reason, and every reason a changed value.
        #[test]
        fn effective_never_exceeds_declared_unless_implied((declared, ctx) in declared_and_context()) {
            let effective = evaluate(&declared, &ctx);
            for &p in P::ALL {
                let (before, after) = (declared.get(p), effective.values.get(p));
                if after.exceeds(before) {
                    prop_assert!(
                        matches!(effective.reason(p), Some(Reason::ImpliedBy(_))),
                        "`{}`: {:?} -> {:?} ({:?})", p.key(), before, after, effective.reason(p)
                    );
                }
                prop_assert_eq!(before != after, effective.reason(p).is_some(), "`{}`", p.key());
                // What the space lacks grants nothing, whatever was declared.
                if let Some(gate) = p.gate().filter(|g| !ctx.has(g.needs)) {
                    prop_assert!(!p.gated(gate, after), "`{}` = {:?} passes its gate", p.key(), after);
                }
                if !effective.values.switch(P::FullOrganizationAccess) {
                    if let Some(cap) = p.cap_without_full_access() {
                        prop_assert!(after.level() <= cap, "`{}` above its cap", p.key());
                    }
                }
            }
        }
    }

    #[test]
    fn rule_table_is_acyclic() {
        let graph = dependency_graph();
        assert!(petgraph::algo::toposort(&graph, None).is_ok());
        assert!(!petgraph::algo::is_cyclic_directed(&graph));
    }

    #[test]
    fn order_respects_every_dependency() {
        let order = evaluation_order();
        let position = |i: usize| order.iter().position(|&j| j == i).unwrap();
        for (a, ra) in RULES.iter().enumerate() {
            for (b, rb) in RULES.iter().enumerate() {
                if a != b && rb.reads().contains(&ra.target) {
                    assert!(
                        position(a) < position(b),
                        "{:?} before {:?}",
                        ra.target,
                        rb.target
                    );
                }
            }
        }
    }

    fn ctx(plan: Plan) -> Context {
        Context {
            plan,
            report_count: 2,
            features: FeatureFlags::default(),
        }
    }

    #[test]
    fn hidden_permissions_are_forced_off_and_chain_into_sub_permissions() {
        let mut v = RoleValues::default();
        v.set(P::FullOrganizationAccess, Value::Switch(false));
        v.set(P::Groups, Value::Level(Level::Edit));
        v.set(P::ChangeGroupMembership, Value::Switch(true));
        let e = evaluate(&v, &ctx(Plan::Enterprise));
        assert_eq!(e.values.level(P::Groups), Level::None);
        assert_eq!(
            e.reason(P::Groups),
            Some(Reason::HiddenBy(P::FullOrganizationAccess))
        );
        assert!(!e.values.switch(P::ChangeGroupMembership));
        assert_eq!(
            e.reason(P::ChangeGroupMembership),
            Some(Reason::Requires(P::Groups))
        );
    }

    #[test]
    fn mobile_workers_edit_implies_membership_changes() {
        let mut v = RoleValues::default();
        v.set(P::MobileWorkers, Value::Level(Level::Edit));
        let e = evaluate(&v, &ctx(Plan::Community));
        assert!(e.values.switch(P::ChangeGroupMembership));
        assert_eq!(
            e.reason(P::ChangeLocationWorkers),
            Some(Reason::ImpliedBy(P::MobileWorkers))
        );
    }

    #[test]
    fn plan_gates_turn_features_off() {
        let mut v = RoleValues::default();
        v.set(P::ManageSharedExports, Value::Switch(true));
        v.set(P::LandingPage, Value::LandingPage(LandingPage::Downloads));
        let e = evaluate(&v, &ctx(Plan::Standard));
        assert!(!e.values.switch(P::ManageSharedExports));
        assert_eq!(e.values.landing_page(), LandingPage::Default);
        assert_eq!(
            e.reason(P::LandingPage),
            Some(Reason::RequiresPlan(Plan::Pro))
        );
        assert_eq!(
            evaluate(&v, &ctx(Plan::Pro)).reason(P::ManageSharedExports),
            None
        );
    }

    #[test]
    fn downloads_need_a_reachable_report() {
        let mut v = RoleValues::default();
        v.set(P::DownloadAndEmailReports, Value::Switch(true));
        let e = evaluate(&v, &ctx(Plan::Pro));
        assert_eq!(
            e.reason(P::DownloadAndEmailReports),
            Some(Reason::Requires(P::Reports))
        );
        v.set(P::Reports, Value::Items(Items::All));
        assert!(
            evaluate(&v, &ctx(Plan::Pro))
                .values
                .switch(P::DownloadAndEmailReports)
        );
    }
}

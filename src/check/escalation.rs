//! W0209: the "can come to hold" graph of a space. A holder of a role can come to act with
//! more than it grants by assigning a role (`non_admin_editable`, `assignable_by`) or by
//! logging in as a mobile worker (Login-As). Nodes are the roles the space holds; every
//! source role is searched breadth-first, so each permission it lacks is reported with the
//! shortest path that reaches it, the path's steps as the diagnostic's labels.

use std::collections::{HashMap, HashSet, VecDeque};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{HeldRoles, Ir, Member, MemberKind, RoleRef, Space, SpaceId};
use crate::model::builtin::ADMIN;
use crate::model::rules::Effective;
use crate::model::{Level, LoginAs, Permission as P, Value};
use crate::source::Span;

use super::Facts;

/// An assignment edge of the graph.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// Holders of the source may assign the target (its `non_admin_editable` or
    /// `assignable_by` line).
    Assigns(Span),
    /// A user manager reaches the pool of `non_admin_editable` roles (weight 0).
    ToPool,
}

/// A node: a held role (its index in [`HeldRoles`]) or the pool of roles any user manager
/// may assign (one node, so n managers and m such roles cost n + m edges, not n·m).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Role(usize),
    Pool,
}

/// What a role's holders get by logging in as a mobile worker: the worker's value of one
/// Web Apps permission. One entry per distinct (permission, value), the first worker naming it.
#[derive(Clone, Debug)]
struct Gain {
    permission: P,
    value: Value,
    worker: usize,
    role: usize,
    /// What allows it: the role's `login_as` line, or the worker's `login_as` entry.
    span: Span,
}

/// A Login-As gain of [`Graph`]: the `i`th of the space-wide summary (with the role's
/// `login_as` line) or of a role's own.
#[derive(Clone, Copy, Debug)]
enum GainRef {
    Every { span: Span, i: usize },
    Own { role: usize, i: usize },
}

/// A reported path and what it adds.
type Finding = (Vec<Hop>, Vec<(P, Value)>);

/// One step of a reported path.
#[derive(Clone, Copy, Debug)]
enum Hop {
    Assigns {
        span: Span,
        role: usize,
    },
    LoginAs {
        span: Span,
        worker: usize,
        role: usize,
    },
}

pub fn escalation_path(facts: &Facts, out: &mut Vec<Diagnostic>) {
    let ir = facts.ir;
    for i in 0..ir.spaces.len() {
        let space_id = SpaceId(i as u32);
        let mut held = ir.held_roles(space_id);
        let own = held.roles.len();
        // Enterprise Permissions: the source's web users hold their source role here too.
        let enterprise: Vec<(&Member, usize)> = ir
            .enterprise_members(space_id)
            .into_iter()
            .map(|(m, r)| (m, held.add(ir, space_id, r)))
            .collect();
        let graph = Graph::build(ir, space_id, &held, own, &enterprise);
        graph.report(ir, ir.space(space_id), &held, own, out);
    }
}

struct Graph {
    /// Assignment only: Login-As ends a path (a worker assigns nothing).
    graph: DiGraph<Node, Step>,
    roles: Vec<NodeIndex>,
    /// Per held role: its holders may log in as every worker of the space (the span says why)...
    to_every_worker: Vec<Option<Span>>,
    /// ...what that gives, computed once for the space...
    every_worker: Vec<Gain>,
    /// ...and what the workers they may log in as otherwise give.
    login_as: Vec<Vec<Gain>>,
    /// Per held role: the same number for the same effective values.
    class: Vec<usize>,
}

impl Graph {
    /// `held.roles[..own]` are the space's own and received roles; the rest are held by the
    /// `enterprise` members (source-space members, with their role's index).
    fn build(
        ir: &Ir,
        space_id: SpaceId,
        held: &HeldRoles,
        own: usize,
        enterprise: &[(&Member, usize)],
    ) -> Graph {
        let space = ir.space(space_id);
        let mut graph = DiGraph::new();
        let roles: Vec<NodeIndex> = (0..held.roles.len())
            .map(|i| graph.add_node(Node::Role(i)))
            .collect();
        let pool = graph.add_node(Node::Pool);
        let at: HashMap<RoleRef, usize> = held
            .roles
            .iter()
            .enumerate()
            .map(|(i, r)| (*r, i))
            .collect();
        // Later roles shadow earlier ones of the same id (declared over received over built-in).
        let by_id: HashMap<&str, usize> = held.roles[..own]
            .iter()
            .enumerate()
            .rev()
            .map(|(i, r)| (ir.role(*r).id.as_str(), i))
            .collect();
        let is_admin = |i: usize| ir.role(held.roles[i]).id == ADMIN;

        // Assignment: only the space's own declared roles say who may assign them.
        for (t, role_ref) in held.roles.iter().enumerate() {
            let role = ir.role(*role_ref);
            if role_ref.space != space_id || !role.is_declared() {
                continue;
            }
            if let Some(span) = role
                .explicit(P::NonAdminEditable)
                .filter(|_| role.declared.switch(P::NonAdminEditable))
            {
                graph.add_edge(pool, roles[t], Step::Assigns(span));
            }
            if let Some(span) = role.explicit(P::AssignableBy) {
                for id in role.declared.assignable_by() {
                    if let Some(&a) = by_id.get(id.as_str()).filter(|&&a| !is_admin(a) && a != t) {
                        graph.add_edge(roles[a], roles[t], Step::Assigns(span));
                    }
                }
            }
        }
        for (a, e) in held.effective.iter().enumerate() {
            let manages_users =
                crate::model::rules::manages_users(|p| e.values.level(p) == Level::Edit);
            if manages_users && !is_admin(a) {
                graph.add_edge(roles[a], pool, Step::ToPool);
            }
        }

        // Login-As.
        let workers: Vec<(usize, &Member, usize)> = space
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.kind == MemberKind::MobileWorker)
            .filter_map(|(k, m)| Some((k, m, *at.get(&m.role?)?)))
            .collect();
        let mut holders: Vec<Vec<&Member>> = vec![Vec::new(); held.roles.len()];
        for m in &space.members {
            if let Some(&a) = m.role.as_ref().and_then(|r| at.get(r)) {
                holders[a].push(m);
            }
        }
        // Enterprise members act here unrestricted (their source locations are not this
        // space's): only roles with full organization access are carried over.
        for &(m, a) in enterprise {
            if held.effective[a].values.switch(P::FullOrganizationAccess) {
                holders[a].push(m);
            }
        }
        let mut to_every_worker = vec![None; held.roles.len()];
        let mut login_as: Vec<Vec<Gain>> = vec![Vec::new(); held.roles.len()];
        let mut seen: Vec<HashSet<(P, Value)>> = vec![HashSet::new(); held.roles.len() + 1];
        let mut gain = |a: usize, k: usize, t: usize, span: Span, into: &mut Vec<Gain>| {
            for p in P::ALL.iter().copied().filter(|p| p.entry().in_web_apps) {
                let value = held.effective[t].values.get(p);
                if *value != p.default_off() && seen[a].insert((p, value.clone())) {
                    into.push(Gain {
                        permission: p,
                        value: value.clone(),
                        worker: k,
                        role: t,
                        span,
                    });
                }
            }
        };
        // Workers by kind (what their role gives in Web Apps), each kind's locations in
        // preorder with the first worker at each: what a restricted role's search reads.
        let mut kinds: HashMap<Vec<&Value>, usize> = HashMap::new();
        let mut by_kind: Vec<Vec<(u32, usize, usize)>> = Vec::new();
        for &(k, m, t) in &workers {
            let key: Vec<&Value> = P::ALL
                .iter()
                .filter(|p| p.entry().in_web_apps)
                .map(|&p| held.effective[t].values.get(p))
                .collect();
            let next = kinds.len();
            let kind = *kinds.entry(key).or_insert(next);
            if kind == by_kind.len() {
                by_kind.push(Vec::new());
            }
            for (l, _) in &m.locations {
                by_kind[kind].push((l.index() as u32, k, t));
            }
        }
        for positions in &mut by_kind {
            // Stable: the first worker (in member order) at a location stays first.
            positions.sort_by_key(|(at, _, _)| *at);
        }
        let mut every_worker = Vec::new();
        let every = held.roles.len(); // the slot of `seen` for the space-wide summary
        for &(k, m, t) in &workers {
            // The span is replaced by each role's `login_as` line when read (`gains`).
            gain(every, k, t, m.name_span, &mut every_worker);
        }
        for (a, e) in held.effective.iter().enumerate() {
            if is_admin(a) || holders[a].is_empty() {
                continue;
            }
            let Some(span) = ir.role(held.roles[a]).explicit(P::LoginAs) else {
                continue;
            };
            // `limited` follows the workers' `login_as` lists, unless the holders may rewrite
            // them: editing mobile workers edits their user data, `login_as_user` included.
            let any_worker = match e.values.get(P::LoginAs) {
                Value::LoginAs(LoginAs::All) => true,
                Value::LoginAs(LoginAs::Limited) => e.values.level(P::MobileWorkers) == Level::Edit,
                _ => false,
            };
            if !any_worker {
                continue;
            }
            match Reach::of(space, e, &holders[a]) {
                Reach(None) => to_every_worker[a] = Some(span),
                // Location-restricted: per kind of worker, the first one at or below each of
                // the holders' locations (a binary search, not a scan of every worker).
                Reach(Some(intervals)) => {
                    let mut own = Vec::new();
                    for positions in &by_kind {
                        for &(start, end) in &intervals {
                            let i = positions.partition_point(|(at, _, _)| *at < start);
                            if let Some(&(_, k, t)) =
                                positions.get(i).filter(|(at, _, _)| *at < end)
                            {
                                gain(a, k, t, span, &mut own);
                            }
                        }
                    }
                    login_as[a].extend(own);
                }
            }
        }
        // `limited`: the worker names the web user.
        for &(k, m, t) in &workers {
            for (named, span) in &m.login_as {
                let Some(w) = space.members.get(named.index()) else {
                    continue;
                };
                let Some(&a) = w.role.as_ref().and_then(|r| at.get(r)) else {
                    continue;
                };
                let limited = matches!(
                    held.effective[a].values.get(P::LoginAs),
                    Value::LoginAs(LoginAs::Limited | LoginAs::All)
                );
                if limited
                    && !is_admin(a)
                    && to_every_worker[a].is_none()
                    && Reach::of(space, &held.effective[a], &[w]).reaches(m)
                {
                    let mut own = Vec::new();
                    gain(a, k, t, *span, &mut own);
                    login_as[a].extend(own);
                }
            }
        }
        // `default`: holders of a role with `login_as_default_user` log in as the workers
        // whose `login_as` names HQ's default user (one pass over them per such role).
        let defaults: Vec<(usize, &Member, usize, Span)> = workers
            .iter()
            .filter_map(|&(k, m, t)| Some((k, m, t, m.login_as_default?)))
            .collect();
        for (a, e) in held.effective.iter().enumerate() {
            if defaults.is_empty() {
                break;
            }
            let limited = matches!(
                e.values.get(P::LoginAs),
                Value::LoginAs(LoginAs::Limited | LoginAs::All)
            );
            if is_admin(a)
                || holders[a].is_empty()
                || to_every_worker[a].is_some()
                || !limited
                || !e.values.switch(P::LoginAsDefaultUser)
            {
                continue;
            }
            let reach = Reach::of(space, e, &holders[a]);
            let mut own = Vec::new();
            for &(k, m, t, span) in &defaults {
                if reach.reaches(m) {
                    gain(a, k, t, span, &mut own);
                }
            }
            login_as[a].extend(own);
        }
        // Classes by what can be escalated to (settings such as `assignable_by` aside).
        let mut classes: HashMap<Vec<&Value>, usize> = HashMap::new();
        let class = held
            .effective
            .iter()
            .map(|e| {
                let key: Vec<&Value> = ESCALATABLE.iter().map(|&p| e.values.get(p)).collect();
                let next = classes.len();
                *classes.entry(key).or_insert(next)
            })
            .collect();
        Graph {
            graph,
            roles,
            class,
            to_every_worker,
            every_worker,
            login_as,
        }
    }

    /// A Login-As gain by reference (cloned only when reported).
    fn gain(&self, r: GainRef) -> Option<Gain> {
        match r {
            GainRef::Every { span, i } => {
                self.every_worker.get(i).map(|g| Gain { span, ..g.clone() })
            }
            GainRef::Own { role, i } => self.login_as.get(role)?.get(i).cloned(),
        }
    }

    fn report(
        &self,
        ir: &Ir,
        space: &Space,
        held: &HeldRoles,
        own: usize,
        out: &mut Vec<Diagnostic>,
    ) {
        let nodes = self.graph.node_count();
        let mut dist = vec![usize::MAX; nodes];
        let mut parent: Vec<Option<(NodeIndex, Step)>> = vec![None; nodes];
        let mut done = vec![false; nodes];
        let mut touched: Vec<NodeIndex> = Vec::new();
        for (s, &start) in self.roles.iter().enumerate() {
            let has_login_as = self.to_every_worker[s].is_some() || !self.login_as[s].is_empty();
            if self.graph.edges(start).next().is_none() && !has_login_as {
                continue;
            }
            // A role held through Enterprise Permissions is named as the snapshot names it.
            let role_ref = held.roles[s];
            let from = match s >= own {
                true => format!("{}/{}", ir.space(role_ref.space).id, ir.role(role_ref).id),
                false => ir.role(role_ref).id.clone(),
            };
            let mine = &held.effective[s];
            // Shortest paths in assignments (0-1 BFS: reaching the pool costs no step), and
            // the candidates by path length: an assigned role's whole surplus, or one Login-As
            // gain. Each permission is reported at its shortest path; a direct assignment
            // lists all that the assigned role adds, as W0209 always has. A role with the
            // values of one already met adds nothing beyond that, and the space-wide Login-As
            // summary is read once. Only the nodes a search touched are reset after it.
            for n in touched.drain(..) {
                dist[n.index()] = usize::MAX;
                parent[n.index()] = None;
                done[n.index()] = false;
            }
            dist[start.index()] = 0;
            touched.push(start);
            let mut queue = VecDeque::from([start]);
            let mut candidates: Vec<(usize, NodeIndex, Option<GainRef>)> = Vec::new();
            let mut classes = HashSet::new();
            let mut every_done = false;
            while let Some(n) = queue.pop_front() {
                if std::mem::replace(&mut done[n.index()], true) {
                    continue;
                }
                let d = dist[n.index()];
                if let Node::Role(t) = self.graph[n] {
                    let fresh = classes.insert(self.class[t]);
                    if n != start && (d == 1 || fresh) {
                        candidates.push((d, n, None));
                    }
                    if let Some(span) = self.to_every_worker[t].filter(|_| !every_done) {
                        every_done = true;
                        candidates.extend(
                            (0..self.every_worker.len())
                                .map(|i| (d + 1, n, Some(GainRef::Every { span, i }))),
                        );
                    }
                    candidates.extend(
                        (0..self.login_as[t].len())
                            .map(|i| (d + 1, n, Some(GainRef::Own { role: t, i }))),
                    );
                }
                for edge in self.graph.edges(n) {
                    let (next, step) = (edge.target(), *edge.weight());
                    let cost = usize::from(matches!(step, Step::Assigns(_)));
                    if d + cost < dist[next.index()] {
                        if dist[next.index()] == usize::MAX {
                            touched.push(next);
                        }
                        dist[next.index()] = d + cost;
                        parent[next.index()] = Some((n, step));
                        if cost == 0 {
                            queue.push_front(next);
                        } else {
                            queue.push_back(next);
                        }
                    }
                }
            }
            candidates.sort_by_key(|(d, _, _)| *d);
            // The most reported so far of each permission: a path is reported for what it
            // adds beyond that (a longer path to `data = edit` after a shorter one to `view`).
            let mut best: Vec<Value> = P::ALL.iter().map(|&p| mine.values.get(p).clone()).collect();
            let beyond = |best: &[Value], p: P, v: &Value| {
                let b = &best[p as usize];
                v.exceeds(b) && v != b
            };
            let mut findings: Vec<Finding> = Vec::new();
            let mut at_path: HashMap<(NodeIndex, Option<usize>), usize> = HashMap::new();
            for (d, n, gain) in candidates {
                let gain = gain.and_then(|r| self.gain(r));
                let gained: Vec<(P, Value)> = match &gain {
                    None => {
                        let Node::Role(t) = self.graph[n] else {
                            continue;
                        };
                        let theirs = &held.effective[t].values;
                        exceeds(&held.effective[t], mine)
                            .into_iter()
                            .filter(|&p| d == 1 || beyond(&best, p, theirs.get(p)))
                            .map(|p| (p, theirs.get(p).clone()))
                            .collect()
                    }
                    Some(g) if beyond(&best, g.permission, &g.value) => {
                        vec![(g.permission, g.value.clone())]
                    }
                    Some(_) => continue,
                };
                if gained.is_empty() {
                    continue;
                }
                for (p, v) in &gained {
                    if beyond(&best, *p, v) {
                        best[*p as usize] = v.clone();
                    }
                }
                let key = (n, gain.as_ref().map(|g| g.worker));
                if let Some(&i) = at_path.get(&key) {
                    findings[i].1.extend(gained);
                    continue;
                }
                let mut path = self.path_to(&parent, n);
                if let Some(g) = gain {
                    path.push(Hop::LoginAs {
                        span: g.span,
                        worker: g.worker,
                        role: g.role,
                    });
                }
                at_path.insert(key, findings.len());
                findings.push((path, gained));
            }
            for (path, gained) in findings {
                let mut d = diagnostic(ir, space, held, &from, &path, &gained);
                if s >= own {
                    d.message.push_str(&format!(
                        " (`{from}` is held in `{}` through Enterprise Permissions from `{}`)",
                        space.id,
                        ir.space(role_ref.space).id
                    ));
                }
                out.push(d);
            }
        }
    }

    /// The assignments from the search's start to `n`, in order.
    fn path_to(&self, parent: &[Option<(NodeIndex, Step)>], n: NodeIndex) -> Vec<Hop> {
        let mut hops = Vec::new();
        let mut at = n;
        while let Some(&Some((from, step))) = parent.get(at.index()) {
            if let (Step::Assigns(span), Node::Role(role)) = (step, self.graph[at]) {
                hops.push(Hop::Assigns { span, role });
            }
            at = from;
        }
        hops.reverse();
        hops
    }
}

/// Where holders of a role may act: everywhere, or (location-restricted) at their locations
/// and below, as preorder intervals.
struct Reach(Option<Vec<(u32, u32)>>);

impl Reach {
    fn of(space: &Space, e: &Effective, holders: &[&Member]) -> Reach {
        if e.values.switch(P::FullOrganizationAccess) {
            return Reach(None);
        }
        let mut intervals: Vec<(u32, u32)> = holders
            .iter()
            .flat_map(|m| m.locations.iter())
            .filter_map(|(l, _)| {
                let loc = space.locations.get(l.index())?;
                Some((l.index() as u32, loc.subtree_end))
            })
            .collect();
        intervals.sort_unstable();
        // Subtrees nest or are disjoint: merged, they are disjoint and sorted by start.
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(intervals.len());
        for (start, end) in intervals {
            match merged.last_mut() {
                Some(last) if start < last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        Reach(Some(merged))
    }

    fn reaches(&self, worker: &Member) -> bool {
        let Some(intervals) = &self.0 else {
            return true;
        };
        worker.locations.iter().any(|(l, _)| {
            let l = l.index() as u32;
            let i = intervals.partition_point(|(start, _)| *start <= l);
            i > 0 && l < intervals[i - 1].1
        })
    }
}

/// The permissions one can escalate to: not settings, not benign.
static ESCALATABLE: std::sync::LazyLock<Vec<P>> = std::sync::LazyLock::new(|| {
    P::ALL
        .iter()
        .copied()
        .filter(|p| !p.is_setting() && !p.entry().benign)
        .collect()
});

/// What `grantee` grants beyond what `assigner` holds.
fn exceeds(grantee: &Effective, assigner: &Effective) -> Vec<P> {
    ESCALATABLE
        .iter()
        .copied()
        .filter(|&p| {
            let (g, a) = (grantee.values.get(p), assigner.values.get(p));
            g.exceeds(a) && g != a
        })
        .collect()
}

/// One path's diagnostic: a direct assignment as W0209 always worded it, a longer path with
/// its chain ("`supervisor` -> assigns `data-clerk` -> Login-As `asha-01`") and a label a step.
fn diagnostic(
    ir: &Ir,
    space: &Space,
    held: &HeldRoles,
    from: &str,
    path: &[Hop],
    gained: &[(P, Value)],
) -> Diagnostic {
    let values: Vec<String> = gained
        .iter()
        .map(|(p, v)| format!("{p} = {}", v.to_source()))
        .collect();
    let role_name = |i: usize| ir.role(held.roles[i]).id.as_str();
    let end = match path.last() {
        Some(Hop::Assigns { role, .. } | Hop::LoginAs { role, .. }) => role_name(*role),
        None => from,
    };
    if let [Hop::Assigns { span, .. }] = path {
        return Diagnostic::new(
            Code::EscalationPath,
            format!(
                "holders of `{from}` can assign role `{end}`, which grants more than `{from}` holds: {}",
                values.join(", ")
            ),
        )
        .with_label(*span, format!("lets `{from}` hand out `{end}`"))
        .with_help(format!(
            "make `{end}` assignable by admins only, or lower it to what `{from}` holds"
        ));
    }
    let mut chain = vec![format!("`{from}`")];
    let mut labels = Vec::new();
    let mut via = from.to_owned();
    for hop in path {
        match *hop {
            Hop::Assigns { span, role } => {
                let role = role_name(role);
                chain.push(format!("assigns `{role}`"));
                labels.push((span, format!("`{via}` can assign `{role}`")));
                via = role.to_owned();
            }
            Hop::LoginAs { span, worker, role } => {
                let name = space.members.get(worker).map_or("", |m| m.name.as_str());
                chain.push(format!("Login-As `{name}` (`{}`)", role_name(role)));
                labels.push((span, format!("`{via}` can log in as `{name}`")));
                via = name.to_owned();
            }
        }
    }
    chain.push(format!("`{}`", values.join(", ")));
    let mut d = Diagnostic::new(
        Code::EscalationPath,
        format!(
            "holders of `{from}` can come to hold what `{from}` lacks: {}",
            chain.join(" -> ")
        ),
    );
    for (span, label) in labels {
        d = d.with_label(span, label);
    }
    d.with_help(format!(
        "break a step of the path, or give `{end}` no more than `{from}` holds"
    ))
}

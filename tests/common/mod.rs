//! A small policy model for property tests: generated with [`Policy::generate`], edited with
//! [`Policy::edit`] (every kind of edit `diff` must see), rendered to text.
//!
//! Shared by several test crates, each of which uses a part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use charter::query::Index;
use charter::source::SourceSet;
use charter::synth::Rng;

#[derive(Clone, Debug)]
pub struct Loc {
    pub id: String,
    /// 0 region, 1 district, 2 facility.
    pub level: u8,
    pub parent: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct Role {
    pub id: String,
    pub foa: bool,
    pub values: BTreeMap<&'static str, String>,
}

#[derive(Clone, Debug)]
pub struct Member {
    pub name: String,
    pub mobile: bool,
    pub role: Option<String>,
    pub locations: Vec<usize>,
    /// A mobile worker's `login_as`: people (rendered when they are web users of the space).
    pub login_as: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Space {
    pub id: String,
    pub enterprise: Option<usize>,
    pub plan: &'static str,
    pub server: &'static str,
    pub upstream: Option<usize>,
    pub tree: bool,
    pub locations: Vec<Loc>,
    pub reports: Vec<String>,
    /// Feature flags (`features [...]`).
    pub features: Vec<&'static str>,
    pub roles: Vec<Role>,
    pub members: Vec<Member>,
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub admins: Vec<Vec<String>>,
    pub spaces: Vec<Space>,
    pub fresh: usize,
}

pub const ENTERPRISES: [&str; 2] = ["e0", "e1"];
pub const SERVERS: [&str; 2] = ["eu", "india"];
pub const BUILTINS: [&str; 5] = [
    "admin",
    "read-only",
    "app-editor",
    "field-implementer",
    "billing-admin",
];
pub const PEOPLE: [&str; 6] = [
    "p0@x.org", "p1@x.org", "P2@x.org", "p3@x.org", "p4@x.org", "p5@x.org",
];
pub const WORKERS: [&str; 3] = ["mw0", "mw1", "mw2"];

pub fn pick<T: Clone>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.below(items.len())].clone()
}

/// Adds a location with a fresh id.
pub fn add_location(fresh: &mut usize, s: &mut Space, parent: Option<usize>, level: u8) -> usize {
    *fresh += 1;
    s.locations.push(Loc {
        id: format!("l{fresh}"),
        level,
        parent,
    });
    s.locations.len() - 1
}

impl Policy {
    pub fn generate(rng: &mut Rng) -> Policy {
        let mut p = Policy {
            admins: ENTERPRISES
                .iter()
                .map(|_| {
                    (0..1 + rng.below(2))
                        .map(|_| pick(rng, &PEOPLE).to_owned())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect()
                })
                .collect(),
            spaces: Vec::new(),
            fresh: 0,
        };
        for i in 0..2 + rng.below(3) {
            let tree = rng.chance(60);
            let mut s = Space {
                id: format!("s{i}"),
                enterprise: (!rng.chance(15)).then(|| rng.below(ENTERPRISES.len())),
                plan: if tree {
                    pick(rng, &["advanced", "enterprise"])
                } else {
                    // `community`: built-in roles only.
                    pick(rng, &["community", "standard", "pro", "enterprise"])
                },
                server: pick(rng, &SERVERS),
                upstream: None,
                tree,
                locations: Vec::new(),
                reports: Vec::new(),
                features: Vec::new(),
                roles: Vec::new(),
                members: Vec::new(),
            };
            if tree {
                for _ in 0..1 + rng.below(2) {
                    let r = add_location(&mut p.fresh, &mut s, None, 0);
                    for _ in 0..1 + rng.below(2) {
                        let d = add_location(&mut p.fresh, &mut s, Some(r), 1);
                        for _ in 0..rng.below(3) {
                            add_location(&mut p.fresh, &mut s, Some(d), 2);
                        }
                    }
                }
            }
            for r in ["visits", "stock", "anc"] {
                if rng.chance(40) {
                    s.reports.push(r.to_owned());
                }
            }
            if tree && rng.chance(50) {
                s.features.push("restricted_login_as");
            }
            p.spaces.push(s);
        }
        // Links first (roles of an upstream stay unrestricted and list no reports).
        for i in 1..p.spaces.len() {
            if rng.chance(35) {
                let candidates: Vec<usize> =
                    (0..i).filter(|&j| p.spaces[j].upstream.is_none()).collect();
                if !candidates.is_empty() {
                    let j = pick(rng, &candidates);
                    p.link(i, Some(j));
                }
            }
        }
        for i in 0..p.spaces.len() {
            let roles = if p.spaces[i].plan == "community" {
                0
            } else {
                1 + rng.below(3)
            };
            for k in 0..roles {
                let restricted = p.may_restrict(i) && rng.chance(70);
                let mut role = Role {
                    id: format!("s{i}-r{k}"),
                    foa: !restricted,
                    values: BTreeMap::new(),
                };
                for _ in 0..2 + rng.below(4) {
                    p.random_value(i, &mut role, rng);
                }
                // Supervisors who log in as workers in Web Apps (Login-As).
                if p.spaces[i].tree && rng.chance(40) {
                    role.values.insert("web_apps", "on".to_owned());
                    let login_as = pick(rng, &["limited", "all"]).to_owned();
                    role.values.insert("login_as", login_as);
                } else if p.spaces[i].tree && rng.chance(40) {
                    // ...and the workers' roles they log in to use.
                    role.values
                        .insert("data", pick(rng, &["view", "edit"]).to_owned());
                }
                p.spaces[i].roles.push(role);
            }
        }
        for i in 0..p.spaces.len() {
            for _ in 0..2 + rng.below(6) {
                p.add_member(i, rng);
            }
        }
        p
    }

    pub fn has_downstream(&self, i: usize) -> bool {
        self.spaces.iter().any(|s| s.upstream == Some(i))
    }

    /// Restricted roles only in tree spaces that no space receives roles from.
    pub fn may_restrict(&self, i: usize) -> bool {
        self.spaces[i].tree && !self.has_downstream(i)
    }

    /// Links `i` to `j` (or unlinks it), making the pair valid: same server and enterprise,
    /// plan `pro` or above.
    pub fn link(&mut self, i: usize, j: Option<usize>) {
        let old = self.spaces[i].upstream;
        self.spaces[i].upstream = j;
        if let Some(j) = j {
            let (server, enterprise) = (self.spaces[j].server, self.spaces[j].enterprise);
            for k in [i, j] {
                if matches!(self.spaces[k].plan, "community" | "standard") {
                    self.spaces[k].plan = "pro";
                }
            }
            let s = &mut self.spaces[i];
            s.server = server;
            s.enterprise = enterprise;
            // Upstream roles are unrestricted and list no reports.
            for role in &mut self.spaces[j].roles {
                role.foa = true;
                if !matches!(
                    role.values.get("reports").map(String::as_str),
                    Some("all" | "none") | None
                ) {
                    role.values.insert("reports", "all".to_owned());
                }
            }
        }
        // Members holding a role of the old upstream take one of the new one, or `read-only`.
        if old != j {
            let received: Vec<String> = j
                .map(|j| self.spaces[j].roles.iter().map(|r| r.id.clone()).collect())
                .unwrap_or_default();
            let prefix = old.map(|o| format!("s{o}-"));
            for (n, m) in self.spaces[i].members.iter_mut().enumerate() {
                if let (Some(role), Some(prefix)) = (&m.role, &prefix)
                    && role.starts_with(prefix.as_str())
                {
                    m.role = Some(
                        received
                            .get(n % received.len().max(1))
                            .cloned()
                            .unwrap_or_else(|| "read-only".to_owned()),
                    );
                }
            }
        }
    }

    pub fn random_value(&self, i: usize, role: &mut Role, rng: &mut Rng) {
        let upstream = self.has_downstream(i);
        let key = pick(
            rng,
            &[
                "data",
                "reports",
                "web_users",
                "mobile_workers",
                "locations",
                "access_apis",
                "download_and_email_reports",
                "messaging",
                "change_location_workers",
                "non_admin_editable",
                "assignable_by",
                "login_as",
                "web_apps",
            ],
        );
        let value = match key {
            "data" | "web_users" | "mobile_workers" | "locations" => {
                pick(rng, &["none", "view", "edit"]).to_owned()
            }
            "login_as" => pick(rng, &["none", "limited", "all"]).to_owned(),
            "reports" if upstream || self.spaces[i].reports.is_empty() || rng.chance(50) => {
                pick(rng, &["all", "none"]).to_owned()
            }
            "reports" => format!("[{}]", pick(rng, &self.spaces[i].reports)),
            // Roles of this space, and a built-in that manages workers.
            "assignable_by" => {
                let mut ids: Vec<String> =
                    self.spaces[i].roles.iter().map(|r| r.id.clone()).collect();
                ids.push("field-implementer".to_owned());
                format!("[{}]", pick(rng, &ids))
            }
            _ => pick(rng, &["on", "off"]).to_owned(),
        };
        role.values.insert(key, value);
    }

    /// A role a member of space `i` may hold: mostly a custom or received one.
    pub fn random_role(&self, i: usize, rng: &mut Rng) -> String {
        let s = &self.spaces[i];
        let mut custom: Vec<String> = s.roles.iter().map(|r| r.id.clone()).collect();
        if let Some(u) = s.upstream {
            custom.extend(self.spaces[u].roles.iter().map(|r| r.id.clone()));
        }
        if custom.is_empty() || rng.chance(25) {
            pick(rng, &BUILTINS).to_owned()
        } else {
            pick(rng, &custom)
        }
    }

    pub fn add_member(&mut self, i: usize, rng: &mut Rng) {
        let mobile = rng.chance(40);
        let name = if mobile {
            pick(rng, &WORKERS).to_owned()
        } else {
            pick(rng, &PEOPLE).to_owned()
        };
        if self.spaces[i]
            .members
            .iter()
            .any(|m| m.name.eq_ignore_ascii_case(&name))
        {
            return;
        }
        // Workers mostly hold a role that reaches data (what Login-As to them gives).
        let with_data: Vec<String> = self.spaces[i]
            .roles
            .iter()
            .filter(|r| r.values.get("data").is_some_and(|v| v != "none"))
            .map(|r| r.id.clone())
            .collect();
        let role = if mobile && !with_data.is_empty() && rng.chance(60) {
            Some(pick(rng, &with_data))
        } else if mobile && rng.chance(30) {
            None
        } else {
            Some(self.random_role(i, rng))
        };
        let locations = self.random_locations(i, rng);
        let login_as = if mobile && rng.chance(50) {
            let mut names: Vec<String> = (0..1 + rng.below(2))
                .map(|_| pick(rng, &PEOPLE).to_owned())
                .collect();
            names.sort();
            names.dedup();
            names
        } else {
            Vec::new()
        };
        self.spaces[i].members.push(Member {
            name,
            mobile,
            role,
            locations,
            login_as,
        });
    }

    pub fn random_locations(&self, i: usize, rng: &mut Rng) -> Vec<usize> {
        let n = self.spaces[i].locations.len();
        if n == 0 {
            return Vec::new();
        }
        let mut out: Vec<usize> = (0..1 + rng.below(2)).map(|_| rng.below(n)).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// One random edit; every kind of edit the issue lists.
    pub fn edit(&mut self, rng: &mut Rng) {
        let i = rng.below(self.spaces.len());
        match rng.below(14) {
            0 | 1 => {
                if self.spaces[i].roles.is_empty() {
                    return;
                }
                let k = rng.below(self.spaces[i].roles.len());
                let mut role = self.spaces[i].roles[k].clone();
                self.random_value(i, &mut role, rng);
                self.spaces[i].roles[k] = role;
            }
            2 => {
                if self.may_restrict(i) && !self.spaces[i].roles.is_empty() {
                    let k = rng.below(self.spaces[i].roles.len());
                    let role = &mut self.spaces[i].roles[k];
                    role.foa = !role.foa;
                }
            }
            3 => {
                if !self.spaces[i].members.is_empty() {
                    let m = rng.below(self.spaces[i].members.len());
                    let role = self.random_role(i, rng);
                    self.spaces[i].members[m].role = Some(role);
                }
            }
            4 => {
                if !self.spaces[i].members.is_empty() && self.spaces[i].tree {
                    let m = rng.below(self.spaces[i].members.len());
                    self.spaces[i].members[m].locations = self.random_locations(i, rng);
                }
            }
            5 => {
                if rng.chance(50) && self.spaces[i].members.len() > 1 {
                    let m = rng.below(self.spaces[i].members.len());
                    self.spaces[i].members.remove(m);
                } else {
                    self.add_member(i, rng);
                }
            }
            6 => {
                // Move a district or a facility under another parent of the same level.
                let s = &self.spaces[i];
                let movable: Vec<usize> = (0..s.locations.len())
                    .filter(|&l| s.locations[l].level > 0)
                    .collect();
                if movable.is_empty() {
                    return;
                }
                let l = pick(rng, &movable);
                let level = s.locations[l].level;
                let parents: Vec<usize> = (0..s.locations.len())
                    .filter(|&p| s.locations[p].level + 1 == level)
                    .collect();
                let to = pick(rng, &parents);
                self.spaces[i].locations[l].parent = Some(to);
            }
            7 => {
                let s = &self.spaces[i];
                let parents: Vec<usize> = (0..s.locations.len())
                    .filter(|&p| s.locations[p].level < 2)
                    .collect();
                if !parents.is_empty() {
                    let p = pick(rng, &parents);
                    let level = self.spaces[i].locations[p].level + 1;
                    add_location(&mut self.fresh, &mut self.spaces[i], Some(p), level);
                }
            }
            8 => {
                let fresh = format!("rep{}", self.fresh);
                self.fresh += 1;
                self.spaces[i].reports.push(fresh);
            }
            9 => {
                if self.spaces[i].upstream.is_none() && !self.has_downstream(i) {
                    self.spaces[i].enterprise = if rng.chance(20) {
                        None
                    } else {
                        Some(rng.below(ENTERPRISES.len()))
                    };
                }
            }
            10 => {
                if self.spaces[i].upstream.is_none() && !self.has_downstream(i) {
                    self.spaces[i].server = pick(rng, &SERVERS);
                }
            }
            11 => {
                // Link, relink or unlink a space that is no upstream.
                if self.has_downstream(i) {
                    return;
                }
                // A new upstream must have unrestricted roles only (they are received).
                let candidates: Vec<usize> = (0..self.spaces.len())
                    .filter(|&j| {
                        j != i
                            && self.spaces[j].upstream.is_none()
                            && self.spaces[j].roles.iter().all(|r| r.foa)
                    })
                    .collect();
                let target = if candidates.is_empty() || rng.chance(25) {
                    None
                } else {
                    Some(pick(rng, &candidates))
                };
                self.link(i, target);
            }
            13 => {
                // Name someone in a worker's `login_as`, or stop naming them.
                let workers: Vec<usize> = (0..self.spaces[i].members.len())
                    .filter(|&m| self.spaces[i].members[m].mobile)
                    .collect();
                if workers.is_empty() {
                    return;
                }
                let m = pick(rng, &workers);
                let person = pick(rng, &PEOPLE).to_owned();
                let list = &mut self.spaces[i].members[m].login_as;
                match list.iter().position(|p| *p == person) {
                    Some(k) => {
                        list.remove(k);
                    }
                    None => list.push(person),
                }
            }
            _ => {
                let e = rng.below(ENTERPRISES.len());
                let person = pick(rng, &PEOPLE).to_owned();
                let admins = &mut self.admins[e];
                if let Some(k) = admins.iter().position(|a| *a == person) {
                    if admins.len() > 1 {
                        admins.remove(k);
                    }
                } else {
                    admins.push(person);
                }
                if !self.spaces[i].tree {
                    let linked = self.spaces[i].upstream.is_some() || self.has_downstream(i);
                    self.spaces[i].plan = if linked {
                        pick(rng, &["pro", "enterprise"])
                    } else if self.spaces[i].roles.is_empty() {
                        pick(rng, &["community", "standard", "pro", "enterprise"])
                    } else {
                        pick(rng, &["standard", "pro", "enterprise"])
                    };
                }
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for (e, admins) in ENTERPRISES.iter().zip(&self.admins) {
            let list: Vec<String> = admins.iter().map(|a| format!("\"{a}\"")).collect();
            out.push_str(&format!(
                "enterprise {e} {{ admins [{}] }}\n",
                list.join(", ")
            ));
        }
        for s in &self.spaces {
            out.push_str(&format!(
                "space {} {{\n  plan {}\n  server {}\n",
                s.id, s.plan, s.server
            ));
            if let Some(e) = s.enterprise {
                out.push_str(&format!("  enterprise {}\n", ENTERPRISES[e]));
            }
            if let Some(u) = s.upstream {
                out.push_str(&format!("  upstream {}\n", self.spaces[u].id));
            }
            if !s.features.is_empty() {
                out.push_str(&format!("  features [{}]\n", s.features.join(", ")));
            }
            if s.tree {
                out.push_str("  location_types { region; district in region; facility in district }\n  locations {\n");
                fn emit(s: &Space, parent: Option<usize>, depth: usize, out: &mut String) {
                    let ty = ["region", "district", "facility"];
                    for (l, loc) in s
                        .locations
                        .iter()
                        .enumerate()
                        .filter(|(_, l)| l.parent == parent)
                    {
                        let pad = "  ".repeat(depth + 2);
                        out.push_str(&format!("{pad}{} {} {{\n", ty[loc.level as usize], loc.id));
                        emit(s, Some(l), depth + 1, out);
                        out.push_str(&format!("{pad}}}\n"));
                    }
                }
                emit(s, None, 0, &mut out);
                out.push_str("  }\n");
            }
            for r in &s.reports {
                out.push_str(&format!("  report {r}\n"));
            }
            for role in &s.roles {
                out.push_str(&format!("  role {} {{\n", role.id));
                if !role.foa {
                    out.push_str("    full_organization_access = off\n");
                }
                for (k, v) in &role.values {
                    out.push_str(&format!("    {k} = {v}\n"));
                }
                out.push_str("  }\n");
            }
            for m in &s.members {
                let kind = if m.mobile {
                    "mobile_worker"
                } else {
                    "web_user"
                };
                let name = if m.mobile {
                    m.name.clone()
                } else {
                    format!("\"{}\"", m.name)
                };
                let role = m
                    .role
                    .as_ref()
                    .map(|r| format!(" role {r} "))
                    .unwrap_or_default();
                let locs = if m.locations.is_empty() {
                    String::new()
                } else {
                    let ids: Vec<&str> = m
                        .locations
                        .iter()
                        .map(|&l| s.locations[l].id.as_str())
                        .collect();
                    format!(" locations [{}] ", ids.join(", "))
                };
                // Only web users of this space may be named.
                let named: Vec<String> = m
                    .login_as
                    .iter()
                    .filter(|n| {
                        *n == "default"
                            || s.members
                                .iter()
                                .any(|w| !w.mobile && w.name.eq_ignore_ascii_case(n))
                    })
                    .map(|n| format!("\"{n}\""))
                    .collect();
                let login_as = if m.mobile && !named.is_empty() {
                    format!(" login_as [{}] ", named.join(", "))
                } else {
                    String::new()
                };
                out.push_str(&format!("  {kind} {name} {{{role}{locs}{login_as}}}\n"));
            }
            out.push_str("}\n");
        }
        out
    }
}

pub fn compile(text: &str) -> Result<Index, String> {
    let mut sources = SourceSet::default();
    sources.add("policy.charter", text.to_owned());
    let compiled = charter::compile(&sources);
    if compiled.has_errors() {
        let errors: Vec<String> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.severity == charter::diagnostic::Severity::Error)
            .map(|d| format!("{}: {}", d.code.as_str(), d.message))
            .collect();
        return Err(format!("{errors:?}\n{text}"));
    }
    let snapshot = charter::emit::emit(&compiled.ir, &sources);
    // What the compiler writes passes the loader's validation (generated policies with
    // upstreams, enterprises, plans and restricted roles).
    charter::snapshot::validate::validate(&snapshot).map_err(|e| format!("{e}\n{text}"))?;
    Ok(Index::new(snapshot))
}

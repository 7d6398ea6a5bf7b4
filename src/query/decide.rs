//! The decision path: whether a member holds what a request asks, through the web
//! interface or the API, and `who`/`what`. No strings are built here (beyond `what`'s answer):
//! a hash lookup of the member name, bit tests on the role's bitsets and, for a restricted
//! member asked `at` a location, interval comparisons.

use super::Index;
use super::index::LocationScope;
use super::login_as::{self, LoginAsReach, Through};
use crate::model::{Level, Permission, Value};
use crate::question::{Asked, Channel, Request, Want};
use crate::snapshot::ScopeEntry;

/// How a `can` question was decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Granted by the member's role; `within` is the assigned location covering `at`.
    Granted {
        member: u32,
        within: Option<u32>,
    },
    /// Granted in Web Apps by logging in as mobile worker `worker` (Login-As), whose role
    /// grants it; `within` is the worker's location covering `at`. The member's own role does
    /// not grant it there.
    ViaLoginAs {
        member: u32,
        worker: u32,
        within: Option<u32>,
    },
    /// Enterprise admin reaching the Enterprise Console.
    Console,
    NotMember,
    /// The role does not grant the permission at the level asked.
    RoleLacks {
        member: u32,
    },
    /// Granted by the role, but `at` is outside the member's locations.
    OutsideScope {
        member: u32,
        at: u32,
    },
    /// Granted through the API: `access_apis` reaches `data` everywhere in the space, whatever
    /// the member's locations.
    ViaApi {
        member: u32,
    },
    /// Asked `via api`, and the API does not grant it.
    ApiDenied {
        member: u32,
        why: ApiDenial,
    },
}

/// Why the API does not grant what was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiDenial {
    /// The API reaches `data` only.
    NotData,
    /// The role's effective `access_apis` is off.
    NoApiAccess,
    /// The API reaches data at the role's own `data` level, which is lower.
    DataLevel,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        matches!(
            self,
            Decision::Granted { .. }
                | Decision::Console
                | Decision::ViaApi { .. }
                | Decision::ViaLoginAs { .. }
        )
    }
}

impl Index {
    /// Decides whether `member` holds what `q` asks. No strings are built on this path.
    pub fn decide(&self, member: &str, q: &Request) -> Decision {
        let s = self.space(q.space);
        if q.asked == Asked::EnterpriseReports {
            return if self.console_viewer(q.space, member) {
                Decision::Console
            } else {
                Decision::NotMember
            };
        }
        let Some(m) = s.member(member) else {
            return Decision::NotMember;
        };
        self.decide_member(q, m)
    }

    /// [`Index::decide`] for a member index: the web interface, the API, or either.
    pub fn decide_member(&self, q: &Request, m: u32) -> Decision {
        match q.channel {
            Channel::Web => self.decide_web(q, m),
            Channel::Api => self.decide_api(q, m),
            Channel::Any => match self.decide_web(q, m) {
                web if web.allowed() => web,
                web => match self.decide_api(q, m) {
                    api if api.allowed() => api,
                    // Denied either way: the web answer says more (scope, role values).
                    _ => web,
                },
            },
        }
    }

    /// Through the API (SPEC §3): `access_apis` reaches `data` at the role's level, at every
    /// location; nothing else.
    fn decide_api(&self, q: &Request, m: u32) -> Decision {
        let s = self.space(q.space);
        let role = &s.roles[s.members[m as usize].role as usize];
        let why = if q.asked != Asked::Key(Permission::Data) {
            ApiDenial::NotData
        } else if !role.holds(Permission::AccessApis, Want::View) {
            ApiDenial::NoApiAccess
        } else if role.grants_via_api(q.asked, q.want) {
            return Decision::ViaApi { member: m };
        } else {
            ApiDenial::DataLevel
        };
        Decision::ApiDenied { member: m, why }
    }

    /// Whether `q` asks at a location outside restricted member `m`'s locations, about a
    /// location-scoped permission (so the role's values alone do not decide it).
    pub(super) fn outside_scope(&self, q: &Request, m: u32) -> bool {
        let s = self.space(q.space);
        let scoped = q.is_location_scoped();
        match (&s.members[m as usize].scope, q.at) {
            (LocationScope::Locations(assigned), Some(at)) if scoped => {
                s.covering(assigned, at).is_none()
            }
            _ => false,
        }
    }

    /// Through the web interface: the role's values within the member's locations, else
    /// Login-As of a worker who holds it there.
    fn decide_web(&self, q: &Request, m: u32) -> Decision {
        let own = self.decide_own(q, m);
        if own.allowed() {
            return own;
        }
        match self.login_as_through(q, m) {
            Some(t) => Decision::ViaLoginAs {
                member: m,
                worker: t.worker,
                within: t.within,
            },
            None => own,
        }
    }

    /// Whom member `m` may log in as in `q`'s space, and what that gives (`None`: nobody).
    pub fn login_as_reach(&self, space: u32, m: u32) -> Option<&LoginAsReach> {
        login_as::reach(self.entry(space), self.space(space), m)
    }

    /// Through which worker Login-As gives member `m` what `q` asks in Web Apps.
    pub fn login_as_through(&self, q: &Request, m: u32) -> Option<Through> {
        if q.channel == Channel::Api || !login_as::gives_in_web_apps(q.asked) {
            return None;
        }
        let s = self.space(q.space);
        self.login_as_reach(q.space, m)?
            .through(s, q.asked, q.want, q.at, q.is_location_scoped())
    }

    /// Through the web interface by the member's own role: its values within its locations.
    pub fn decide_own(&self, q: &Request, m: u32) -> Decision {
        let s = self.space(q.space);
        let member = &s.members[m as usize];
        let role = &s.roles[member.role as usize];
        let granted = role.grants(q.asked, q.want);
        let scoped = q.is_location_scoped();
        if !granted {
            return Decision::RoleLacks { member: m };
        }
        match (&member.scope, scoped, q.at) {
            (LocationScope::All, _, _) | (_, false, _) | (_, true, None) => Decision::Granted {
                member: m,
                within: None,
            },
            (LocationScope::Locations(assigned), true, Some(at)) => {
                match s.covering(assigned, at) {
                    Some(l) => Decision::Granted {
                        member: m,
                        within: Some(l),
                    },
                    None => Decision::OutsideScope { member: m, at },
                }
            }
        }
    }

    /// Members who hold what `q` asks, sorted by name, each with the mobile worker it acts as
    /// when only Login-As gives it.
    pub fn who_through(&self, q: &Request) -> Vec<(&str, Option<&str>)> {
        let s = self.space(q.space);
        let names = &self.entry(q.space).members;
        if q.asked == Asked::EnterpriseReports {
            return self
                .console_viewers(q.space)
                .iter()
                .map(|v| (v.as_str(), None))
                .collect();
        }
        s.by_name
            .iter()
            .filter_map(|&m| match self.decide_member(q, m) {
                Decision::ViaLoginAs { worker, .. } => Some((
                    names[m as usize].name.as_str(),
                    Some(names[worker as usize].name.as_str()),
                )),
                d if d.allowed() => Some((names[m as usize].name.as_str(), None)),
                _ => None,
            })
            .collect()
    }

    /// Members who hold what `q` asks, sorted by name.
    pub fn who(&self, q: &Request) -> Vec<&str> {
        let s = self.space(q.space);
        let names = &self.entry(q.space).members;
        if q.asked == Asked::EnterpriseReports {
            return self
                .console_viewers(q.space)
                .iter()
                .map(String::as_str)
                .collect();
        }
        s.by_name
            .iter()
            .filter(|&&m| self.decide_member(q, m).allowed())
            .map(|&m| names[m as usize].name.as_str())
            .collect()
    }

    /// `what can "u" do in S`: every effective permission and the member's scope.
    pub fn what(&self, member: &str, space: u32) -> Option<WhatAnswer> {
        let entry = self.entry(space);
        let m = self.space(space).member(member)?;
        let me = &entry.members[m as usize];
        let role = &entry.roles[self.space(space).members[m as usize].role as usize];
        let ix = &self.space(space).roles[self.space(space).members[m as usize].role as usize];
        let api = ix.holds(Permission::AccessApis, Want::View).then(|| {
            let data = if ix.holds(Permission::Data, Want::Edit) {
                Level::Edit
            } else if ix.holds(Permission::Data, Want::View) {
                Level::View
            } else {
                Level::None
            };
            ApiReach { data }
        });
        let mut permissions: Vec<(Permission, Value)> = Permission::ALL
            .iter()
            .map(|&p| (p, ix.value(p).clone()))
            .collect();
        permissions.sort_by_key(|(p, _)| p.key());
        let login_as = self.login_as_reach(space, m).map(|reach| {
            let mut grants = Vec::new();
            for &p in Permission::ALL.iter().filter(|p| p.entry().in_web_apps) {
                let wants: &[Want] = if p.kind().is_switch_like() {
                    &[Want::View]
                } else {
                    &[Want::Edit, Want::View]
                };
                let mut stronger: Option<Option<Vec<(String, String)>>> = None;
                for &want in wants {
                    let at = match reach.locations(Asked::Key(p), want) {
                        None => None,
                        Some([]) => continue,
                        // Space-wide: where the workers are does not matter.
                        Some(_) if !p.is_location_scoped() => None,
                        Some(roots) => Some(
                            roots
                                .iter()
                                .map(|r| {
                                    (
                                        entry.locations[r.location as usize].id.clone(),
                                        entry.members[r.worker as usize].name.clone(),
                                    )
                                })
                                .collect(),
                        ),
                    };
                    // `view` where `edit` already holds adds nothing to say.
                    if let Some(edit) = &stronger
                        && (edit.is_none() || *edit == at)
                    {
                        continue;
                    }
                    stronger = Some(at.clone());
                    grants.push(LoginAsGrant {
                        permission: p,
                        want,
                        at,
                    });
                }
            }
            LoginAsWhat {
                workers: reach
                    .workers
                    .iter()
                    .map(|&k| entry.members[k as usize].name.clone())
                    .collect(),
                grants,
            }
        });
        Some(WhatAnswer {
            login_as,
            role: role.id.clone(),
            from_upstream: role.from_upstream.clone(),
            from_enterprise: role.from_enterprise.clone(),
            permissions,
            scope: me.scope.clone(),
            api,
        })
    }
}

/// The answer to `what can "u" do in S`.
#[derive(Debug, Clone)]
pub struct WhatAnswer {
    pub role: String,
    pub from_upstream: Option<String>,
    /// A member by Enterprise Permissions: the source space whose role this is.
    pub from_enterprise: Option<String>,
    /// Every effective value, by permission key (as `what` lists them).
    pub permissions: Vec<(Permission, Value)>,
    pub scope: ScopeEntry,
    /// What the member reaches through the API (`access_apis` on).
    pub api: Option<ApiReach>,
    /// What the member reaches by logging in as mobile workers (Login-As).
    pub login_as: Option<LoginAsWhat>,
}

/// Login-As in a `what` answer: whom the member may log in as, and what that gives.
#[derive(Debug, Clone)]
pub struct LoginAsWhat {
    /// The workers' names, in member order.
    pub workers: Vec<String>,
    pub grants: Vec<LoginAsGrant>,
}

/// One Web Apps permission at one level reached through Login-As.
#[derive(Debug, Clone)]
pub struct LoginAsGrant {
    pub permission: Permission,
    pub want: Want,
    /// `None`: at every location; else these locations and below, each with a worker acting
    /// there.
    pub at: Option<Vec<(String, String)>>,
}

impl LoginAsGrant {
    /// The level as a query asks it: `use` for a switch, else `view` or `edit`.
    pub fn level_word(&self) -> &'static str {
        match self.want {
            _ if self.permission.kind().is_switch_like() => "use",
            Want::Edit => "edit",
            Want::View => "view",
        }
    }
}

/// `data` through the API: at the role's level, at every location of the space.
#[derive(Debug, Clone)]
pub struct ApiReach {
    pub data: Level,
}

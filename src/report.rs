//! Enterprise Console reports (CSV or JSON) computed from a snapshot, in the spirit of the
//! product's reports, for what a policy knows.

pub mod matrix;

use crate::diagnostic::suggest::did_you_mean;
use crate::model::{Permission, Value};
use crate::snapshot::{MemberEntry, MemberKindEntry, ScopeEntry, Snapshot, SpaceEntry};

/// The reports `charter report enterprise` can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnterpriseReport {
    ProjectSpaces,
    WebUsers,
    MobileWorkers,
    TwoFactor,
    ApiAccess,
    /// The sanctioned ways across spaces: Enterprise Permissions and registry grants.
    CrossSpace,
    /// Every role of every space with the number of members holding it and every effective
    /// value, one column per catalogue key.
    Roles,
}

/// A report: a header row and rows of cells, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub header: Vec<&'static str>,
    /// What each column holds, for typed JSON (CSV cells are text).
    pub kinds: Vec<CellKind>,
    pub rows: Vec<Vec<String>>,
}

/// What a column holds: JSON gives it its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Text,
    /// A count: a JSON number.
    Count,
    /// `yes` / `no`: a JSON boolean.
    YesNo,
    /// `; `-separated ids: a JSON array (empty for an empty cell).
    List,
}

impl CellKind {
    fn json(self, cell: &str) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            CellKind::Count => cell
                .parse::<u64>()
                .map_or_else(|_| J::String(cell.to_owned()), |n| J::Number(n.into())),
            CellKind::YesNo => match cell {
                "yes" => J::Bool(true),
                "no" => J::Bool(false),
                other => J::String(other.to_owned()),
            },
            CellKind::List if cell.is_empty() => J::Array(Vec::new()),
            CellKind::List => J::Array(cell.split("; ").map(|c| J::String(c.to_owned())).collect()),
            CellKind::Text => J::String(cell.to_owned()),
        }
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

fn restricted(m: &MemberEntry) -> bool {
    matches!(m.scope, ScopeEntry::Locations(_))
}

/// The report for one enterprise's spaces (on one server, when given).
pub fn enterprise(
    snapshot: &Snapshot,
    enterprise: &str,
    server: Option<&str>,
    report: EnterpriseReport,
) -> Result<Table, String> {
    let Some(ent) = snapshot.enterprises.iter().find(|e| e.id == enterprise) else {
        let hint = did_you_mean(
            enterprise,
            snapshot.enterprises.iter().map(|e| e.id.as_str()),
        );
        return Err(format!(
            "unknown enterprise `{enterprise}`{}",
            if hint.is_empty() {
                String::new()
            } else {
                format!(": {hint}")
            }
        ));
    };
    // Sets, not `Vec::contains`: an enterprise may have many thousands of spaces.
    let of_enterprise: std::collections::HashSet<&str> =
        ent.spaces.iter().map(String::as_str).collect();
    let spaces: Vec<&SpaceEntry> = snapshot
        .spaces
        .iter()
        .filter(|s| {
            of_enterprise.contains(s.id.as_str())
                && server.is_none_or(|srv| s.server.as_deref() == Some(srv))
        })
        .collect();
    // A server no space is on is a typo (exit 2, with the nearest); a real server where the
    // enterprise has no space is a policy outcome: an empty report (SPEC §4).
    if let Some(srv) = server
        && !snapshot
            .spaces
            .iter()
            .any(|s| s.server.as_deref() == Some(srv))
    {
        let servers: std::collections::BTreeSet<&str> = snapshot
            .spaces
            .iter()
            .filter_map(|s| s.server.as_deref())
            .collect();
        let hint = did_you_mean(srv, servers.iter().copied());
        return Err(format!(
            "no space is on server `{srv}`{}",
            if hint.is_empty() {
                String::new()
            } else {
                format!(": {hint}")
            }
        ));
    }
    // Per space, once: members are many.
    let api_roles: std::collections::HashMap<&str, std::collections::HashSet<&str>> = spaces
        .iter()
        .map(|s| {
            let ids = s
                .roles
                .iter()
                .filter(|r| r.value(Permission::AccessApis) == Value::Switch(true))
                .map(|r| r.id.as_str())
                .collect();
            (s.id.as_str(), ids)
        })
        .collect();
    let role_grants_api = |space: &SpaceEntry, role: &str| {
        api_roles
            .get(space.id.as_str())
            .is_some_and(|ids| ids.contains(role))
    };
    let members = |kind: MemberKindEntry| {
        let mut rows: Vec<(&SpaceEntry, &MemberEntry)> = spaces
            .iter()
            .flat_map(|s| {
                s.members
                    .iter()
                    .filter(move |m| m.kind == kind)
                    .map(move |m| (*s, m))
            })
            .collect();
        rows.sort_by(|a, b| (&a.1.name, &a.0.id).cmp(&(&b.1.name, &b.0.id)));
        rows
    };
    let table = match report {
        EnterpriseReport::ProjectSpaces => Table {
            header: vec![
                "space",
                "name",
                "plan",
                "server",
                "environment",
                "upstream",
                "downstream_spaces",
                "web_users",
                "mobile_workers",
                "custom_roles",
                "locations",
                "two_factor",
            ],
            kinds: vec![
                CellKind::Text,
                CellKind::Text,
                CellKind::Text,
                CellKind::Text,
                CellKind::Text,
                CellKind::Text,
                CellKind::Count,
                CellKind::Count,
                CellKind::Count,
                CellKind::Count,
                CellKind::Count,
                CellKind::Text,
            ],
            rows: spaces
                .iter()
                .map(|s| {
                    let count = |k| s.members.iter().filter(|m| m.kind == k).count().to_string();
                    vec![
                        s.id.clone(),
                        s.name.clone().unwrap_or_default(),
                        s.plan.clone(),
                        s.server.clone().unwrap_or_default(),
                        s.environment.clone().unwrap_or_default(),
                        s.upstream.clone().unwrap_or_default(),
                        s.downstream.len().to_string(),
                        count(MemberKindEntry::WebUser),
                        count(MemberKindEntry::MobileWorker),
                        s.roles
                            .iter()
                            .filter(|r| r.origin != "builtin" && r.from_upstream.is_none())
                            .count()
                            .to_string(),
                        s.locations.len().to_string(),
                        s.two_factor.clone().unwrap_or_else(|| "not set".to_owned()),
                    ]
                })
                .collect(),
        },
        EnterpriseReport::WebUsers => Table {
            header: vec![
                "email",
                "space",
                "role",
                "full_organization_access",
                "assigned_locations",
            ],
            kinds: vec![
                CellKind::Text,
                CellKind::Text,
                CellKind::Text,
                CellKind::YesNo,
                CellKind::List,
            ],
            rows: members(MemberKindEntry::WebUser)
                .into_iter()
                .map(|(s, m)| {
                    vec![
                        m.name.clone(),
                        s.id.clone(),
                        m.role.clone(),
                        yes_no(!restricted(m)),
                        m.assigned().join("; "),
                    ]
                })
                .collect(),
        },
        EnterpriseReport::MobileWorkers => Table {
            header: vec!["username", "space", "role", "locations", "groups"],
            kinds: vec![
                CellKind::Text,
                CellKind::Text,
                CellKind::Text,
                CellKind::List,
                CellKind::List,
            ],
            rows: members(MemberKindEntry::MobileWorker)
                .into_iter()
                .map(|(s, m)| {
                    vec![
                        m.name.clone(),
                        s.id.clone(),
                        m.role.clone(),
                        m.assigned().join("; "),
                        m.groups.join("; "),
                    ]
                })
                .collect(),
        },
        EnterpriseReport::TwoFactor => Table {
            header: vec!["space", "name", "server", "environment", "two_factor"],
            kinds: vec![CellKind::Text; 5],
            rows: spaces
                .iter()
                .filter(|s| s.two_factor.as_deref() != Some("required"))
                .map(|s| {
                    vec![
                        s.id.clone(),
                        s.name.clone().unwrap_or_default(),
                        s.server.clone().unwrap_or_default(),
                        s.environment.clone().unwrap_or_default(),
                        s.two_factor.clone().unwrap_or_else(|| "not set".to_owned()),
                    ]
                })
                .collect(),
        },
        EnterpriseReport::ApiAccess => {
            let mut rows: Vec<Vec<String>> = spaces
                .iter()
                .flat_map(|s| {
                    s.members
                        .iter()
                        .filter(|m| role_grants_api(s, &m.role))
                        .map(move |m| (*s, m))
                })
                .map(|(s, m)| {
                    vec![
                        m.name.clone(),
                        s.id.clone(),
                        m.role.clone(),
                        yes_no(restricted(m)),
                        if restricted(m) {
                            "the API reaches all of the space's data, beyond the member's locations"
                                .to_owned()
                        } else {
                            String::new()
                        },
                    ]
                })
                .collect();
            rows.sort();
            Table {
                header: vec!["member", "space", "role", "location_restricted", "warning"],
                kinds: vec![
                    CellKind::Text,
                    CellKind::Text,
                    CellKind::Text,
                    CellKind::YesNo,
                    CellKind::Text,
                ],
                rows,
            }
        }
        EnterpriseReport::Roles => {
            let mut header = vec!["space", "role", "name", "origin", "source", "members"];
            header.extend(Permission::ALL.iter().map(|p| p.key()));
            let mut kinds = vec![CellKind::Text; 5];
            kinds.push(CellKind::Count);
            kinds.extend(Permission::ALL.iter().map(|_| CellKind::Text));
            let mut rows = Vec::new();
            for s in &spaces {
                let mut holders: std::collections::HashMap<&str, usize> =
                    std::collections::HashMap::new();
                for m in &s.members {
                    *holders.entry(m.role.as_str()).or_default() += 1;
                }
                for r in &s.roles {
                    let mut row = vec![
                        s.id.clone(),
                        r.id.clone(),
                        r.name.clone(),
                        r.origin.clone(),
                        r.from_upstream
                            .clone()
                            .or_else(|| r.from_enterprise.clone())
                            .unwrap_or_default(),
                        holders.get(r.id.as_str()).copied().unwrap_or(0).to_string(),
                    ];
                    row.extend(Permission::ALL.iter().map(|&p| r.value(p).to_source()));
                    rows.push(row);
                }
            }
            Table {
                header,
                kinds,
                rows,
            }
        }
        EnterpriseReport::CrossSpace => {
            let mut rows: Vec<Vec<String>> = Vec::new();
            if let Some(p) = &ent.permissions {
                for to in &p.spaces {
                    let shown = server.is_none_or(|srv| {
                        snapshot
                            .spaces
                            .iter()
                            .any(|s| s.id == *to && s.server.as_deref() == Some(srv))
                    });
                    if shown {
                        rows.push(vec![
                            "enterprise_permissions".to_owned(),
                            p.source.clone(),
                            to.clone(),
                            "web users with their source role".to_owned(),
                        ]);
                    }
                }
            }
            for s in &spaces {
                for g in &s.grants {
                    let case_types = s
                        .registries
                        .iter()
                        .find(|r| r.id == g.registry)
                        .map(|r| r.case_types.join("; "))
                        .unwrap_or_default();
                    for to in &g.to {
                        rows.push(vec![
                            "registry_grant".to_owned(),
                            s.id.clone(),
                            to.clone(),
                            format!("registry `{}`: {case_types}", g.registry),
                        ]);
                    }
                }
            }
            rows.sort();
            Table {
                header: vec!["kind", "from_space", "to_space", "what"],
                kinds: vec![CellKind::Text; 4],
                rows,
            }
        }
    };
    Ok(table)
}

impl Table {
    /// RFC 4180: CRLF line ends, a header row, fields quoted when they hold `,`, `"`, CR or LF.
    pub fn to_csv(&self) -> String {
        fn field(out: &mut String, f: &str) {
            if f.contains([',', '"', '\r', '\n']) {
                out.push('"');
                out.push_str(&f.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(f);
            }
        }
        let mut out = String::new();
        let mut line = |cells: &mut dyn Iterator<Item = &str>| {
            for (i, c) in cells.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                field(&mut out, c);
            }
            out.push_str("\r\n");
        };
        line(&mut self.header.iter().copied());
        for row in &self.rows {
            line(&mut row.iter().map(String::as_str));
        }
        out
    }

    /// The same rows as JSON objects keyed by the header, each cell typed by its column.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.rows
                .iter()
                .map(|row| {
                    serde_json::Value::Object(
                        self.header
                            .iter()
                            .zip(&self.kinds)
                            .zip(row)
                            .map(|((h, k), c)| ((*h).to_owned(), k.json(c)))
                            .collect(),
                    )
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_rfc_4180_requires() {
        let t = Table {
            header: vec!["a", "b"],
            kinds: vec![CellKind::Text; 2],
            rows: vec![
                vec!["x,y".into(), "say \"hi\"".into()],
                vec!["plain".into(), "".into()],
            ],
        };
        assert_eq!(
            t.to_csv(),
            "a,b\r\n\"x,y\",\"say \"\"hi\"\"\"\r\nplain,\r\n"
        );
    }
}

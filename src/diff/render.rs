//! `diff`'s output, apart from its data: the human text (escalations, then reductions, then
//! the edits by space), the pull-request comment (markdown), and the JSON shape, which
//! `charter diff --format json` prints and the tests snapshot. The JSON structs are private
//! mirrors of the data types, so serde derives stay in renderers.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::access::{AccessChange, Cause, Grant, LocationReach};
use super::{Change, Class, Diff, DownstreamReach, EnterpriseDiff, Reach, SpaceDiff, count};

/// Lines shown per space and direction in human and markdown output; JSON has every entry.
const SHOWN_PER_SPACE: usize = 50;

/// One line per access change, with its space.
fn access_lines(changes: &[AccessChange]) -> Vec<(&str, &str)> {
    changes
        .iter()
        .map(|c| (c.space.as_str(), c.summary.as_str()))
        .collect()
}

impl Diff {
    fn reach_text(r: &Reach) -> String {
        let mut s = count(r.members, "member");
        for d in &r.downstream {
            s.push_str(&format!(", {} in `{}`", d.members, d.space));
        }
        s
    }

    fn change_text(c: &Change) -> String {
        let mut s = c.summary.clone();
        if let Some(r) = &c.reason {
            s.push_str(&format!(" ({r})"));
        }
        if let Some(r) = &c.reach {
            s.push_str(&format!("; reaches {}", Self::reach_text(r)));
        }
        s
    }

    /// The one-line verdict.
    fn totals(&self) -> String {
        format!(
            "{}, {}, {}",
            count(self.escalations, "escalation"),
            count(self.reductions, "reduction"),
            count(self.changes, "edit")
        )
    }

    /// Escalations, then reductions, then the edits, grouped by space.
    pub fn human(&self, color: bool) -> String {
        let paint = |code: &str, s: &str| {
            if color {
                format!("\x1b[{code}m{s}\x1b[0m")
            } else {
                s.to_owned()
            }
        };
        let mut out = String::new();
        for (title, tag, code, changes) in [
            (
                "escalations: what the new version allows and the old one denied",
                "ESCALATION",
                "31",
                &self.gained,
            ),
            (
                "reductions: what the old version allowed and the new one denies",
                "reduction ",
                "32",
                &self.lost,
            ),
        ] {
            if changes.is_empty() {
                continue;
            }
            out.push_str(title);
            out.push('\n');
            let lines = access_lines(changes);
            let mut k = 0;
            while k < lines.len() {
                let space = lines[k].0;
                out.push_str(&format!("  space `{space}`\n"));
                let end = k + lines[k..].iter().take_while(|l| l.0 == space).count();
                for (_, line) in lines[k..end].iter().take(SHOWN_PER_SPACE) {
                    out.push_str(&format!("    {} {line}\n", paint(code, tag)));
                }
                if end - k > SHOWN_PER_SPACE {
                    out.push_str(&format!(
                        "    ... and {} more (all of them with --format json)\n",
                        end - k - SHOWN_PER_SPACE
                    ));
                }
                k = end;
            }
        }
        if !self.spaces.is_empty() || !self.enterprises.is_empty() {
            out.push_str("edits\n");
        }
        let tag = |c: Class| match c {
            Class::Widens => "widens ",
            Class::Narrows => "narrows",
            Class::Neutral => "neutral",
        };
        for s in &self.spaces {
            out.push_str(&format!("  space `{}` ({})\n", s.space, s.status));
            let mut changes: Vec<&Change> = s.changes.iter().collect();
            changes.sort_by_key(|c| c.class);
            for c in changes {
                out.push_str(&format!(
                    "    {} {}\n",
                    paint("2", tag(c.class)),
                    Self::change_text(c)
                ));
            }
        }
        for e in &self.enterprises {
            out.push_str(&format!("  enterprise `{}`\n", e.enterprise));
            for c in &e.changes {
                out.push_str(&format!(
                    "    {} {}\n",
                    paint("2", tag(c.class)),
                    Self::change_text(c)
                ));
            }
        }
        if self.spaces.is_empty()
            && self.enterprises.is_empty()
            && self.gained.is_empty()
            && self.lost.is_empty()
        {
            out.push_str("no changes in access\n");
        }
        out.push_str(&self.totals());
        out.push('\n');
        out
    }

    /// A pull-request comment: escalations first.
    pub fn markdown(&self) -> String {
        let mut out = String::from("### charter: access changes\n\n");
        if self.spaces.is_empty()
            && self.enterprises.is_empty()
            && self.gained.is_empty()
            && self.lost.is_empty()
        {
            out.push_str("No changes in access.\n");
            return out;
        }
        let totals = self.totals();
        out.push_str(&if self.escalations > 0 {
            format!("⚠️ **{totals}**.\n\n")
        } else {
            format!("{totals}.\n\n")
        });
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        for (title, changes) in [("Escalations", &self.gained), ("Reductions", &self.lost)] {
            if changes.is_empty() {
                continue;
            }
            out.push_str(&format!(
                "#### {title}\n\n| space | access |\n| --- | --- |\n"
            ));
            let lines = access_lines(changes);
            // Sorted by space: the "... and N more" rows come out in one order every run.
            let mut shown: BTreeMap<&str, usize> = BTreeMap::new();
            for (space, line) in &lines {
                let n = shown.entry(space).or_default();
                *n += 1;
                if *n <= SHOWN_PER_SPACE {
                    out.push_str(&format!("| `{space}` | {} |\n", cell(line)));
                }
            }
            for (space, n) in shown.iter().filter(|(_, n)| **n > SHOWN_PER_SPACE) {
                out.push_str(&format!(
                    "| `{space}` | ... and {} more |\n",
                    n - SHOWN_PER_SPACE
                ));
            }
            out.push('\n');
        }
        if !self.spaces.is_empty() || !self.enterprises.is_empty() {
            out.push_str("#### Edits\n\n| where | edit | reach |\n| --- | --- | --- |\n");
            let rows = self
                .spaces
                .iter()
                .flat_map(|s| {
                    s.changes
                        .iter()
                        .map(move |c| (format!("space `{}`", s.space), c))
                })
                .chain(self.enterprises.iter().flat_map(|e| {
                    e.changes
                        .iter()
                        .map(move |c| (format!("enterprise `{}`", e.enterprise), c))
                }));
            for (place, c) in rows {
                let mut summary = cell(&c.summary);
                if let Some(r) = &c.reason {
                    summary.push_str(&format!(" ({})", cell(r)));
                }
                let reach = c.reach.as_ref().map(Self::reach_text).unwrap_or_default();
                out.push_str(&format!("| {place} | {summary} | {reach} |\n"));
            }
        }
        out
    }
}

impl Serialize for Diff {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        DiffJson::from(self).serialize(serializer)
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct DiffJson<'a> {
    escalations: usize,
    reductions: usize,
    changes: usize,
    gained: Vec<AccessJson<'a>>,
    lost: Vec<AccessJson<'a>>,
    spaces: Vec<SpaceJson<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    enterprises: Vec<EnterpriseJson<'a>>,
}

impl<'a> From<&'a Diff> for DiffJson<'a> {
    fn from(d: &'a Diff) -> Self {
        DiffJson {
            escalations: d.escalations,
            reductions: d.reductions,
            changes: d.changes,
            gained: d.gained.iter().map(AccessJson::from).collect(),
            lost: d.lost.iter().map(AccessJson::from).collect(),
            spaces: d.spaces.iter().map(SpaceJson::from).collect(),
            enterprises: d.enterprises.iter().map(EnterpriseJson::from).collect(),
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct AccessJson<'a> {
    space: &'a str,
    member: &'a str,
    grants: Vec<GrantJson<'a>>,
    channel: &'static str,
    anywhere: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    everywhere: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<LocationJson<'a>>,
    cause: CauseJson<'a>,
    summary: &'a str,
}

impl<'a> From<&'a AccessChange> for AccessJson<'a> {
    fn from(c: &'a AccessChange) -> Self {
        AccessJson {
            space: &c.space,
            member: &c.member,
            grants: c.grants.iter().map(GrantJson::from).collect(),
            channel: c.channel,
            anywhere: c.anywhere,
            everywhere: c.everywhere,
            locations: c.locations.iter().map(LocationJson::from).collect(),
            cause: CauseJson::from(&c.cause),
            summary: &c.summary,
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct GrantJson<'a> {
    permission: &'a str,
    level: &'static str,
}

impl<'a> From<&'a Grant> for GrantJson<'a> {
    fn from(g: &'a Grant) -> Self {
        GrantJson {
            permission: &g.permission,
            level: g.level,
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct LocationJson<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    and_below: bool,
}

impl<'a> From<&'a LocationReach> for LocationJson<'a> {
    fn from(l: &'a LocationReach) -> Self {
        LocationJson {
            id: &l.id,
            and_below: l.and_below,
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct CauseJson<'a> {
    kind: &'static str,
    text: &'a str,
}

impl<'a> From<&'a Cause> for CauseJson<'a> {
    fn from(c: &'a Cause) -> Self {
        CauseJson {
            kind: c.kind,
            text: &c.text,
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct SpaceJson<'a> {
    space: &'a str,
    status: &'static str,
    changes: Vec<ChangeJson<'a>>,
}

impl<'a> From<&'a SpaceDiff> for SpaceJson<'a> {
    fn from(s: &'a SpaceDiff) -> Self {
        SpaceJson {
            space: &s.space,
            status: s.status,
            changes: s.changes.iter().map(ChangeJson::from).collect(),
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct EnterpriseJson<'a> {
    enterprise: &'a str,
    changes: Vec<ChangeJson<'a>>,
}

impl<'a> From<&'a EnterpriseDiff> for EnterpriseJson<'a> {
    fn from(e: &'a EnterpriseDiff) -> Self {
        EnterpriseJson {
            enterprise: &e.enterprise,
            changes: e.changes.iter().map(ChangeJson::from).collect(),
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct ChangeJson<'a> {
    class: &'static str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permission: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reach: Option<ReachJson<'a>>,
    summary: &'a str,
}

impl<'a> From<&'a Change> for ChangeJson<'a> {
    fn from(c: &'a Change) -> Self {
        ChangeJson {
            class: match c.class {
                Class::Widens => "widens",
                Class::Narrows => "narrows",
                Class::Neutral => "neutral",
            },
            kind: c.kind,
            role: c.role.as_deref(),
            member: c.member.as_deref(),
            permission: c.permission.as_deref(),
            old: c.old.as_deref(),
            new: c.new.as_deref(),
            reason: c.reason.as_deref(),
            reach: c.reach.as_ref().map(ReachJson::from),
            summary: &c.summary,
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct ReachJson<'a> {
    members: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    downstream: Vec<DownstreamJson<'a>>,
}

impl<'a> From<&'a Reach> for ReachJson<'a> {
    fn from(r: &'a Reach) -> Self {
        ReachJson {
            members: r.members,
            downstream: r
                .downstream
                .iter()
                .map(|d: &'a DownstreamReach| DownstreamJson {
                    space: &d.space,
                    members: d.members,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct DownstreamJson<'a> {
    space: &'a str,
    members: usize,
}

/// The JSON Schema of `diff --format json` (docs/schema/diff.schema.json), from the types that
/// write it.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::default()
        .for_serialize()
        .into_generator();
    serde_json::to_value(generator.into_root_schema_for::<DiffJson<'static>>()).unwrap_or_default()
}

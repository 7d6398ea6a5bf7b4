//! Stage 3: the rules of SPEC §3 on the resolved IR, as a registry of lints.
//!
//! [`LINTS`] lists every code this stage reports with the one function that reports it
//! (after ruff's `codes.rs`): a new rule is a row and a function. Lints only read the IR and
//! the [`Facts`] computed once for all of them (effective values of the declared roles, the
//! cycles of the location-type and linked-space graphs), and never stop at the first problem.

mod cycles;
mod escalation;
mod hierarchy;
mod linked;
mod members;
mod roles;

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Ir, Role, RoleId, RoleRef, Space, SpaceId};
use crate::model::rules::Effective;

/// A lint: reports one code.
pub type Lint = fn(&Facts, &mut Vec<Diagnostic>);

/// Every code of this stage and the function that reports it.
pub const LINTS: &[(Code, Lint)] = &[
    (Code::LocationTypeCycle, hierarchy::location_type_cycle),
    (
        Code::LocationTypeMismatch,
        hierarchy::location_type_mismatch,
    ),
    (Code::RootLocationType, hierarchy::root_location_type),
    (Code::UpstreamCycle, linked::upstream_cycle),
    (Code::UpstreamChain, linked::upstream_chain),
    (Code::UpstreamServer, linked::upstream_server),
    (
        Code::RemoteUpstreamSameServer,
        linked::remote_upstream_same_server,
    ),
    (Code::UpstreamEnterprise, linked::upstream_enterprise),
    (Code::LiveFromTestUpstream, linked::live_from_test_upstream),
    (Code::UpstreamRoleRedefined, linked::upstream_role_redefined),
    (Code::UpstreamReportMissing, linked::upstream_report_missing),
    (
        Code::RolesAndPermissionsEdit,
        roles::roles_and_permissions_edit,
    ),
    (Code::PlanTooLow, roles::plan_too_low),
    (Code::HiddenPermission, roles::hidden_permission),
    (Code::ApiBypassesLocations, roles::api_bypasses_locations),
    (
        Code::SubPermissionRedundant,
        roles::sub_permission_redundant,
    ),
    (Code::SubPermissionNoEffect, roles::sub_permission_no_effect),
    (
        Code::DownloadWithoutReports,
        roles::download_without_reports,
    ),
    (Code::ApiNeedsPlan, roles::api_needs_plan),
    (Code::FeatureOff, roles::feature_off),
    (
        Code::LandingPageUnreachable,
        roles::landing_page_unreachable,
    ),
    (Code::UnreachableMember, members::unreachable_member),
    (Code::UnusedRole, members::unused_role),
    (Code::EscalationPath, escalation::escalation_path),
    (
        Code::EnterpriseAdminNoConsole,
        members::enterprise_admin_no_console,
    ),
];

/// What several lints need, computed once.
pub struct Facts<'ir> {
    pub ir: &'ir Ir,
    /// Per space, the cycles of its `location_types` (type indexes, from the earliest).
    type_cycles: Vec<Vec<Vec<usize>>>,
    /// Per space, per location type: on a cycle.
    type_on_cycle: Vec<Vec<bool>>,
    /// The cycles of `upstream` links (space indexes, from the earliest).
    space_cycles: Vec<Vec<usize>>,
    space_on_cycle: Vec<bool>,
    /// Every declared role with its effective values where it is declared.
    declared: Vec<(RoleRef, Effective)>,
}

/// A declared role, where it is declared, with its effective values there.
pub struct DeclaredRole<'a> {
    pub space_id: SpaceId,
    pub role_id: RoleId,
    pub space: &'a Space,
    pub role: &'a Role,
    pub effective: &'a Effective,
}

impl<'ir> Facts<'ir> {
    pub fn new(ir: &'ir Ir) -> Facts<'ir> {
        let type_cycles: Vec<Vec<Vec<usize>>> = ir
            .spaces
            .iter()
            .map(|s| {
                cycles::parent_cycles(s.location_types.len(), |t| {
                    s.location_types[t].parent.map(|(p, _)| p.index())
                })
            })
            .collect();
        let type_on_cycle = ir
            .spaces
            .iter()
            .zip(&type_cycles)
            .map(|(s, c)| cycles::on_cycle(s.location_types.len(), c))
            .collect();
        let space_cycles = cycles::parent_cycles(ir.spaces.len(), |s| {
            ir.spaces[s].upstream.map(|(up, _)| up.index())
        });
        let space_on_cycle = cycles::on_cycle(ir.spaces.len(), &space_cycles);
        let mut declared = Vec::new();
        for (i, space) in ir.spaces.iter().enumerate() {
            let space_id = SpaceId(i as u32);
            for (r, role) in space.roles.iter().enumerate() {
                if role.is_declared() {
                    let role_ref = RoleRef {
                        space: space_id,
                        role: RoleId(r as u32),
                    };
                    declared.push((role_ref, ir.effective(space_id, role_ref)));
                }
            }
        }
        Facts {
            ir,
            type_cycles,
            type_on_cycle,
            space_cycles,
            space_on_cycle,
            declared,
        }
    }

    /// Every declared role, in declaration order.
    pub fn declared_roles(&self) -> impl Iterator<Item = DeclaredRole<'_>> {
        self.declared.iter().map(|(r, effective)| DeclaredRole {
            space_id: r.space,
            role_id: r.role,
            space: self.ir.space(r.space),
            role: self.ir.role(*r),
            effective,
        })
    }
}

impl DeclaredRole<'_> {
    /// Where the role turns switch `p` on, if it does.
    pub fn turns_on(&self, p: crate::model::Permission) -> Option<crate::source::Span> {
        self.role
            .explicit(p)
            .filter(|_| self.role.declared.switch(p))
    }
}

/// Runs every lint.
pub fn check(ir: &Ir) -> Vec<Diagnostic> {
    let facts = Facts::new(ir);
    let mut diagnostics = Vec::new();
    for (_, lint) in LINTS {
        lint(&facts, &mut diagnostics);
    }
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Codes reported before this stage: syntax, names and values, and the two rules
    /// resolution decides (a redefined `admin` never reaches the IR; assertions are lowered
    /// there).
    fn reported_elsewhere(code: Code) -> bool {
        code.as_str() < "E0200" || matches!(code, Code::AdminRedefined | Code::UndeclaredMember)
    }

    /// Every ui case and bundled policy, compiled.
    fn corpus() -> Vec<Ir> {
        fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    files(&path, out);
                } else if path.extension().is_some_and(|e| e == "charter") {
                    out.push(path);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sets = Vec::new();
        let mut ui = Vec::new();
        files(&root.join("tests/ui"), &mut ui);
        sets.extend(ui.into_iter().map(|f| vec![f]));
        for policy in std::fs::read_dir(root.join("policies"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let mut policy_files = Vec::new();
            files(&policy.path(), &mut policy_files);
            sets.push(policy_files);
        }
        sets.into_iter()
            .map(|set| {
                let mut sources = crate::source::SourceSet::default();
                for f in set {
                    let text = std::fs::read_to_string(&f).unwrap_or_default();
                    sources.add(f.display().to_string(), text);
                }
                crate::compile(&sources).ir
            })
            .collect()
    }

    #[test]
    fn every_code_is_reported_by_exactly_one_lint_or_by_an_earlier_stage() {
        for &code in Code::ALL {
            let rows = LINTS.iter().filter(|(c, _)| *c == code).count();
            assert_eq!(
                rows,
                usize::from(!reported_elsewhere(code)),
                "{code}: {rows} rows"
            );
        }
        // Each lint reports its own code only, and each is seen on the ui cases.
        let corpus = corpus();
        assert!(corpus.len() > 50, "the ui cases were not found");
        let mut seen = std::collections::HashSet::new();
        for ir in &corpus {
            let facts = Facts::new(ir);
            for (code, lint) in LINTS {
                let mut out = Vec::new();
                lint(&facts, &mut out);
                for d in &out {
                    assert_eq!(d.code, *code, "{}", d.message);
                    seen.insert(*code);
                }
            }
        }
        for (code, _) in LINTS {
            assert!(seen.contains(code), "no ui case reports {code}");
        }
    }
}

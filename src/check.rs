//! Stage 3: the rules of SPEC §3 on the resolved IR.
//!
//! Each pass is a free function `fn(&Ir, &mut Vec<Diagnostic>)`; [`PASSES`] is the one place
//! that lists them. Passes only read the IR and never stop at the first problem.

mod hierarchy;
mod linked;
mod members;
mod roles;

use crate::diagnostic::Diagnostic;
use crate::ir::Ir;

type Pass = fn(&Ir, &mut Vec<Diagnostic>);

/// Every pass, in order.
pub const PASSES: &[(&str, Pass)] = &[
    ("location hierarchy", hierarchy::check),
    ("linked spaces", linked::check),
    ("roles", roles::check),
    ("members", members::check),
];

/// Runs every pass.
pub fn check(ir: &Ir) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for (_, pass) in PASSES {
        pass(ir, &mut diagnostics);
    }
    diagnostics
}

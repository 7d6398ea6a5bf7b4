//! Cycles of a parent-pointer graph (location types `in` their parent type, spaces linked to
//! their upstream), found with petgraph's strongly connected components and reported with a
//! label on every edge.

use petgraph::graph::{DiGraph, NodeIndex};

use crate::diagnostic::suggest::CYCLE_LABELS;
#[cfg(doc)]
use crate::diagnostic::suggest::cycle_text;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;

/// The cycles of the graph whose node `i` has the parent `parent(i)`: each listed from its
/// smallest node along the parent links, in the order petgraph finds them.
pub fn parent_cycles(len: usize, parent: impl Fn(usize) -> Option<usize>) -> Vec<Vec<usize>> {
    // Edge child -> parent.
    let mut graph: DiGraph<usize, ()> = DiGraph::with_capacity(len, len);
    let nodes: Vec<NodeIndex> = (0..len).map(|i| graph.add_node(i)).collect();
    for i in 0..len {
        if let Some(p) = parent(i) {
            graph.add_edge(nodes[i], nodes[p], ());
        }
    }
    let mut cycles = Vec::new();
    for scc in petgraph::algo::tarjan_scc(&graph) {
        let self_loop = scc.len() == 1 && graph.contains_edge(scc[0], scc[0]);
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let first = scc.iter().map(|n| graph[*n]).min().unwrap_or(0);
        // Each node has one parent, so the walk from `first` returns to it within the SCC.
        let mut path = vec![first];
        let mut cur = first;
        while let Some(p) = parent(cur) {
            if p == first || path.len() > scc.len() {
                break;
            }
            path.push(p);
            cur = p;
        }
        cycles.push(path);
    }
    cycles
}

/// Per node: on one of `cycles`.
pub fn on_cycle(len: usize, cycles: &[Vec<usize>]) -> Vec<bool> {
    let mut on = vec![false; len];
    for &n in cycles.iter().flatten() {
        on[n] = true;
    }
    on
}

/// One diagnostic for a cycle, its first edges labelled (`edge` gives the span and label of
/// node `n`'s parent link). Messages show the cycle with [`cycle_text`].
pub fn cycle_diagnostic(
    code: Code,
    message: String,
    cycle: &[usize],
    edge: impl Fn(usize) -> Option<(Span, String)>,
) -> Diagnostic {
    let mut d = Diagnostic::new(code, message);
    for &n in cycle.iter().take(CYCLE_LABELS) {
        if let Some((span, label)) = edge(n) {
            d = d.with_label(span, label);
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_cycle_once_from_its_smallest_node() {
        // 0 -> 1 -> 2 -> 0, 3 -> 3, 4 -> 0, 5 root.
        let parents = [Some(1), Some(2), Some(0), Some(3), Some(0), None];
        let mut cycles = parent_cycles(parents.len(), |i| parents[i]);
        cycles.sort();
        assert_eq!(cycles, vec![vec![0, 1, 2], vec![3]]);
        assert_eq!(
            on_cycle(6, &cycles),
            vec![true, true, true, true, false, false]
        );
    }
}

//! Recursive hierarchies (`Group/Parent`): a group's instances arranged as a tree by the
//! parent expression, in pre-order (each instance followed by its descendants, siblings in
//! the group's sort order), each frame knowing its depth (`Level()`) and the rows of its
//! subtree (`Sum(..., Recursive)`). Must not: change how instances are built or sorted.

use std::collections::HashMap;
use std::sync::Arc;

use rdl::expr::{self, Scope};
use rdl::model;

use super::{Ev, Frame, Shared, eval_err, value_key};
use crate::EngineError;

/// Group instances: their rows and frames, in display order.
type Instances = Vec<(Arc<[u32]>, Frame)>;

impl Shared {
    /// Reorders the sorted instances `out` of the recursive group `g` (which has a
    /// `Parent`) into pre-order and sets each frame's level and subtree rows. An instance
    /// whose parent value matches no instance (or NULL) is a root; instances caught in a
    /// cycle become roots too.
    pub(super) fn recursive_order(
        &self,
        g: &model::Group,
        parent: &model::Expression,
        frames: &[Frame],
        out: Instances,
    ) -> Result<Instances, EngineError> {
        let Some(key_expr) = g.group_expressions.first() else {
            return Ok(out);
        };
        let kx = self.c.expr(key_expr)?;
        let px = self.c.expr(parent)?;
        let n = out.len();
        let mut keys: HashMap<String, usize> = HashMap::with_capacity(n);
        let mut parents: Vec<Option<String>> = Vec::with_capacity(n);
        for (i, (_, f)) in out.iter().enumerate() {
            let mut fr = frames.to_vec();
            fr.push(f.clone());
            let ev = self.ev(&fr, None);
            let k = expr::eval(&kx, &ev)
                .map_err(|e| eval_err(&format!("the group expression of {}", g.name), e))?;
            keys.entry(value_key(&k)).or_insert(i);
            let p = expr::eval(&px, &ev)
                .map_err(|e| eval_err(&format!("the Parent expression of {}", g.name), e))?;
            parents.push((!p.is_null()).then(|| value_key(&p)));
        }
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut is_root = vec![true; n];
        for (i, p) in parents.iter().enumerate() {
            if let Some(&pi) = p.as_ref().and_then(|p| keys.get(p))
                && pi != i
            {
                children[pi].push(i);
                is_root[i] = false;
            }
        }
        // pre-order with an explicit stack (deep hierarchies must not overflow the stack)
        let mut order: Vec<(usize, usize)> = Vec::with_capacity(n);
        let mut seen = vec![false; n];
        let roots: Vec<usize> = (0..n).filter(|&i| is_root[i]).collect();
        let visit = |start: usize, order: &mut Vec<(usize, usize)>, seen: &mut [bool]| {
            let mut stack = vec![(start, 0usize)];
            while let Some((i, depth)) = stack.pop() {
                if seen[i] {
                    continue;
                }
                seen[i] = true;
                order.push((i, depth));
                for &c in children[i].iter().rev() {
                    stack.push((c, depth + 1));
                }
            }
        };
        for r in roots {
            visit(r, &mut order, &mut seen);
        }
        for i in 0..n {
            if !seen[i] {
                visit(i, &mut order, &mut seen);
            }
        }
        // subtree rows: a node's own rows, then its descendants' (they follow it in order)
        let mut depth_of = vec![usize::MAX; n];
        for &(i, d) in &order {
            depth_of[i] = d;
        }
        let mut subtree: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut total = 0usize;
        for &(i, depth) in order.iter().rev() {
            let mut rows = out[i].0.to_vec();
            for &c in &children[i] {
                if depth_of[c] == depth + 1 {
                    rows.extend_from_slice(&subtree[c]);
                }
            }
            total += rows.len();
            if total > self.opts.max_cells {
                return Err(EngineError::Limit {
                    limit: "cells",
                    max: self.opts.max_cells,
                    fix: "the recursive hierarchy is too deep for its size: filter the data",
                });
            }
            subtree[i] = rows;
        }
        let mut slots: Vec<Option<(Arc<[u32]>, Frame)>> = out.into_iter().map(Some).collect();
        let mut result = Vec::with_capacity(n);
        for (i, depth) in order {
            if let Some((rows, mut f)) = slots[i].take() {
                f.level = depth;
                f.recursive_rows = Some(std::mem::take(&mut subtree[i]).into());
                result.push((rows, f));
            }
        }
        Ok(result)
    }
}

impl Ev<'_> {
    /// `Level([scope])`: the depth of the named (or innermost recursive) group instance.
    pub(super) fn recursive_level(&self, scope: &Scope) -> usize {
        let f = match scope {
            Scope::Named(n) => self.frames.iter().rev().find(|f| &*f.name == n.as_str()),
            _ => self
                .frames
                .iter()
                .rev()
                .find(|f| f.recursive_rows.is_some()),
        };
        f.map(|f| f.level).unwrap_or(0)
    }
}

//! Random datadeps programs and their sequential meaning, shared by the threads-only
//! differential test (`datadeps.rs`) and the one on worker processes (the facade's
//! `tests/main/datadeps_cluster.rs`, which includes this file by path).

use dagger_core::Extent;
use proptest::prelude::*;

/// One access of a random program: object, extent, and 0 = In, 1 = Out, 2 = InOut.
#[derive(Clone, Debug)]
pub(crate) struct Acc {
    pub(crate) object: usize,
    pub(crate) extent: Extent,
    pub(crate) mode: u8,
}

pub(crate) const SHAPE: [usize; 2] = [4, 3];

fn acc(objects: usize) -> impl Strategy<Value = Acc> {
    let r = (0usize..=4, 0usize..=4).prop_map(|(a, b)| a.min(b)..a.max(b));
    let c = (0usize..=3, 0usize..=3).prop_map(|(a, b)| a.min(b)..a.max(b));
    let extent = prop_oneof![
        Just(Extent::Whole),
        (r.clone(), c.clone()).prop_map(|(r, c)| Extent::rect(r, c)),
        r.prop_map(Extent::rows),
        c.prop_map(Extent::cols),
        any::<bool>().prop_map(Extent::upper),
        any::<bool>().prop_map(Extent::lower),
        Just(Extent::Diagonal),
    ];
    (0..objects, extent, 0u8..3).prop_map(|(object, extent, mode)| Acc {
        object,
        extent,
        mode,
    })
}

/// A task of the program: its accesses, one per object (a task names an object once).
pub(crate) fn program() -> impl Strategy<Value = (usize, Vec<Vec<Acc>>)> {
    (1usize..=8).prop_flat_map(|n| {
        let task = proptest::collection::vec(acc(n), 1..4).prop_map(|mut v| {
            let mut seen = Vec::new();
            v.retain(|a| {
                let fresh = !seen.contains(&a.object);
                seen.push(a.object);
                fresh
            });
            v
        });
        (Just(n), proptest::collection::vec(task, 1..100))
    })
}

/// What task `t` does: reads a checksum of every element it reads, then writes a value
/// derived from it into every element it writes. Returns the checksum.
pub(crate) fn body(t: usize, accs: &[Acc], objects: &mut [&mut Vec<i64>]) -> i64 {
    let span = |e: &Extent| e.span(Some(SHAPE));
    let mut sum = t as i64;
    for (a, v) in accs.iter().zip(objects.iter()) {
        if a.mode != 1 {
            let s = span(&a.extent);
            for r in 0..SHAPE[0] {
                for c in 0..SHAPE[1] {
                    if s.contains(r, c) {
                        sum = sum.wrapping_mul(31).wrapping_add(v[r * SHAPE[1] + c]);
                    }
                }
            }
        }
    }
    for (a, v) in accs.iter().zip(objects.iter_mut()) {
        if a.mode != 0 {
            let s = span(&a.extent);
            for r in 0..SHAPE[0] {
                for c in 0..SHAPE[1] {
                    if s.contains(r, c) {
                        v[r * SHAPE[1] + c] = sum.wrapping_add((r * 7 + c) as i64);
                    }
                }
            }
        }
    }
    sum
}

pub(crate) fn run_sequential(n: usize, prog: &[Vec<Acc>]) -> (Vec<Vec<i64>>, Vec<i64>) {
    let mut objs: Vec<Vec<i64>> = (0..n).map(|i| vec![i as i64; 12]).collect();
    let mut sums = Vec::new();
    for (t, accs) in prog.iter().enumerate() {
        // Take the named objects out, run, put them back.
        let mut taken: Vec<Vec<i64>> = accs
            .iter()
            .map(|a| std::mem::take(&mut objs[a.object]))
            .collect();
        let mut refs: Vec<&mut Vec<i64>> = taken.iter_mut().collect();
        sums.push(body(t, accs, &mut refs));
        for (a, v) in accs.iter().zip(taken) {
            objs[a.object] = v;
        }
    }
    (objs, sums)
}

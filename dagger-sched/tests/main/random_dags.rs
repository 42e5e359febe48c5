//! Random DAGs (up to ~2 000 nodes, random fan-in, random failing nodes) against a plain
//! sequential evaluation: every value and every error must agree.

use dagger_core::Error;
use dagger_sched::{All, Context, DTask};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Node {
    inputs: Vec<usize>,
    fails: bool,
}

fn dag(max: usize) -> impl Strategy<Value = Vec<Node>> {
    (1..max).prop_flat_map(|n| {
        proptest::collection::vec(
            (
                proptest::collection::vec(any::<prop::sample::Index>(), 0..5),
                proptest::bool::weighted(0.03),
            ),
            n,
        )
        .prop_map(|raw| {
            raw.into_iter()
                .enumerate()
                .map(|(i, (ins, fails))| Node {
                    inputs: if i == 0 {
                        vec![]
                    } else {
                        ins.iter().map(|x| x.index(i)).collect()
                    },
                    fails,
                })
                .collect()
        })
    })
}

/// The expected outcome: a value, or the index of the root failing node.
fn sequential(nodes: &[Node]) -> Vec<Result<u64, usize>> {
    let mut out: Vec<Result<u64, usize>> = Vec::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        let r = match n.inputs.iter().map(|&j| out[j]).find(|r| r.is_err()) {
            Some(Err(root)) => Err(root),
            _ if n.fails => Err(i),
            _ => Ok(n
                .inputs
                .iter()
                .map(|&j| out[j].unwrap_or(0))
                .fold(i as u64, u64::wrapping_add)),
        };
        out.push(r);
    }
    out
}

fn run(ctx: &Context, nodes: &[Node]) {
    let mut tasks: Vec<DTask<u64>> = Vec::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        let ins = All(n.inputs.iter().map(|&j| tasks[j].clone()).collect());
        let fails = n.fails;
        let t = ctx.try_spawn(
            move |(vals,): (Vec<u64>,)| {
                if fails {
                    Err(format!("node {i} fails"))
                } else {
                    Ok(vals.into_iter().fold(i as u64, u64::wrapping_add))
                }
            },
            (ins,),
        );
        tasks.push(t);
    }
    let expected = sequential(nodes);
    for (i, (t, e)) in tasks.iter().zip(&expected).enumerate() {
        match (t.fetch(), e) {
            (Ok(v), Ok(w)) => assert_eq!(v, *w, "node {i}"),
            (Err(Error::TaskFailed { task, root }), Err(r)) => {
                assert_eq!(task, t.id(), "node {i}");
                assert_eq!(root.task, tasks[*r].id(), "node {i}: root");
                assert!(root.error.to_string().contains(&format!("node {r} fails")));
            }
            (got, want) => panic!("node {i}: got {got:?}, want {want:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_dags_match_sequential_evaluation(nodes in dag(2000), threads in 1usize..4) {
        let ctx = Context::builder().threads(threads).build();
        run(&ctx, &nodes);
    }
}

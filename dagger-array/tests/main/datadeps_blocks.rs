//! A user's own datadeps region over a DArray's blocks (`update_blocks`): random programs of
//! tasks on blocks and views of blocks against the same program run in order on ndarray,
//! whole-array arguments, and what a failed region leaves.

use dagger_array::{Blocks, DArray, TrackedBlocks};
use dagger_core::Extent;
use dagger_sched::{Context, Error, In, InOut, Out};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use std::sync::OnceLock;

fn ctx() -> &'static Context {
    static C: OnceLock<Context> = OnceLock::new();
    C.get_or_init(|| Context::builder().threads(2).build())
}

/// Which part of a block a step writes.
#[derive(Clone, Copy, Debug)]
enum Part {
    Whole,
    Rows(usize),
    Cols(usize),
    Upper,
    Lower,
    Diagonal,
}

impl Part {
    fn extent(self, [r, c]: [usize; 2]) -> Extent {
        match self {
            Part::Whole => Extent::Whole,
            Part::Rows(k) => Extent::rows(0..k.min(r)),
            Part::Cols(k) => Extent::cols(c - k.min(c)..c),
            Part::Upper => Extent::upper(true),
            Part::Lower => Extent::lower(false),
            Part::Diagonal => Extent::Diagonal,
        }
    }

    fn contains(self, [r, c]: [usize; 2], i: usize, j: usize) -> bool {
        match self {
            Part::Whole => true,
            Part::Rows(k) => i < k.min(r),
            Part::Cols(k) => j >= c - k.min(c),
            Part::Upper => i <= j,
            Part::Lower => i > j,
            Part::Diagonal => i == j,
        }
    }
}

/// One task of a random program: block `dst`'s `part` becomes `0.5·x + mean(src) + k`, or
/// every block gains `k` (a task naming the whole array).
#[derive(Clone, Debug)]
enum Step {
    Update {
        dst: usize,
        part: Part,
        src: Option<usize>,
        k: f64,
    },
    All(f64),
}

fn update(x: &mut ArrayD<f64>, part: Part, mean: f64, k: f64) {
    let [r, c] = [x.shape()[0], x.shape()[1]];
    for ((i, j), v) in x
        .view_mut()
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap()
        .indexed_iter_mut()
    {
        if part.contains([r, c], i, j) {
            *v = 0.5 * *v + mean + k;
        }
    }
}

fn spawn_step(ctx: &Context, b: &TrackedBlocks<f64>, step: &Step) {
    match *step {
        Step::Update { dst, part, src, k } => {
            let d = &b[dst];
            let shape = d.shape().unwrap();
            let view = d.view(part.extent(shape));
            match src {
                Some(s) => {
                    ctx.spawn(
                        move |(mut x, y)| update(&mut x, part, y.mean().unwrap_or(0.0), k),
                        (InOut(&view), In(&b[s])),
                    );
                }
                None => {
                    ctx.spawn(
                        move |(mut x,)| update(&mut x, part, 0.0, k),
                        (InOut(&view),),
                    );
                }
            }
        }
        Step::All(k) => {
            ctx.spawn(
                move |(mut all,)| {
                    for x in all.iter_mut() {
                        x.mapv_inplace(|v| v + k);
                    }
                },
                (InOut(b),),
            );
        }
    }
}

fn reference(blocks: &mut [ArrayD<f64>], step: &Step) {
    match *step {
        Step::Update { dst, part, src, k } => {
            let mean = src.map_or(0.0, |s| blocks[s].mean().unwrap_or(0.0));
            update(&mut blocks[dst], part, mean, k);
        }
        Step::All(k) => blocks.iter_mut().for_each(|x| x.mapv_inplace(|v| v + k)),
    }
}

fn step(nblocks: usize) -> impl Strategy<Value = Step> {
    let part = prop_oneof![
        Just(Part::Whole),
        (1usize..4).prop_map(Part::Rows),
        (1usize..4).prop_map(Part::Cols),
        Just(Part::Upper),
        Just(Part::Lower),
        Just(Part::Diagonal),
    ];
    let k = (-3i32..4).prop_map(f64::from);
    prop_oneof![
        8 => (0..nblocks, part, prop::option::of(0..nblocks), k.clone()).prop_map(
            |(dst, part, src, k)| Step::Update { dst, part, src: src.filter(|s| *s != dst), k }
        ),
        1 => k.prop_map(Step::All),
    ]
}

fn program() -> impl Strategy<Value = ([usize; 2], [usize; 2], Vec<Step>)> {
    ((2usize..9, 2usize..9), (1usize..5, 1usize..5)).prop_flat_map(|((m, n), (bm, bn))| {
        let nblocks = m.div_ceil(bm) * n.div_ceil(bn);
        (
            Just([m, n]),
            Just([bm, bn]),
            prop::collection::vec(step(nblocks), 1..60),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn datadeps_block_programs_match_running_them_in_order((shape, block, steps) in program()) {
        let start = ArrayD::from_shape_fn(IxDyn(&shape), |i| (i[0] * 10 + i[1]) as f64);
        let mut a = DArray::from_array(start.clone(), &Blocks::from(block)).unwrap();
        let mut want: Vec<ArrayD<f64>> =
            a.tracked_blocks(ctx()).unwrap().iter().map(|d| d.get().unwrap()).collect();
        steps.iter().for_each(|s| reference(&mut want, s));
        a.update_blocks(ctx(), |b| steps.iter().for_each(|s| spawn_step(ctx(), b, s))).unwrap();
        let got: Vec<ArrayD<f64>> =
            a.tracked_blocks(ctx()).unwrap().iter().map(|d| d.get().unwrap()).collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn datadeps_whole_array_argument_orders_against_every_block() {
    // Each block's task writes it, then one task reads all of them: the reader sees every
    // write, whichever order the pool ran them in.
    let mut a = DArray::<f64>::zeros(&Blocks::new([2, 2]).unwrap(), &[6, 6]).unwrap();
    let total = a
        .update_blocks(ctx(), |b| {
            for (i, d) in b.iter().enumerate() {
                ctx().spawn(move |(mut x,)| x.fill(i as f64 + 1.0), (Out(d),));
            }
            ctx().spawn(|(all,)| all.iter().map(|x| x.sum()).sum::<f64>(), (In(b),))
        })
        .unwrap();
    assert_eq!(total.fetch().unwrap(), 4.0 * (1..=9).sum::<i32>() as f64);
    assert_eq!(a.collect_dense(ctx()).unwrap()[[5, 5]], 9.0);
}

#[test]
fn datadeps_a_failed_block_region_leaves_the_array_unchanged() {
    let part = Blocks::new([2, 2]).unwrap();
    let mut a = DArray::<f64>::ones(&part, &[4, 4]).unwrap();
    let err = a
        .update_blocks(ctx(), |b| {
            ctx().spawn(|(mut x,)| x.fill(5.0), (InOut(&b[[0, 0]]),));
            ctx().try_spawn(|(_x,)| Err::<(), _>("boom"), (InOut(&b[[1, 1]]),));
        })
        .unwrap_err();
    assert!(err.to_string().contains("boom"), "{err}");
    assert_eq!(
        a.collect_dense(ctx()).unwrap(),
        ArrayD::<f64>::ones(IxDyn(&[4, 4]))
    );
}

#[test]
fn datadeps_a_block_left_with_the_wrong_shape_is_a_typed_error() {
    let mut a = DArray::<f64>::ones(&Blocks::new([2, 2]).unwrap(), &[4, 4]).unwrap();
    let err = a
        .update_blocks(ctx(), |b| {
            ctx().spawn(
                |(mut x,)| *x = ArrayD::zeros(IxDyn(&[3, 3])),
                (Out(&b[[0, 1]]),),
            );
        })
        .unwrap_err();
    assert!(
        matches!(&err, Error::DimensionMismatch(m) if m.contains("[0, 1]") && m.contains("[3, 3]")),
        "{err}"
    );
    assert_eq!(a.collect_dense(ctx()).unwrap().sum(), 16.0);
}

#[test]
fn datadeps_sparse_blocks_become_dense_and_views_are_checked() {
    let mut s =
        DArray::<f64>::sprand_seeded(&Blocks::new([3, 3]).unwrap(), &[6, 6], 0.3, 4).unwrap();
    let want = s.collect_dense(ctx()).unwrap().mapv(|v| v + 1.0);
    s.update_blocks(ctx(), |b| {
        for d in b.iter() {
            ctx().spawn(|(mut x,)| x.mapv_inplace(|v| v + 1.0), (InOut(d),));
        }
    })
    .unwrap();
    assert_eq!(s.collect_dense(ctx()).unwrap(), want);
    // A view past the block's rows is a typed error naming it, and the array is unchanged.
    let err = s
        .update_blocks(ctx(), |b| {
            ctx().spawn(|(mut x,)| x.fill(0.0), (InOut(&b[[0, 0]].rows(2..7)),));
        })
        .unwrap_err();
    assert!(err.to_string().contains("2..7"), "{err}");
    assert_eq!(s.collect_dense(ctx()).unwrap(), want);
    assert!(s.tracked_blocks(ctx()).unwrap().get(&[2, 0]).is_none());
}

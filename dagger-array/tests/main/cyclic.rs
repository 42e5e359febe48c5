//! Block-cyclic process grids in one process: the owner pattern and the typed errors.

use dagger_array::cyclic::ProcessGrid;
use dagger_array::{BlockGrid, Blocks, DArray};
use dagger_core::{Error, WorkerId};
use dagger_sched::Context;

#[test]
fn owners_follow_the_block_cyclic_pattern() {
    let w = |i| WorkerId(i);
    let pg = ProcessGrid::new(vec![w(2), w(3), w(4), w(5), w(6), w(7)], 2, 3).unwrap();
    assert_eq!(pg.shape(), (2, 3));
    let g = BlockGrid::new(&[9, 8], &Blocks::new([2, 2]).unwrap(), 1).unwrap();
    let got = pg.placement(&g);
    for (c, o) in g.iter_coords().zip(&got) {
        assert_eq!(
            *o,
            w(2 + (c[0] % 2) as u32 * 3 + (c[1] % 3) as u32),
            "{c:?}"
        );
    }
    // A 1-D array deals its blocks over the grid's first column.
    assert_eq!(pg.owner(&[3]), w(5));
    assert!(matches!(
        ProcessGrid::new(vec![w(2)], 1, 2),
        Err(Error::Argument(_))
    ));
    assert!(matches!(
        ProcessGrid::new(vec![], 0, 0),
        Err(Error::Argument(_))
    ));
}

#[test]
fn a_context_without_workers_places_everything_on_the_driver() {
    let ctx = Context::builder().threads(2).build();
    let pg = ProcessGrid::of(&ctx, 2, 2).unwrap();
    let x = DArray::<f64>::rand_cyclic(&Blocks::new([3, 3]).unwrap(), &[7, 5], 1, &pg)
        .unwrap()
        .compute(&ctx)
        .unwrap();
    assert!(x
        .chunks()
        .unwrap()
        .iter()
        .all(|c| c.owner() == WorkerId::DRIVER));
    let same = DArray::<f64>::rand_seeded(&Blocks::new([3, 3]).unwrap(), &[7, 5], 1).unwrap();
    assert_eq!(
        x.collect_dense(&ctx).unwrap(),
        same.collect_dense(&ctx).unwrap()
    );
}

//! The former unit tests of `src/mem.rs` (`unit`'s doc says why they moved).

use dagger_array::__private::spares;
use dagger_array::mem::*;
use dagger_array::Block;
use ndarray::ArrayD;

/// A block of `len` f64 values held and dropped.
fn drop_block(len: usize) {
    let mut v = take_buffer::<f64>(len);
    v.resize(len, 1.0);
    let b = ArrayD::from_shape_vec(vec![len], v).map(Block::Dense);
    drop(b.map(Held::new));
}

#[test]
fn dropped_blocks_of_asked_sizes_are_recycled_others_freed() {
    // The pool is process-wide: the other tests of this binary fill and drain it.
    if crate::alone::rerun(
        module_path!(),
        "dropped_blocks_of_asked_sizes_are_recycled_others_freed",
    ) {
        return;
    }
    // Sizes no other test asks for (the pool is process-wide).
    let asked = (1 << 20) / 8 + 17;
    drop_block(asked);
    assert_eq!(spares::<f64>(asked), 1, "kept for the next request");
    let v = take_buffer::<f64>(asked);
    assert!(v.is_empty() && v.capacity() >= asked);
    assert_eq!(spares::<f64>(asked), 0, "handed out");
    drop(v);

    let never = (1 << 21) / 8 + 29;
    let b = Held::new(Block::Dense(ArrayD::<f64>::zeros(vec![never])));
    drop(b);
    assert_eq!(spares::<f64>(never), 0, "a size nobody asked for is freed");
    assert_eq!(spares::<f32>(asked), 0, "pooled by element type");

    // Small buffers are left to the allocator.
    drop_block(100);
    assert_eq!(spares::<f64>(100), 0);
}

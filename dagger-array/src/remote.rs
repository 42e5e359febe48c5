//! The registered entry points of the block kernels: per element type, one function per
//! number of input blocks, so every named array operation runs on any process of a cluster.
//!
//! A closure can only run in the process that made it; a registered function is known by
//! name to every process of the executable. Each entry point takes a [`Kernel`] (what to do,
//! sent as a plain argument) and its input blocks, and runs [`kernel::run`] or
//! [`kernel::run_partial`]. Generic code finds the entry points of its element type through
//! [`Element::kernels`](crate::Element), e.g. `ctx.spawn_fn(T::kernels().k1, (Val(k), block))`;
//! on a context without a cluster `spawn_fn` calls the function in place, encoding nothing.
//!
//! ```
//! use dagger_array::{kernel::Kernel, Element};
//! use dagger_sched::Val;
//! let ctx = dagger_sched::Context::builder().threads(1).build();
//! let k = Kernel::<f32>::Fill { shape: vec![3], value: 2.0 };
//! let b = ctx.spawn_fn(f32::kernels().k0, (Val(k),)).fetch().unwrap().unwrap();
//! assert_eq!(b.to_dense().sum(), 6.0);
//! assert!(dagger_sched::registered_names().iter().any(|n| n.ends_with("remote::k2_u64")));
//! ```

use crate::darray::{held, BlockValue};
use crate::element::Element;
use crate::io::{self, SavedBlock};
use crate::kernel::{self, Kernel};
use dagger_core::Result;
use dagger_sched::Registered;
use std::path::{Path, PathBuf};

/// A kernel taking no block.
pub type K0<T> = Registered<(Kernel<T>,), BlockValue<T>>;
/// A kernel taking one block.
pub type K1<T> = Registered<(Kernel<T>, BlockValue<T>), BlockValue<T>>;
/// A kernel taking two blocks.
pub type K2<T> = Registered<(Kernel<T>, BlockValue<T>, BlockValue<T>), BlockValue<T>>;
/// A kernel taking three blocks.
pub type K3<T> =
    Registered<(Kernel<T>, BlockValue<T>, BlockValue<T>, BlockValue<T>), BlockValue<T>>;
/// A kernel taking four blocks.
pub type K4<T> = Registered<
    (
        Kernel<T>,
        BlockValue<T>,
        BlockValue<T>,
        BlockValue<T>,
        BlockValue<T>,
    ),
    BlockValue<T>,
>;
/// A kernel taking five blocks.
pub type K5<T> = Registered<
    (
        Kernel<T>,
        BlockValue<T>,
        BlockValue<T>,
        BlockValue<T>,
        BlockValue<T>,
        BlockValue<T>,
    ),
    BlockValue<T>,
>;
/// A kernel taking any number of blocks (on a cluster the blocks travel through the driver,
/// so the fixed arities are used up to five).
pub type KAll<T> = Registered<(Kernel<T>, Vec<BlockValue<T>>), BlockValue<T>>;
/// A partial reduction of one block.
pub type P1<T> = Registered<(Kernel<T>, BlockValue<T>), Result<Option<T>>>;
/// A partial reduction of two blocks (a fused chain over two leaves).
pub type P2<T> = Registered<(Kernel<T>, BlockValue<T>, BlockValue<T>), Result<Option<T>>>;
/// A partial reduction of three blocks.
pub type P3<T> =
    Registered<(Kernel<T>, BlockValue<T>, BlockValue<T>, BlockValue<T>), Result<Option<T>>>;
/// A partial reduction of four blocks.
pub type P4<T> = Registered<
    (
        Kernel<T>,
        BlockValue<T>,
        BlockValue<T>,
        BlockValue<T>,
        BlockValue<T>,
    ),
    Result<Option<T>>,
>;
/// A partial reduction of any number of blocks (through the driver on a cluster).
pub type PAll<T> = Registered<(Kernel<T>, Vec<BlockValue<T>>), Result<Option<T>>>;

/// A comparison of one block.
pub type C1<T> = Registered<(Kernel<T>, BlockValue<T>), BlockValue<u8>>;
/// A comparison of two blocks.
pub type C2<T> = Registered<(Kernel<T>, BlockValue<T>, BlockValue<T>), BlockValue<u8>>;

/// The moments of one block (for `var`).
pub type M1<T> = Registered<(Kernel<T>, BlockValue<T>), Result<kernel::Moments>>;

/// Writes one block of an array being saved at a path (where the block lives) and returns
/// only its small record for the metadata file.
pub type Save<T> = Registered<(PathBuf, usize, BlockValue<T>), Result<SavedBlock>>;
/// Reads (and checks) one block of an array saved at a path, from its metadata entry and
/// shape: the block stays in the process that read it.
pub type Load<T> = Registered<(PathBuf, SavedBlock, Vec<usize>), BlockValue<T>>;

/// The registered kernels of one element type.
pub struct KernelSet<T: Element> {
    /// No input block.
    pub k0: K0<T>,
    /// One input block.
    pub k1: K1<T>,
    /// Two input blocks.
    pub k2: K2<T>,
    /// Three input blocks.
    pub k3: K3<T>,
    /// Four input blocks.
    pub k4: K4<T>,
    /// Five input blocks.
    pub k5: K5<T>,
    /// Any number of input blocks.
    pub kall: KAll<T>,
    /// A partial reduction of one block.
    pub p1: P1<T>,
    /// A partial reduction over two blocks.
    pub p2: P2<T>,
    /// A partial reduction over three blocks.
    pub p3: P3<T>,
    /// A partial reduction over four blocks.
    pub p4: P4<T>,
    /// A partial reduction over any number of blocks.
    pub pall: PAll<T>,
    /// A comparison of one block (with a scalar).
    pub c1: C1<T>,
    /// A comparison of two blocks.
    pub c2: C2<T>,
    /// The moments of one block.
    pub m1: M1<T>,
    /// Save one block.
    pub save: Save<T>,
    /// Load one block.
    pub load: Load<T>,
}

impl<T: Element> Clone for KernelSet<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Element> Copy for KernelSet<T> {}

/// The size of a block value: its elements' bytes (an error holds none).
fn block_size<T: Element>(v: &BlockValue<T>) -> u64 {
    v.as_ref().map(|b| b.nbytes() as u64).unwrap_or(0)
}

/// Registers the size of every element type's block value with the scheduler's size
/// registry, once per process. Every kernel entry point calls it, so a worker process that
/// keeps a block it made knows its size in O(1) instead of estimating it by walking the
/// elements; the driver calls it when it computes.
pub fn register_block_sizes() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        macro_rules! sizes {
            ($($t:ty),*) => {$(
                dagger_sched::register_size::<BlockValue<$t>>(block_size::<$t>);
            )*};
        }
        sizes!(f32, f64, i8, i16, i32, i64, u8, u16, u32, u64);
    });
}

fn blocks<T: Element>(vs: Vec<BlockValue<T>>) -> Result<Vec<std::sync::Arc<crate::mem::Held<T>>>> {
    vs.into_iter().collect()
}

/// Runs a block kernel on block values (the first failed input's error flows on).
pub fn block<T: Element>(k: &Kernel<T>, vs: Vec<BlockValue<T>>) -> BlockValue<T> {
    register_block_sizes();
    kernel::run(k, blocks(vs)?).map(held)
}

/// Runs a comparison kernel on block values.
pub fn compare<T: Element>(k: &Kernel<T>, vs: Vec<BlockValue<T>>) -> BlockValue<u8> {
    register_block_sizes();
    kernel::run_compare(k, blocks(vs)?).map(held)
}

/// Runs a partial-reduction kernel on block values.
pub fn partial<T: Element>(k: &Kernel<T>, vs: Vec<BlockValue<T>>) -> Result<Option<T>> {
    kernel::run_partial(k, blocks(vs)?)
}

macro_rules! register_kernels {
    ($($t:ident),*) => {$(paste::paste! {
        dagger_sched::register! {
            #[doc = concat!("Block kernel of `", stringify!($t), "` on no block.")]
            pub fn [<k0_ $t>](k: Kernel<$t>) -> BlockValue<$t> { block(&k, Vec::new()) }
            #[doc = concat!("Block kernel of `", stringify!($t), "` on one block.")]
            pub fn [<k1_ $t>](k: Kernel<$t>, a: BlockValue<$t>) -> BlockValue<$t> { block(&k, vec![a]) }
            #[doc = concat!("Block kernel of `", stringify!($t), "` on two blocks.")]
            pub fn [<k2_ $t>](k: Kernel<$t>, a: BlockValue<$t>, b: BlockValue<$t>) -> BlockValue<$t> {
                block(&k, vec![a, b])
            }
            #[doc = concat!("Block kernel of `", stringify!($t), "` on three blocks.")]
            pub fn [<k3_ $t>](
                k: Kernel<$t>, a: BlockValue<$t>, b: BlockValue<$t>, c: BlockValue<$t>
            ) -> BlockValue<$t> {
                block(&k, vec![a, b, c])
            }
            #[doc = concat!("Block kernel of `", stringify!($t), "` on four blocks.")]
            pub fn [<k4_ $t>](
                k: Kernel<$t>, a: BlockValue<$t>, b: BlockValue<$t>, c: BlockValue<$t>, d: BlockValue<$t>
            ) -> BlockValue<$t> {
                block(&k, vec![a, b, c, d])
            }
            #[doc = concat!("Block kernel of `", stringify!($t), "` on five blocks.")]
            pub fn [<k5_ $t>](
                k: Kernel<$t>,
                a: BlockValue<$t>,
                b: BlockValue<$t>,
                c: BlockValue<$t>,
                d: BlockValue<$t>,
                e: BlockValue<$t>
            ) -> BlockValue<$t> {
                block(&k, vec![a, b, c, d, e])
            }
            #[doc = concat!("Block kernel of `", stringify!($t), "` on any number of blocks.")]
            pub fn [<kall_ $t>](k: Kernel<$t>, vs: Vec<BlockValue<$t>>) -> BlockValue<$t> { block(&k, vs) }
            #[doc = concat!("Partial reduction of `", stringify!($t), "` over one block.")]
            pub fn [<p1_ $t>](k: Kernel<$t>, a: BlockValue<$t>) -> Result<Option<$t>> { partial(&k, vec![a]) }
            #[doc = concat!("Partial reduction of `", stringify!($t), "` over two blocks.")]
            pub fn [<p2_ $t>](k: Kernel<$t>, a: BlockValue<$t>, b: BlockValue<$t>) -> Result<Option<$t>> {
                partial(&k, vec![a, b])
            }
            #[doc = concat!("Partial reduction of `", stringify!($t), "` over three blocks.")]
            pub fn [<p3_ $t>](
                k: Kernel<$t>, a: BlockValue<$t>, b: BlockValue<$t>, c: BlockValue<$t>
            ) -> Result<Option<$t>> {
                partial(&k, vec![a, b, c])
            }
            #[doc = concat!("Partial reduction of `", stringify!($t), "` over four blocks.")]
            pub fn [<p4_ $t>](
                k: Kernel<$t>, a: BlockValue<$t>, b: BlockValue<$t>, c: BlockValue<$t>, d: BlockValue<$t>
            ) -> Result<Option<$t>> {
                partial(&k, vec![a, b, c, d])
            }
            #[doc = concat!("Comparison of one `", stringify!($t), "` block.")]
            pub fn [<c1_ $t>](k: Kernel<$t>, a: BlockValue<$t>) -> BlockValue<u8> { compare(&k, vec![a]) }
            #[doc = concat!("Comparison of two `", stringify!($t), "` blocks.")]
            pub fn [<c2_ $t>](k: Kernel<$t>, a: BlockValue<$t>, b: BlockValue<$t>) -> BlockValue<u8> {
                compare(&k, vec![a, b])
            }
            #[doc = concat!("Moments of one `", stringify!($t), "` block.")]
            pub fn [<m1_ $t>](k: Kernel<$t>, a: BlockValue<$t>) -> Result<kernel::Moments> {
                kernel::run_moments(&k, blocks(vec![a])?)
            }
            #[doc = concat!("Partial reduction of `", stringify!($t), "` over any number of blocks.")]
            pub fn [<pall_ $t>](k: Kernel<$t>, vs: Vec<BlockValue<$t>>) -> Result<Option<$t>> { partial(&k, vs) }
        }
    })*};
}

register_kernels!(f32, f64, i8, i16, i32, i64, u8, u16, u32, u64);

/// Writes block `index` of an array saved at `path` (the body of every `save_*` kernel).
pub fn save_block<T: Element>(path: &Path, index: usize, v: BlockValue<T>) -> Result<SavedBlock> {
    io::write_block(path, index, &**v?)
}

/// Reads the block `entry` of `shape` of an array saved at `path` (the body of every
/// `load_*` kernel); its size is registered so the worker's pool accounts for it.
pub fn load_block<T: Element>(path: &Path, entry: &SavedBlock, shape: &[usize]) -> BlockValue<T> {
    register_block_sizes();
    io::read_entry(path, entry, shape).map(held)
}

macro_rules! register_io {
    ($($t:ident),*) => {$(paste::paste! {
        dagger_sched::register! {
            #[doc = concat!("Saves one `", stringify!($t), "` block.")]
            pub fn [<save_ $t>](path: PathBuf, index: usize, a: BlockValue<$t>) -> Result<SavedBlock> {
                save_block(&path, index, a)
            }
            #[doc = concat!("Loads one `", stringify!($t), "` block.")]
            pub fn [<load_ $t>](path: PathBuf, entry: SavedBlock, shape: Vec<usize>) -> BlockValue<$t> {
                load_block(&path, &entry, &shape)
            }
        }
    })*};
}

register_io!(f32, f64, i8, i16, i32, i64, u8, u16, u32, u64);

/// The [`KernelSet`] of element type `$t` (used by the `Element` impls).
macro_rules! kernel_set {
    ($t:ident) => {
        paste::paste! {
            crate::remote::KernelSet {
                k0: crate::remote::[<K0_ $t:upper>],
                k1: crate::remote::[<K1_ $t:upper>],
                k2: crate::remote::[<K2_ $t:upper>],
                k3: crate::remote::[<K3_ $t:upper>],
                k4: crate::remote::[<K4_ $t:upper>],
                k5: crate::remote::[<K5_ $t:upper>],
                kall: crate::remote::[<KALL_ $t:upper>],
                p1: crate::remote::[<P1_ $t:upper>],
                p2: crate::remote::[<P2_ $t:upper>],
                p3: crate::remote::[<P3_ $t:upper>],
                p4: crate::remote::[<P4_ $t:upper>],
                pall: crate::remote::[<PALL_ $t:upper>],
                c1: crate::remote::[<C1_ $t:upper>],
                c2: crate::remote::[<C2_ $t:upper>],
                m1: crate::remote::[<M1_ $t:upper>],
                save: crate::remote::[<SAVE_ $t:upper>],
                load: crate::remote::[<LOAD_ $t:upper>],
            }
        }
    };
}
pub(crate) use kernel_set;

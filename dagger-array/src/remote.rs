//! The registered entry points of the block kernels: per element type, one function per
//! number of input blocks, so every named array operation runs on any process of a cluster.
//!
//! A closure can only run in the process that made it; a registered function is known by
//! name to every process of the executable. Each entry point takes a [`Kernel`] (what to do,
//! sent as a plain argument) and its input blocks, and runs
//! [`kernel::run`](crate::kernel::run()) or [`kernel::run_partial`](crate::kernel::run_partial).
//! Generic code finds the entry points of its element type through [`Element::kernels`],
//! e.g. `ctx.spawn_registered(T::kernels().k1, (Val(k), block))`; on a context without a cluster
//! `spawn_registered` calls the function in place, encoding nothing.
//!
//! The [`Element`] impls of the ten number types are here too, at the top of the kernel
//! stack: their hooks hand out these entry points, random blocks and block products.
//!
//! ```
//! use dagger_array::{kernel::Kernel, Element};
//! use dagger_sched::Val;
//! let ctx = dagger_sched::Context::builder().threads(1).build();
//! let k = Kernel::<f32>::Fill { shape: vec![3], value: 2.0 };
//! let b = ctx.spawn_registered(f32::kernels().k0, (Val(k),)).fetch().unwrap().unwrap();
//! assert_eq!(b.to_dense().sum(), 6.0);
//! assert!(dagger_sched::registered_names().iter().any(|n| n.ends_with("remote::k2_u64")));
//! ```

use crate::block::Block;
use crate::create;
use crate::element::Element;
use crate::io::files::{read_entry, write_block};
use crate::io::format::SavedBlock;
use crate::kernel::interpret;
use crate::kernel::named::{Kernel, Moments};
use crate::linalg;
use crate::mem::{held, BlockValue, Held};
use crate::resident::{BlockCell, BlockRef, Resident};
use crate::scalar::Scalar;
use dagger_core::Result;
use dagger_sched::Pinned;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::kernel::set::{
    ExportCell, KAll, KernelSet, Load, PAll, PinCell, Save, Unpin, UnpinCell, C1, C2, K0, K1, K2,
    K3, K4, K5, M1, P1, P2, P3, P4,
};

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

fn blocks<T: Scalar>(vs: Vec<BlockValue<T>>) -> Result<Vec<Arc<Held<T>>>> {
    vs.into_iter().collect()
}

/// Runs a block kernel on block values (the first failed input's error flows on).
pub fn block<T: Element>(k: &Kernel<T>, vs: Vec<BlockValue<T>>) -> BlockValue<T> {
    register_block_sizes();
    interpret::run(k, blocks(vs)?).map(held)
}

/// Runs a comparison kernel on block values.
pub fn compare<T: Element>(k: &Kernel<T>, vs: Vec<BlockValue<T>>) -> BlockValue<u8> {
    register_block_sizes();
    interpret::run_compare(k, blocks(vs)?).map(held)
}

/// Runs a partial-reduction kernel on block values.
pub fn partial<T: Element>(k: &Kernel<T>, vs: Vec<BlockValue<T>>) -> Result<Option<T>> {
    interpret::run_partial(k, blocks(vs)?)
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
            pub fn [<m1_ $t>](k: Kernel<$t>, a: BlockValue<$t>) -> Result<Moments> {
                interpret::run_moments(&k, blocks(vec![a])?)
            }
            #[doc = concat!("Partial reduction of `", stringify!($t), "` over any number of blocks.")]
            pub fn [<pall_ $t>](k: Kernel<$t>, vs: Vec<BlockValue<$t>>) -> Result<Option<$t>> { partial(&k, vs) }
        }
    })*};
}

register_kernels!(f32, f64, i8, i16, i32, i64, u8, u16, u32, u64);

/// Writes block `index` of an array saved at `path` (the body of every `save_*` kernel).
pub fn save_block<T: Element>(path: &Path, index: usize, v: BlockValue<T>) -> Result<SavedBlock> {
    write_block(path, index, &**v?)
}

/// Reads the block `entry` of `shape` of an array saved at `path` (the body of every
/// `load_*` kernel); its size is registered so the worker's pool accounts for it.
pub fn load_block<T: Element>(path: &Path, entry: &SavedBlock, shape: &[usize]) -> BlockValue<T> {
    register_block_sizes();
    read_entry(path, entry, shape).map(held)
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

/// Pins `v` in a cell of this process (the body of every `pin_*` kernel).
pub fn pin_cell<T: Element>(v: BlockValue<T>) -> Result<Pinned<BlockCell<T>>> {
    register_block_sizes();
    Ok(Resident::pin(v?).0)
}

/// The current version of the cell `r` names (the body of every `export_*` kernel).
pub fn export_cell<T: Element>(r: &Resident<T>) -> Result<BlockRef<T>> {
    cell_of(r).map(|c| c.read(dagger_core::Extent::Whole))
}

/// The version of the cell `r` names as a block (the body of every `unpin_*` kernel): taken
/// out of the cell or shared, as `how` says, once its shape is checked.
pub fn unpin_cell<T: Element>(r: &Resident<T>, how: Unpin) -> BlockValue<T> {
    register_block_sizes();
    let (coords, want, take) = how;
    let c = cell_of(r)?;
    let got = c.read(dagger_core::Extent::Whole).version().shape();
    if got != want {
        return Err(crate::resident::mismatch(&coords, &got, &want));
    }
    Ok(if take {
        c.take()
    } else {
        c.read(dagger_core::Extent::Whole).version()
    })
}

fn cell_of<T: Element>(r: &Resident<T>) -> Result<&BlockCell<T>> {
    r.cell()
        .ok_or_else(|| dagger_core::Error::Scheduling(format!("{r:?} is not held by this process")))
}

macro_rules! register_cells {
    ($($t:ident),*) => {$(paste::paste! {
        dagger_sched::register! {
            #[doc = concat!("Pins one `", stringify!($t), "` block in a cell where it lives.")]
            pub fn [<pin_ $t>](v: BlockValue<$t>) -> Result<Pinned<BlockCell<$t>>> { pin_cell(v) }
            #[doc = concat!("The current version of a pinned `", stringify!($t), "` cell.")]
            pub fn [<export_ $t>](r: Resident<$t>) -> BlockRef<$t> {
                match export_cell(&r) {
                    Ok(v) => v,
                    // Not reached: decoding `r` already checked the cell is here.
                    Err(e) => panic!("{e}"),
                }
            }
            #[doc = concat!("The final version of a pinned `", stringify!($t), "` cell.")]
            pub fn [<unpin_ $t>](r: Resident<$t>, how: Unpin) -> BlockValue<$t> { unpin_cell(&r, how) }
        }
    })*};
}

register_cells!(f32, f64, i8, i16, i32, i64, u8, u16, u32, u64);

/// The [`KernelSet`] of element type `$t` (used by the `Element` impls below).
macro_rules! kernel_set {
    ($t:ident) => {
        paste::paste! {
            KernelSet {
                k0: [<K0_ $t:upper>],
                k1: [<K1_ $t:upper>],
                k2: [<K2_ $t:upper>],
                k3: [<K3_ $t:upper>],
                k4: [<K4_ $t:upper>],
                k5: [<K5_ $t:upper>],
                kall: [<KALL_ $t:upper>],
                p1: [<P1_ $t:upper>],
                p2: [<P2_ $t:upper>],
                p3: [<P3_ $t:upper>],
                p4: [<P4_ $t:upper>],
                pall: [<PALL_ $t:upper>],
                c1: [<C1_ $t:upper>],
                c2: [<C2_ $t:upper>],
                m1: [<M1_ $t:upper>],
                save: [<SAVE_ $t:upper>],
                load: [<LOAD_ $t:upper>],
                pin: [<PIN_ $t:upper>],
                export: [<EXPORT_ $t:upper>],
                unpin: [<UNPIN_ $t:upper>],
            }
        }
    };
}

/// The hooks every element type implements the same way.
macro_rules! element_hooks {
    ($t:ident) => {
        fn kernels() -> KernelSet<Self> {
            kernel_set!($t)
        }
        fn rand_block(shape: &[usize], seed: u64, block: usize) -> ndarray::ArrayD<Self> {
            create::rand_block(shape, seed, block)
        }
        fn sprand_block(
            shape: &[usize],
            density: f64,
            seed: u64,
            block: usize,
        ) -> Result<Block<Self>> {
            create::sprand_block(shape, density, seed, block)
        }
        fn matmul(a: &Block<Self>, b: &Block<Self>) -> Result<Block<Self>> {
            linalg::matmul_block(a, b)
        }
        fn matmul_acc(c: Block<Self>, a: &Block<Self>, b: &Block<Self>) -> Result<Block<Self>> {
            linalg::matmul_acc(c, a, b)
        }
        fn matmul_nt(a: &[&Block<Self>], b: Option<&[&Block<Self>]>) -> Result<Block<Self>> {
            linalg::matmul_nt(a, b)
        }
    };
}

macro_rules! impl_element {
    (float: $($f:ident),*; int: $($i:ident),*) => {
        $(impl Element for $f {
            element_hooks!($f);
            fn randn_block(shape: &[usize], seed: u64, block: usize) -> Option<ndarray::ArrayD<Self>> {
                Some(create::randn_block(shape, seed, block))
            }
        })*
        $(impl Element for $i {
            element_hooks!($i);
        })*
    };
}

impl_element!(float: f32, f64; int: i8, i16, i32, i64, u8, u16, u32, u64);

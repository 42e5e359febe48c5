//! [`KernelSet`]: the types of the registered kernel entry points of one element type, one
//! per number of input blocks and kind of result. The entry points themselves are made per
//! element type in [`crate::remote`]; [`Element::kernels`](crate::element::Element::kernels)
//! hands them to generic code.

use crate::io::format::SavedBlock;
use crate::kernel::named::{Kernel, Moments};
use crate::mem::BlockValue;
use crate::resident::{BlockCell, BlockRef, Resident};
use crate::scalar::Scalar;
use dagger_core::Result;
use dagger_sched::{Pinned, Registered};
use std::path::PathBuf;

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
pub type M1<T> = Registered<(Kernel<T>, BlockValue<T>), Result<Moments>>;

/// Writes one block of an array being saved at a path (where the block lives) and returns
/// only its small record for the metadata file.
pub type Save<T> = Registered<(PathBuf, usize, BlockValue<T>), Result<SavedBlock>>;
/// Reads (and checks) one block of an array saved at a path, from its metadata entry and
/// shape: the block stays in the process that read it.
pub type Load<T> = Registered<(PathBuf, SavedBlock, Vec<usize>), BlockValue<T>>;

/// Pins a block's version in a cell where it lives (the start of an `update_blocks` region
/// on a cluster); the result travels as the cell's id.
pub type PinCell<T> = Registered<(BlockValue<T>,), Result<Pinned<BlockCell<T>>>>;
/// The current version of a pinned cell, as the value its readers fetch.
pub type ExportCell<T> = Registered<(Resident<T>,), BlockRef<T>>;
/// How a cell's version becomes a block chunk: the block's grid coordinates and shape (a
/// version of another shape is a `DimensionMismatch`), and whether to take it out of the
/// cell (the end of the region) or share it.
pub type Unpin = (Vec<usize>, Vec<usize>, bool);
/// A pinned cell's final version, as a block chunk.
pub type UnpinCell<T> = Registered<(Resident<T>, Unpin), BlockValue<T>>;

/// The registered kernels of one element type.
#[derive(Debug)]
pub struct KernelSet<T: Scalar> {
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
    /// Pin a block in a cell.
    pub pin: PinCell<T>,
    /// Export a cell's version.
    pub export: ExportCell<T>,
    /// Retire a cell into a block.
    pub unpin: UnpinCell<T>,
}

impl<T: Scalar> Clone for KernelSet<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Scalar> Copy for KernelSet<T> {}

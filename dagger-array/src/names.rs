//! Task names: every block task carries a short name derived from its kernel (`ones`,
//! `randn`, `exp`, `+`, `.*`, `transpose`, `matmul`, `sum partial`, `fused(^2 +1 sum)`), so
//! profiles, the task-graph picture and the dashboard's progress-per-name panel say what
//! ran.
//!
//! A name is the *kind* of the operation, never a block index or shape, so a computation
//! has few distinct names however many blocks it has. Names are interned: the same name is
//! one shared `Arc<str>`, computed once per graph node and only cloned when the node is
//! lowered, so naming adds no allocation per task.
//!
//! ```
//! use dagger_array::kernel::{Fused, Kernel, Op, Program};
//! use dagger_array::{binary::Side, reduce::ReduceOp, ArithOp, UnaryOp};
//! assert_eq!(&*Kernel::<f64>::Fill { shape: vec![2], value: 1.0 }.task_name(), "ones");
//! assert_eq!(&*Kernel::<f64>::Unary(UnaryOp::Exp).task_name(), "exp");
//! assert_eq!(&*Kernel::<f64>::Arith(ArithOp::Mul).task_name(), ".*");
//! assert_eq!(&*Kernel::<f64>::Reduce(ReduceOp::Sum).task_name(), "sum partial");
//! let prog = Program::leaf()
//!     .then(Op::Scalar(ArithOp::Pow, 2.0, Side::Right))
//!     .then(Op::Scalar(ArithOp::Add, 1.0, Side::Right));
//! let f = Fused { prog, reads: vec![(false, None)] };
//! assert_eq!(&*Kernel::FusedReduce(f, ReduceOp::Sum).task_name(), "fused(^2 +1 sum)");
//! ```

use crate::kernel::named::Kernel;
use crate::kernel::program::{Op, Program};
use crate::ops::{ArithOp, BitOp, CmpOp, Side};
use crate::scalar::Scalar;
use dagger_core::Options;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Most distinct names kept in the intern table; past it a name is still returned, just not
/// shared (a program building ever new scalar constants must not grow the table forever).
const MAX_INTERNED: usize = 4096;

/// Most steps of a fused chain listed in its name; a longer chain ends in `…`.
pub(crate) const MAX_LISTED: usize = 8;

/// The shared `Arc<str>` of `name` (allocated once per distinct name).
pub fn intern(name: &str) -> Arc<str> {
    static TABLE: OnceLock<Mutex<HashSet<Arc<str>>>> = OnceLock::new();
    let table = TABLE.get_or_init(Default::default);
    // A poisoned lock only means another thread panicked while inserting; the set is intact.
    let mut set = table.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = set.get(name) {
        return n.clone();
    }
    let n: Arc<str> = Arc::from(name);
    if set.len() < MAX_INTERNED {
        set.insert(n.clone());
    }
    n
}

/// Options naming a task `name` (interned).
pub fn named(name: &str) -> Options {
    Options::new().name(intern(name))
}

/// `opts`, named `name()` unless it already has a name.
pub(crate) fn or_named(opts: Options, name: impl FnOnce() -> Arc<str>) -> Options {
    if opts.name.is_some() {
        opts
    } else {
        opts.name(name())
    }
}

/// The operator of an element-wise arithmetic operation, as Julia writes its broadcast.
pub fn arith_symbol(op: ArithOp) -> &'static str {
    match op {
        ArithOp::Add => "+",
        ArithOp::Sub => "-",
        ArithOp::Mul => ".*",
        ArithOp::Div => "./",
        ArithOp::Rem => "%",
        ArithOp::Pow => "^",
        ArithOp::LeftDiv => ".\\",
    }
}

/// The operator of an element-wise bit operation.
pub fn bit_symbol(op: BitOp) -> &'static str {
    match op {
        BitOp::And => "&",
        BitOp::Or => "|",
        BitOp::Xor => "⊻",
        BitOp::Shl => "<<",
        BitOp::Shr => ">>",
    }
}

/// The operator of an element-wise comparison.
pub fn cmp_symbol(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => ".==",
        CmpOp::Ne => ".!=",
        CmpOp::Lt => ".<",
        CmpOp::Le => ".<=",
        CmpOp::Gt => ".>",
        CmpOp::Ge => ".>=",
    }
}

/// `^2` for a scalar on the right, `2^` for one on the left (the operator's dot dropped:
/// inside a fused name every step is element-wise).
fn scalar_step<T: Scalar>(out: &mut String, op: ArithOp, s: T, side: Side) {
    let sym = arith_symbol(op).trim_start_matches('.');
    // Writing into a String cannot fail.
    let _ = match side {
        Side::Right => write!(out, "{sym}{s}"),
        Side::Left => write!(out, "{s}{sym}"),
    };
}

/// `fused(<steps> <tail>)`: the chain's steps (leaf reads left out) and what follows them.
pub(crate) fn fused_name<T: Scalar>(prog: &Program<T>, tail: Option<&str>) -> String {
    let mut out = String::from("fused(");
    let mut listed = 0;
    for op in &prog.ops {
        if matches!(op, Op::Leaf(_)) {
            continue;
        }
        if listed == MAX_LISTED {
            out.push_str(" …");
            break;
        }
        if listed > 0 {
            out.push(' ');
        }
        match op {
            Op::Leaf(_) => {}
            Op::Unary(u) => out.push_str(u.name()),
            Op::Scalar(a, s, side) => scalar_step(&mut out, *a, *s, *side),
            Op::Arith(a) => out.push_str(arith_symbol(*a).trim_start_matches('.')),
        }
        listed += 1;
    }
    if let Some(t) = tail {
        if listed > 0 {
            out.push(' ');
        }
        out.push_str(t);
    }
    out.push(')');
    out
}

impl<T: Scalar> Kernel<T> {
    /// The kernel's task name: its kind (see [the module](self)), interned.
    pub fn task_name(&self) -> Arc<str> {
        intern(&self.kind())
    }

    fn kind(&self) -> Cow<'static, str> {
        let s: &'static str = match self {
            Kernel::Fill { value, .. } if *value == T::one() => "ones",
            Kernel::Fill { value, .. } if *value == T::zero() => "zeros",
            Kernel::Fill { .. } => "fill",
            Kernel::Rand { .. } => "rand",
            Kernel::Randn { .. } => "randn",
            Kernel::Sprand { .. } => "sprand",
            Kernel::Unary(u) => u.name(),
            Kernel::ArithScalar { op, .. } | Kernel::Arith(op) => arith_symbol(*op),
            Kernel::BitScalar { op, .. } | Kernel::Bit(op) => bit_symbol(*op),
            Kernel::Transpose => "transpose",
            Kernel::ToDense => "dense",
            Kernel::Permute { .. } | Kernel::PermuteReblock { .. } => "permutedims",
            Kernel::Gather(_) => "getindex",
            Kernel::DropAxis { .. } => "dropdims",
            Kernel::ReduceAxis { op, .. } => {
                return Cow::Owned(format!("{} dims", op.name()));
            }
            Kernel::Compare(op) | Kernel::CompareScalar { op, .. } => cmp_symbol(*op),
            Kernel::BroadcastCol(op) => {
                return Cow::Owned(format!("broadcast {}", arith_symbol(*op)));
            }
            Kernel::CombineAxis(op) => return Cow::Owned(format!("{} combine", op.name())),
            Kernel::Matmul => "matmul",
            Kernel::MatmulAcc => "matmul+",
            Kernel::MatmulNt { diagonal: true, .. } => "syrk",
            Kernel::MatmulNt { .. } => "matmul nt",
            Kernel::Reblock(_) => "reblock",
            Kernel::Assemble(_) => "assemble",
            Kernel::Fused(f) => return Cow::Owned(fused_name(&f.prog, None)),
            Kernel::Reduce(op) => return Cow::Owned(format!("{} partial", op.name())),
            Kernel::Moments => "moments",
            Kernel::Check => "check",
            Kernel::FusedReduce(f, op) => return Cow::Owned(fused_name(&f.prog, Some(op.name()))),
            Kernel::SortSample { .. } => "sort sample",
            Kernel::SortSplitters { .. } => "sort splitters",
            Kernel::SortPartition { .. } => "sort partition",
            Kernel::SortGroup { .. } => "sort group",
            Kernel::Concat => "concat",
            Kernel::SortMergeParts { .. } | Kernel::SortMerge { .. } => "sort merge",
            Kernel::SortSlice { .. } => "sort slice",
            Kernel::Stencil(_) => "stencil",
            Kernel::Fft(_) | Kernel::PermuteReblockFft { .. } => "fft",
        };
        Cow::Borrowed(s)
    }
}

//! A user's element function that runs on the workers: [`element_fn!`](macro@crate::element_fn)
//! registers `fn(T) -> T` as a block task every process of the executable can run, and
//! [`DArray::map_registered`] applies it.
//!
//! [`DArray::map`] takes a closure, and a closure cannot leave the process that made it: on a
//! cluster its block tasks run in the driver, and the blocks travel there and back. Going from
//! the one to the other is one line: put the closure's body in `element_fn!`.

use crate::darray::DArray;
use crate::element::Element;
use crate::graph::{registered1, registered1_with};
use crate::mem::{held, BlockValue};
use crate::names::named;
use crate::unary::map_block;
use dagger_core::Scope;
use dagger_sched::Registered;

/// An element function registered with [`element_fn!`](macro@crate::element_fn): its name (for
/// task names) and the registered block task that maps it over a block.
pub struct ElementFn<T: Element> {
    name: &'static str,
    block: Registered<(BlockValue<T>, ()), BlockValue<T>>,
}

impl<T: Element> Clone for ElementFn<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Element> Copy for ElementFn<T> {}

impl<T: Element> std::fmt::Debug for ElementFn<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ElementFn({}: {} -> {})", self.name, T::NAME, T::NAME)
    }
}

impl<T: Element> ElementFn<T> {
    /// What [`element_fn!`](macro@crate::element_fn) expands to; not for direct use.
    #[doc(hidden)]
    pub const fn new(
        name: &'static str,
        block: Registered<(BlockValue<T>, ()), BlockValue<T>>,
    ) -> Self {
        ElementFn { name, block }
    }
}

/// The body of an element function's registered block task: `f` on every element (a
/// sparse block stays sparse when `f(0) == 0`).
#[doc(hidden)]
pub fn map_block_value<T: Element>(b: BlockValue<T>, f: fn(T) -> T) -> BlockValue<T> {
    let b = b?;
    Ok(held(map_block(&b, f)))
}

impl<T: Element> DArray<T> {
    /// `f` (registered with [`element_fn!`](macro@crate::element_fn)) on every element, one
    /// registered task per block: on a cluster it runs on the worker that holds the block.
    /// Unlike [`DArray::map`] it is not fused with neighbouring element-wise steps.
    pub fn map_registered(&self, f: ElementFn<T>) -> DArray<T> {
        let blocks = self
            .blocks
            .iter()
            .map(|b| registered1(f.name, f.block, b, ()))
            .collect();
        DArray::from_blocks(self.grid().clone(), self.meta.kind, blocks)
    }

    /// `map!(f, A, A)` with a registered element function: every element `x` becomes
    /// `f(x)`. On a computed array each block's task runs where the block lives, and the
    /// new block stays there.
    ///
    /// ```
    /// use dagger_array::{Blocks, DArray};
    /// dagger_array::element_fn! { fn halve(x: f64) -> f64 { x / 2.0 } }
    /// let ctx = dagger_sched::Context::local();
    /// let mut a = DArray::<f64>::fill(3.0, &Blocks::new([2]).unwrap(), &[5]).unwrap();
    /// a.map_registered_assign(HALVE);
    /// assert_eq!(a.sum().collect(&ctx).unwrap(), 7.5);
    /// ```
    pub fn map_registered_assign(&mut self, f: ElementFn<T>) {
        let owners = self.owners();
        let blocks = self
            .blocks
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let opts = match &owners {
                    Some(w) => named(f.name).scope(Scope::Process(w[i])),
                    None => named(f.name),
                };
                registered1_with(opts, f.block, b, ())
            })
            .collect();
        *self = DArray::from_blocks(self.grid().clone(), self.meta.kind, blocks);
    }
}

/// Registers `fn name(x: T) -> T` as an element function for the workers and defines
/// `NAME` (upper case), the [`ElementFn`] to pass to [`DArray::map_registered`]; the
/// function itself is defined as written. Going from a closure to a registered function is
/// one line: put the closure's body in `element_fn!`.
///
/// ```
/// use dagger_array::{Blocks, DArray};
/// dagger_array::element_fn! {
///     /// Squares, then adds one.
///     pub fn square_plus_one(x: f64) -> f64 { x * x + 1.0 }
/// }
/// let ctx = dagger_sched::Context::local();
/// let a = DArray::<f64>::fill(3.0, &Blocks::new([2]).unwrap(), &[5]).unwrap();
/// let b = a.map_registered(SQUARE_PLUS_ONE); // was: a.map(|x| x * x + 1.0)
/// assert_eq!(b.sum().collect(&ctx).unwrap(), 50.0);
/// assert_eq!(square_plus_one(2.0), 5.0); // the function itself stays callable
/// ```
#[macro_export]
macro_rules! element_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident ( $x:ident : $t:ty ) -> $r:ty $body:block) => {
        $crate::__private::paste! {
            $(#[$m])* $vis fn $name($x: $t) -> $r $body
            $crate::__private::dagger_sched::register! {
                #[doc(hidden)]
                pub fn [<__dagger_element_ $name>](
                    b: $crate::BlockValue<$t>, _none: ()
                ) -> $crate::BlockValue<$t> {
                    $crate::element_fn::map_block_value(b, $name)
                }
            }
            #[doc = concat!("`", stringify!($name), "` as an element function for `DArray::map_registered`.")]
            $vis const [<$name:upper>]: $crate::element_fn::ElementFn<$t> =
                $crate::element_fn::ElementFn::new(stringify!($name), [<__DAGGER_ELEMENT_ $name:upper>]);
        }
    };
}

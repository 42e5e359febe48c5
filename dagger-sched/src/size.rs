//! How big a value is, for chunk metadata and the placement cost.
//!
//! Rust has no deep `sizeof`, so the scheduler asks a registry keyed by type: common standard
//! types are known; a crate registers its own (the array crate registers its blocks). Sizes
//! are computed only when asked for, never on the per-task fast path.

use parking_lot::RwLock;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

type Sizer = Arc<dyn Fn(&dyn Any) -> Option<u64> + Send + Sync>;

fn registry() -> &'static RwLock<HashMap<TypeId, Sizer>> {
    static R: OnceLock<RwLock<HashMap<TypeId, Sizer>>> = OnceLock::new();
    R.get_or_init(|| {
        let mut m: HashMap<TypeId, Sizer> = HashMap::new();
        macro_rules! vecs {
            ($($t:ty),*) => {$(
                m.insert(TypeId::of::<Vec<$t>>(), Arc::new(|v: &dyn Any| {
                    v.downcast_ref::<Vec<$t>>().map(|v| (24 + v.len() * size_of::<$t>()) as u64)
                }));
            )*};
        }
        vecs!(u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, usize, isize, bool);
        m.insert(
            TypeId::of::<String>(),
            Arc::new(|v: &dyn Any| v.downcast_ref::<String>().map(|s| 24 + s.len() as u64)),
        );
        RwLock::new(m)
    })
}

/// Registers how to size values of type `T` (deep size in bytes).
///
/// ```
/// struct Blob(Vec<u8>);
/// dagger_sched::register_size::<Blob>(|b| b.0.len() as u64);
/// assert_eq!(dagger_sched::size_of_value(&Blob(vec![0; 100])), 100);
/// ```
pub fn register_size<T: Any>(f: fn(&T) -> u64) {
    let sizer: Sizer = Arc::new(move |v: &dyn Any| v.downcast_ref::<T>().map(f));
    registry().write().insert(TypeId::of::<T>(), sizer);
}

/// The size of `v` from the registry, if its type is registered (`None`: unknown type).
pub(crate) fn registered_size_of<T: Any>(v: &T) -> Option<u64> {
    let sizer = registry().read().get(&TypeId::of::<T>()).cloned();
    sizer.and_then(|f| f(v))
}

/// The size of `v` in bytes: from the registry, or its shallow size.
pub fn size_of_value<T: Any>(v: &T) -> u64 {
    let sizer = registry().read().get(&TypeId::of::<T>()).cloned();
    sizer.and_then(|f| f(v)).unwrap_or(size_of::<T>() as u64)
}

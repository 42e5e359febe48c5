//! Tests that own process-wide state (a live-bytes counter, a global tracing subscriber) run
//! in a process of their own: the test re-runs this binary on itself alone, so no other test
//! shares that state, and they still link once with the rest (a test binary each cost a
//! link of the whole tree and ~75 MB of the CI's target directory).
//!
//! ```ignore
//! #[test]
//! fn counts_every_byte() {
//!     if alone::rerun(module_path!(), "counts_every_byte") { return; }
//!     // the body, in its own process
//! }
//! ```
//! (The facade's tests include this file by path.)

use std::process::Command;

/// The variable that tells a re-run binary which test it runs alone.
const ALONE: &str = "DAGGER_TEST_ALONE";

/// `true` when the caller's body ran in a process of its own and passed, so the caller
/// returns at once; `false` in that process, where the caller runs its body. `module` is the
/// caller's `module_path!()` and `test` its function name. Panics (failing the test) with
/// the child's output when the body failed there.
pub(crate) fn rerun(module: &str, test: &str) -> bool {
    // libtest names a test by its path below the crate root.
    let path = match module.split_once("::") {
        Some((_crate, rest)) => format!("{rest}::{test}"),
        None => test.to_string(),
    };
    if std::env::var(ALONE).is_ok_and(|p| p == path) {
        return false;
    }
    let exe = std::env::current_exe().expect("the test binary's own path is known"); // ok: test set-up
    let out = Command::new(exe)
        .args(["--exact", &path, "--nocapture", "--test-threads=1"])
        .env(ALONE, &path)
        .output()
        .expect("the test binary runs again"); // ok: test set-up
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{path}, alone in its own process, failed:\n{text}"
    );
    // A filter that matched nothing would pass silently: the child must have run the test.
    assert!(
        text.contains("1 passed"),
        "{path} did not run in its own process:\n{text}"
    );
    true
}

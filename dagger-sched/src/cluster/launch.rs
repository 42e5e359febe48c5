//! Starting worker processes: re-executions of a program (by default the current one), as
//! Julia's `addprocs` does.

use dagger_core::{Error, Result};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};

/// The program a cluster runs as its workers, with its arguments. Its `main` must call
/// `dagger::init()` first, which serves as a worker when `DAGGER_SCHEDULER` is set.
///
/// In an integration test (where libtest owns `main`), re-run the test binary on one ignored
/// test that calls `dagger::init()`: `WorkerProgram::test("worker_entry")`.
#[derive(Clone, Debug)]
pub struct WorkerProgram {
    /// The executable.
    pub path: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

impl WorkerProgram {
    /// The current executable, without arguments.
    pub fn current() -> Result<Self> {
        let path = std::env::current_exe()
            .map_err(|e| Error::Io(format!("finding the current executable: {e}")))?;
        Ok(WorkerProgram {
            path,
            args: Vec::new(),
        })
    }

    /// The current test binary, running only the (ignored) test `name`.
    pub fn test(name: &str) -> Result<Self> {
        let mut p = Self::current()?;
        p.args = [
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ]
        .map(String::from)
        .to_vec();
        Ok(p)
    }

    /// Starts one worker that joins `scheduler` with `cookie`. The worker dies with its parent.
    pub(crate) fn spawn(
        &self,
        scheduler: &str,
        cookie: &str,
        threads: Option<usize>,
        env: &[(String, String)],
    ) -> Result<Child> {
        let mut cmd = Command::new(&self.path);
        cmd.args(&self.args)
            .env("DAGGER_SCHEDULER", scheduler)
            .env("DAGGER_COOKIE", cookie)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        if let Some(t) = threads {
            cmd.env("DAGGER_THREADS", t.to_string());
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe; it makes the kernel kill the worker when the
            // driver dies, so no test or crash leaves a worker behind.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        spawn_from_launcher(cmd)
            .map_err(|e| Error::Io(format!("starting worker {}: {e}", self.path.display())))
    }
}

type Launch = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Starts `cmd` from one thread that lives as long as the process. The kernel sends
/// `PR_SET_PDEATHSIG` when the *thread* that forked the child exits, not the process: a
/// context built on a short-lived thread (a test's, a pool's) would otherwise lose its
/// workers the moment that thread ended, while the context still uses them.
fn spawn_from_launcher(mut cmd: Command) -> std::io::Result<Child> {
    static LAUNCHER: OnceLock<Option<Mutex<mpsc::Sender<Launch>>>> = OnceLock::new();
    let launcher = LAUNCHER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Launch>();
        std::thread::Builder::new()
            .name("dagger-launcher".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .ok()
            .map(|_| Mutex::new(tx))
    });
    let Some(tx) = launcher else {
        // No thread to spare: start it from this one (it dies with this thread).
        return cmd.spawn();
    };
    let (reply, answer) = mpsc::channel();
    let sent = tx
        .lock()
        .map_err(|_| ())
        .and_then(|tx| tx.send((cmd, reply)).map_err(|_| ()));
    match sent {
        Ok(()) => answer
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("the worker launcher thread stopped"))),
        Err(()) => Err(std::io::Error::other("the worker launcher thread stopped")),
    }
}

//! Sixteen hosts simulated by network namespaces this test makes itself: one driver and a
//! worker process in each of the fifteen others, every host on its own address of
//! 10.77.0.0/24 behind one bridge (in a namespace of its own, so the machine's own network is
//! never touched). The workers join by address and cookie, as in the ssh recipe, and a tree
//! reduce moves its partial sums host to host across the bridge.
//!
//! Skipped, with the reason printed, where namespaces cannot be made (not root, no `ip`, no
//! veth or bridge support). Names carry this process's id, so parallel runs do not collide;
//! a guard removes every namespace (and with it every link) and kills every worker, also when
//! the test fails.

use dagger::{DTask, Options, Scope, WorkerId};
use std::collections::BTreeSet;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{as_worker, listening_driver};

dagger::register! {
    fn netns_leaf(x: u64) -> u64 { x }
    fn netns_add(a: u64, b: u64) -> u64 { a + b }
}

/// Hosts, the driver's included.
const HOSTS: usize = 16;
/// Leaves of the tree reduce (a power of two).
const LEAVES: u64 = 1024;

/// Runs `ip` with `args`; its stderr on failure.
fn ip(args: &[&str]) -> Result<(), String> {
    match Command::new("ip").args(args).output() {
        Err(e) => Err(format!("cannot run `ip`: {e}")),
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "`ip {}`: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        )),
    }
}

/// The namespaces and worker processes of one run; dropping it removes them all.
struct Hosts {
    prefix: String,
    made: Vec<String>,
    workers: Vec<Child>,
}

impl Hosts {
    fn new() -> Self {
        Hosts {
            prefix: format!("dgs{}", std::process::id()),
            made: Vec::new(),
            workers: Vec::new(),
        }
    }

    fn host(&self, i: usize) -> String {
        format!("{}-h{i}", self.prefix)
    }

    fn bridge(&self) -> String {
        format!("{}-br", self.prefix)
    }

    fn add_ns(&mut self, name: String) -> Result<(), String> {
        ip(&["netns", "add", &name])?;
        self.made.push(name);
        Ok(())
    }

    /// The bridge namespace with its bridge, and `hosts` namespaces each joined to it by a
    /// veth pair (`eth0` in the host, `p<i>` on the bridge) with address 10.77.0.<i+1>.
    /// Both ends are made inside the namespaces, so no name is taken in the machine's own.
    fn build(&mut self, hosts: usize) -> Result<(), String> {
        let br = self.bridge();
        self.add_ns(br.clone())?;
        ip(&["-n", &br, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &br, "link", "set", "br0", "up"])?;
        for i in 0..hosts {
            let h = self.host(i);
            self.add_ns(h.clone())?;
            let port = format!("p{i}");
            ip(&[
                "-n", &h, "link", "add", "eth0", "type", "veth", "peer", "name", &port, "netns",
                &br,
            ])?;
            ip(&["-n", &br, "link", "set", &port, "master", "br0", "up"])?;
            let addr = format!("10.77.0.{}/24", i + 1);
            ip(&["-n", &h, "addr", "add", &addr, "dev", "eth0"])?;
            ip(&["-n", &h, "link", "set", "eth0", "up"])?;
            ip(&["-n", &h, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for w in &mut self.workers {
            let _ = w.kill();
            let _ = w.wait();
        }
        // Deleting a namespace deletes the veth ends and the bridge inside it.
        for ns in self.made.drain(..).rev() {
            let _ = Command::new("ip")
                .args(["netns", "delete", &ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Why namespaces, veth pairs or bridges cannot be made here, if they cannot.
fn unavailable() -> Option<String> {
    let mut probe = Hosts::new();
    probe.prefix = format!("dgs{}-probe", std::process::id());
    probe.build(1).err()
}

/// Moves the calling thread into namespace `ns` (sockets it makes afterwards live there).
fn enter(ns: &str) {
    let f = std::fs::File::open(format!("/var/run/netns/{ns}")).unwrap();
    // SAFETY: changes only this thread's network namespace; the fd is valid.
    assert_eq!(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
}

#[test]
fn sixteen_hosts_on_a_bridge_run_a_tree_reduce() {
    if let Some(reason) = unavailable() {
        eprintln!("skipped: network namespaces unavailable: {reason}");
        return;
    }
    let mut hosts = Hosts::new();
    if let Err(e) = hosts.build(HOSTS) {
        panic!("namespaces work here but building {HOSTS} hosts failed: {e}");
    }
    dagger::init();
    let exe = std::env::current_exe().unwrap();
    let cookie = format!("netns-{}", std::process::id());
    let driver_ns = hosts.host(0);
    // The driver's sockets are made on this thread, inside host 0; its I/O threads, started
    // from here, stay there too.
    let run = std::thread::scope(|s| {
        s.spawn(|| {
            enter(&driver_ns);
            let ctx = listening_driver("10.77.0.1:0", &cookie);
            let addr = ctx.cluster_addr().unwrap();
            assert!(addr.starts_with("10.77.0.1:"), "{addr}");
            for i in 1..HOSTS {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", &hosts.host(i)]).arg(&exe);
                as_worker(&mut cmd, &addr, &cookie)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null());
                // SAFETY: prctl is async-signal-safe; a worker dies with this thread even if
                // the guard never runs. `ip netns exec` execs in place, so it holds.
                unsafe {
                    cmd.pre_exec(|| {
                        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                        Ok(())
                    });
                }
                hosts.workers.push(cmd.spawn().unwrap());
            }
            let t0 = Instant::now();
            ctx.wait_for_workers(HOSTS - 1, Duration::from_secs(25))
                .unwrap();
            eprintln!("{} workers joined in {:?}", HOSTS - 1, t0.elapsed());
            let ws: Vec<Scope> = ctx
                .workers()
                .into_iter()
                .filter(|w| *w != WorkerId::DRIVER)
                .map(Scope::Process)
                .collect();
            assert_eq!(ws.len(), HOSTS - 1);
            let o = Options::new().scope(Scope::union(ws).unwrap());
            let leaves: Vec<DTask<u64>> = (0..LEAVES)
                .map(|i| ctx.spawn_registered_with(&o, NETNS_LEAF, (i,)))
                .collect();
            let mut level = leaves.clone();
            while level.len() > 1 {
                level = level
                    .chunks(2)
                    .map(|p| ctx.spawn_registered_with(&o, NETNS_ADD, (&p[0], &p[1])))
                    .collect();
            }
            let sum = level[0].fetch().unwrap();
            let owners: BTreeSet<WorkerId> =
                leaves.iter().map(|t| t.chunk().unwrap().owner()).collect();
            (sum, owners, t0.elapsed())
        })
        .join()
    });
    let (sum, owners, took) = match run {
        Ok(r) => r,
        Err(p) => std::panic::resume_unwind(p),
    };
    assert_eq!(sum, LEAVES * (LEAVES - 1) / 2);
    // The leaves spread over the hosts, so the sums crossed the bridge between them.
    assert!(owners.len() >= 2, "leaves ran only on {owners:?}");
    eprintln!(
        "tree reduce of {LEAVES} leaves over {} hosts: leaves on {} workers, {took:?}",
        HOSTS - 1,
        owners.len()
    );
    drop(hosts);
}

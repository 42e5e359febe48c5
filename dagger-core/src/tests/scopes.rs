//! C29–C30 of the reference's behaviours (scope constructors and the constrain algebra), and
//! property tests of the algebra against its meaning (sets of processors).

use dagger_core::scope::{Constraint, ScopeKey, Universe};
use dagger_core::{
    Error, NodeId, ProcessorId, ProcessorInfo, ProcessorKind, Result, Scope, ScopeSpec, Selector,
    WorkerId,
};
use proptest::prelude::*;
use std::sync::Arc;

const W: u32 = 2;

fn t(w: u32, i: u32) -> ProcessorId {
    ProcessorId::thread(WorkerId(w), i)
}

fn universe() -> Universe {
    Universe {
        workers: vec![(WorkerId(1), 2), (WorkerId(W), 2)],
        keys: vec![],
    }
}

fn build(spec: ScopeSpec) -> Result<Scope> {
    spec.build(&universe())
}

#[test]
fn c29_constructor_equivalences() {
    let s = |x| build(x).unwrap();
    assert_eq!(
        s(ScopeSpec::new().worker(W)),
        s(ScopeSpec::new().workers([W]))
    );
    assert_eq!(s(ScopeSpec::new().worker(W)), Scope::Process(WorkerId(W)));
    assert_eq!(
        s(ScopeSpec::new().workers([1, W])),
        Scope::union([Scope::Process(WorkerId(1)), Scope::Process(WorkerId(W))]).unwrap()
    );
    let thread1 = Scope::union([Scope::Exact(t(1, 1)), Scope::Exact(t(W, 1))]).unwrap();
    assert_eq!(s(ScopeSpec::new().thread(1)), thread1);
    assert_eq!(s(ScopeSpec::new().threads([1])), thread1);
    for spec in [
        ScopeSpec::new().worker(W).thread(1),
        ScopeSpec::new().thread(1).worker(W),
        ScopeSpec::new().workers([W]).thread(1),
        ScopeSpec::new().worker(W).threads([1]),
        ScopeSpec::new().workers([W]).threads([1]),
    ] {
        assert_eq!(s(spec), Scope::Exact(t(W, 1)));
    }
    let pair = ScopeSpec::build_union(
        &[
            ScopeSpec::new().worker(1).thread(1),
            ScopeSpec::new().worker(W).thread(2),
        ],
        &universe(),
    )
    .unwrap();
    assert_eq!(
        pair,
        Scope::union([Scope::Exact(t(1, 1)), Scope::Exact(t(W, 2))]).unwrap()
    );
    assert_eq!(
        s(ScopeSpec::new().all_workers()),
        Scope::union([Scope::Process(WorkerId(1)), Scope::Process(WorkerId(W))]).unwrap()
    );
    assert_eq!(
        s(ScopeSpec::new().all_threads()),
        Scope::ProcessorType(ProcessorKind::Thread)
    );
    assert_eq!(s(ScopeSpec::any()), Scope::Any);
    assert_eq!(s(ScopeSpec::default_scope()), Scope::Default);
    assert_eq!(
        s(ScopeSpec::parse("worker=2, thread=1").unwrap()),
        Scope::Exact(t(W, 1))
    );
    assert_eq!(
        s(ScopeSpec::parse("workers=[1 2]").unwrap()),
        s(ScopeSpec::new().workers([1, W]))
    );
    assert_eq!(
        s(ScopeSpec::parse("threads=:").unwrap()),
        Scope::ProcessorType(ProcessorKind::Thread)
    );
}

#[test]
fn c29_constructor_errors() {
    let arg = |r: Result<Scope>| match r {
        Err(Error::Argument(m)) => m,
        other => panic!("expected ArgumentError, got {other:?}"),
    };
    assert!(matches!(ScopeSpec::parse(":blah"), Err(Error::Argument(_))));
    assert!(arg(build(ScopeSpec::new())).contains("no inner scopes"));
    assert!(arg(build(ScopeSpec::new().workers([]))).contains("workers=[]"));
    assert!(arg(build(ScopeSpec::new().threads([]))).contains("threads=[]"));
    assert!(
        arg(build(ScopeSpec::parse("blah=1").unwrap())).contains("not implemented for key: blah")
    );
    assert!(arg(build(ScopeSpec::new().worker(9))).contains("No worker 9"));
    assert!(matches!(
        ScopeSpec::parse("worker=x"),
        Err(Error::Argument(_))
    ));
}

struct Gpu(&'static str, u32);

impl ScopeKey for Gpu {
    fn key(&self) -> &str {
        self.0
    }
    fn precedence(&self) -> u32 {
        self.1
    }
    fn to_scope(&self, spec: &ScopeSpec, _: &Universe) -> Result<Scope> {
        let idx = match spec.get(self.0) {
            Some(Selector::One(i)) => *i,
            _ => 1,
        };
        Ok(Scope::Exact(ProcessorId {
            worker: WorkerId(1),
            kind: ProcessorKind::Custom(1),
            index: idx,
        }))
    }
}

#[test]
fn c29_custom_keys_with_precedence() {
    let mut u = universe();
    u.keys = vec![Arc::new(Gpu("gpu", 1)), Arc::new(Gpu("device", 0))];
    let s = ScopeSpec::new()
        .key("gpu", Selector::One(1))
        .key("device", Selector::One(2))
        .key("blah", Selector::One(3));
    let want = Scope::Exact(ProcessorId {
        worker: WorkerId(1),
        kind: ProcessorKind::Custom(1),
        index: 1,
    });
    assert_eq!(s.build(&u).unwrap(), want);
    u.keys.push(Arc::new(Gpu("tpu", 1)));
    let tie = ScopeSpec::new()
        .key("gpu", Selector::One(1))
        .key("tpu", Selector::One(1));
    assert!(
        matches!(tie.build(&u), Err(Error::Argument(m)) if m.contains("Incompatible scope specifiers"))
    );
}

#[test]
fn c30_constrain_algebra() {
    let e = |p| Scope::Exact(p);
    let os = ProcessorId::os(WorkerId(1));
    assert_eq!(Scope::Default.constrain(&e(t(W, 1))), e(t(W, 1)));
    assert!(Scope::Default.constrain(&e(os)).is_invalid());
    let thread = Scope::ProcessorType(ProcessorKind::Thread);
    let osk = Scope::ProcessorType(ProcessorKind::Os);
    assert_eq!(thread.constrain(&e(t(W, 1))), e(t(W, 1)));
    assert!(thread.constrain(&e(os)).is_invalid());
    let both = osk.constrain(&thread);
    assert!(both.constrain(&e(t(1, 1))).is_invalid());
    assert!(both.constrain(&e(os)).is_invalid());
    let u12 = Scope::union([e(t(1, 1)), e(t(1, 2))]).unwrap();
    let u1 = Scope::union([e(t(1, 1))]).unwrap();
    assert_eq!(u12.constrain(&u1), Scope::Union(vec![e(t(1, 1))]));
    assert!(matches!(Scope::union([]), Err(Error::Argument(_))));
    let wt = build(ScopeSpec::new().worker(W).thread(1)).unwrap();
    let w = build(ScopeSpec::new().worker(W)).unwrap();
    assert!(wt.is_subset(&w));
    assert!(!w.is_subset(&wt));
    let msg = Scope::Process(WorkerId(1))
        .constrain(&Scope::Process(WorkerId(W)))
        .to_string();
    assert!(
        msg.starts_with("InvalidScope(ProcessScope(w1), ProcessScope(w2))"),
        "{msg}"
    );
}

// ---- properties: the algebra means what it says on a finite universe of processors ----

fn procs() -> Vec<ProcessorInfo> {
    let mut v = Vec::new();
    for w in 1..=3u32 {
        let node = NodeId(u64::from(w % 2));
        v.push(ProcessorInfo {
            id: ProcessorId::os(WorkerId(w)),
            node,
        });
        for i in 1..=2 {
            v.push(ProcessorInfo { id: t(w, i), node });
        }
        v.push(ProcessorInfo {
            id: ProcessorId {
                worker: WorkerId(w),
                kind: ProcessorKind::Custom(3),
                index: 1,
            },
            node,
        });
    }
    v
}

fn simple() -> impl Strategy<Value = Scope> {
    let kind = prop_oneof![
        Just(ProcessorKind::Os),
        Just(ProcessorKind::Thread),
        Just(ProcessorKind::Custom(3))
    ];
    let pid = (1..=3u32, kind.clone(), 0..=2u32).prop_map(|(w, kind, index)| ProcessorId {
        worker: WorkerId(w),
        kind,
        index,
    });
    prop_oneof![
        Just(Scope::Any),
        Just(Scope::Default),
        (0..2u64).prop_map(|n| Scope::Node(NodeId(n))),
        (1..=3u32).prop_map(|w| Scope::Process(WorkerId(w))),
        kind.prop_map(Scope::ProcessorType),
        pid.prop_map(Scope::Exact),
    ]
}

fn scope() -> impl Strategy<Value = Scope> {
    simple().prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 1..4)
                .prop_map(|v| Scope::union(v).unwrap_or(Scope::Any)),
            (inner.clone(), inner).prop_map(|(a, b)| a.constrain(&b)),
        ]
    })
}

fn members(s: &Scope) -> Vec<ProcessorId> {
    procs()
        .into_iter()
        .filter(|p| s.matches(p))
        .map(|p| p.id)
        .collect()
}

proptest! {
    #[test]
    fn constrain_is_set_intersection(a in scope(), b in scope()) {
        let ab = a.constrain(&b);
        for p in procs() {
            prop_assert_eq!(ab.matches(&p), a.matches(&p) && b.matches(&p), "{:?}", p.id);
        }
    }

    #[test]
    fn constrain_is_commutative(a in scope(), b in scope()) {
        prop_assert_eq!(members(&a.constrain(&b)), members(&b.constrain(&a)));
        // without node constraints the normal forms agree structurally too
        if a.constraint().is_some() && b.constraint().is_some() {
            prop_assert_eq!(a.constrain(&b).is_invalid(), b.constrain(&a).is_invalid());
        }
    }

    #[test]
    fn constrain_is_associative(a in scope(), b in scope(), c in scope()) {
        prop_assert_eq!(members(&a.constrain(&b).constrain(&c)), members(&a.constrain(&b.constrain(&c))));
    }

    #[test]
    fn constrain_is_idempotent_and_any_is_identity(a in scope()) {
        prop_assert_eq!(members(&a.constrain(&a)), members(&a));
        prop_assert_eq!(members(&a.constrain(&Scope::Any)), members(&a));
    }

    #[test]
    fn subset_is_sound(a in scope(), b in scope()) {
        // is_subset may be conservative (nodes of workers are unknown statically) but never wrong.
        if a.is_subset(&b) {
            for p in procs() {
                prop_assert!(!a.matches(&p) || b.matches(&p), "{:?} in {:?} not in {:?}", p.id, a, b);
            }
        }
        prop_assert!(a.constrain(&b).is_subset(&a) || a.constrain(&b).constraint().is_none());
        prop_assert!(a.is_subset(&a) || a.constraint().is_none());
    }

    #[test]
    fn subset_is_transitive(a in scope(), b in scope(), c in scope()) {
        if a.is_subset(&b) && b.is_subset(&c) {
            prop_assert!(a.is_subset(&c));
        }
    }

    #[test]
    fn constraint_normal_form_is_unique(a in simple(), b in simple()) {
        // Two non-union scopes naming the same set have the same normal form.
        let (x, y) = (a.constrain(&b), b.constrain(&a));
        if let (Some(cx), Some(cy)) = (x.constraint(), y.constraint()) {
            let _: Constraint = cx;
            prop_assert_eq!(cx, cy);
        }
    }
}

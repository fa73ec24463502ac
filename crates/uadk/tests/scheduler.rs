//! A caller-supplied scheduler (`CompConfig::scheduler`): its picks are used, its
//! per-session token reaches it, and an index it returns out of range, or of a context of
//! the other mode, fails the request instead of panicking.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use uadk::sched::{SchedKey, Scheduler};
use uadk::{Alg, Comp, CompConfig, CtxMode, CtxSpec, Error, JobBuf, OpType, SessionSetup};

/// Contexts: 0 sync compress, 1 sync decompress, 2 async compress.
struct Fixed {
    /// Added to every pick (0: correct picks).
    skew: AtomicUsize,
    picks: AtomicUsize,
    last_token: AtomicUsize,
}

impl Scheduler for Fixed {
    fn name(&self) -> &'static str {
        "fixed"
    }

    fn pick(&self, key: &SchedKey, mode: CtxMode) -> Option<usize> {
        self.picks.fetch_add(1, Ordering::Relaxed);
        self.last_token.store(key.token, Ordering::Relaxed);
        let base = match (mode, key.op) {
            (CtxMode::Sync, OpType::Compress) => 0,
            (CtxMode::Sync, OpType::Decompress) => 1,
            (CtxMode::Async, OpType::Compress) => 2,
            (CtxMode::Async, OpType::Decompress) => return None,
        };
        Some(base + self.skew.load(Ordering::Relaxed))
    }
}

#[test]
fn caller_scheduler_is_used_and_checked() {
    let sched = Arc::new(Fixed {
        skew: AtomicUsize::new(0),
        picks: AtomicUsize::new(0),
        last_token: AtomicUsize::new(0),
    });
    let mut cfg = CompConfig::new().scheduler(sched.clone());
    let spec = |mode, op| CtxSpec { node: 0, mode, op };
    cfg.ctx_list = Some(vec![
        spec(CtxMode::Sync, OpType::Compress),
        spec(CtxMode::Sync, OpType::Decompress),
        spec(CtxMode::Async, OpType::Compress),
    ]);
    let comp = Comp::new(cfg).unwrap();
    assert_eq!(comp.sched_name(), "fixed");
    let c = comp
        .session(&SessionSetup::new(Alg::Zlib, OpType::Compress).sched_token(77))
        .unwrap();
    let d = comp
        .session(&SessionSetup::new(Alg::Zlib, OpType::Decompress))
        .unwrap();
    let data = b"scheduled by the caller ".repeat(100);
    let z = c.process_to_vec(&data).unwrap();
    assert_eq!(sched.last_token.load(Ordering::Relaxed), 77);
    assert_eq!(d.process_to_vec(&z).unwrap(), data);
    let before = comp.ctx_info()[0].stats.sent;
    c.process_to_vec(&data).unwrap();
    assert_eq!(comp.ctx_info()[0].stats.sent, before + 1);

    // Async compress on ctx 2; async decompress has no context.
    let (tx, rx) = std::sync::mpsc::channel();
    c.submit(
        JobBuf::Flat(data.clone()),
        JobBuf::Flat(vec![0; 8192]),
        Box::new(move |done| tx.send(done.result.is_ok()).unwrap()),
    )
    .unwrap();
    while comp.poll(0).unwrap() == 0 {}
    assert!(rx.recv().unwrap());
    let e = d
        .submit(
            JobBuf::Flat(z.clone()),
            JobBuf::Flat(vec![0; 8192]),
            Box::new(|_| {}),
        )
        .unwrap_err();
    assert!(matches!(e.error, Error::NoContext(_)), "{e}");

    // Skew 2: sync compress lands on ctx 2 (async), decompress on 3 (out of range),
    // async compress on 4 (out of range). Errors, no panic.
    sched.skew.store(2, Ordering::Relaxed);
    let mut out = vec![0u8; 8192];
    assert!(matches!(
        c.process(&data, &mut out),
        Err(Error::InvalidParam(_))
    ));
    assert!(matches!(
        d.process(&z, &mut out),
        Err(Error::InvalidParam(_))
    ));
    let e = c
        .submit(
            JobBuf::Flat(data.clone()),
            JobBuf::Flat(vec![0; 8192]),
            Box::new(|_| {}),
        )
        .unwrap_err();
    assert!(matches!(e.error, Error::InvalidParam(_)), "{e}");
    assert!(sched.picks.load(Ordering::Relaxed) >= 8);
}

//! Trapped MMIO: every store into a modelled queue's MMIO region reaches the model.
//!
//! The region handed to the program is mapped read-only. A store into it faults
//! (SIGSEGV); the handler decodes the storing instruction, hands the offset, value and
//! size to the region's sink (the model's MMIO, and its doorbell latch), and resumes the
//! program after the instruction. So every doorbell write is seen, however close
//! together two writes from two threads come: a page watched by polling would lose the
//! first of two doorbells (SQ, then CQ) written to the same word. Faults anywhere else
//! go to the handler that was installed before ours, or take the default action.

use std::sync::{Arc, Once, OnceLock, RwLock};

/// What a trapped store is handed to: (offset in the region, value, bytes).
pub type Sink = Arc<dyn Fn(usize, u64, u8) + Send + Sync>;

struct Trapped {
    base: usize,
    len: usize,
    sink: Sink,
}

static TRAPS: RwLock<Vec<Trapped>> = RwLock::new(Vec::new());

struct PrevAction(libc::sigaction);
// SAFETY: a plain C struct copied once at install and only read afterwards.
unsafe impl Sync for PrevAction {}
// SAFETY: as above.
unsafe impl Send for PrevAction {}

static PREV: OnceLock<PrevAction> = OnceLock::new();
static INSTALL: Once = Once::new();

/// True where stores can be decoded (x86-64).
pub const SUPPORTED: bool = cfg!(target_arch = "x86_64");

fn install_handler() {
    INSTALL.call_once(|| {
        // SAFETY: a zeroed sigaction is a valid "no handler" value; we fill in ours and
        // keep the previous one for chaining.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_segv as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGSEGV, &sa, &mut old) == 0 {
                let _ = PREV.set(PrevAction(old));
            }
        }
    });
}

/// Trap stores into `[base, base + len)` (already mapped read-only) and hand them to
/// `sink`.
pub fn add(base: usize, len: usize, sink: Sink) {
    install_handler();
    TRAPS
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .push(Trapped { base, len, sink });
}

/// Stop trapping the region that starts at `base`.
pub fn remove(base: usize) {
    TRAPS
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|t| t.base != base);
}

fn say(msg: &str) {
    // SAFETY: write(2) of a valid buffer; async-signal-safe.
    unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
}

/// Pass a fault that is not ours to whoever handled SIGSEGV before us.
///
/// # Safety
/// Called from the signal handler with its own arguments.
unsafe fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let prev = PREV.get().map(|p| p.0.sa_sigaction);
    match prev {
        Some(h) if h != libc::SIG_DFL && h != libc::SIG_IGN => {
            let flags = PREV.get().map(|p| p.0.sa_flags).unwrap_or(0);
            if flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous handler was installed with SA_SIGINFO: it takes
                // these three arguments.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(h) };
                f(sig, info, ctx);
            } else {
                // SAFETY: a plain handler takes the signal number.
                let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(h) };
                f(sig);
            }
        }
        _ => {
            // Default action: restore it and return; the instruction faults again and
            // the process ends as it would have without us.
            // SAFETY: resetting a signal disposition.
            unsafe { libc::signal(libc::SIGSEGV, libc::SIG_DFL) };
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn regs_of(uc: &libc::ucontext_t) -> crate::x86::Regs {
    use libc::*;
    let g = &uc.uc_mcontext.gregs;
    let order = [
        REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI, REG_R8, REG_R9,
        REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
    ];
    let mut r = crate::x86::Regs {
        rip: g[REG_RIP as usize] as u64,
        ..Default::default()
    };
    for (k, idx) in order.iter().enumerate() {
        r.gpr[k] = g[*idx as usize] as u64;
    }
    r
}

extern "C" fn on_segv(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel hands a valid siginfo for SIGSEGV.
    let addr = unsafe { (*info).si_addr() } as usize;
    // A store from the thread that holds the write lock cannot happen: no code of ours
    // stores into a trapped region.
    let hit = {
        let t = TRAPS.read().unwrap_or_else(|e| e.into_inner());
        t.iter()
            .find(|t| addr >= t.base && addr < t.base + t.len)
            .map(|t| (t.base, t.sink.clone()))
    };
    let Some((base, sink)) = hit else {
        // SAFETY: our own arguments.
        unsafe { chain(sig, info, ctx) };
        return;
    };
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: the kernel hands a valid ucontext to an SA_SIGINFO handler.
        let uc = unsafe { &mut *(ctx as *mut libc::ucontext_t) };
        let regs = regs_of(uc);
        // SAFETY: rip points at the faulting instruction, which is mapped and readable.
        let fetch = |i: usize| unsafe { ((regs.rip as usize + i) as *const u8).read() };
        match crate::x86::decode(fetch, &regs) {
            Some(s) if (s.addr as usize) <= addr && addr < s.addr as usize + s.size as usize => {
                sink(s.addr as usize - base, s.value, s.size);
                uc.uc_mcontext.gregs[libc::REG_RIP as usize] += s.len as i64;
            }
            _ => {
                say("uadk-model-preload: a store into a modelled MMIO region by an instruction it cannot decode\n");
                // SAFETY: ending the process; nothing else is sound here.
                unsafe { libc::abort() };
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (base, sink, ctx);
        say("uadk-model-preload: trapped MMIO stores are decoded on x86-64 only\n");
        // SAFETY: as above.
        unsafe { libc::abort() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn stores_into_a_trapped_page_reach_the_sink_and_execution_goes_on() {
        if !SUPPORTED {
            return;
        }
        // SAFETY: a fresh anonymous page, made read-only.
        let page = unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            p as usize
        };
        let seen: Arc<Mutex<Vec<(usize, u64, u8)>>> = Arc::default();
        let s = seen.clone();
        add(
            page,
            4096,
            Arc::new(move |off, v, n| s.lock().unwrap().push((off, v, n))),
        );
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                std::thread::spawn(move || {
                    for k in 0..100u64 {
                        // SAFETY: the page is trapped: the store is emulated, not done.
                        unsafe {
                            ((page + 8 * t as usize) as *mut u64).write_volatile(t << 32 | k)
                        };
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // SAFETY: as above; a 32-bit store.
        unsafe { ((page + 0x100) as *mut u32).write_volatile(0xdead_beef) };
        remove(page);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 401, "every store reached the sink");
        for t in 0..4u64 {
            let mine: Vec<u64> = seen
                .iter()
                .filter(|e| e.0 == 8 * t as usize)
                .map(|e| e.1)
                .collect();
            assert_eq!(mine, (0..100).map(|k| t << 32 | k).collect::<Vec<_>>());
        }
        assert!(seen.contains(&(0x100, 0xdead_beef, 4)));
        // SAFETY: our page; nothing was written to it.
        unsafe {
            assert_eq!((page as *const u64).read_volatile(), 0);
            libc::munmap(page as *mut _, 4096);
        }
    }
}

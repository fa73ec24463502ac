//! `libuadk_model_preload.so`: modelled HiSilicon ZIP devices, seen by any process where
//! the kernel's would be.
//!
//! ```sh
//! UADK_ZIP_MODEL=2@0 LD_PRELOAD=libuadk_model_preload.so ./uadk_comp --alg gzip < in > out
//! ```
//!
//! With `UADK_ZIP_MODEL` set (the syntax of [`uadk::model::MODEL_ENV`], faults from
//! [`uadk::model::FAULT_ENV`]), the library installs the project's device model when the
//! process starts and serves, from it, what a UADK user-space driver reaches through the
//! kernel:
//!
//! - paths under `/sys/class/uacce` (the model's sysfs tree: `opendir`/`readdir`,
//!   `open`/`read`, `access`, `realpath`, `stat`, `fopen`);
//! - `/dev/hisi_zip-N`: `open` gives a descriptor of one modelled queue; `ioctl` serves
//!   `UACCE_CMD_START_Q`, `UACCE_CMD_PUT_Q`, `UACCE_CMD_QM_SET_QP_CTX` and
//!   `UACCE_CMD_QM_SET_QP_INFO`; `mmap` at offset `0` (MMIO) and one page (DUS) maps the
//!   queue's regions; `poll` reports `POLLIN` while completions wait; `close` gives the
//!   queue back;
//! - stores into the MMIO region (doorbells): the region is mapped read-only, each store
//!   traps and is handed to the model ([`trap`]).
//!
//! Every other path, descriptor and mapping passes through to the C library untouched.
//! A library of this project in the same process (which would install its own model from
//! the same variables) sees [`uadk_model_preload_active`] and uses these devices as
//! kernel devices instead, through its own kernel path.
//!
//! `UADK_ZIP_MODEL_REPORT=FILE` appends one line per device at exit:
//! `hisi_zip-0 executed=N rejected=N injected=N` (requests run, model errors, faults
//! injected), and `preload polls=N stores=N` (`poll` calls on
//! queues, MMIO stores trapped); `-` for stderr.
//!
//! `paths.rs` serves the paths, `queue.rs` the queues' descriptors (`open`ed, `close`,
//! `ioctl`, `poll`), `mmap.rs` their regions, `trap.rs` the MMIO store trap (the
//! signal handler) with `x86.rs` decoding the storing instruction, `real.rs` the C
//! library's own functions.

#[macro_use]
mod real;
mod mmap;
mod paths;
mod queue;
pub mod trap;
pub mod x86;

pub use mmap::{mmap, mmap64, munmap};
pub use paths::{
    __open64_2, __open_2, __openat64_2, __openat_2, __realpath_chk, access, fopen, fopen64, lstat,
    lstat64, open, open64, openat, openat64, opendir, realpath, stat, stat64, statx,
};
pub use queue::{close, ioctl, poll};

use std::ffi::c_int;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use uadk::model::{self, Model};

/// Where UADK looks for devices.
pub const CLASS_DIR: &str = "/sys/class/uacce";
/// Environment variable naming the report file.
pub const REPORT_ENV: &str = "UADK_ZIP_MODEL_REPORT";

/// The installed model, when this process asked for one.
struct State {
    model: Arc<Model>,
    root: String,
    report: Option<String>,
}

static STATE: OnceLock<Option<State>> = OnceLock::new();
/// `poll` calls that waited on a queue.
static POLLS: AtomicU64 = AtomicU64::new(0);
/// Stores into MMIO regions, trapped and handed to the model.
static STORES: AtomicU64 = AtomicU64::new(0);

fn state() -> Option<&'static State> {
    STATE.get_or_init(init_state).as_ref()
}

fn init_state() -> Option<State> {
    let spec = std::env::var(model::MODEL_ENV).ok()?;
    if spec.trim().is_empty() {
        return None;
    }
    let report = std::env::var(REPORT_ENV).ok().filter(|s| !s.is_empty());
    INSTALLING.with(|f| f.set(true));
    let installed = model::install_from_env();
    INSTALLING.with(|f| f.set(false));
    let m = match installed {
        Ok(Some(m)) => m,
        Ok(None) => return None,
        Err(e) => {
            eprintln!("uadk-model-preload: {e}");
            return None;
        }
    };
    if !trap::SUPPORTED {
        eprintln!("uadk-model-preload: doorbell stores can be trapped on x86-64 only");
        return None;
    }
    // SAFETY: registering a plain function to run at exit.
    unsafe { libc::atexit(at_exit) };
    let root = m.root().to_string_lossy().into_owned();
    Some(State {
        model: m,
        root,
        report,
    })
}

extern "C" fn at_exit() {
    let Some(s) = STATE.get().and_then(|s| s.as_ref()) else {
        return;
    };
    if let Some(dest) = &s.report {
        let mut text = String::new();
        for d in s.model.devices() {
            text.push_str(&format!(
                "{} executed={} rejected={} injected={}\n",
                d.name(),
                d.stats.executed.load(Ordering::Relaxed),
                d.stats.rejected.load(Ordering::Relaxed),
                d.stats.injected.load(Ordering::Relaxed),
            ));
        }
        text.push_str(&format!(
            "preload polls={} stores={}\n",
            POLLS.load(Ordering::Relaxed),
            STORES.load(Ordering::Relaxed)
        ));
        if dest == "-" {
            eprint!("{text}");
        } else {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dest)
            {
                let _ = f.write_all(text.as_bytes());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&s.root);
}

/// Nonzero once this library serves modelled devices: libraries of this project in the
/// same process then reach them as kernel devices instead of installing a model of their
/// own ([`uadk::model::preload_active`]).
///
/// It may be asked before this library's constructor ran (libraries' constructors run
/// before a preloaded one's): it sets the model up then. While this library installs its
/// own model (whose code asks the same question), it answers 0 on that thread.
#[no_mangle]
pub extern "C" fn uadk_model_preload_active() -> c_int {
    if INSTALLING.with(|f| f.get()) {
        return 0;
    }
    state().is_some() as c_int
}

thread_local! {
    /// This thread is installing the model.
    static INSTALLING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = init;

extern "C" fn init() {
    let _ = state();
}

//! One opened queue of a modelled device, as its driver sees it: its regions, ioctls,
//! doorbells and waits.

use super::device::ModelDevice;
use super::engine_thread::{EngineState, Shared};
use super::{engine, EngineKind};
use crate::error::{Error, Result};
use crate::hw::zip::{
    self as fmt, CQE_SIZE, SQE_SIZE, UACCE_CMD_QM_SET_QP_CTX, UACCE_CMD_QM_SET_QP_INFO,
};
use crate::uacce::{self, Qfrt, QueueOps, Region, UACCE_CMD_PUT_Q, UACCE_CMD_START_Q};
use std::alloc::{self, Layout};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// SQ and CQ depth of modelled queues.
pub const MODEL_DEPTH: u16 = 1024;
/// MMIO region of a modelled queue.
pub const MODEL_MMIO_SIZE: usize = 0x2000;

/// Bytes of the DUS region: SQ ring, CQ ring, and a page whose last words hold the
/// queue status (UADK reads `ds_tx` at the last word and `ds_rx` just before it).
pub fn model_dus_size() -> usize {
    let rings = SQE_SIZE * MODEL_DEPTH as usize + CQE_SIZE * MODEL_DEPTH as usize;
    rings.div_ceil(4096) * 4096 + 4096
}

/// Page-aligned zeroed memory standing in for a mapped region.
pub(super) struct Mem {
    pub(super) ptr: *mut u8,
    pub(super) layout: Layout,
}

// SAFETY: plain memory, accessed with volatile operations by one driver and one engine.
unsafe impl Send for Mem {}
// SAFETY: as above.
unsafe impl Sync for Mem {}

impl Mem {
    fn new(len: usize) -> Result<Mem> {
        let layout = Layout::from_size_align(len, 4096)
            .map_err(|e| Error::InvalidParam(format!("region of {len} bytes: {e}")))?;
        // SAFETY: the layout has a nonzero size.
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            return Err(Error::Io("out of memory for a model region".into()));
        }
        Ok(Mem { ptr, layout })
    }
}

impl Drop for Mem {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { alloc::dealloc(self.ptr, self.layout) };
    }
}

/// One opened queue of a modelled device.
pub(super) struct ModelQueue {
    shared: Arc<Shared>,
    engine: Mutex<Option<JoinHandle<()>>>,
}

impl ModelQueue {
    pub(super) fn open(dev: Arc<ModelDevice>) -> Result<ModelQueue> {
        if dev.removed() {
            return Err(Error::NoDevice(format!("{} has been removed", dev.name)));
        }
        if dev.available.fetch_sub(1, Ordering::SeqCst) <= 0 {
            dev.available.fetch_add(1, Ordering::SeqCst);
            return Err(Error::NoDevice(format!("{}: no free queues", dev.name)));
        }
        dev.write_available();
        let sqn = dev.next_sqn.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(Shared {
            mmio: Mem::new(MODEL_MMIO_SIZE)?,
            dus: Mem::new(model_dus_size())?,
            sqn,
            qc_type: AtomicU16::new(0),
            state: Mutex::new(EngineState {
                cq_phase: true,
                ..EngineState::default()
            }),
            kick: Condvar::new(),
            done: Condvar::new(),
            irq: Mutex::new(None),
            sq_tail: AtomicU16::new(0),
            engine_asleep: AtomicBool::new(false),
            inline: (dev.engine == EngineKind::ZipInline)
                .then(|| Mutex::new(engine::Engine::new())),
            dev: dev.clone(),
        });
        dev.queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&shared));
        Ok(ModelQueue {
            shared,
            engine: Mutex::new(None),
        })
    }

    fn stop(&self) {
        {
            let mut st = self.shared.lock();
            if !st.started {
                return;
            }
            st.started = false;
            st.stop = true;
        }
        self.shared.kick.notify_all();
        if let Some(h) = self.engine.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }
}

impl QueueOps for ModelQueue {
    fn ioctl(&self, cmd: u64, arg: &mut [u8]) -> Result<()> {
        let sh = &self.shared;
        if sh.dev.removed() {
            return Err(Error::Hardware(format!("{} has been removed", sh.dev.name)));
        }
        match cmd {
            UACCE_CMD_START_Q => {
                let mut st = sh.lock();
                if st.started {
                    return Err(Error::InvalidParam("queue already started".into()));
                }
                st.started = true;
                st.stop = false;
                drop(st);
                if sh.inline.is_some() {
                    // Its doorbells run the engine.
                    return Ok(());
                }
                let s = sh.clone();
                let h = std::thread::Builder::new()
                    .name(format!("{}-q{}", sh.dev.name, sh.sqn))
                    .spawn(move || s.run())
                    .map_err(|e| Error::Io(format!("starting the model engine: {e}")))?;
                *self.engine.lock().unwrap_or_else(|e| e.into_inner()) = Some(h);
                Ok(())
            }
            UACCE_CMD_PUT_Q => {
                self.stop();
                Ok(())
            }
            UACCE_CMD_QM_SET_QP_CTX if arg.len() >= 4 => {
                sh.qc_type
                    .store(u16::from_le_bytes([arg[2], arg[3]]), Ordering::Relaxed);
                arg[0..2].copy_from_slice(&sh.sqn.to_le_bytes());
                Ok(())
            }
            UACCE_CMD_QM_SET_QP_INFO if arg.len() >= 8 => {
                arg[0..4].copy_from_slice(&(SQE_SIZE as u32).to_le_bytes());
                arg[4..6].copy_from_slice(&MODEL_DEPTH.to_le_bytes());
                arg[6..8].copy_from_slice(&MODEL_DEPTH.to_le_bytes());
                Ok(())
            }
            _ => Err(Error::Io(format!("ioctl {cmd:#x}: not supported (ENOTTY)"))),
        }
    }

    fn mmap(&self, qfrt: Qfrt, len: usize) -> Result<Region> {
        let m = match qfrt {
            Qfrt::Mmio => &self.shared.mmio,
            Qfrt::Dus => &self.shared.dus,
        };
        if len > m.layout.size() {
            return Err(Error::Io(format!(
                "mmap of {len} bytes exceeds the {qfrt:?} region"
            )));
        }
        Ok(Region { ptr: m.ptr, len })
    }

    fn munmap(&self, _region: Region) {}

    fn wait(&self, timeout: Duration) -> Result<bool> {
        let mut st = self.shared.lock();
        if st.cq_pending > 0 || st.disabled {
            return Ok(true);
        }
        // Woken by a completion only while interrupts are enabled, as poll() on a real
        // queue; at the deadline the queue is looked at once more.
        st.waiters += 1;
        let (mut st, _) = self
            .shared
            .done
            .wait_timeout_while(st, timeout, |s| {
                !s.disabled && (s.irq_masked || s.cq_pending == 0)
            })
            .unwrap_or_else(|e| e.into_inner());
        st.waiters -= 1;
        Ok(st.cq_pending > 0 || st.disabled)
    }

    fn set_interrupt(&self, f: Option<uacce::Interrupt>) -> bool {
        *self.shared.irq.lock().unwrap_or_else(|e| e.into_inner()) = f;
        true
    }

    fn doorbell_rung(&self) {
        let off = fmt::doorbell_offset(self.shared.dev.hw_ver);
        // SAFETY: the doorbell word inside the MMIO region, just written by the driver
        // on this thread; the bus latches it here, as hardware latches each write.
        let word = unsafe { (self.shared.mmio.ptr.add(off) as *const u64).read_volatile() };
        self.doorbell(word);
    }

    fn mmio_store(&self, offset: usize, value: u64, size: u8) -> bool {
        let sh = &self.shared;
        let len = sh.mmio.layout.size();
        if offset + size as usize > len || ![1, 2, 4, 8].contains(&size) {
            sh.dev.model_error(&format!(
                "queue {}: MMIO store of {size} bytes at {offset:#x}",
                sh.sqn
            ));
            return true;
        }
        // SAFETY: inside the MMIO region (checked above).
        unsafe {
            let p = sh.mmio.ptr.add(offset);
            match size {
                1 => p.write_volatile(value as u8),
                2 => (p as *mut u16).write_unaligned(value as u16),
                4 => (p as *mut u32).write_unaligned(value as u32),
                _ => (p as *mut u64).write_unaligned(value),
            }
        }
        if offset == fmt::doorbell_offset(sh.dev.hw_ver) && size == 8 {
            self.doorbell(value);
        } else {
            sh.dev.model_error(&format!(
                "queue {}: MMIO store of {size} bytes at {offset:#x} (only the doorbell is written)",
                sh.sqn
            ));
        }
        true
    }
}

impl ModelQueue {
    /// One doorbell write, as the bus delivers it.
    fn doorbell(&self, word: u64) {
        let sh = &self.shared;
        let (sqn, cmd, index, prio) = fmt::decode_doorbell(sh.dev.hw_ver, word);
        let want_sqn = if sh.dev.hw_ver == 1 {
            sh.sqn
        } else {
            sh.sqn & 0x3ff
        };
        let bad = |what: String| {
            sh.dev
                .model_error(&format!("queue {}: doorbell {word:#018x}: {what}", sh.sqn))
        };
        if sqn != want_sqn {
            return bad(format!("names queue {sqn}"));
        }
        if index >= MODEL_DEPTH {
            return bad(format!("index {index} past the ring of {MODEL_DEPTH}"));
        }
        if (cmd, prio) == (0, 0) {
            sh.sq_tail.store(index, Ordering::SeqCst);
            if sh.inline.is_some() {
                sh.serve_inline();
                return;
            }
            if sh.engine_asleep.load(Ordering::SeqCst) {
                // The engine holds the lock until it waits: the wake-up cannot be missed.
                let _g = sh.lock();
                sh.kick.notify_all();
            }
            return;
        }
        let mut st = sh.lock();
        match (cmd, prio) {
            (1, 0 | 1) => {
                let moved = (index + MODEL_DEPTH - st.cq_head) % MODEL_DEPTH;
                if moved as u32 > st.cq_pending {
                    drop(st);
                    return bad(format!(
                        "acknowledges {moved} completions, {} posted",
                        sh.lock().cq_pending
                    ));
                }
                st.cq_head = index;
                st.cq_pending -= moved as u32;
                st.irq_masked = prio == 0;
                let raise = prio == 1 && st.cq_pending > 0;
                let wake = raise && st.waiters > 0;
                drop(st);
                if wake {
                    sh.done.notify_all();
                }
                if raise {
                    // Enabling the interrupt with completions waiting raises it.
                    sh.call_irq();
                }
            }
            _ => {
                drop(st);
                bad(format!("command {cmd} with priority {prio}"))
            }
        }
    }
}

impl Drop for ModelQueue {
    fn drop(&mut self) {
        self.stop();
        let dev = &self.shared.dev;
        dev.available.fetch_add(1, Ordering::SeqCst);
        dev.write_available();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dus_holds_rings_and_status_page() {
        let n = model_dus_size();
        assert!(n >= SQE_SIZE * 1024 + CQE_SIZE * 1024 + 8);
        assert_eq!(n % 4096, 0);
    }
}

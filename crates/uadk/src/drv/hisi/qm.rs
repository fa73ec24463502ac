//! The HiSilicon QM queue pair in user space (UADK's `hisi_qm_udrv`): SQ and CQ rings in
//! the DUS region, the doorbell in the MMIO region, CQE phase tracking, and the queue
//! status words at the end of the DUS region.

use crate::error::{Error, Result};
use crate::hw::zip::{
    self as fmt, Cqe, DbCmd, ZipSqe, CQE_SIZE, QM_Q_DEPTH, UACCE_CMD_QM_SET_QP_CTX,
    UACCE_CMD_QM_SET_QP_INFO,
};
use crate::uacce::{Qfrt, Queue, Region, UacceDevice};
use std::time::Duration;

/// One started queue pair.
pub struct Qp {
    queue: Queue,
    mmio: Region,
    dus: Region,
    sq: *mut u8,
    cq: *mut u8,
    db: *mut u64,
    ds_tx: *const u32,
    ds_rx: *const u32,
    sqe_size: usize,
    depth: u16,
    sqn: u16,
    hw_ver: u32,
    sq_tail: u16,
    cq_head: u16,
    cq_phase: bool,
    used: u16,
    /// Completions taken whose CQ slots the doorbell has not handed back yet.
    unacked: u16,
    /// Ring CQ doorbells with priority 1: completion interrupts stay enabled.
    irq: bool,
}

/// Completions taken before the CQ doorbell hands their slots back, at most: while more
/// are waiting, one doorbell serves several (each is a bus write, and in the model a lock).
const ACK_BATCH: u16 = 32;

// SAFETY: the raw pointers point into this queue's own mappings, which live as long as
// the Qp; the framework gives one thread at a time access to a context.
unsafe impl Send for Qp {}

impl std::fmt::Debug for Qp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qp")
            .field("dev", &self.queue.device().name)
            .field("sqn", &self.sqn)
            .field("depth", &self.depth)
            .finish()
    }
}

impl Qp {
    /// Open, map and start a queue of `dev` for `op_type` (0 compress, 1 decompress).
    pub fn new(dev: &UacceDevice, op_type: u16) -> Result<Qp> {
        let hw_ver = dev.hisi_qm_version().ok_or_else(|| {
            Error::NoDevice(format!(
                "{}: api '{}' is not hisi_qm_v<N>",
                dev.name, dev.api
            ))
        })?;
        let mut queue = Queue::open(dev)?;
        let dus = queue.mmap(Qfrt::Dus)?;
        let mmio = match queue.mmap(Qfrt::Mmio) {
            Ok(m) => m,
            Err(e) => {
                queue.munmap(dus);
                return Err(e);
            }
        };
        let unmap = |q: &Queue| {
            q.munmap(dus);
            q.munmap(mmio);
        };
        // struct hisi_qp_ctx { u16 id; u16 qc_type; }
        let mut ctx = [0u8; 4];
        ctx[2..4].copy_from_slice(&op_type.to_le_bytes());
        if let Err(e) = queue.ioctl(UACCE_CMD_QM_SET_QP_CTX, &mut ctx) {
            unmap(&queue);
            return Err(e);
        }
        let sqn = u16::from_le_bytes([ctx[0], ctx[1]]);
        // struct hisi_qp_info { u32 sqe_size; u16 sq_depth; u16 cq_depth; u64 reserved; }
        let mut info = [0u8; 16];
        let (sqe_size, depth) = match queue.ioctl(UACCE_CMD_QM_SET_QP_INFO, &mut info) {
            Ok(()) => (
                u32::from_le_bytes([info[0], info[1], info[2], info[3]]) as usize,
                u16::from_le_bytes([info[4], info[5]]),
            ),
            // Older kernels: the defaults UADK assumes.
            Err(_) => (fmt::SQE_SIZE, QM_Q_DEPTH),
        };
        let cq_off = sqe_size * depth as usize;
        let need = cq_off + CQE_SIZE * depth as usize + 8;
        let db_off = fmt::doorbell_offset(hw_ver);
        if sqe_size != fmt::SQE_SIZE || depth < 2 || need > dus.len || db_off + 8 > mmio.len {
            unmap(&queue);
            return Err(Error::NoDevice(format!(
                "{}: queue geometry does not fit (sqe {sqe_size} B, depth {depth}, dus {} B, mmio {} B)",
                dev.name, dus.len, mmio.len
            )));
        }
        if let Err(e) = queue.start() {
            unmap(&queue);
            return Err(e);
        }
        // SAFETY (all four): offsets checked against the region lengths above.
        let (sq, cq, db, ds_tx, ds_rx) = unsafe {
            (
                dus.ptr,
                dus.ptr.add(cq_off),
                mmio.ptr.add(db_off).cast::<u64>(),
                dus.ptr.add(dus.len - 4).cast::<u32>() as *const u32,
                dus.ptr.add(dus.len - 8).cast::<u32>() as *const u32,
            )
        };
        Ok(Qp {
            queue,
            mmio,
            dus,
            sq,
            cq,
            db,
            ds_tx,
            ds_rx,
            sqe_size,
            depth,
            sqn,
            hw_ver,
            sq_tail: 0,
            cq_head: 0,
            cq_phase: true,
            used: 0,
            unacked: 0,
            irq: false,
        })
    }

    /// Hardware version from the device's `api`.
    pub fn hw_ver(&self) -> u32 {
        self.hw_ver
    }

    /// Ring depth.
    pub fn depth(&self) -> u16 {
        self.depth
    }

    /// Slots free for new SQEs (one is always kept empty, as the hardware requires; CQ
    /// slots not yet handed back count as used, so the CQ can never overflow).
    pub fn free(&self) -> u16 {
        self.depth - 1 - self.used - self.unacked
    }

    /// The SQ slot the next `send` will use.
    pub fn next_slot(&self) -> u16 {
        self.sq_tail
    }

    /// Requests sent and not yet received.
    pub fn in_flight(&self) -> u16 {
        self.used
    }

    /// The device this queue belongs to.
    pub fn device(&self) -> &UacceDevice {
        self.queue.device()
    }

    fn status_word(&self, p: *const u32) -> u32 {
        // SAFETY: `p` points at a status word inside the DUS mapping.
        unsafe { p.read_volatile() }
    }

    /// True once the device has reported the queue unusable (reset or removal).
    pub fn hw_down(&self) -> bool {
        self.status_word(self.ds_tx) == 1 || self.status_word(self.ds_rx) == 1
    }

    fn ring(&self, cmd: DbCmd, index: u16, priority: u8) {
        let word = fmt::doorbell(self.hw_ver, self.sqn, cmd, index, priority);
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        // SAFETY: `db` is the 8-byte-aligned doorbell inside the MMIO mapping.
        unsafe { self.db.write_volatile(word) };
        self.queue.doorbell_rung();
    }

    /// Put one SQE on the ring and ring the doorbell. Returns the slot it went into.
    pub fn send(&mut self, sqe: &ZipSqe) -> Result<u16> {
        if self.free() == 0 {
            return Err(Error::Busy);
        }
        if self.status_word(self.ds_tx) == 1 {
            return Err(Error::Hardware(format!(
                "{}: queue disabled by the device before send",
                self.device().name
            )));
        }
        let slot = self.sq_tail;
        // SAFETY: slot < depth, so the SQE lies inside the SQ ring; the engine reads it
        // only after the doorbell below.
        unsafe {
            let p = self.sq.add(slot as usize * self.sqe_size).cast::<ZipSqe>();
            p.write_volatile(*sqe);
        }
        let tail = (slot + 1) % self.depth;
        self.ring(DbCmd::Sq, tail, 0);
        self.sq_tail = tail;
        self.used += 1;
        Ok(slot)
    }

    /// Take one completion, if any: the slot and the SQE as the engine left it.
    pub fn recv(&mut self) -> Result<Option<(u16, ZipSqe)>> {
        if self.status_word(self.ds_rx) == 1 {
            return Err(Error::Hardware(format!(
                "{}: queue disabled by the device",
                self.device().name
            )));
        }
        let p = self.cqe_ptr(self.cq_head);
        if !self.cqe_ready(p) {
            return Ok(None);
        }
        std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
        // SAFETY: as above; the device has finished writing this entry.
        let cqe: Cqe = unsafe { p.read_volatile() };
        let slot = cqe.sq_head;
        if slot >= self.depth {
            return Err(Error::Hardware(format!(
                "{}: completion names SQ slot {slot} of {}",
                self.device().name,
                self.depth
            )));
        }
        // SAFETY: slot < depth, inside the SQ ring; the engine has finished with it.
        let sqe = unsafe {
            self.sq
                .add(slot as usize * self.sqe_size)
                .cast::<ZipSqe>()
                .read_volatile()
        };
        if self.cq_head == self.depth - 1 {
            self.cq_phase = !self.cq_phase;
            self.cq_head = 0;
        } else {
            self.cq_head += 1;
        }
        self.used = self.used.saturating_sub(1);
        self.unacked += 1;
        // The slot goes back with the doorbell once no completion follows at once (or
        // after ACK_BATCH of them): a burst of completions costs one doorbell.
        if self.unacked >= ACK_BATCH || !self.cqe_ready(self.cqe_ptr(self.cq_head)) {
            self.ack();
        }
        Ok(Some((slot, sqe)))
    }

    /// Hand every completion taken back to the device. Priority 0 masks the queue's
    /// completion interrupt until a CQ doorbell with priority 1 (UADK rings its sync
    /// queues with `epoll_en`, the kernel's own poll loop re-enables with 1 when it is
    /// done).
    fn ack(&mut self) {
        self.ring(DbCmd::Cq, self.cq_head, self.irq as u8);
        self.unacked = 0;
    }

    fn cqe_ptr(&self, idx: u16) -> *const Cqe {
        // SAFETY: idx < depth: the CQE lies inside the CQ ring.
        unsafe { self.cq.add(idx as usize * CQE_SIZE).cast::<Cqe>() }
    }

    /// The CQE at `p` carries the phase expected of the next completion.
    fn cqe_ready(&self, p: *const Cqe) -> bool {
        // The phase word first: the device writes it last, so only once it shows the
        // expected phase is the rest of the entry valid (UADK reads it, then rmb()).
        // SAFETY: `p` points at a CQE inside the mapping.
        let w7 = unsafe { std::ptr::addr_of!((*p).w7).read_volatile() };
        (w7 & 1 != 0) == self.cq_phase
    }

    /// Stop the queue: the device writes none of the request buffers after this returns.
    pub fn stop(&mut self) {
        let _ = self.queue.put();
    }

    /// Install a completion-interrupt handler; false when the backing cannot.
    pub fn set_interrupt(&self, f: Option<crate::uacce::Interrupt>) -> bool {
        self.queue.set_interrupt(f)
    }

    /// Wait for the device's completion interrupt.
    pub fn wait(&self, timeout: Duration) -> Result<bool> {
        self.queue.wait(timeout)
    }

    /// Keep completion interrupts enabled (contexts that rely on them: async ones).
    pub fn keep_interrupts(&mut self, on: bool) {
        self.irq = on;
    }

    /// Enable the completion interrupt, then wait for it: the CQ doorbell names the
    /// current head with priority 1, so a completion posted from now on (or already
    /// waiting) wakes the waiter.
    pub fn arm_and_wait(&mut self, timeout: Duration) -> Result<bool> {
        if !self.irq {
            self.ring(DbCmd::Cq, self.cq_head, 1);
            self.unacked = 0;
        }
        self.queue.wait(timeout)
    }
}

impl Drop for Qp {
    fn drop(&mut self) {
        self.queue.munmap(self.dus);
        self.queue.munmap(self.mmio);
    }
}

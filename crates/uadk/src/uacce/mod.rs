//! UACCE: the kernel's Unified/User-space-access-intended Accelerator Framework, as a
//! user-space library sees it.
//!
//! Devices are listed under `/sys/class/uacce/<name>` with their attributes (`api`,
//! `flags`, `algorithms`, `available_instances`, `isolate`, `region_mmio_size`,
//! `region_dus_size`, and `device/numa_node`). Each open of `/dev/<name>` is one queue:
//! `UACCE_CMD_START_Q` starts it, `UACCE_CMD_PUT_Q` gives it back, and the MMIO and DUS
//! regions are mapped at offsets `region type * page size`.
//!
//! [`UADK_UACCE_ROOT`](ROOT_ENV) moves both `/sys` and `/dev` under another directory, for
//! tests; the device model ([`crate::model`]) installs its own root and serves the queues
//! of its devices in-process (see [`QueueOps`]).

use crate::error::{Error, Result};
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Environment variable naming a directory that stands in for `/`: devices are then read
/// from `$UADK_UACCE_ROOT/sys/class/uacce` and opened at `$UADK_UACCE_ROOT/dev/<name>`.
pub const ROOT_ENV: &str = "UADK_UACCE_ROOT";

/// Device supports shared virtual addressing (`UACCE_DEV_SVA`).
pub const UACCE_DEV_SVA: u32 = 0x1;

/// `_IO('W', 0)`: start the queue.
pub const UACCE_CMD_START_Q: u64 = io_cmd(b'W', 0);
/// `_IO('W', 1)`: put (release) the queue.
pub const UACCE_CMD_PUT_Q: u64 = io_cmd(b'W', 1);

/// Linux `_IO(type, nr)`.
pub const fn io_cmd(ty: u8, nr: u8) -> u64 {
    ((ty as u64) << 8) | nr as u64
}

/// Linux `_IOWR(type, nr, size)`.
pub const fn iowr_cmd(ty: u8, nr: u8, size: usize) -> u64 {
    (3u64 << 30) | ((size as u64 & 0x3fff) << 16) | ((ty as u64) << 8) | nr as u64
}

/// Queue file regions (`enum uacce_qfrt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qfrt {
    /// Device MMIO (the doorbell page).
    Mmio = 0,
    /// Device/user shared memory (the SQ and CQ rings).
    Dus = 1,
}

/// One accelerator as sysfs describes it (UADK's `struct uacce_dev`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UacceDevice {
    /// Device name, e.g. `hisi_zip-0`.
    pub name: String,
    /// The sysfs directory.
    pub sysfs: PathBuf,
    /// The character device.
    pub dev_path: PathBuf,
    /// Driver API, e.g. `hisi_qm_v3`.
    pub api: String,
    /// `UACCE_DEV_*` flags.
    pub flags: u32,
    /// Algorithms, one per entry.
    pub algorithms: Vec<String>,
    /// Bytes of the MMIO region.
    pub region_mmio_size: usize,
    /// Bytes of the DUS region.
    pub region_dus_size: usize,
    /// NUMA node (0 where the platform reports none).
    pub node: u32,
}

impl UacceDevice {
    /// Queues that can still be opened now (reads sysfs again).
    pub fn available_instances(&self) -> Result<i64> {
        read_int(&self.sysfs, "available_instances")
    }

    /// True when the device has been isolated after hardware errors.
    pub fn isolated(&self) -> bool {
        read_int(&self.sysfs, "isolate").is_ok_and(|v| v == 1)
    }

    /// True when the device shares the process's address space (SVA).
    pub fn is_sva(&self) -> bool {
        self.flags & UACCE_DEV_SVA != 0
    }

    /// True when `alg` is among the device's algorithms.
    pub fn supports(&self, alg: &str) -> bool {
        self.algorithms.iter().any(|a| a == alg)
    }

    /// Hardware version from an `api` of the form `hisi_qm_v<N>` (UADK reads the number
    /// after the ninth character), if it has one.
    pub fn hisi_qm_version(&self) -> Option<u32> {
        self.api.strip_prefix("hisi_qm_v")?.parse().ok()
    }

    /// The bandwidth usage (percent) the device's optional `dev_usage` attribute gives for
    /// `label`: the number after `label: ` at the start of one of its lines (the kernel
    /// writes `COMPRESS: n`, `DECOMPRESS: n`, ...). See [`usage_label`].
    pub fn usage(&self, label: &str) -> Result<u32> {
        let text = read_attr(&self.sysfs, DEV_USAGE)
            .map_err(|_| Error::NoDevice(format!("{}: no {DEV_USAGE} attribute", self.name)))?;
        let want = format!("{label}: ");
        let v = text
            .lines()
            .find_map(|l| l.trim_start().strip_prefix(want.as_str()))
            .ok_or_else(|| {
                Error::InvalidParam(format!("{}: {DEV_USAGE} has no {label}", self.name))
            })?;
        let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
        digits
            .parse()
            .map_err(|_| Error::InvalidParam(format!("{}: {DEV_USAGE} {label}: '{v}'", self.name)))
    }
}

/// The optional sysfs attribute with a device's bandwidth usage per kind of work.
pub const DEV_USAGE: &str = "dev_usage";

/// Which line of `dev_usage` answers for `alg` and op type `op` on a device (UADK after
/// v2.10, `wd_get_dev_usage`): ZIP devices report `COMPRESS` (op 0) and `DECOMPRESS`
/// (op 1), and `DAE` for their analytics algorithms (op 0 only); SEC devices one `SEC`
/// line; HPRE devices `ECC` for the elliptic-curve algorithms and `RSA` for the others.
/// Other devices and op types have none.
pub fn usage_label(dev_name: &str, alg: &str, op: u8) -> Result<&'static str> {
    const DAE_ALGS: [&str; 4] = ["udma", "hashagg", "hashjoin", "gather"];
    const ECC_ALGS: [&str; 5] = ["sm2", "ecdh", "x448", "x25519", "ecdsa"];
    let bad = || Error::InvalidParam(format!("{dev_name}: no usage for {alg} op type {op}"));
    if dev_name.contains("hisi_zip") {
        match (DAE_ALGS.contains(&alg), op) {
            (true, 0) => Ok("DAE"),
            (false, 0) => Ok("COMPRESS"),
            (false, 1) => Ok("DECOMPRESS"),
            _ => Err(bad()),
        }
    } else if dev_name.contains("hisi_sec") && op == 0 {
        Ok("SEC")
    } else if dev_name.contains("hisi_hpre") && op == 0 {
        Ok(if ECC_ALGS.contains(&alg) {
            "ECC"
        } else {
            "RSA"
        })
    } else {
        Err(bad())
    }
}

static ROOT_OVERRIDE: RwLock<Option<PathBuf>> = RwLock::new(None);

/// Point the UACCE root at `dir` for this process (the device model does this), or back
/// at the environment's choice with `None`.
pub fn set_root(dir: Option<PathBuf>) {
    *ROOT_OVERRIDE.write().unwrap_or_else(|e| e.into_inner()) = dir;
}

/// The directory standing in for `/`.
pub fn root() -> PathBuf {
    if let Some(p) = ROOT_OVERRIDE
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
    {
        return p;
    }
    match std::env::var_os(ROOT_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from("/"),
    }
}

fn read_attr(dir: &Path, attr: &str) -> Result<String> {
    let p = dir.join(attr);
    fs::read_to_string(&p)
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::Io(format!("reading {}: {e}", p.display())))
}

fn read_int(dir: &Path, attr: &str) -> Result<i64> {
    let s = read_attr(dir, attr)?;
    let t = s.trim();
    let v = match t.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16),
        None => t.parse(),
    };
    v.map_err(|_| Error::Io(format!("{}/{attr}: not a number: '{t}'", dir.display())))
}

/// Read one device's attributes.
pub fn read_device(root: &Path, name: &str) -> Result<UacceDevice> {
    let sysfs = root.join("sys/class/uacce").join(name);
    let size = |attr| -> Result<usize> {
        let v = read_int(&sysfs, attr)?;
        usize::try_from(v).map_err(|_| Error::Io(format!("{name}/{attr}: negative size {v}")))
    };
    let node = read_int(&sysfs, "device/numa_node").unwrap_or(-1);
    Ok(UacceDevice {
        name: name.to_string(),
        dev_path: root.join("dev").join(name),
        api: read_attr(&sysfs, "api")?,
        flags: read_int(&sysfs, "flags")? as u32,
        algorithms: read_attr(&sysfs, "algorithms")?
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        region_mmio_size: size("region_mmio_size")?,
        region_dus_size: size("region_dus_size")?,
        // UADK: a device without a configured node counts as node 0.
        node: u32::try_from(node).unwrap_or(0),
        sysfs,
    })
}

/// Every usable device under the current root: isolated devices and devices whose
/// attributes cannot be read are skipped. A missing class directory means no devices.
pub fn list() -> Vec<UacceDevice> {
    let root = root();
    let class = root.join("sys/class/uacce");
    let Ok(rd) = fs::read_dir(&class) else {
        return Vec::new();
    };
    let mut v: Vec<UacceDevice> = rd
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| read_device(&root, &n).ok())
        .filter(|d| !d.isolated())
        .collect();
    v.sort_by_key(|d| natural_key(&d.name));
    v
}

fn natural_key(name: &str) -> (String, u64) {
    match name.rsplit_once('-') {
        Some((base, n)) if n.parse::<u64>().is_ok() => (base.to_string(), n.parse().unwrap_or(0)),
        _ => (name.to_string(), 0),
    }
}

/// A mapped queue region.
#[derive(Debug, Clone, Copy)]
pub struct Region {
    /// Start of the mapping.
    pub ptr: *mut u8,
    /// Bytes mapped.
    pub len: usize,
}

// SAFETY: a region is plain shared memory; every access goes through volatile or atomic
// operations of the queue driver, which serializes them with its own locks.
unsafe impl Send for Region {}
// SAFETY: as above.
unsafe impl Sync for Region {}

/// What a queue's backing (the kernel, or the device model) does.
pub trait QueueOps: Send + Sync {
    /// Run an ioctl; `arg` is the command's argument struct, updated in place.
    fn ioctl(&self, cmd: u64, arg: &mut [u8]) -> Result<()>;
    /// Map a region.
    fn mmap(&self, qfrt: Qfrt, len: usize) -> Result<Region>;
    /// Unmap a region mapped by `mmap`.
    fn munmap(&self, region: Region);
    /// Wait up to `timeout` for the device to signal a completion (UACCE's poll()).
    /// Returns false on timeout.
    fn wait(&self, timeout: Duration) -> Result<bool>;
    /// Called after a doorbell write: real hardware sees the MMIO write itself, the
    /// model needs a wake-up.
    fn doorbell_rung(&self) {}
    /// Run `f` on every completion interrupt; false when the backing cannot (the caller
    /// then polls).
    fn set_interrupt(&self, _f: Option<Interrupt>) -> bool {
        false
    }
}

/// A completion-interrupt handler.
pub type Interrupt = Arc<dyn Fn() + Send + Sync>;

/// Hooks that let the device model serve opens of its devices' character nodes.
pub trait Provider: Send + Sync {
    /// A queue of the device at `dev_path`, or `None` if that device is not the provider's.
    fn open(&self, dev_path: &Path) -> Option<Result<Arc<dyn QueueOps>>>;
}

static PROVIDER: RwLock<Option<Arc<dyn Provider>>> = RwLock::new(None);

/// Install (or remove) the in-process provider of device queues.
pub fn set_provider(p: Option<Arc<dyn Provider>>) {
    *PROVIDER.write().unwrap_or_else(|e| e.into_inner()) = p;
}

/// One opened queue of a device (UADK's `wd_ctx_h`).
pub struct Queue {
    dev: UacceDevice,
    ops: Arc<dyn QueueOps>,
    started: bool,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("dev", &self.dev.name)
            .finish()
    }
}

impl Queue {
    /// Open a queue: the device must be SVA-capable (this library has no no-SVA path).
    pub fn open(dev: &UacceDevice) -> Result<Queue> {
        if !dev.is_sva() {
            return Err(Error::NoDevice(format!(
                "{}: flags {:#x} lack UACCE_DEV_SVA; this library needs shared virtual addressing",
                dev.name, dev.flags
            )));
        }
        let provided = PROVIDER
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(|p| p.open(&dev.dev_path));
        let ops = match provided {
            Some(r) => r?,
            None => Arc::new(KernelQueue::open(&dev.dev_path)?) as Arc<dyn QueueOps>,
        };
        Ok(Queue {
            dev: dev.clone(),
            ops,
            started: false,
        })
    }

    /// The device this queue belongs to.
    pub fn device(&self) -> &UacceDevice {
        &self.dev
    }

    /// Start the queue (`UACCE_CMD_START_Q`).
    pub fn start(&mut self) -> Result<()> {
        self.ops.ioctl(UACCE_CMD_START_Q, &mut [])?;
        self.started = true;
        Ok(())
    }

    /// A driver-specific ioctl.
    pub fn ioctl(&self, cmd: u64, arg: &mut [u8]) -> Result<()> {
        self.ops.ioctl(cmd, arg)
    }

    /// Map a region of its sysfs size.
    pub fn mmap(&self, qfrt: Qfrt) -> Result<Region> {
        let len = match qfrt {
            Qfrt::Mmio => self.dev.region_mmio_size,
            Qfrt::Dus => self.dev.region_dus_size,
        };
        if len == 0 {
            return Err(Error::NoDevice(format!(
                "{}: region {qfrt:?} has size 0",
                self.dev.name
            )));
        }
        self.ops.mmap(qfrt, len)
    }

    /// Unmap a region.
    pub fn munmap(&self, r: Region) {
        self.ops.munmap(r)
    }

    /// Wait for a completion interrupt.
    pub fn wait(&self, timeout: Duration) -> Result<bool> {
        self.ops.wait(timeout)
    }

    /// Stop the queue (`UACCE_CMD_PUT_Q`): the device touches none of its buffers after.
    pub fn put(&mut self) -> Result<()> {
        if self.started {
            self.started = false;
            self.ops.ioctl(UACCE_CMD_PUT_Q, &mut [])?;
        }
        Ok(())
    }

    /// Install a completion-interrupt handler; false when unsupported.
    pub fn set_interrupt(&self, f: Option<Interrupt>) -> bool {
        self.ops.set_interrupt(f)
    }

    /// Tell the backing that a doorbell was written.
    pub fn doorbell_rung(&self) {
        self.ops.doorbell_rung()
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        if self.started {
            let _ = self.ops.ioctl(UACCE_CMD_PUT_Q, &mut []);
        }
    }
}

/// A queue backed by the kernel's UACCE character device.
struct KernelQueue {
    fd: OwnedFd,
}

fn open_error(path: &Path, e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => Error::NoDevice(format!(
            "permission denied opening {}: add a udev rule giving your group access to the \
             uacce devices (e.g. KERNEL==\"hisi_zip-*\", GROUP=\"uadk\", MODE=\"0660\") and \
             join that group",
            path.display()
        )),
        Some(libc::ENOENT) => Error::NoDevice(format!(
            "{} does not exist: is the accelerator's kernel driver (uacce mode) loaded?",
            path.display()
        )),
        Some(libc::EBUSY) => Error::Busy,
        _ => Error::Io(format!("opening {}: {e}", path.display())),
    }
}

impl KernelQueue {
    fn open(path: &Path) -> Result<KernelQueue> {
        let c = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::InvalidParam(format!("device path {}", path.display())))?;
        // SAFETY: `c` is a valid NUL-terminated path; open has no other preconditions.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(open_error(path, io::Error::last_os_error()));
        }
        // SAFETY: `fd` was just returned by open and is owned by nobody else.
        Ok(KernelQueue {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }
}

impl QueueOps for KernelQueue {
    fn ioctl(&self, cmd: u64, arg: &mut [u8]) -> Result<()> {
        let p = if arg.is_empty() {
            std::ptr::null_mut()
        } else {
            arg.as_mut_ptr()
        };
        // SAFETY: the fd is open; `p` is null or points at `arg`, which the command's
        // size field (encoded by the caller from the same struct) covers.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), cmd as _, p) };
        if r < 0 {
            return Err(Error::Io(format!(
                "ioctl {cmd:#x}: {}",
                io::Error::last_os_error()
            )));
        }
        Ok(())
    }

    fn mmap(&self, qfrt: Qfrt, len: usize) -> Result<Region> {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as i64;
        // SAFETY: a fresh shared mapping of the queue fd at the region's offset; the
        // kernel checks the length against the region.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.fd.as_raw_fd(),
                (qfrt as i64 * page) as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::Io(format!(
                "mmap of region {qfrt:?}: {}",
                io::Error::last_os_error()
            )));
        }
        Ok(Region { ptr: p.cast(), len })
    }

    fn munmap(&self, r: Region) {
        // SAFETY: `r` came from our mmap and is unmapped once, by its owner.
        unsafe { libc::munmap(r.ptr.cast(), r.len) };
    }

    fn wait(&self, timeout: Duration) -> Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r < 0 {
            return Err(Error::Io(format!("poll: {}", io::Error::last_os_error())));
        }
        Ok(r > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_dev(root: &Path, name: &str, node: &str, flags: u32, isolate: bool) {
        let d = root.join("sys/class/uacce").join(name);
        fs::create_dir_all(d.join("device")).unwrap();
        fs::write(d.join("api"), "hisi_qm_v3\n").unwrap();
        fs::write(d.join("flags"), format!("{flags}\n")).unwrap();
        fs::write(d.join("algorithms"), "zlib\ngzip\ndeflate\nlz4\n").unwrap();
        fs::write(d.join("available_instances"), "7\n").unwrap();
        fs::write(d.join("isolate"), if isolate { "1\n" } else { "0\n" }).unwrap();
        fs::write(d.join("region_mmio_size"), "8192\n").unwrap();
        fs::write(d.join("region_dus_size"), "151552\n").unwrap();
        fs::write(d.join("device/numa_node"), node).unwrap();
        fs::create_dir_all(root.join("dev")).unwrap();
    }

    #[test]
    fn ioctl_numbers_match_linux() {
        assert_eq!(UACCE_CMD_START_Q, 0x5700);
        assert_eq!(UACCE_CMD_PUT_Q, 0x5701);
        // _IOWR('H', 10, struct { u16; u16; }) as the hisi_qm driver defines it.
        assert_eq!(iowr_cmd(b'H', 10, 4), 0xc004_480a);
    }

    #[test]
    fn reads_sysfs_attributes() {
        let tmp = std::env::temp_dir().join(format!("uacce-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        fake_dev(&tmp, "hisi_zip-1", "1\n", 1, false);
        fake_dev(&tmp, "hisi_zip-0", "-1\n", 1, false);
        fake_dev(&tmp, "hisi_zip-2", "0\n", 1, true);
        let d = read_device(&tmp, "hisi_zip-1").unwrap();
        assert_eq!(d.api, "hisi_qm_v3");
        assert_eq!(d.hisi_qm_version(), Some(3));
        assert_eq!(d.node, 1);
        assert!(d.supports("gzip") && !d.supports("zstd"));
        assert_eq!((d.region_mmio_size, d.region_dus_size), (8192, 151552));
        assert_eq!(d.available_instances().unwrap(), 7);
        assert_eq!(d.dev_path, tmp.join("dev/hisi_zip-1"));
        // A device without a node counts as node 0.
        assert_eq!(read_device(&tmp, "hisi_zip-0").unwrap().node, 0);
        assert!(read_device(&tmp, "hisi_zip-2").unwrap().isolated());
        // dev_usage is optional; its lines are found by label at their start, so the
        // DECOMPRESS line (listed first here) is not taken for COMPRESS.
        assert!(matches!(d.usage("COMPRESS"), Err(Error::NoDevice(_))));
        fs::write(d.sysfs.join(DEV_USAGE), "DECOMPRESS: 12\nCOMPRESS: 87\n").unwrap();
        assert_eq!(d.usage("COMPRESS").unwrap(), 87);
        assert_eq!(d.usage("DECOMPRESS").unwrap(), 12);
        assert!(d.usage("DAE").is_err());
        let _ = fs::remove_dir_all(&tmp);
    }

    #[test]
    fn usage_labels_follow_uadk() {
        assert_eq!(usage_label("hisi_zip-0", "zlib", 0).unwrap(), "COMPRESS");
        assert_eq!(usage_label("hisi_zip-3", "lz4", 1).unwrap(), "DECOMPRESS");
        assert_eq!(usage_label("hisi_zip-0", "hashagg", 0).unwrap(), "DAE");
        assert!(usage_label("hisi_zip-0", "hashagg", 1).is_err());
        assert!(usage_label("hisi_zip-0", "gzip", 2).is_err());
        assert_eq!(usage_label("hisi_sec2-0", "cbc(aes)", 0).unwrap(), "SEC");
        assert_eq!(usage_label("hisi_hpre-1", "sm2", 0).unwrap(), "ECC");
        assert_eq!(usage_label("hisi_hpre-1", "rsa", 0).unwrap(), "RSA");
        assert!(usage_label("uadk-cpu-0", "zlib", 0).is_err());
    }

    #[test]
    fn refuses_devices_without_sva_and_explains_missing_nodes() {
        let tmp = std::env::temp_dir().join(format!("uacce-nosva-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        fake_dev(&tmp, "hisi_zip-0", "0\n", 0, false);
        fake_dev(&tmp, "hisi_zip-1", "0\n", 1, false);
        let d = read_device(&tmp, "hisi_zip-0").unwrap();
        let e = Queue::open(&d).unwrap_err();
        assert!(e.to_string().contains("UACCE_DEV_SVA"), "{e}");
        let d = read_device(&tmp, "hisi_zip-1").unwrap();
        let e = Queue::open(&d).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        let _ = fs::remove_dir_all(&tmp);
    }

    #[test]
    fn permission_error_names_node_and_remedy() {
        let e = open_error(
            Path::new("/dev/hisi_zip-0"),
            io::Error::from_raw_os_error(libc::EACCES),
        );
        let m = e.to_string();
        assert!(m.contains("/dev/hisi_zip-0") && m.contains("udev"), "{m}");
        assert!(!m.contains("777"));
    }
}

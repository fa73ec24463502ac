//! The clock of single-threaded measurements: this thread's CPU time.
//!
//! On a shared machine the wall clock also counts the time other processes hold the core;
//! the thread's CPU time counts only the time it ran (steal time of a virtual machine
//! aside, which the guest kernel does not charge to it either when the hypervisor reports
//! it). Single-threaded rows divide bytes by it; rows with several threads keep the wall
//! clock.

/// Which clock the single-threaded rows divide by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Clock {
    /// The CPU time of the measuring thread (in-process rows) or of the child process, user
    /// and system (command-line rows): what the work cost, whatever else the machine runs.
    #[default]
    Cpu,
    /// The wall clock: in-process from the first call to the last return, CLIs from spawn to
    /// exit.
    Wall,
}

/// Both clocks, started together.
pub(super) struct Timer {
    wall: std::time::Instant,
    cpu: f64,
}

impl Timer {
    pub(super) fn start() -> Timer {
        Timer {
            cpu: thread_cpu_secs(),
            wall: std::time::Instant::now(),
        }
    }

    /// (wall, cpu) seconds since `start`.
    pub(super) fn stop(&self) -> (f64, f64) {
        let wall = self.wall.elapsed().as_secs_f64();
        (wall, thread_cpu_secs() - self.cpu)
    }
}

/// CPU time this thread has used, in seconds.
pub(super) fn thread_cpu_secs() -> f64 {
    // SAFETY: an all-zero timespec is a valid value of this plain C struct.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is valid and writable; the clock id is a constant Linux defines.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_with_work_not_with_sleep() {
        let t0 = thread_cpu_secs();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let slept = thread_cpu_secs() - t0;
        assert!(slept < 0.02, "{slept}");
        let t1 = thread_cpu_secs();
        let mut x = 1u64;
        while thread_cpu_secs() - t1 < 0.01 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        assert!(thread_cpu_secs() - t1 >= 0.01 && x != 0);
    }
}

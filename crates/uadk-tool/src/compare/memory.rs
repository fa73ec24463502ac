//! Our own memory, read from `/proc/self/status`: the growth a contender causes.

use std::fs;

/// A field of /proc/self/status, in KiB.
pub(super) fn status_kib(field: &str) -> Option<u64> {
    let s = fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Growth of this process's peak RSS over a stretch of code.
pub(super) struct RssProbe {
    pub(super) base: Option<u64>,
    /// The kernel's peak was reset at the start, so VmHWM is the stretch's own peak.
    pub(super) peak_reset: bool,
}

impl RssProbe {
    pub(super) fn start() -> RssProbe {
        // Writing 5 to clear_refs resets the peak RSS (Linux 4.0 and later).
        let peak_reset = fs::write("/proc/self/clear_refs", "5").is_ok();
        RssProbe {
            base: status_kib("VmRSS:"),
            peak_reset,
        }
    }

    pub(super) fn delta_kib(&self) -> Option<u64> {
        let now = if self.peak_reset {
            status_kib("VmHWM:")?
        } else {
            status_kib("VmRSS:")?
        };
        Some(now.saturating_sub(self.base?))
    }
}

//! What to model: the device groups of [`MODEL_ENV`] and the faults of [`FAULT_ENV`],
//! and the syntax of both.

use crate::error::{Error, Result};
use std::time::Duration;

/// Environment variable that turns the model on: a comma-separated list of
/// `COUNT[@NODE][:vVERSION][:qQUEUES][:null]` groups, e.g. `2@0,1@1:v2`. Defaults: node 0,
/// hardware version 3, 256 queues per device, the regular engine (`null`: the null
/// engine, see [`EngineKind::Null`]).
pub const MODEL_ENV: &str = "UADK_ZIP_MODEL";

/// Environment variable injecting faults into modelled devices at start-up: a
/// comma-separated list of `DEVICE:KIND[:COUNT]`, KIND one of `error`, `lost`, `badtag`
/// (the next COUNT requests, default 1) or `stall` (COUNT milliseconds), e.g.
/// `hisi_zip-0:error:10,hisi_zip-1:lost`.
pub const FAULT_ENV: &str = "UADK_ZIP_MODEL_FAULTS";

/// Parse [`FAULT_ENV`]: (device, fault, count).
pub fn parse_faults(s: &str) -> Result<Vec<(String, Fault, u32)>> {
    let bad = |m: String| Error::InvalidParam(format!("{FAULT_ENV}='{s}': {m}"));
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let f: Vec<&str> = part.split(':').collect();
        if f.len() < 2 || f.len() > 3 {
            return Err(bad(format!("'{part}' is not DEVICE:KIND[:COUNT]")));
        }
        let n: u32 = match f.get(2) {
            Some(c) => c.parse().map_err(|_| bad(format!("count '{c}'")))?,
            None => 1,
        };
        let fault = match f[1] {
            "error" => Fault::ErrorStatus,
            "lost" => Fault::NoCompletion,
            "badtag" => Fault::BadTag,
            "stall" => Fault::Stall(Duration::from_millis(n as u64)),
            k => return Err(bad(format!("unknown fault '{k}'"))),
        };
        v.push((f[0].to_string(), fault, n));
    }
    Ok(v)
}

/// What executes the SQEs of a modelled device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// Compression and decompression as a ZIP engine does them (zlib-rs, lz4_flex, the
    /// lz77 writer), through the model's DMA.
    #[default]
    Zip,
    /// Completes flat block compression at once, as stored blocks (deflate, zlib, gzip)
    /// or literals (lz4) that any decoder reads back; the rest as [`EngineKind::Zip`].
    /// For measuring the stack without the device's time (`docs/hardware.md`).
    Null,
    /// As [`EngineKind::Zip`], but each SQE executes in the thread that rings its doorbell,
    /// before the doorbell returns: no engine thread, no hand-off, no wait. Completions
    /// arrive as from an infinitely fast device; stall faults do not apply. For the fuzz
    /// targets, where a round trip between two threads costs more than the work; not
    /// offered in [`MODEL_ENV`] (a trapped doorbell store must not run an engine).
    ZipInline,
}

/// One group of modelled devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceGroup {
    /// Devices in the group.
    pub count: u32,
    /// Their NUMA node.
    pub node: u32,
    /// QM hardware version (`api` = `hisi_qm_v<N>`).
    pub hw_ver: u32,
    /// Queues each device offers.
    pub queues: u32,
    /// The engine behind the queues.
    pub engine: EngineKind,
}

impl Default for DeviceGroup {
    /// One device on node 0, QM v3, 256 queues, the regular engine.
    fn default() -> Self {
        DeviceGroup {
            count: 1,
            node: 0,
            hw_ver: 3,
            queues: 256,
            engine: EngineKind::Zip,
        }
    }
}

/// Parse a model specification (the syntax of [`MODEL_ENV`]).
pub fn parse_spec(s: &str) -> Result<Vec<DeviceGroup>> {
    let bad = |m: String| Error::InvalidParam(format!("{MODEL_ENV}='{s}': {m}"));
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut fields = part.split(':');
        let head = fields.next().unwrap_or("");
        let (count, node) = match head.split_once('@') {
            Some((c, n)) => (c, n),
            None => (head, "0"),
        };
        let mut g = DeviceGroup {
            count: count.parse().map_err(|_| bad(format!("count '{count}'")))?,
            node: node.parse().map_err(|_| bad(format!("node '{node}'")))?,
            ..DeviceGroup::default()
        };
        for f in fields {
            if f == "null" {
                g.engine = EngineKind::Null;
            } else if let Some(x) = f.strip_prefix('v') {
                g.hw_ver = x.parse().map_err(|_| bad(format!("version '{f}'")))?;
            } else if let Some(x) = f.strip_prefix('q') {
                g.queues = x.parse().map_err(|_| bad(format!("queues '{f}'")))?;
            } else {
                return Err(bad(format!("unknown field '{f}'")));
            }
        }
        if !(2..=5).contains(&g.hw_ver) {
            return Err(bad(format!("hardware version {} (2..5)", g.hw_ver)));
        }
        if g.count == 0 || g.count > 64 || g.queues == 0 || g.queues > 4096 || g.node > 1023 {
            return Err(bad("count 1..64, queues 1..4096, node < 1024".into()));
        }
        v.push(g);
    }
    if v.is_empty() {
        return Err(bad("no devices".into()));
    }
    Ok(v)
}

/// A fault to inject into a modelled device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Complete the next requests with an engine error status.
    ErrorStatus,
    /// Execute the next requests but never post their completions.
    NoCompletion,
    /// Post the next completions with a corrupted tag.
    BadTag,
    /// Stop consuming the SQ for a while: the queue fills and senders see it busy.
    Stall(Duration),
    /// The device goes away: its queues report a hardware error and it leaves sysfs.
    Remove,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_syntax() {
        let g = parse_spec("2@0,1@1:v2:q16").unwrap();
        assert_eq!(
            g,
            vec![
                DeviceGroup {
                    count: 2,
                    ..DeviceGroup::default()
                },
                DeviceGroup {
                    count: 1,
                    node: 1,
                    hw_ver: 2,
                    queues: 16,
                    engine: EngineKind::Zip,
                }
            ]
        );
        assert_eq!(parse_spec("3").unwrap()[0].count, 3);
        let n = parse_spec("2@0:null,1:q8").unwrap();
        assert_eq!((n[0].engine, n[0].count), (EngineKind::Null, 2));
        assert_eq!((n[1].engine, n[1].queues), (EngineKind::Zip, 8));
        for bad in ["", "x", "1@y", "1:v9", "1:z", "0", "1:q0", "1:nul"] {
            assert!(parse_spec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fault_syntax() {
        let f = parse_faults("hisi_zip-0:error:10, hisi_zip-1:lost,hisi_zip-0:stall:50").unwrap();
        assert_eq!(f[0], ("hisi_zip-0".into(), Fault::ErrorStatus, 10));
        assert_eq!(f[1], ("hisi_zip-1".into(), Fault::NoCompletion, 1));
        assert_eq!(f[2].1, Fault::Stall(Duration::from_millis(50)));
        for bad in ["x", "a:b", "a:error:z", "a:error:1:2"] {
            assert!(parse_faults(bad).is_err(), "{bad}");
        }
    }
}

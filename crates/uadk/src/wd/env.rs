//! The environment variables UADK documents for compression (docs/wd_environment_variable),
//! plus this project's own switches.
//!
//! - `WD_COMP_CTX_NUM=sync-comp:2@0,async-decomp:4@1`: contexts per mode, op type and node.
//!   A count of 0 is ignored; a repeated entry keeps the larger count.
//! - `WD_COMP_ASYNC_POLL_EN=1`: the library runs poll threads that reap async completions.
//! - `WD_COMP_ASYNC_POLL_NUM=2@0,1@1`: poll threads per node (default 1 on the first node).
//! - `WD_COMP_EPOLL_EN=1`: sync requests wait for the device instead of busy polling.
//! - `UADK_HW_STRICT=1` (ours): asking for `TASK_HW` without hardware fails with
//!   `-WD_ENODEV` as UADK does, instead of falling back to the CPU engine.
//! - `UADK_LOG=info` (ours): one line on stderr per framework set up, naming its driver.
//! - `UADK_UACCE_ROOT`, `UADK_ZIP_MODEL`, `UADK_ZIP_MODEL_FAULTS`, `UADK_HW_TIMEOUT_MS`
//!   (ours): see [`crate::uacce`], [`crate::model`] and [`crate::drv::hisi`].

use super::CtxMode;
use crate::error::{Error, Result};
use crate::req::OpType;

/// True when `UADK_LOG` asks for informational messages (`info` or `debug`).
pub fn log_info() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        std::env::var("UADK_LOG").is_ok_and(|v| {
            let v = v.to_ascii_lowercase();
            v == "info" || v == "debug"
        })
    })
}

/// One entry of `WD_COMP_CTX_NUM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtxNum {
    /// Sync or async.
    pub mode: CtxMode,
    /// Compress or decompress.
    pub op: OpType,
    /// How many contexts.
    pub num: u32,
    /// On which NUMA node.
    pub node: u32,
}

/// The parsed environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvConfig {
    /// `WD_COMP_CTX_NUM`, when set.
    pub ctx_num: Option<Vec<CtxNum>>,
    /// `WD_COMP_ASYNC_POLL_EN=1`.
    pub async_poll_en: bool,
    /// `WD_COMP_ASYNC_POLL_NUM`: (threads, node) pairs.
    pub async_poll_num: Option<Vec<(u32, u32)>>,
    /// `WD_COMP_EPOLL_EN=1`.
    pub epoll_en: bool,
    /// `UADK_HW_STRICT=1`.
    pub hw_strict: bool,
}

impl EnvConfig {
    /// Read the process environment.
    pub fn from_env() -> Result<EnvConfig> {
        EnvConfig::from_lookup(|k| std::env::var(k).ok())
    }

    /// Read through a lookup function (tests use a map instead of the process environment).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<EnvConfig> {
        let flag = |k: &str| -> Result<bool> {
            match get(k).as_deref().map(str::trim) {
                None | Some("") | Some("0") => Ok(false),
                Some("1") => Ok(true),
                Some(v) => Err(Error::InvalidParam(format!("{k}={v}: expected 0 or 1"))),
            }
        };
        Ok(EnvConfig {
            ctx_num: get("WD_COMP_CTX_NUM")
                .map(|v| parse_ctx_num(&v))
                .transpose()?,
            async_poll_en: flag("WD_COMP_ASYNC_POLL_EN")?,
            async_poll_num: get("WD_COMP_ASYNC_POLL_NUM")
                .map(|v| parse_poll_num(&v))
                .transpose()?,
            epoll_en: flag("WD_COMP_EPOLL_EN")?,
            hw_strict: flag("UADK_HW_STRICT")?,
        })
    }
}

fn parse_num_at_node(item: &str, var: &str) -> Result<(u32, u32)> {
    let bad = || Error::InvalidParam(format!("{var}: '{item}' is not <num>@<node>"));
    let (num, node) = item.split_once('@').ok_or_else(bad)?;
    let num = num.trim().parse::<u32>().map_err(|_| bad())?;
    let node = node.trim().parse::<u32>().map_err(|_| bad())?;
    Ok((num, node))
}

/// Parse `WD_COMP_CTX_NUM` (`<sync-comp|sync-decomp|async-comp|async-decomp>:<num>@<node>,...`).
pub fn parse_ctx_num(s: &str) -> Result<Vec<CtxNum>> {
    const VAR: &str = "WD_COMP_CTX_NUM";
    let mut out: Vec<CtxNum> = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (kind, rest) = item
            .split_once(':')
            .ok_or_else(|| Error::InvalidParam(format!("{VAR}: '{item}' lacks ':'")))?;
        let (mode, op) = match kind.trim() {
            "sync-comp" => (CtxMode::Sync, OpType::Compress),
            "sync-decomp" => (CtxMode::Sync, OpType::Decompress),
            "async-comp" => (CtxMode::Async, OpType::Compress),
            "async-decomp" => (CtxMode::Async, OpType::Decompress),
            other => {
                return Err(Error::InvalidParam(format!(
                    "{VAR}: unknown context type '{other}'"
                )))
            }
        };
        let (num, node) = parse_num_at_node(rest, VAR)?;
        if num == 0 {
            continue;
        }
        match out
            .iter_mut()
            .find(|c| c.mode == mode && c.op == op && c.node == node)
        {
            Some(c) => c.num = c.num.max(num),
            None => out.push(CtxNum {
                mode,
                op,
                num,
                node,
            }),
        }
    }
    if out.is_empty() {
        return Err(Error::InvalidParam(format!("{VAR}='{s}' names no context")));
    }
    Ok(out)
}

/// Parse `WD_COMP_ASYNC_POLL_NUM` (`<num>@<node>,...`).
pub fn parse_poll_num(s: &str) -> Result<Vec<(u32, u32)>> {
    let mut out = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (num, node) = parse_num_at_node(item, "WD_COMP_ASYNC_POLL_NUM")?;
        if num > 0 {
            out.push((num, node));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn ctx_num_parses_documented_example() {
        let v = parse_ctx_num("sync-comp:10@0,async-decomp:20@1").unwrap();
        assert_eq!(
            v,
            vec![
                CtxNum {
                    mode: CtxMode::Sync,
                    op: OpType::Compress,
                    num: 10,
                    node: 0
                },
                CtxNum {
                    mode: CtxMode::Async,
                    op: OpType::Decompress,
                    num: 20,
                    node: 1
                },
            ]
        );
    }

    #[test]
    fn ctx_num_zero_ignored_and_duplicates_take_max() {
        let v = parse_ctx_num("sync-comp:0@0,sync-comp:3@2,sync-comp:5@2").unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].num, v[0].node), (5, 2));
    }

    #[test]
    fn ctx_num_rejects_garbage() {
        for bad in [
            "",
            "sync:1@0",
            "sync-comp:x@0",
            "sync-comp:1",
            "sync-comp1@0",
            "sync-comp:0@0",
        ] {
            assert!(parse_ctx_num(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_lookup() {
        let m: HashMap<&str, &str> = [
            ("WD_COMP_ASYNC_POLL_EN", "1"),
            ("WD_COMP_ASYNC_POLL_NUM", "2@0,4@2"),
            ("WD_COMP_EPOLL_EN", "0"),
        ]
        .into();
        let e = EnvConfig::from_lookup(|k| m.get(k).map(|s| s.to_string())).unwrap();
        assert!(e.async_poll_en);
        assert!(!e.epoll_en);
        assert_eq!(e.async_poll_num, Some(vec![(2, 0), (4, 2)]));
        assert!(e.ctx_num.is_none());
        assert!(
            EnvConfig::from_lookup(|k| (k == "WD_COMP_EPOLL_EN").then(|| "yes".into())).is_err()
        );
    }
}

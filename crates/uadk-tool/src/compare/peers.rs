//! Command-line contenders: `uadk_tool` and the reference tools, timed as child processes
//! with their peak RSS.

use super::{Contender, Desc, Extras, Family, Sample};
use crate::common::{Context, Error, Result};
use std::ffi::OsString;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// A tool run on whole files.
pub(super) struct Cli {
    pub(super) desc: Desc,
    /// Program and options; the file name follows.
    pub(super) comp: Vec<OsString>,
    pub(super) decomp: Vec<OsString>,
    pub(super) this: PathBuf,
    pub(super) input: PathBuf,
    pub(super) packed: PathBuf,
    pub(super) report: PathBuf,
    pub(super) rss_c: u64,
    pub(super) rss_d: u64,
}

/// How a child ended, and what it used.
pub(super) struct ChildEnd {
    pub(super) secs: f64,
    pub(super) ok: bool,
    pub(super) status: i32,
    pub(super) maxrss_kib: u64,
}

/// Spawn `argv` with inherited stdio and wait for it with `wait4`: its wall time from
/// spawn to exit, wait status and own peak RSS.
pub(super) fn spawn_and_wait(argv: &[OsString]) -> Result<ChildEnd> {
    let prog = argv.first().ok_or_else(|| Error::msg("nothing to run"))?;
    let t0 = Instant::now();
    let child = Command::new(prog)
        .args(&argv[1..])
        .spawn()
        .context(prog.to_string_lossy())?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped (std's Child only reaps in
        // wait/try_wait, never called here); status and ru are valid and writable.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(Error::msg(format!(
                "waiting for {}: {err}",
                prog.to_string_lossy()
            )));
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    drop(child);
    Ok(ChildEnd {
        secs,
        ok: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        status,
        maxrss_kib: ru.ru_maxrss.max(0) as u64,
    })
}

/// `--spawn-report`: run the program, write "seconds maxrss_kib status" to `report`.
pub(super) fn spawn_helper(report: &Path, argv: &[OsString]) -> Result<ExitCode> {
    let end = spawn_and_wait(argv)?;
    fs::write(
        report,
        format!("{} {} {}\n", end.secs, end.maxrss_kib, end.status),
    )
    .context(report.display())?;
    Ok(if end.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Run `argv` on `file` with stdout going to `stdout`, timed from spawn to exit.
///
/// Linux starts a child's `ru_maxrss` at the peak RSS of the process it was spawned from
/// (exec records the old address space's peak), which here holds the inputs in memory.
/// So the tool is spawned by a small helper (this executable with `--spawn-report`),
/// which times it, takes its rusage from `wait4`, and reports both through a file; the
/// helper's own RSS is then the floor of the figure (measured with `true`, shown in the
/// report).
pub(super) fn run_timed(
    this: &Path,
    argv: &[OsString],
    file: &Path,
    stdout: File,
    report: &Path,
) -> Result<ChildEnd> {
    let status = Command::new(this)
        .arg("compare")
        .arg("--spawn-report")
        .arg(report)
        .arg("--")
        .args(argv)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::inherit())
        .status()
        .context("starting the timing helper")?;
    let text = fs::read_to_string(report).context(report.display())?;
    let _ = fs::remove_file(report);
    let mut it = text.split_whitespace();
    let bad = || Error::msg(format!("malformed helper report: {text:?}"));
    let secs: f64 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let maxrss_kib: u64 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let st: i32 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    Ok(ChildEnd {
        secs,
        ok: status.success(),
        status: st,
        maxrss_kib,
    })
}

/// The helper's own RSS: the floor of every CLI's peak RSS figure.
pub(super) fn rss_floor(this: &Path, scratch: &Path) -> Option<u64> {
    let t = which("true")?;
    let null = File::create("/dev/null").ok()?;
    let end = run_timed(
        this,
        &[t.into_os_string()],
        Path::new("/dev/null"),
        null,
        &scratch.join("floor.report"),
    )
    .ok()?;
    Some(end.maxrss_kib)
}

impl Cli {
    pub(super) fn check(&self, end: &ChildEnd, what: &str) -> Result<()> {
        if end.ok {
            Ok(())
        } else {
            Err(Error::msg(format!(
                "{} ({what}) failed: wait status {:#x}",
                self.desc.engine, end.status
            )))
        }
    }
}

impl Contender for Cli {
    fn desc(&self) -> &Desc {
        &self.desc
    }

    fn prepare(&mut self, _data: &[u8]) -> Result<()> {
        Ok(())
    }

    fn compress(&mut self, _data: &[u8]) -> Result<Sample> {
        let out = File::create(&self.packed).context(self.packed.display())?;
        let end = run_timed(&self.this, &self.comp, &self.input, out, &self.report)?;
        self.check(&end, "compress")?;
        self.rss_c = self.rss_c.max(end.maxrss_kib);
        let out_len = fs::metadata(&self.packed)
            .context(self.packed.display())?
            .len();
        Ok(Sample {
            secs: end.secs,
            out_len,
        })
    }

    fn decompress(&mut self, data: &[u8]) -> Result<Sample> {
        let null = File::create("/dev/null").context("/dev/null")?;
        let end = run_timed(&self.this, &self.decomp, &self.packed, null, &self.report)?;
        self.check(&end, "decompress")?;
        self.rss_d = self.rss_d.max(end.maxrss_kib);
        Ok(Sample {
            secs: end.secs,
            out_len: data.len() as u64,
        })
    }

    fn extras(&self) -> Extras {
        Extras {
            rss_c: Some(self.rss_c),
            rss_d: Some(self.rss_d),
            ..Extras::default()
        }
    }
}

/// The reference tools found on this machine.
pub(super) struct Tools {
    pub(super) this: PathBuf,
    pub(super) igzip: Option<PathBuf>,
    pub(super) libdeflate: Option<PathBuf>,
    /// pigz, or gzip: (path, is pigz).
    pub(super) zlib: Option<(PathBuf, bool)>,
    pub(super) lz4: Option<PathBuf>,
    pub(super) zstd: Option<PathBuf>,
}

/// A program on PATH.
pub(super) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Tools {
    pub(super) fn find() -> Result<Tools> {
        Ok(Tools {
            this: std::env::current_exe().context("finding this executable")?,
            igzip: which("igzip"),
            libdeflate: which("libdeflate-gzip"),
            zlib: which("pigz")
                .map(|p| (p, true))
                .or_else(|| which("gzip").map(|p| (p, false))),
            lz4: which("lz4"),
            zstd: which("zstd"),
        })
    }

    pub(super) fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        for (name, found) in [
            ("igzip (Debian package isal)", self.igzip.is_some()),
            (
                "libdeflate-gzip (Debian package libdeflate-tools)",
                self.libdeflate.is_some(),
            ),
            ("pigz or gzip", self.zlib.is_some()),
            ("lz4", self.lz4.is_some()),
            ("zstd", self.zstd.is_some()),
        ] {
            if !found {
                m.push(name);
            }
        }
        m
    }
}

pub(super) fn argv(prog: &Path, args: &[&str]) -> Vec<OsString> {
    let mut v = vec![prog.as_os_str().to_os_string()];
    v.extend(args.iter().map(OsString::from));
    v
}

/// The CLI contenders of a family, on one input file.
pub(super) fn clis(tools: &Tools, family: Family, input: &Path, scratch: &Path) -> Vec<Cli> {
    let mut v = Vec::new();
    let mut add = |key: &str, engine: String, comp: Vec<OsString>, decomp: Vec<OsString>| {
        v.push(Cli {
            desc: Desc {
                key: key.into(),
                family,
                engine,
                unit: "whole file, CLI".into(),
            },
            comp,
            decomp,
            this: tools.this.clone(),
            input: input.to_path_buf(),
            packed: scratch.join(format!("out.{key}")),
            report: scratch.join(format!("report.{key}")),
            rss_c: 0,
            rss_d: 0,
        });
    };
    let this = &tools.this;
    match family {
        Family::L1 | Family::L6 => {
            let l = if family == Family::L1 { "1" } else { "6" };
            add(
                &format!("tool-{}", family.key()),
                format!("uadk_tool compress -l {l}"),
                argv(this, &["compress", "-a", "gzip", "-l", l, "-c"]),
                argv(this, &["decompress", "-a", "gzip", "-c"]),
            );
            if let Some(p) = &tools.igzip {
                // igzip's levels are 0..3: 3 is its strongest, the peer of level 6.
                let il = if family == Family::L1 { "1" } else { "3" };
                add(
                    &format!("igzip-{il}"),
                    format!("igzip -{il}"),
                    argv(p, &[&format!("-{il}"), "-c"]),
                    argv(p, &["-d", "-c"]),
                );
            }
            if let Some(p) = &tools.libdeflate {
                add(
                    &format!("libdeflate-{l}"),
                    format!("libdeflate-gzip -{l}"),
                    argv(p, &[&format!("-{l}"), "-c"]),
                    argv(p, &["-d", "-c"]),
                );
            }
            if let Some((p, pigz)) = &tools.zlib {
                let (engine, comp, decomp) = if *pigz {
                    (
                        format!("pigz -p 1 -{l} (zlib)"),
                        argv(p, &["-p", "1", &format!("-{l}"), "-c"]),
                        argv(p, &["-p", "1", "-d", "-c"]),
                    )
                } else {
                    (
                        format!("gzip -{l} (zlib)"),
                        argv(p, &[&format!("-{l}"), "-c"]),
                        argv(p, &["-d", "-c"]),
                    )
                };
                add(&format!("zlib-{l}"), engine, comp, decomp);
            }
        }
        Family::Lz4 => {
            add(
                "tool-lz4",
                "uadk_tool compress -a lz4".into(),
                argv(this, &["compress", "-a", "lz4", "-c"]),
                argv(this, &["decompress", "-a", "lz4", "-c"]),
            );
            if let Some(p) = &tools.lz4 {
                add(
                    "lz4-1",
                    "lz4 -1".into(),
                    argv(p, &["-1", "-c", "-q"]),
                    argv(p, &["-d", "-c", "-q"]),
                );
            }
        }
        Family::Zstd => {
            if let Some(p) = &tools.zstd {
                for l in ["1", "3"] {
                    add(
                        &format!("zstd-{l}"),
                        format!("zstd -{l}"),
                        argv(
                            p,
                            &[
                                &format!("-{l}"),
                                "--single-thread",
                                "--no-asyncio",
                                "-q",
                                "-c",
                            ],
                        ),
                        argv(p, &["-d", "--no-asyncio", "-q", "-c"]),
                    );
                }
            }
        }
    }
    v
}

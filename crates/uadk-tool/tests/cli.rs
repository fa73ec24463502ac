//! End-to-end tests of the `uadk_tool` binary.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_uadk_tool");
const ALGS: [(&str, &str); 6] = [
    ("gzip", ".gz"),
    ("zlib", ".zz"),
    ("deflate", ".deflate"),
    ("lz4", ".lz4"),
    ("lz4-block", ".lz4b"),
    ("zstd", ".zst"),
];

/// A scratch directory under the system temp dir, removed at the end of the test.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("uadk-tool-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Names of the files in the directory, sorted.
    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn run_in(dir: &TempDir, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(&dir.0)
        .args(args)
        .output()
        .unwrap()
}

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Written from a thread: the child may fill its stdout pipe before reading all of it.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "failed: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
}

fn fails(o: &Output) -> String {
    assert!(!o.status.success(), "unexpectedly succeeded");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    // Our own errors start with the tool's name; clap's usage errors with "error:".
    assert!(
        err.contains("uadk_tool") || err.starts_with("error:"),
        "no message on stderr: {err:?}"
    );
    err
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Text with some binary noise: compressible, but not trivially.
fn sample(len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    let mut x: u32 = 12345;
    let mut i = 0u32;
    while v.len() < len {
        write!(v, "line {i}: the quick brown fox jumps over the lazy dog; ").unwrap();
        for _ in 0..(i % 7) {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            v.push((x >> 16) as u8);
        }
        v.push(b'\n');
        i += 1;
    }
    v.truncate(len);
    v
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn files_round_trip_every_alg() {
    let data = sample(300_000);
    for (alg, suffix) in ALGS {
        let dir = TempDir::new(&format!("files-{alg}"));
        let input = dir.path("data.bin");
        fs::write(&input, &data).unwrap();
        let packed = dir.path(&format!("data.bin{suffix}"));

        ok(&run(&["compress", "-a", alg, p(&input)]));
        assert_eq!(fs::read(&input).unwrap(), data, "{alg}: input must be kept");
        let comp = fs::read(&packed).unwrap();
        assert!(comp.len() < data.len() / 2, "{alg}: {} bytes", comp.len());

        // The original is still there: decompressing onto it is refused without -f.
        let err = fails(&run(&["decompress", "-a", alg, p(&packed)]));
        assert!(err.contains("exists"), "{err}");

        // The algorithm is guessed from the suffix.
        let out = dir.path("out.bin");
        ok(&run(&["decompress", p(&packed), "-o", p(&out)]));
        assert_eq!(fs::read(&out).unwrap(), data, "{alg}");

        fs::remove_file(&input).unwrap();
        ok(&run(&["decompress", "-a", alg, p(&packed)]));
        assert_eq!(fs::read(&input).unwrap(), data, "{alg}");
        assert!(packed.exists(), "{alg}: compressed input must be kept");
        assert_eq!(
            dir.names(),
            vec![
                "data.bin".to_string(),
                format!("data.bin{suffix}"),
                "out.bin".to_string()
            ],
            "{alg}: no temporary files left"
        );
    }
}

#[test]
fn stdin_stdout_round_trip_every_alg() {
    let data = sample(200_000);
    for (alg, _) in ALGS {
        for input in [&data[..], b"", b"x"] {
            let c = run_stdin(&["compress", "-a", alg, "-l", "6"], input);
            ok(&c);
            let d = run_stdin(&["decompress", "-a", alg, "-"], &c.stdout);
            ok(&d);
            assert_eq!(d.stdout, input, "{alg}, {} bytes", input.len());
        }
    }
}

#[test]
fn levels_windows_and_shorthands() {
    let data = sample(100_000);
    for args in [
        &["-9"][..],
        &["-1"],
        &["-l", "12"],
        &["-l", "15", "-w", "4"],
        &["-w", "8K"],
        &["-3", "-w", "24"],
    ] {
        let mut a = vec!["compress", "-a", "zlib"];
        a.extend_from_slice(args);
        let c = run_stdin(&a, &data);
        ok(&c);
        let d = run_stdin(&["decompress", "-a", "zlib"], &c.stdout);
        ok(&d);
        assert_eq!(d.stdout, data, "{args:?}");
    }
    fails(&run_stdin(&["compress", "-l", "16"], b"x"));
    // zstd's own levels, negative ones included; only zstd takes them.
    for args in [
        &["-l", "19"][..],
        &["-l", "-5"],
        &["--level=-100"],
        &["--fast=7"],
        &["--fast"],
        &["-l", "22"],
        &["-1"],
    ] {
        let mut a = vec!["compress", "-a", "zstd"];
        a.extend_from_slice(args);
        let c = run_stdin(&a, &data);
        ok(&c);
        let d = run_stdin(&["decompress", "-a", "zstd"], &c.stdout);
        ok(&d);
        assert_eq!(d.stdout, data, "zstd {args:?}");
    }
    let l19 = run_stdin(&["compress", "-a", "zstd", "-l", "19"], &data).stdout;
    let fast = run_stdin(&["compress", "-a", "zstd", "--fast=50"], &data).stdout;
    assert!(l19.len() < fast.len(), "{} {}", l19.len(), fast.len());
    fails(&run_stdin(&["compress", "-a", "zstd", "-l", "23"], b"x"));
    fails(&run_stdin(&["compress", "-a", "gzip", "-l", "19"], b"x"));
    fails(&run_stdin(&["compress", "-a", "lz4", "-l", "-1"], b"x"));
    fails(&run_stdin(&["compress", "-a", "gzip", "--fast=2"], b"x"));
    fails(&run_stdin(&["compress", "-1", "-9"], b"x"));
    fails(&run_stdin(&["compress", "-w", "12"], b"x"));
}

#[test]
fn corrupt_input_is_an_error() {
    let dir = TempDir::new("corrupt");
    let data = sample(100_000);
    let good = run_stdin(&["compress", "-a", "gzip"], &data).stdout;

    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "garbage.gz",
            b"this is not gzip data at all, not at all".repeat(10),
        ),
        ("truncated.gz", good[..good.len() / 2].to_vec()),
        ("flipped.gz", {
            let mut g = good.clone();
            let mid = g.len() / 2;
            g[mid] ^= 0x55;
            g[mid + 1] ^= 0xff;
            g
        }),
        ("trailing.gz", [&good[..], b"junk after the end"].concat()),
        ("empty.gz", Vec::new()),
        ("garbage.lz4", vec![0xf0; 64]),
        ("garbage.lz4b", vec![0xf0; 64]),
        (
            "garbage.zst",
            vec![0x28, 0xb5, 0x2f, 0xfd, 0xff, 0x00, 0x11],
        ),
        ("empty.zst", Vec::new()),
        (
            "truncated.lz4",
            run_stdin(&["compress", "-a", "lz4"], &data).stdout[..5000].to_vec(),
        ),
        (
            "truncated.zst",
            run_stdin(&["compress", "-a", "zstd"], &data).stdout[..5000].to_vec(),
        ),
        ("garbage.zz", vec![0x78, 0x01, 0xff, 0xff, 0xff, 0x00]),
    ];
    for (name, bytes) in &cases {
        let f = dir.path(name);
        fs::write(&f, bytes).unwrap();
        let err = fails(&run(&["decompress", p(&f)]));
        assert!(err.contains(name), "{name}: message names the file: {err}");
    }
    // Nothing was left behind: no outputs, no temporary files.
    let mut expected: Vec<String> = cases.iter().map(|(n, _)| n.to_string()).collect();
    expected.sort();
    assert_eq!(dir.names(), expected);
    // Through stdin too.
    fails(&run_stdin(&["decompress", "-a", "deflate"], &[0xff; 100]));
}

#[test]
fn existing_output_is_refused_without_force() {
    let dir = TempDir::new("exists");
    let input = dir.path("a.txt");
    fs::write(&input, sample(10_000)).unwrap();
    ok(&run(&["compress", p(&input)]));
    let first = fs::read(dir.path("a.txt.gz")).unwrap();
    fs::write(&input, sample(20_000)).unwrap();
    let err = fails(&run(&["compress", p(&input)]));
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(fs::read(dir.path("a.txt.gz")).unwrap(), first, "untouched");
    ok(&run(&["compress", "-f", p(&input)]));
    assert_ne!(
        fs::read(dir.path("a.txt.gz")).unwrap(),
        first,
        "overwritten"
    );
    // -o names an existing file: refused too.
    let err = fails(&run(&[
        "compress",
        p(&input),
        "-o",
        p(&dir.path("a.txt.gz")),
    ]));
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn naming_rules() {
    let dir = TempDir::new("names");
    fs::write(dir.path("plain.txt"), b"hello").unwrap();
    let err = fails(&run_in(&dir, &["decompress", "plain.txt"]));
    assert!(err.contains(".gz suffix"), "{err}");
    let err = fails(&run_in(&dir, &["decompress", "-a", "lz4", "plain.txt"]));
    assert!(err.contains(".lz4 suffix"), "{err}");
    // Already compressed by name: left alone.
    fs::write(dir.path("x.gz"), b"hello").unwrap();
    let err = fails(&run_in(&dir, &["compress", "x.gz"]));
    assert!(err.contains("suffix"), "{err}");
    let err = fails(&run_in(&dir, &["compress", "missing.txt"]));
    assert!(err.contains("missing.txt"), "{err}");
    let err = fails(&run_in(&dir, &["compress", "."]));
    assert!(err.contains("directory"), "{err}");
    fails(&run_in(
        &dir,
        &["compress", "plain.txt", "x.gz", "-o", "out"],
    ));
    // Several inputs into one stream: only gzip members concatenate.
    fails(&run_in(
        &dir,
        &["compress", "-a", "zlib", "-c", "plain.txt", "plain.txt"],
    ));
}

#[test]
fn concatenated_gzip_members_and_rm() {
    let dir = TempDir::new("members");
    fs::write(dir.path("a"), b"first part\n").unwrap();
    fs::write(dir.path("b"), sample(70_000)).unwrap();
    let c = run_in(&dir, &["compress", "-c", "a", "b"]);
    ok(&c);
    let d = run_stdin(&["decompress"], &c.stdout);
    ok(&d);
    assert_eq!(d.stdout, [&b"first part\n"[..], &sample(70_000)].concat());

    ok(&run_in(&dir, &["compress", "--rm", "-a", "lz4", "b"]));
    assert_eq!(dir.names(), vec!["a", "b.lz4"]);
    ok(&run_in(&dir, &["decompress", "--rm", "b.lz4"]));
    assert_eq!(dir.names(), vec!["a", "b"]);
    assert_eq!(fs::read(dir.path("b")).unwrap(), sample(70_000));
    // gzip's habit: `compress -d` decompresses.
    let d = run_stdin(&["compress", "-d", "-c", "-"], &c.stdout);
    ok(&d);
    assert_eq!(d.stdout.len(), 11 + 70_000);
}

fn bench(args: &[&str]) -> String {
    let mut a = vec!["benchmark", "--seconds", "0.3", "--pktlen", "16K"];
    a.extend_from_slice(args);
    let o = run(&a);
    ok(&o);
    stdout(&o)
}

#[test]
fn benchmark_sync_and_async() {
    for mode in ["--sync", "--async"] {
        for opt in ["0", "1"] {
            let out = bench(&["--alg", "gzip", "--opt", opt, mode]);
            assert!(out.contains("MB/s"), "{out}");
            assert!(out.contains("driver cpu"), "{out}");
            assert!(out.contains(&mode[2..]), "{out}");
        }
    }
    // Completions reaped by the library's poll threads instead of the submitter.
    let o = Command::new(BIN)
        .args([
            "benchmark",
            "--async",
            "--seconds",
            "0.3",
            "--pktlen",
            "16K",
        ])
        .env("WD_COMP_ASYNC_POLL_EN", "1")
        .output()
        .unwrap();
    ok(&o);
    assert!(stdout(&o).contains("MB/s"), "{}", stdout(&o));
}

#[test]
fn benchmark_lz77_on_the_cpu_engine_and_modelled_devices() {
    for alg in ["lz77_zstd", "lz77_only"] {
        for model in [None, Some("2@0")] {
            for (opt, mode) in [("0", "--sync"), ("2", "--sync"), ("0", "--async")] {
                let mut a = vec!["--alg", alg, "--opt", opt, mode];
                if let Some(m) = model {
                    a.extend_from_slice(&["--model", m]);
                }
                let out = bench(&a);
                assert!(out.contains("MB/s") && out.contains(alg), "{out}");
                assert!(out.contains("level 8"), "lz77 defaults to level 8: {out}");
                let driver = if model.is_some() {
                    "driver hisi_zip"
                } else {
                    "driver cpu"
                };
                assert!(out.contains(driver), "{out}");
            }
        }
        let out = bench(&["--alg", alg, "--complevel", "9"]);
        assert!(out.contains("level 9"), "{out}");
        // The engine has levels 8 and 9 only, as UADK's driver says.
        let err = fails(&run(&[
            "benchmark",
            "--alg",
            alg,
            "--complevel",
            "1",
            "--seconds",
            "0.1",
        ]));
        assert!(err.contains("level"), "{err}");
    }
    let err = fails(&run(&[
        "benchmark",
        "--alg",
        "lz77_zstd",
        "--pktlen",
        "256K",
    ]));
    assert!(err.contains("131072"), "{err}");
}

#[test]
fn benchmark_streams_files_json_and_processes() {
    let dir = TempDir::new("bench");
    let f = dir.path("in.txt");
    fs::write(&f, sample(100_000)).unwrap();
    for opt in ["2", "3"] {
        let out = bench(&["--alg", "deflate", "--opt", opt, "--file", p(&f)]);
        assert!(out.contains("MB/s") && out.contains("stream"), "{out}");
    }
    let out = bench(&["--alg", "lz4", "--opt", "1", "--thread", "2", "--json"]);
    assert!(
        out.trim().starts_with('{') && out.trim().ends_with('}'),
        "{out}"
    );
    assert!(out.contains("\"throughput_mb_s\":"), "{out}");
    let out = bench(&["--multi", "2", "--init2", "--async"]);
    assert!(
        out.contains("MB/s") && out.contains("2 process(es)"),
        "{out}"
    );

    fails(&run(&["benchmark", "--alg", "lz4", "--opt", "2"]));
    let o = run(&["benchmark", "--pktlen", "0"]);
    assert!(!o.status.success());
    let err = fails(&run(&["benchmark", "--file", p(&dir.path("nope"))]));
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn list_shows_the_cpu_driver() {
    let o = run(&["list"]);
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains("cpu"), "{out}");
    assert!(out.contains("deflate zlib gzip lz4"), "{out}");
    assert!(out.contains("sync") && out.contains("decomp"), "{out}");
}

#[test]
fn dfx_prints_versions_and_counters() {
    let o = run(&["dfx", "--version"]);
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains(env!("CARGO_PKG_VERSION")), "{out}");
    assert!(out.contains("UADK 2.10 compatible"), "{out}");
    let o = run(&["dfx", "--counters"]);
    ok(&o);
    assert!(stdout(&o).contains("BYTES_IN"), "{}", stdout(&o));
    // --usage reads a device's dev_usage: modelled devices have one (idle: 0); an op type,
    // algorithm or device without one is an error.
    let o = run(&["--model", "2@0", "dfx", "--usage", "--device", "hisi_zip-1"]);
    ok(&o);
    assert_eq!(stdout(&o).trim(), "hisi_zip-1 zlib op type 0 usage is 0");
    let o = run(&[
        "--model",
        "1@0",
        "dfx",
        "--usage",
        "--alg_name",
        "gzip",
        "--op_type",
        "1",
    ]);
    ok(&o);
    assert_eq!(stdout(&o).trim(), "hisi_zip-0 gzip op type 1 usage is 0");
    for bad in [
        &["--model", "1@0", "dfx", "--usage", "--op_type", "2"][..],
        &["--model", "1@0", "dfx", "--usage", "--alg_name", "zstd"][..],
        &["--model", "1@0", "dfx", "--usage", "--device", "hisi_zip-7"][..],
    ] {
        let o = run(bad);
        assert!(!o.status.success(), "{bad:?}: {}", stdout(&o));
    }
}

#[test]
fn model_devices_appear_and_serve_the_benchmark() {
    let o = run(&["--model", "2@0,1@0:v2", "list"]);
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains("hisi_zip        100  hw     yes"), "{out}");
    assert!(
        out.contains("hisi_zip-1 node 0 api hisi_qm_v3 queues free 256"),
        "{out}"
    );
    assert!(out.contains("hisi_zip-2 node 0 api hisi_qm_v2"), "{out}");
    assert!(out.contains("driver:       hisi_zip"), "{out}");

    let o = run(&[
        "--model",
        "1@0",
        "benchmark",
        "--alg",
        "gzip",
        "--seconds",
        "1",
        "--pktlen",
        "4096",
    ]);
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains("(driver hisi_zip)"), "{out}");

    // Faults from the environment are recovered and counted.
    let o = Command::new(BIN)
        .args([
            "--model",
            "1@0",
            "benchmark",
            "--alg",
            "zlib",
            "--seconds",
            "1",
        ])
        .env("UADK_ZIP_MODEL_FAULTS", "hisi_zip-0:error:3")
        .output()
        .unwrap();
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains("device faults: 3 errors"), "{out}");

    // dfx shows per-context fault counters after a probe.
    let o = Command::new(BIN)
        .args(["--model", "2@0", "dfx", "--counters", "--probe", "100"])
        .env("UADK_ZIP_MODEL_FAULTS", "hisi_zip-0:error:4")
        .output()
        .unwrap();
    ok(&o);
    let out = stdout(&o);
    assert!(
        out.contains("probe: 100 pages") && out.contains("HW_ERR"),
        "{out}"
    );
    let hw_err: u64 = out
        .lines()
        .filter(|l| l.contains(" sync "))
        .map(|l| {
            l.split_whitespace()
                .nth(12)
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(hw_err, 4, "{out}");

    let o = run(&["--model", "x", "list"]);
    assert!(fails(&o).contains("UADK_ZIP_MODEL"));
}

#[test]
fn compare_frontier_measures_draws_and_reports() {
    let dir = TempDir::new("frontier");
    let corpus = dir.path("empty-corpus");
    fs::create_dir_all(&corpus).unwrap();
    let out = dir.path("out");
    let o = run(&[
        "compare",
        "--frontier",
        "--quick",
        "--runs",
        "1",
        "--frontier-mb",
        "1",
        "--vm-image-mb",
        "2",
        "--frontier-points",
        "isal0t,isal1,ld6,z6,lz4,zs1,L1,L6,Llz4",
        "--corpus",
        corpus.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&o);
    let md = fs::read_to_string(out.join("frontier.md")).unwrap();
    for want in [
        "### The 4 KiB page frontier",
        "#### generated text",
        "#### VM memory image (2 MiB)",
        "| ISA-L 0, trained code | zlib |",
        "| zstd 1 | zstd frame |",
        "| 1 | ISA-L 1 |",
        "| 6 | libdeflate 6 |",
        "| ISA-L 1 | ",
    ] {
        assert!(md.contains(want), "{want:?} missing from:\n{md}");
    }
    let png = fs::read(out.join("frontier.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

fn tool(cmd: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd} (scripts/setup.sh installs it): {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `.zst` and `.lz4` files: ours read by `zstd` / `lz4`, theirs (every option that changes
/// the format, several frames, skippable frames) read by us, as files and through pipes.
#[test]
fn zstd_and_lz4_files_interoperate_with_their_tools() {
    let data = sample(5 << 20);
    let small = sample(1000);
    let skippable = |magic: u32| {
        let mut v = magic.to_le_bytes().to_vec();
        v.extend_from_slice(&6u32.to_le_bytes());
        v.extend_from_slice(b"ignore");
        v
    };
    let cases: [(&str, &str, &[&[&str]], u32); 2] = [
        (
            "zstd",
            ".zst",
            &[
                &["-1"],
                &["-3"],
                &["-19"],
                &["--fast=5"],
                &["--no-check"],
                &["--long=25"],
            ],
            0x184D_2A50,
        ),
        (
            "lz4",
            ".lz4",
            &[
                &["-1"],
                &["-9"],
                &["-BD"],
                &["-BX", "-B4"],
                &["--no-frame-crc"],
                &["--content-size"],
                &["-l"],
            ],
            0x184D_2A5F,
        ),
    ];
    for (fmt, suffix, opts, skip_magic) in cases {
        let dir = TempDir::new(&format!("interop-{fmt}"));
        let input = dir.path("data");
        fs::write(&input, &data).unwrap();
        // Ours, read by theirs.
        for level in ["1", "6"] {
            ok(&run(&["compress", "-f", "-a", fmt, "-l", level, p(&input)]));
            let ours = fs::read(dir.path(&format!("data{suffix}"))).unwrap();
            assert_eq!(
                tool(fmt, &["-d", "-c", "-q"], &ours),
                data,
                "{fmt} -d of ours, -l {level}"
            );
            if fmt == "lz4" {
                // A file is read into the frame's block buffer, a pipe too: the same frames.
                let piped = run_stdin(&["compress", "-a", fmt, "-l", level], &data);
                ok(&piped);
                assert!(piped.stdout == ours, "lz4 -l {level}: file and pipe differ");
            }
        }
        // Theirs, read by ours: from files named by suffix, and through stdin.
        for o in opts {
            let mut args = o.to_vec();
            args.extend(["-c", "-q"]);
            let theirs = tool(fmt, &args, &data);
            let f = dir.path(&format!("theirs{suffix}"));
            fs::write(&f, &theirs).unwrap();
            let out = run(&["decompress", "-c", p(&f)]);
            ok(&out);
            assert!(out.stdout == data, "ours of {fmt} {o:?}");
            let piped = run_stdin(&["decompress", "-a", fmt], &theirs);
            ok(&piped);
            assert!(piped.stdout == data, "ours of {fmt} {o:?} through a pipe");
        }
        // Several frames: theirs, a skippable frame, ours of another file; both tools
        // read the whole file.
        let mut file = tool(fmt, &["-c", "-q"], &data);
        file.extend(skippable(skip_magic));
        file.extend(run_stdin(&["compress", "-a", fmt], &small).stdout);
        let want = [&data[..], &small].concat();
        let f = dir.path(&format!("multi{suffix}"));
        fs::write(&f, &file).unwrap();
        let out = run(&["decompress", "-c", p(&f)]);
        ok(&out);
        assert!(out.stdout == want, "{fmt}: several frames");
        assert!(
            tool(fmt, &["-d", "-c", "-q"], &file) == want,
            "{fmt} -d: several frames"
        );
        // Several inputs to one output make one file of several frames.
        let two = dir.path("two");
        fs::write(&two, &small).unwrap();
        let cat = run(&["compress", "-a", fmt, "-c", p(&input), p(&two)]);
        ok(&cat);
        assert!(
            tool(fmt, &["-d", "-c", "-q"], &cat.stdout) == want,
            "{fmt}: several inputs"
        );
    }
}

/// Sizes of the single-thread and the `-T 2` output of `data` in format `fmt` at `level`,
/// each checked by the format's own tool; the `-T 2` file.
fn threads_case(dir: &TempDir, fmt: &str, level: &str, data: &[u8]) -> (usize, Vec<u8>) {
    let input = dir.path("data");
    fs::write(&input, data).unwrap();
    let one = run(&["compress", "-a", fmt, "-l", level, "-c", p(&input)]);
    ok(&one);
    let two = run(&[
        "compress",
        "-a",
        fmt,
        "-l",
        level,
        "-T",
        "2",
        "-c",
        p(&input),
    ]);
    ok(&two);
    let (cmd, args): (&str, &[&str]) = match fmt {
        "gzip" => ("gzip", &["-d", "-c"]),
        f => (f, &["-d", "-c", "-q"]),
    };
    assert!(
        tool(cmd, args, &two.stdout) == data,
        "{cmd} -d of -T 2 {fmt} -l {level}"
    );
    (one.stdout.len(), two.stdout)
}

/// `-T 2` writes one stream of each format that its tool reads, within 1 % of the
/// single-thread size; our `-T` decompression reads it back, from a file and a pipe.
#[test]
fn threads_write_one_stream_their_tools_read() {
    let data = sample(9 << 20);
    let dir = TempDir::new("threads");
    for (fmt, level) in [
        ("gzip", "1"),
        ("gzip", "6"),
        ("zstd", "1"),
        ("zstd", "3"),
        ("lz4", "1"),
    ] {
        let (one, two) = threads_case(&dir, fmt, level, &data);
        let loss = two.len() as f64 / one as f64 - 1.0;
        assert!(loss < 0.01, "{fmt} -l {level}: -T 2 is {loss:.4} larger");
        let f = dir.path(&format!("t.{fmt}"));
        fs::write(&f, &two).unwrap();
        for t in ["1", "2", "0"] {
            let back = run(&["decompress", "-a", fmt, "-T", t, "-c", p(&f)]);
            ok(&back);
            assert!(back.stdout == data, "{fmt} -l {level}, decompress -T {t}");
        }
        let piped = run_stdin(&["decompress", "-a", fmt, "-T", "2"], &two);
        ok(&piped);
        assert!(piped.stdout == data, "{fmt} through a pipe");
    }
    // gzip -T has one deflate stream: one member, as Python's zlib (no member loop) sees.
    let (_, two) = threads_case(&dir, "gzip", "6", &data);
    let py = tool(
        "python3",
        &[
            "-c",
            "import sys,zlib\nd=zlib.decompressobj(31)\nout=d.decompress(sys.stdin.buffer.read())\nassert d.eof and not d.unused_data\nsys.stdout.buffer.write(out)",
        ],
        &two,
    );
    assert!(py == data, "one gzip member");
    // zlib and raw deflate, from a pipe (no index there), read by zlib.
    for (fmt, wbits) in [("zlib", "15"), ("deflate", "-15")] {
        let c = run_stdin(&["compress", "-a", fmt, "-l", "6", "-T", "2"], &data);
        ok(&c);
        let script = format!(
            "import sys,zlib\nsys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read(),{wbits}))"
        );
        assert!(
            tool("python3", &["-c", &script], &c.stdout) == data,
            "{fmt}"
        );
    }
    // Empty and tiny inputs.
    for n in [0usize, 1, 100] {
        for fmt in ["gzip", "zstd", "lz4"] {
            let c = run_stdin(&["compress", "-a", fmt, "-T", "2"], &data[..n]);
            ok(&c);
            let d = run_stdin(&["decompress", "-a", fmt, "-T", "2"], &c.stdout);
            ok(&d);
            assert_eq!(d.stdout, &data[..n], "{fmt} of {n} bytes");
        }
    }
}

/// `decompress -T` takes foreign files as one stream, and gives the same verdict as the
/// single-thread reader on damaged ones: a lying index is read through, corrupt data
/// and truncated files are errors.
#[test]
fn threads_decompress_foreign_and_damaged_files() {
    let data = sample(6 << 20);
    let dir = TempDir::new("threads-bad");
    for (fmt, args) in [
        ("gzip", &["-6", "-c"][..]),
        ("zstd", &["-3", "-c", "-q"]),
        ("zstd", &["-T2", "-B1048576", "-c", "-q"]),
        ("lz4", &["-c", "-q"]),
        ("lz4", &["-BD", "-c", "-q"]),
    ] {
        let theirs = tool(fmt, args, &data);
        let f = dir.path("theirs");
        fs::write(&f, &theirs).unwrap();
        let out = run(&["decompress", "-a", fmt, "-T", "2", "-c", p(&f)]);
        ok(&out);
        assert!(out.stdout == data, "{fmt} {args:?}");
    }
    // Written to a file (seekable), a -T gzip file carries its index of parts.
    let input = dir.path("data");
    fs::write(&input, &data).unwrap();
    let gzf = dir.path("data.gz");
    ok(&run(&["compress", "-l", "6", "-T", "2", "-f", p(&input)]));
    let gz = fs::read(&gzf).unwrap();
    assert_eq!(
        (gz[3], &gz[12..14]),
        (4, &b"UP"[..]),
        "FEXTRA with the index"
    );
    assert!(tool("gzip", &["-d", "-c"], &gz) == data);
    let back = run(&["decompress", "-T", "2", "-c", p(&gzf)]);
    ok(&back);
    assert!(back.stdout == data, "ours of ours, by the index");
    // Our index: part 0 claimed 1000 bytes shorter, part 1 longer. The parts no longer
    // inflate alone; the stream itself is intact, and reads as one.
    let mut lie = gz.clone();
    let at = 28;
    let a = u32::from_le_bytes(lie[at..at + 4].try_into().unwrap());
    let b = u32::from_le_bytes(lie[at + 4..at + 8].try_into().unwrap());
    lie[at..at + 4].copy_from_slice(&(a - 1000).to_le_bytes());
    lie[at + 4..at + 8].copy_from_slice(&(b + 1000).to_le_bytes());
    let f = dir.path("lie.gz");
    fs::write(&f, &lie).unwrap();
    let out = run(&["decompress", "-T", "2", "-c", p(&f)]);
    ok(&out);
    assert!(out.stdout == data, "a lying index");
    for (fmt, file) in [
        ("gzip", gz),
        ("zstd", threads_case(&dir, "zstd", "3", &data).1),
        ("lz4", threads_case(&dir, "lz4", "1", &data).1),
    ] {
        let mut bad = file.clone();
        let n = bad.len();
        bad[n / 2] ^= 0x55;
        for (what, b) in [("flipped", &bad[..]), ("cut", &file[..n - 9])] {
            let f = dir.path("bad");
            fs::write(&f, b).unwrap();
            for t in ["1", "2"] {
                let e = fails(&run(&["decompress", "-a", fmt, "-T", t, "-c", p(&f)]));
                assert!(!e.is_empty(), "{fmt} {what} -T {t}");
            }
        }
    }
}

/// A file truncated by another program while we compress it from its mapping: the pages
/// past its new end are gone, and reading them raises SIGBUS. That must end the run with
/// status 1, a message and no output left behind, not kill it by the signal; on one thread
/// and with the mapping's parts read by the engine's worker threads (`-T 2`).
#[test]
fn an_input_truncated_while_mapped_is_an_error_not_a_signal() {
    use std::os::unix::process::ExitStatusExt;
    let data = sample(48 << 20);
    for threads in ["1", "2"] {
        let dir = TempDir::new(&format!("truncated-{threads}"));
        let input = dir.path("big");
        fs::write(&input, &data).unwrap();
        // Level 12 over these 48 MiB takes 6.7 s (4.2 s with -T 2) in the test build:
        // the truncation, about 0.2 s in, lands while it reads.
        let child = Command::new(BIN)
            .args(["compress", "-l", "12", "-T", threads, p(&input)])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The temporary output exists once the input is open; the mapping follows at once.
        let temp = format!(".big.gz.uadk-tmp{}", child.id());
        let t0 = std::time::Instant::now();
        while !dir.path(&temp).exists() && t0.elapsed().as_secs() < 30 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        fs::OpenOptions::new()
            .write(true)
            .open(&input)
            .unwrap()
            .set_len(4096)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.signal(), None, "-T {threads}: killed: {err}");
        assert_eq!(out.status.code(), Some(1), "-T {threads}: {err}");
        assert!(err.contains("shrank while it was being read"), "{err}");
        assert_eq!(dir.names(), vec!["big"], "-T {threads}: output left behind");
    }
}

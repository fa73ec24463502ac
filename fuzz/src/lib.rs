//! What the fuzz targets share: the two frameworks (CPU engine, and the hisi_zip driver on
//! the device model), the independent decoder (the C zlib), and each way of decompressing
//! a buffer, reduced to one comparable [`Verdict`].

use std::io::Read;
use std::sync::OnceLock;
use uadk::model::{self, DeviceGroup, EngineKind};
use uadk::{Alg, Comp, CompConfig, CtxMode, Error, Level, OpType, Session, SessionSetup, TaskType};

pub use uadk;

/// Output room every decoder gets: streams that expand past it are not compared.
pub const CAP: usize = 64 << 10;

/// The deflate family, which zlib can judge.
pub const DEFLATE_ALGS: [Alg; 3] = [Alg::Deflate, Alg::Zlib, Alg::Gzip];

fn config() -> CompConfig {
    CompConfig::new()
        .ctxs(CtxMode::Sync, OpType::Compress, 1)
        .ctxs(CtxMode::Sync, OpType::Decompress, 1)
        .ctxs(CtxMode::Async, OpType::Compress, 1)
        .ctxs(CtxMode::Async, OpType::Decompress, 1)
}

/// The CPU engine.
pub fn cpu() -> &'static Comp {
    static C: OnceLock<Comp> = OnceLock::new();
    C.get_or_init(|| Comp::new(config()).expect("CPU engine"))
}

/// The hisi_zip driver over one modelled device (hardware version 3) whose engine runs in
/// line (`EngineKind::ZipInline`): the same driver, SQEs and checks, without a thread
/// hand-off per request, which cost more than the work (docs/reliability.md).
pub fn hw() -> &'static Comp {
    static C: OnceLock<Comp> = OnceLock::new();
    C.get_or_init(|| {
        cpu();
        model::install(&[DeviceGroup {
            count: 1,
            node: 0,
            hw_ver: 3,
            queues: 16,
            engine: EngineKind::ZipInline,
        }])
        .expect("device model");
        let c = Comp::new(config().task_type(TaskType::Hw)).expect("hisi_zip over the model");
        assert_eq!(c.driver_name(), uadk::drv::hisi::DRIVER_NAME);
        c
    })
}

/// A session; `None` where the driver does not serve the combination.
pub fn session(comp: &Comp, alg: Alg, op: OpType) -> Option<Session> {
    comp.session(&SessionSetup::new(alg, op).level(Level::L1))
        .ok()
}

thread_local! {
    /// Decompression sessions kept between runs (a new hisi_zip stream allocates its
    /// 64 KiB context buffer), by (framework, algorithm).
    static SESSIONS: std::cell::RefCell<Vec<((usize, u32), Session)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// A decompression session of `comp`, reused; give it back with [`keep`].
pub fn reused(comp: &'static Comp, alg: Alg) -> Option<Session> {
    let key = (comp as *const Comp as usize, alg as u32);
    let hit = SESSIONS.with(|c| {
        let mut c = c.borrow_mut();
        c.iter()
            .position(|(k, _)| *k == key)
            .map(|i| c.swap_remove(i).1)
    });
    hit.or_else(|| session(comp, alg, OpType::Decompress))
}

/// Keep a session from [`reused`] for the next run.
pub fn keep(comp: &'static Comp, alg: Alg, s: Session) {
    let key = (comp as *const Comp as usize, alg as u32);
    SESSIONS.with(|c| c.borrow_mut().push((key, s)));
}

/// What a decoder made of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A valid stream: its bytes, and the input it took where the mode reports it.
    Ok(Vec<u8>, Option<usize>),
    /// Refused (corrupt, truncated, bad checksum).
    Bad(String),
    /// Expands past [`CAP`]: not compared.
    TooBig,
}

impl Verdict {
    fn of(r: uadk::Result<(Vec<u8>, Option<usize>)>) -> Verdict {
        match r {
            Ok((v, used)) if v.len() <= CAP => Verdict::Ok(v, used),
            Ok(_) | Err(Error::OutputTooSmall { .. }) => Verdict::TooBig,
            Err(e) => Verdict::Bad(e.to_string()),
        }
    }

    /// Whether two verdicts agree: the same bytes (and input taken, where both report it),
    /// or neither a success: a refusal and "past the room" agree, since which of the two
    /// a decoder meets first in a bad stream that also expands far is its own business.
    pub fn agrees(&self, other: &Verdict) -> bool {
        match (self, other) {
            (Verdict::Ok(a, ua), Verdict::Ok(b, ub)) => {
                a == b && (ua.is_none() || ub.is_none() || ua == ub)
            }
            (Verdict::Ok(..), _) | (_, Verdict::Ok(..)) => false,
            _ => true,
        }
    }
}

/// Fail the run, with every verdict, when any disagrees with the first.
pub fn assert_agree(input: &[u8], alg: Alg, verdicts: &[(&str, Verdict)]) {
    let (first, v0) = &verdicts[0];
    for (name, v) in &verdicts[1..] {
        if !v0.agrees(v) {
            let show = |v: &Verdict| match v {
                Verdict::Ok(b, u) => format!("ok, {} bytes, input taken {u:?}", b.len()),
                other => format!("{other:?}"),
            };
            let all: Vec<String> = verdicts
                .iter()
                .map(|(n, v)| format!("  {n}: {}", show(v)))
                .collect();
            panic!(
                "{alg}: {name} disagrees with {first} on {} input bytes {:02x?}\n{}",
                input.len(),
                &input[..input.len().min(64)],
                all.join("\n")
            );
        }
    }
}

struct ZStream(Box<libz_sys::z_stream>);

extern "C" fn zalloc(
    _: *mut libc::c_void,
    items: libz_sys::uInt,
    size: libz_sys::uInt,
) -> *mut libc::c_void {
    // SAFETY: calloc has no preconditions; zlib checks for NULL.
    unsafe { libc::calloc(items as usize, size as usize) }
}

extern "C" fn zfree(_: *mut libc::c_void, p: *mut libc::c_void) {
    // SAFETY: `p` came from zalloc (calloc).
    unsafe { libc::free(p) }
}

impl ZStream {
    fn inflate(wbits: i32) -> ZStream {
        let mut z = Box::new(libz_sys::z_stream {
            next_in: std::ptr::null_mut(),
            avail_in: 0,
            total_in: 0,
            next_out: std::ptr::null_mut(),
            avail_out: 0,
            total_out: 0,
            msg: std::ptr::null_mut(),
            state: std::ptr::null_mut(),
            zalloc,
            zfree,
            opaque: std::ptr::null_mut(),
            data_type: 0,
            adler: 0,
            reserved: 0,
        });
        // SAFETY: a zeroed stream with allocators, and zlib's own version and size.
        let rc = unsafe {
            libz_sys::inflateInit2_(
                &mut *z,
                wbits,
                libz_sys::zlibVersion(),
                std::mem::size_of::<libz_sys::z_stream>() as i32,
            )
        };
        assert_eq!(rc, libz_sys::Z_OK, "inflateInit2");
        ZStream(z)
    }
}

impl Drop for ZStream {
    fn drop(&mut self) {
        // SAFETY: initialised by inflateInit2_, ended once.
        unsafe { libz_sys::inflateEnd(&mut *self.0) };
    }
}

/// zlib's window bits for an algorithm (gzip: no auto-detection).
pub fn zlib_wbits(alg: Alg) -> i32 {
    match alg {
        Alg::Deflate => -15,
        Alg::Zlib => 15,
        _ => 31,
    }
}

/// The C zlib's verdict on one stream at the start of `input`.
pub fn zlib_inflate(alg: Alg, input: &[u8]) -> Verdict {
    let mut z = ZStream::inflate(zlib_wbits(alg));
    // One byte more than the room: a stream that fills it is past the room.
    let mut out = vec![0u8; CAP + 1];
    z.0.next_in = input.as_ptr() as *mut u8;
    z.0.avail_in = input.len() as u32;
    z.0.next_out = out.as_mut_ptr();
    z.0.avail_out = out.len() as u32;
    // SAFETY: the stream points at `input` and `out`, both alive for the call.
    let rc = unsafe { libz_sys::inflate(&mut *z.0, libz_sys::Z_NO_FLUSH) };
    let made = out.len() - z.0.avail_out as usize;
    let used = input.len() - z.0.avail_in as usize;
    match rc {
        libz_sys::Z_STREAM_END if made <= CAP => {
            out.truncate(made);
            Verdict::Ok(out, Some(used))
        }
        _ if made > CAP => Verdict::TooBig,
        libz_sys::Z_OK | libz_sys::Z_BUF_ERROR => Verdict::Bad("zlib: input ends early".into()),
        rc => {
            let msg = if z.0.msg.is_null() {
                format!("zlib: {rc}")
            } else {
                // SAFETY: zlib's messages are static NUL-terminated strings.
                let m = unsafe { std::ffi::CStr::from_ptr(z.0.msg) };
                format!("zlib: {}", m.to_string_lossy())
            };
            Verdict::Bad(msg)
        }
    }
}

/// The C zlib's return code after one inflate call over all of `input` (into [`CAP`]
/// bytes): `Z_OK` / `Z_BUF_ERROR` while it still wants input, `Z_STREAM_END`, or an error.
pub fn zlib_rc(alg: Alg, input: &[u8]) -> i32 {
    let mut z = ZStream::inflate(zlib_wbits(alg));
    let mut out = vec![0u8; CAP];
    z.0.next_in = input.as_ptr() as *mut u8;
    z.0.avail_in = input.len() as u32;
    z.0.next_out = out.as_mut_ptr();
    z.0.avail_out = out.len() as u32;
    // SAFETY: the stream points at `input` and `out`, both alive for the call.
    unsafe { libz_sys::inflate(&mut *z.0, libz_sys::Z_NO_FLUSH) }
}

/// `Session::process_output` into [`CAP`] bytes (block mode).
pub fn block(s: &Session, input: &[u8]) -> Verdict {
    let mut out = vec![0u8; CAP];
    Verdict::of(s.process_output(input, &mut out).map(|o| {
        out.truncate(o.produced);
        (out, Some(o.consumed))
    }))
}

/// Cut `b` at the points `cuts` names (each byte a piece length, 0 meaning 1).
pub fn pieces<'a>(b: &'a [u8], cuts: &[u8]) -> Vec<&'a [u8]> {
    let mut v = Vec::new();
    let mut rest = b;
    for &c in cuts
        .iter()
        .cycle()
        .take(if cuts.is_empty() { 0 } else { 4096 })
    {
        if rest.is_empty() {
            break;
        }
        let n = (c as usize).max(1).min(rest.len());
        v.push(&rest[..n]);
        rest = &rest[n..];
    }
    if !rest.is_empty() || v.is_empty() {
        v.push(rest);
    }
    v
}

/// `Session::process_sgl`: input cut as `cuts` says, [`CAP`] bytes of output in segments.
pub fn sgl(s: &Session, input: &[u8], cuts: &[u8]) -> Verdict {
    let src = pieces(input, cuts);
    let mut segs: Vec<Vec<u8>> = Vec::new();
    let mut room = CAP;
    for &c in cuts.iter().chain(std::iter::repeat(&255)) {
        if room == 0 {
            break;
        }
        let n = ((c as usize + 1) * 64).min(room);
        segs.push(vec![0u8; n]);
        room -= n;
    }
    let mut dst: Vec<&mut [u8]> = segs.iter_mut().map(|v| v.as_mut_slice()).collect();
    let r = s.process_sgl(&src, &mut dst);
    Verdict::of(r.map(|n| {
        let mut flat: Vec<u8> = segs.concat();
        flat.truncate(n);
        (flat, None)
    }))
}

/// `Session::process_sync2` into [`CAP`] bytes.
pub fn sync2(s: &Session, input: &[u8]) -> Verdict {
    let mut out = vec![0u8; CAP];
    Verdict::of(s.process_sync2(input, &mut out).map(|n| {
        out.truncate(n);
        (out, None)
    }))
}

/// Stream calls over `input` cut by `cuts`, each into an output of the next `outs` size
/// (1..=256 bytes), until the stream ends, fails, passes [`CAP`] or stops moving.
pub fn stream(s: &Session, input: &[u8], cuts: &[u8], outs: &[u8]) -> Verdict {
    stream_scaled(s, input, cuts, outs, 1)
}

/// [`stream`] with output sizes `scale` times larger.
pub fn stream_scaled(s: &Session, input: &[u8], cuts: &[u8], outs: &[u8], scale: usize) -> Verdict {
    s.reset();
    let src = pieces(input, cuts);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 256 * scale];
    let mut k = 0usize;
    let mut taken = 0usize;
    for (i, piece) in src.iter().enumerate() {
        let last = i + 1 == src.len();
        let mut at = 0;
        loop {
            let room = outs
                .get(k % outs.len().max(1))
                .map_or(256, |&o| o as usize + 1)
                * scale;
            k += 1;
            let r = match s.stream(&piece[at..], &mut buf[..room], last) {
                Ok(r) => r,
                Err(Error::OutputTooSmall { .. }) => return Verdict::TooBig,
                Err(e) => return Verdict::Bad(e.to_string()),
            };
            at += r.consumed;
            taken += r.consumed;
            out.extend_from_slice(&buf[..r.produced]);
            if r.end {
                return Verdict::of(Ok((out, Some(taken))));
            }
            if out.len() > CAP {
                return Verdict::TooBig;
            }
            if r.consumed == 0 && r.produced == 0 {
                // Every call with room and input must move; at the end, no move means
                // the stream ended short.
                if at < piece.len() {
                    return Verdict::Bad("stream call stalls with input left".into());
                }
                if last {
                    return Verdict::Bad("stream stops before its end".into());
                }
                break;
            }
            if at == piece.len() && r.produced < room && !last {
                break;
            }
        }
    }
    Verdict::Bad("input ends before the stream does".into())
}

/// `uadk::Decoder` over `input`, read in pieces of the sizes `reads` names.
pub fn decoder(s: Session, input: &[u8], reads: &[u8]) -> Verdict {
    decoder_keep(s, input, reads).0
}

/// [`decoder`], handing the session back.
pub fn decoder_keep(s: Session, input: &[u8], reads: &[u8]) -> (Verdict, Option<Session>) {
    let mut d = match uadk::Decoder::with_session(s, input) {
        Ok(d) => d,
        Err(e) => return (Verdict::Bad(e.to_string()), None),
    };
    let v = read_all(&mut d, reads);
    (v, Some(d.into_inner().0))
}

fn read_all<R: Read>(d: &mut uadk::Decoder<R>, reads: &[u8]) -> Verdict {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 4096];
    let mut k = 0;
    loop {
        let n = reads
            .get(k % reads.len().max(1))
            .map_or(4096, |&r| r as usize * 16 + 1);
        k += 1;
        match d.read(&mut buf[..n]) {
            Ok(0) => return Verdict::of(Ok((out, None))),
            Ok(m) => {
                out.extend_from_slice(&buf[..m]);
                if out.len() > CAP {
                    return Verdict::TooBig;
                }
            }
            Err(e) => return Verdict::Bad(e.to_string()),
        }
    }
}

/// Every way this project decompresses `input` as `alg`, with zlib's verdict first.
/// `cuts`/`outs` shape the SGL lists, stream calls and reads; stream outputs are 64 to
/// 16 Ki bytes (the stream target takes the tiny ones: each call is a device round trip).
pub fn all_verdicts(
    alg: Alg,
    input: &[u8],
    cuts: &[u8],
    outs: &[u8],
) -> Vec<(&'static str, Verdict)> {
    let mut v = vec![("zlib", zlib_inflate(alg, input))];
    for (name, comp) in [("cpu", cpu()), ("hisi", hw())] {
        let Some(s) = reused(comp, alg) else {
            continue;
        };
        let tag = |m: &str| -> &'static str {
            match (name, m) {
                ("cpu", "block") => "cpu block",
                ("cpu", "sgl") => "cpu sgl",
                ("cpu", "sync2") => "cpu sync2",
                ("cpu", "stream") => "cpu stream",
                ("cpu", _) => "cpu Decoder",
                (_, "block") => "hisi block",
                (_, "sgl") => "hisi sgl",
                (_, "sync2") => "hisi sync2",
                (_, "stream") => "hisi stream",
                _ => "hisi Decoder",
            }
        };
        v.push((tag("block"), block(&s, input)));
        v.push((tag("sgl"), sgl(&s, input, cuts)));
        v.push((tag("sync2"), sync2(&s, input)));
        v.push((tag("stream"), stream_scaled(&s, input, cuts, outs, 64)));
        let (d, s) = decoder_keep(s, input, outs);
        v.push((tag("decoder"), d));
        if let Some(s) = s {
            keep(comp, alg, s);
        }
    }
    v
}

/// The next byte of a fuzz input (0 past its end).
pub fn take(data: &mut &[u8]) -> u8 {
    match data.split_first() {
        Some((&b, rest)) => {
            *data = rest;
            b
        }
        None => 0,
    }
}

/// The next `n` bytes (fewer at the end).
pub fn take_n<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(data.len());
    let (a, b) = data.split_at(n);
    *data = b;
    a
}

/// Block decompression of `input` as `alg` on both drivers, into [`CAP`] bytes and into 1
/// byte: never a panic; a result that fits in 1 byte fits in [`CAP`] too, and the same;
/// and for the deflate family, zlib's verdict.
pub fn block_target(alg: Alg, input: &[u8]) {
    let mut seen = vec![];
    if alg != Alg::Lz4 {
        seen.push(("zlib", zlib_inflate(alg, input)));
    }
    for (name, comp) in [("cpu", cpu()), ("hisi", hw())] {
        let Some(s) = reused(comp, alg) else {
            continue;
        };
        let big = block(&s, input);
        let mut one = [0u8; 1];
        let small = s.process_output(input, &mut one);
        match (&big, small) {
            (Verdict::Ok(b, used), Ok(o)) => assert!(
                b[..] == one[..o.produced] && *used == Some(o.consumed),
                "{name}: the 1-byte result differs from the {CAP}-byte one"
            ),
            (Verdict::Ok(b, _), Err(e)) => assert!(
                b.len() > 1 && matches!(e, Error::OutputTooSmall { .. }),
                "{name}: {} bytes decode into {CAP} bytes, but into 1 byte: {e}",
                b.len()
            ),
            (Verdict::Bad(_), Ok(o)) => {
                panic!(
                    "{name}: refused into {CAP} bytes, {} bytes into 1",
                    o.produced
                )
            }
            _ => {}
        }
        keep(comp, alg, s);
        seen.push((
            if name == "cpu" {
                "cpu block"
            } else {
                "hisi block"
            },
            big,
        ));
    }
    if seen.len() > 1 {
        assert_agree(input, alg, &seen);
    }
}

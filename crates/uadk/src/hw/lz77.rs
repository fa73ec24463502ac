//! The ZIP engine's LZ77 outputs, `lz77_zstd` and `lz77_only`: where literals, sequences
//! and the frequency table go, how one sequence is encoded, the size limits and the stream
//! context fields of the repeat offsets. Both software engines (the CPU engine and the
//! modelled device) write these outputs through [`Writer`], and the driver and callers read
//! them back with [`records`] and [`Reps`], so every engine agrees on the layout.
//!
//! Facts from UADK v2.10 (`drv/hisi_comp.c`, `include/wd_comp.h`):
//! - a flat output starts with the literal area, `src_len + 16` bytes (`ZSTD_LIT_RESV_SIZE`);
//!   the sequences follow it, 8 bytes each (`SEQ_DATA_SIZE_SHIFT`); with `lz77_zstd`, 8 bytes
//!   of overflow data (`OVERFLOW_DATA_SIZE`) then the 784-byte frequency table
//!   (`ZSTD_FREQ_DATA_SIZE`) follow the last sequence (`get_data_size_lz77_zstd`);
//! - in an SGL output the literal area is the first entries whose lengths add up to at least
//!   `src_len + 16`; the sequences start at the next entry (`get_seq_start_list`);
//! - the engine reports the literal count in DW2, the sequence count in DW1 and, for
//!   `lz77_zstd`, the literal-length overflow in DW31: position in bits 0-23, count in
//!   bits 24-31;
//! - `lz77_zstd` takes at most 128 KiB of input (`ZSTD_MAX_SIZE`), `lz77_only` at most
//!   8 MiB of literal area; minimum outputs and level rules in [`check_sizes`].
//!
//! What UADK leaves to the hardware, and this library defines (docs/hardware.md):
//! - a sequence is `{u32 offset; u16 lit_len; u16 match_len}` (zstd's `seqDef`, as
//!   `uadk_tool/benchmark/include/fse.h` declares it); for `lz77_zstd` the offset field is
//!   zstd's `offBase` (1..3 a repeat offset, else distance + 3) and the match field is the
//!   match length minus 3, as Huawei's KAE zstd copies the records straight into zstd's
//!   sequence store; for `lz77_only` the offset field is the distance minus 1 and the match
//!   field the match length minus 3, as KAE's lz4 rebuilder reads them;
//! - the literals after the last sequence are not a record: their count is `lit_num` minus
//!   the literal lengths of the records;
//! - an `lz77_only` literal run longer than 65535 bytes is cut by literal-only records
//!   (offset field [`NO_MATCH`], match field 0), so every record stands alone;
//! - the overflow data holds the overflow count and position again; `lz77_only`'s 16-byte
//!   tail holds the literal count, the sequence count and the input consumed;
//! - the frequency table: see [`Freq`].

use crate::error::{Error, Result};
use crate::hw::zip::HZ_MAX_SIZE;

/// Largest `lz77_zstd` input of one request (`ZSTD_MAX_SIZE`).
pub const ZSTD_MAX_SIZE: usize = 1 << 17;
/// Bytes the literal area has beyond the input (`ZSTD_LIT_RESV_SIZE`).
pub const LIT_RESV_SIZE: usize = 16;
/// Bytes of one sequence record.
pub const SEQ_SIZE: usize = 8;
/// Bytes between the last `lz77_zstd` sequence and the frequency table (`OVERFLOW_DATA_SIZE`).
pub const OVERFLOW_DATA_SIZE: usize = 8;
/// Bytes of the `lz77_zstd` frequency table (`ZSTD_FREQ_DATA_SIZE`).
pub const FREQ_DATA_SIZE: usize = 784;
/// Bytes `lz77_only` writes after its last sequence (`ZSTD_LIT_RESV_SIZE`: "dfx information").
pub const ONLY_TAIL_SIZE: usize = 16;
/// Stream mode: sequence space a normal-mode `lz77_zstd` request must exceed (`ZSTD_MIN_OUT_SIZE`).
pub const ZSTD_MIN_OUT_SIZE: usize = 1000;
/// Stream mode: sequence space a normal-mode `lz77_only` request must exceed (`LZ77_MIN_OUT_SIZE`).
pub const LZ77_MIN_OUT_SIZE: usize = 200;
/// Stream mode: sequence space a price-mode request must exceed (`PRICE_MIN_OUT_SIZE`).
pub const PRICE_MIN_OUT_SIZE: usize = 4096;

/// Stream context buffer: the repeat offsets after the last request (`CTX_REPCODE1_OFFSET`).
pub const CTX_REPCODE1_OFFSET: usize = 12;
/// Stream context buffer: the repeat offsets before the last request (`CTX_REPCODE2_OFFSET`).
pub const CTX_REPCODE2_OFFSET: usize = 24;
/// Engine's part of the context (after `RSV_OFFSET`): its repeat offsets (`CTX_HW_REPCODE_OFFSET`).
pub const CTX_HW_REPCODE_OFFSET: usize = 784;
/// Bytes of three repeat offsets (`REPCODE_SIZE`).
pub const REPCODE_SIZE: usize = 12;
/// Engine's part: the literal run carried between requests, cleared by the driver each
/// request (`SEQ_LIT_LEN_SIZE` bytes after the repeat offsets).
pub const SEQ_LIT_LEN_SIZE: usize = 4;
/// Engine's part, the modelled device's own: bytes of history kept (u32).
pub const CTX_HISTORY_LEN_OFFSET: usize = CTX_HW_REPCODE_OFFSET + REPCODE_SIZE + SEQ_LIT_LEN_SIZE;
/// Engine's part, the modelled device's own: the history (up to 32 KiB).
pub const CTX_HISTORY_OFFSET: usize = 0x1000;

/// DW31 of `lz77_zstd`: overflow count shift (`LITLEN_OVERFLOW_CNT_SHIFT`).
pub const LITLEN_OVERFLOW_CNT_SHIFT: u32 = 24;
/// DW31 of `lz77_zstd`: overflow position mask (`LITLEN_OVERFLOW_POS_MASK`).
pub const LITLEN_OVERFLOW_POS_MASK: u32 = 0x00ff_ffff;

/// Shortest match (zstd's `MINMATCH`).
pub const MIN_MATCH: usize = 3;
/// Longest match one record holds.
pub const MAX_MATCH: usize = 0xffff + MIN_MATCH;
/// Offset field of an `lz77_only` record that carries literals only.
pub const NO_MATCH: u32 = u32::MAX;
/// Repeat offsets at the start of a frame (zstd's `repStartValue`).
pub const REP_START: [u32; 3] = [1, 4, 8];

/// Which of the two outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// `lz77_zstd`: zstd's sequence records, with repeat offsets and a frequency table.
    Zstd,
    /// `lz77_only`: plain distances, no frequency table.
    Only,
}

impl Variant {
    /// Bytes written after the last record.
    pub fn tail_size(self) -> usize {
        match self {
            Variant::Zstd => OVERFLOW_DATA_SIZE + FREQ_DATA_SIZE,
            Variant::Only => ONLY_TAIL_SIZE,
        }
    }

    /// Request type of DW9 (`HW_LZ77_*`): price mode is level 9.
    pub fn hw_alg(self, price: bool) -> u32 {
        use crate::hw::zip::hw_alg;
        match (self, price) {
            (Variant::Zstd, false) => hw_alg::LZ77_ZSTD,
            (Variant::Zstd, true) => hw_alg::LZ77_ZSTD_PRICE,
            (Variant::Only, false) => hw_alg::LZ77_ONLY,
            (Variant::Only, true) => hw_alg::LZ77_ONLY_PRICE,
        }
    }

    /// The variant and price mode of a DW9 request type, if it is an lz77 one.
    pub fn of_hw_alg(alg: u32) -> Option<(Variant, bool)> {
        use crate::hw::zip::hw_alg;
        match alg {
            hw_alg::LZ77_ZSTD => Some((Variant::Zstd, false)),
            hw_alg::LZ77_ZSTD_PRICE => Some((Variant::Zstd, true)),
            hw_alg::LZ77_ONLY => Some((Variant::Only, false)),
            hw_alg::LZ77_ONLY_PRICE => Some((Variant::Only, true)),
            _ => None,
        }
    }
}

/// Price mode for a level: L8 is normal, L9 price mode; others are refused at request
/// time, as `fill_comp_level_lz77_zstd` does (`-WD_EINVAL`).
pub fn price_mode(level: u32) -> Result<bool> {
    match level {
        8 => Ok(false),
        9 => Ok(true),
        l => Err(Error::InvalidParam(format!(
            "level {l} for lz77 (the engine has level 8, and 9 for price mode)"
        ))),
    }
}

fn min_seq_space(v: Variant, price: bool) -> usize {
    match (v, price) {
        (_, true) => PRICE_MIN_OUT_SIZE,
        (Variant::Zstd, false) => ZSTD_MIN_OUT_SIZE,
        (Variant::Only, false) => LZ77_MIN_OUT_SIZE,
    }
}

/// Check a request's sizes against UADK's rules (`lz77_zstd_buf_check`,
/// `lz77_only_buf_check`, and their `_sgl` forms) and return the sequence space the engine
/// is given (clamped to 8 MiB). `lits_size` is the literal area: `in_len + 16` for a flat
/// output, the entries before the sequence start for an SGL. All failures are
/// `-WD_EINVAL`, as UADK's.
pub fn check_sizes(
    v: Variant,
    in_len: usize,
    out_len: usize,
    lits_size: usize,
    stateful: bool,
    price: bool,
) -> Result<usize> {
    let need_lits = in_len + LIT_RESV_SIZE;
    match v {
        Variant::Zstd if in_len > ZSTD_MAX_SIZE => {
            return Err(Error::InvalidParam(format!(
                "lz77_zstd input of {in_len} bytes (at most {ZSTD_MAX_SIZE})"
            )))
        }
        Variant::Only if need_lits > HZ_MAX_SIZE => {
            return Err(Error::InvalidParam(format!(
                "lz77_only input of {in_len} bytes (at most {})",
                HZ_MAX_SIZE - LIT_RESV_SIZE
            )))
        }
        _ => {}
    }
    if lits_size < need_lits {
        return Err(Error::InvalidParam(format!(
            "literal area of {lits_size} bytes for {in_len} bytes of input (at least {need_lits})"
        )));
    }
    let tail = match v {
        Variant::Zstd => FREQ_DATA_SIZE,
        Variant::Only => ONLY_TAIL_SIZE,
    };
    if out_len < lits_size + tail {
        return Err(Error::InvalidParam(format!(
            "{} output of {out_len} bytes (at least {})",
            name(v),
            lits_size + tail
        )));
    }
    let seq = out_len - lits_size;
    if stateful && seq <= min_seq_space(v, price) {
        return Err(Error::InvalidParam(format!(
            "{} stream output of {out_len} bytes (more than {} needed{})",
            name(v),
            lits_size + min_seq_space(v, price),
            if price { " in price mode" } else { "" }
        )));
    }
    Ok(seq.min(HZ_MAX_SIZE))
}

fn name(v: Variant) -> &'static str {
    match v {
        Variant::Zstd => "lz77_zstd",
        Variant::Only => "lz77_only",
    }
}

/// The SGL entry where the sequences start, and the literal area before it
/// (`get_seq_start_list`): the first entries whose lengths reach `in_len + 16`.
pub fn sgl_seq_start(
    seg_lens: impl IntoIterator<Item = usize>,
    in_len: usize,
) -> Option<(usize, usize)> {
    let mut lits = 0;
    for (i, l) in seg_lens.into_iter().enumerate() {
        if lits >= in_len + LIT_RESV_SIZE {
            return Some((i, lits));
        }
        lits += l;
    }
    None
}

/// One sequence record as stored: the raw fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Record {
    /// Offset field (`offBase` for `lz77_zstd`, distance - 1 for `lz77_only`).
    pub offset: u32,
    /// Literal length, low 16 bits.
    pub lit_len: u16,
    /// Match length minus 3.
    pub match_len: u16,
}

impl Record {
    /// The 8 stored bytes.
    pub fn to_bytes(self) -> [u8; SEQ_SIZE] {
        let mut b = [0u8; SEQ_SIZE];
        b[..4].copy_from_slice(&self.offset.to_le_bytes());
        b[4..6].copy_from_slice(&self.lit_len.to_le_bytes());
        b[6..].copy_from_slice(&self.match_len.to_le_bytes());
        b
    }

    /// From 8 stored bytes.
    pub fn from_bytes(b: &[u8; SEQ_SIZE]) -> Record {
        Record {
            offset: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            lit_len: u16::from_le_bytes([b[4], b[5]]),
            match_len: u16::from_le_bytes([b[6], b[7]]),
        }
    }
}

/// The records of `seq_num` sequences stored in `bytes`.
pub fn records(bytes: &[u8], seq_num: usize) -> impl Iterator<Item = Record> + '_ {
    bytes
        .chunks_exact(SEQ_SIZE)
        .take(seq_num)
        .map(|c| Record::from_bytes(c.try_into().expect("8-byte chunk")))
}

/// zstd's three repeat offsets, with its rules for coding and updating them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reps(pub [u32; 3]);

impl Default for Reps {
    fn default() -> Self {
        Reps(REP_START)
    }
}

impl Reps {
    /// `offBase` for a match at `offset` after `lit_len` literals: a repeat code when one fits.
    pub fn encode(&self, offset: u32, lit_len: usize) -> u32 {
        let r = &self.0;
        if lit_len > 0 {
            match offset {
                o if o == r[0] => 1,
                o if o == r[1] => 2,
                o if o == r[2] => 3,
                o => o + 3,
            }
        } else {
            match offset {
                o if o == r[1] => 1,
                o if o == r[2] => 2,
                o if r[0] > 1 && o == r[0] - 1 => 3,
                o => o + 3,
            }
        }
    }

    /// The distance an `offBase` stands for; `None` for 0 or a repeat code with no distance.
    pub fn decode(&self, off_base: u32, lit_len: usize) -> Option<u32> {
        let r = &self.0;
        let code = match off_base {
            0 => return None,
            o if o > 3 => return Some(o - 3),
            o => o - 1 + (lit_len == 0) as u32,
        };
        let d = match code {
            0..=2 => r[code as usize],
            _ => r[0].wrapping_sub(1),
        };
        (d != 0).then_some(d)
    }

    /// Update after a sequence (zstd's `ZSTD_updateRep`).
    pub fn update(&mut self, off_base: u32, lit_len: usize) {
        let r = &mut self.0;
        if off_base > 3 {
            *r = [off_base - 3, r[0], r[1]];
            return;
        }
        let code = off_base.wrapping_sub(1) + (lit_len == 0) as u32;
        if code == 0 || code > 3 {
            return;
        }
        let cur = if code == 3 {
            r[0].wrapping_sub(1)
        } else {
            r[code as usize]
        };
        if code >= 2 {
            r[2] = r[1];
        }
        r[1] = r[0];
        r[0] = cur;
    }

    /// The 12 bytes the stream context keeps.
    pub fn to_bytes(self) -> [u8; REPCODE_SIZE] {
        let mut b = [0u8; REPCODE_SIZE];
        for (i, r) in self.0.iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&r.to_le_bytes());
        }
        b
    }

    /// From the 12 bytes of a stream context.
    pub fn from_bytes(b: &[u8]) -> Reps {
        let w = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Reps([w(0), w(4), w(8)])
    }
}

/// The repeat offsets a stream carries between requests, as UADK's driver keeps them in
/// the context buffer: `after` (`CTX_REPCODE1`) are the engine's offsets after the last
/// request, `base` (`CTX_REPCODE2`) those in force when it started. A request after a
/// block the caller did not emit compressed starts from `base` again (`fill_buf_lz77_zstd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamReps {
    /// Offsets in force at the start of the last request.
    pub base: Reps,
    /// Offsets after the last request.
    pub after: Reps,
}

impl StreamReps {
    /// The offsets a request starts from, given how the previous block went out.
    pub fn start(&mut self, prev: crate::req::BlockType) -> Reps {
        if prev == crate::req::BlockType::Compressed {
            self.base = self.after;
        }
        self.base
    }

    /// Record the offsets a request ended with.
    pub fn end(&mut self, after: Reps) {
        self.after = after;
    }
}

/// One sequence as a consumer sees it: literals, then a match (none when `match_len` is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seq {
    /// Literals before the match.
    pub lit_len: u32,
    /// Match length; 0 for a literal-only `lz77_only` record.
    pub match_len: u32,
    /// Distance of the match (0 when there is none).
    pub offset: u32,
}

/// Decode stored records into sequences. `overflow` is (count, position) of `lz77_zstd`'s
/// literal-length overflow: the record at `position` has 65536 more literals per count;
/// `reps` are the repeat offsets in force at the first record, updated as zstd does.
pub fn decode(
    v: Variant,
    recs: impl Iterator<Item = Record>,
    overflow: (u32, u32),
    reps: &mut Reps,
) -> Result<Vec<Seq>> {
    let mut out = Vec::new();
    for (i, r) in recs.enumerate() {
        let mut ll = r.lit_len as u32;
        if overflow.0 > 0 && i as u32 == overflow.1 {
            ll += overflow.0 << 16;
        }
        let s = match v {
            Variant::Zstd => {
                let off = reps.decode(r.offset, ll as usize).ok_or_else(|| {
                    Error::CorruptData(format!("record {i}: offset code {}", r.offset))
                })?;
                reps.update(r.offset, ll as usize);
                Seq {
                    lit_len: ll,
                    match_len: r.match_len as u32 + MIN_MATCH as u32,
                    offset: off,
                }
            }
            Variant::Only if r.offset == NO_MATCH => Seq {
                lit_len: ll,
                match_len: 0,
                offset: 0,
            },
            Variant::Only => Seq {
                lit_len: ll,
                match_len: r.match_len as u32 + MIN_MATCH as u32,
                offset: r.offset + 1,
            },
        };
        out.push(s);
    }
    Ok(out)
}

/// Rebuild the input from sequences and literals, after `history` (the stream's earlier
/// bytes a match may reach); the literals after the last sequence end it. Appends to `out`.
pub fn replay(seqs: &[Seq], literals: &[u8], history: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let base = out.len();
    let mut lit = 0usize;
    let at = |out: &mut Vec<u8>, s: &Seq, lit: &mut usize| -> Result<()> {
        let ll = s.lit_len as usize;
        let l = literals
            .get(*lit..*lit + ll)
            .ok_or_else(|| Error::CorruptData("literal lengths exceed lit_num".into()))?;
        out.extend_from_slice(l);
        *lit += ll;
        let (d, m) = (s.offset as usize, s.match_len as usize);
        if m == 0 {
            return Ok(());
        }
        let have = history.len() + out.len() - base;
        if d == 0 || d > have {
            return Err(Error::CorruptData(format!(
                "match distance {d} with {have} bytes behind"
            )));
        }
        for _ in 0..m {
            let pos = history.len() + out.len() - base - d;
            let b = if pos < history.len() {
                history[pos]
            } else {
                out[base + pos - history.len()]
            };
            out.push(b);
        }
        Ok(())
    };
    for s in seqs {
        at(out, s, &mut lit)?;
    }
    out.extend_from_slice(&literals[lit..]);
    Ok(())
}

/// The frequency table of an `lz77_zstd` output, as this library lays out its 784 bytes
/// (UADK fixes only its size and place): little-endian u16 counts, saturating at 65535, of
/// the literal bytes (256, at 0), the records' literal-length codes (36, at 512),
/// match-length codes (53, at 584) and offset codes (32, at 690), in zstd's code tables;
/// the last 30 bytes are zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freq {
    /// Literal byte counts.
    pub lit: [u16; 256],
    /// Literal-length code counts.
    pub ll: [u16; 36],
    /// Match-length code counts.
    pub ml: [u16; 53],
    /// Offset code counts.
    pub of: [u16; 32],
}

const FREQ_LL_AT: usize = 512;
const FREQ_ML_AT: usize = FREQ_LL_AT + 36 * 2;
const FREQ_OF_AT: usize = FREQ_ML_AT + 53 * 2;

impl Default for Freq {
    fn default() -> Self {
        Freq {
            lit: [0; 256],
            ll: [0; 36],
            ml: [0; 53],
            of: [0; 32],
        }
    }
}

const LL_BASE: [u32; 36] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 24, 28, 32, 40, 48, 64,
    128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536,
];
const ML_BASE_HI: [u32; 21] = [
    35, 37, 39, 41, 43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051, 4099, 8195, 16387,
    32771, 65539,
];

/// zstd's literal-length code (RFC 8878, 3.1.1.3.2.1.1).
pub fn ll_code(ll: u32) -> usize {
    LL_BASE.partition_point(|&b| b <= ll) - 1
}

/// zstd's match-length code of a match length (at least 3).
pub fn ml_code(ml: u32) -> usize {
    if ml < 35 {
        (ml.max(3) - 3) as usize
    } else {
        32 + ML_BASE_HI.partition_point(|&b| b <= ml) - 1
    }
}

/// zstd's offset code of an `offBase`.
pub fn of_code(off_base: u32) -> usize {
    (31 - off_base.max(1).leading_zeros()) as usize
}

impl Freq {
    fn bump(c: &mut u16) {
        *c = c.saturating_add(1);
    }

    /// Count literal bytes.
    pub fn add_literals(&mut self, lits: &[u8]) {
        for &b in lits {
            Freq::bump(&mut self.lit[b as usize]);
        }
    }

    /// Count one record (true literal length, true match length, `offBase`).
    pub fn add_record(&mut self, ll: u32, ml: u32, off_base: u32) {
        Freq::bump(&mut self.ll[ll_code(ll)]);
        Freq::bump(&mut self.ml[ml_code(ml)]);
        Freq::bump(&mut self.of[of_code(off_base).min(31)]);
    }

    /// The 784 stored bytes.
    pub fn write(&self, out: &mut [u8]) {
        out[..FREQ_DATA_SIZE].fill(0);
        let put = |out: &mut [u8], at: usize, v: &[u16]| {
            for (i, c) in v.iter().enumerate() {
                out[at + 2 * i..at + 2 * i + 2].copy_from_slice(&c.to_le_bytes());
            }
        };
        put(out, 0, &self.lit);
        put(out, FREQ_LL_AT, &self.ll);
        put(out, FREQ_ML_AT, &self.ml);
        put(out, FREQ_OF_AT, &self.of);
    }

    /// From the 784 stored bytes.
    pub fn read(b: &[u8]) -> Freq {
        let get = |at: usize, out: &mut [u16]| {
            for (i, c) in out.iter_mut().enumerate() {
                *c = u16::from_le_bytes([b[at + 2 * i], b[at + 2 * i + 1]]);
            }
        };
        let mut f = Freq::default();
        get(0, &mut f.lit);
        get(FREQ_LL_AT, &mut f.ll);
        get(FREQ_ML_AT, &mut f.ml);
        get(FREQ_OF_AT, &mut f.of);
        f
    }
}

/// What a request wrote, as the engine reports it in the SQE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    /// Input bytes the records and literals cover.
    pub consumed: usize,
    /// Literals in the literal area (DW2).
    pub lit_num: u32,
    /// Records (DW1).
    pub seq_num: u32,
    /// Literal-length overflow count (DW31 bits 24-31, `lz77_zstd`).
    pub overflow_cnt: u32,
    /// Literal-length overflow position (DW31 bits 0-23, `lz77_zstd`).
    pub overflow_pos: u32,
    /// Repeat offsets after the last record (`lz77_zstd`).
    pub reps: Reps,
}

impl Written {
    /// DW31 of an `lz77_zstd` completion.
    pub fn dw31(&self) -> u32 {
        (self.overflow_cnt << LITLEN_OVERFLOW_CNT_SHIFT)
            | (self.overflow_pos & LITLEN_OVERFLOW_POS_MASK)
    }
}

/// The sequence area is full: the request needs more output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Writes one request's output: literals into the literal area, records and the tail into
/// the sequence area. Feed it the match finder's sequences in order with [`Writer::push`],
/// then close it with [`Writer::finish`].
pub struct Writer<'a> {
    v: Variant,
    lits: &'a mut [u8],
    seqs: &'a mut [u8],
    lit_n: usize,
    seq_n: usize,
    /// Literals written but not yet in a record.
    pending: usize,
    /// Input covered by the records written.
    covered: usize,
    /// Literal count at the last record (what a cut-short request keeps).
    lit_at_rec: usize,
    reps: Reps,
    overflow: (u32, u32),
    freq: Freq,
}

impl<'a> Writer<'a> {
    /// A writer over a request's literal area and sequence area, with the repeat offsets in
    /// force at its start.
    pub fn new(v: Variant, lits: &'a mut [u8], seqs: &'a mut [u8], reps: Reps) -> Writer<'a> {
        Writer {
            v,
            lits,
            seqs,
            lit_n: 0,
            seq_n: 0,
            pending: 0,
            covered: 0,
            lit_at_rec: 0,
            reps,
            overflow: (0, 0),
            freq: Freq::default(),
        }
    }

    fn lits(&mut self, l: &[u8]) {
        self.lits[self.lit_n..self.lit_n + l.len()].copy_from_slice(l);
        self.lit_n += l.len();
        self.pending += l.len();
    }

    fn record(&mut self, ml: usize, offset: u32) -> std::result::Result<(), Full> {
        if (self.seq_n + 1) * SEQ_SIZE + self.v.tail_size() > self.seqs.len() {
            return Err(Full);
        }
        let ll = self.pending;
        let rec = match self.v {
            Variant::Zstd => {
                let ob = self.reps.encode(offset, ll);
                self.reps.update(ob, ll);
                if ll > 0xffff {
                    if self.overflow.0 == 0 {
                        self.overflow.1 = self.seq_n as u32;
                    }
                    self.overflow.0 += 1;
                }
                self.freq.add_record(ll as u32, ml as u32, ob);
                Record {
                    offset: ob,
                    lit_len: ll as u16,
                    match_len: (ml - MIN_MATCH) as u16,
                }
            }
            Variant::Only if ml == 0 => Record {
                offset: NO_MATCH,
                lit_len: ll as u16,
                match_len: 0,
            },
            Variant::Only => Record {
                offset: offset - 1,
                lit_len: ll as u16,
                match_len: (ml - MIN_MATCH) as u16,
            },
        };
        let at = self.seq_n * SEQ_SIZE;
        self.seqs[at..at + SEQ_SIZE].copy_from_slice(&rec.to_bytes());
        self.seq_n += 1;
        self.covered += ll + ml;
        self.pending = 0;
        self.lit_at_rec = self.lit_n;
        Ok(())
    }

    /// Literals `lits`, then a match of `ml` bytes (at least 3) at distance `offset`.
    pub fn push(
        &mut self,
        lits: &[u8],
        mut ml: usize,
        offset: u32,
    ) -> std::result::Result<(), Full> {
        let mut lits = lits;
        if self.v == Variant::Only {
            // A run too long for one record is cut by literal-only records.
            while self.pending + lits.len() > 0xffff {
                let take = 0xffff - self.pending;
                self.lits(&lits[..take]);
                lits = &lits[take..];
                self.record(0, 0)?;
            }
        }
        self.lits(lits);
        while ml > 0 {
            let mut m = ml.min(MAX_MATCH);
            if ml - m > 0 && ml - m < MIN_MATCH {
                m = ml - MIN_MATCH;
            }
            self.record(m, offset)?;
            ml -= m;
        }
        Ok(())
    }

    /// Literals after the last record; cuts an `lz77_only` run as [`Writer::push`] does.
    pub fn tail_literals(&mut self, lits: &[u8]) -> std::result::Result<(), Full> {
        let mut lits = lits;
        if self.v == Variant::Only {
            while self.pending + lits.len() > 0xffff {
                let take = 0xffff - self.pending;
                self.lits(&lits[..take]);
                lits = &lits[take..];
                self.record(0, 0)?;
            }
        }
        self.lits(lits);
        Ok(())
    }

    /// Drop the literals after the last record (a request cut short at a record).
    pub fn cut(&mut self) {
        self.lit_n = self.lit_at_rec;
        self.pending = 0;
    }

    /// Write the tail after the last record and report what the request wrote.
    pub fn finish(mut self) -> Written {
        let at = self.seq_n * SEQ_SIZE;
        let w = Written {
            consumed: self.covered + self.pending,
            lit_num: self.lit_n as u32,
            seq_num: self.seq_n as u32,
            overflow_cnt: self.overflow.0,
            overflow_pos: self.overflow.1,
            reps: self.reps,
        };
        match self.v {
            Variant::Zstd => {
                self.freq.add_literals(&self.lits[..self.lit_n]);
                self.seqs[at..at + 4].copy_from_slice(&w.overflow_cnt.to_le_bytes());
                self.seqs[at + 4..at + 8].copy_from_slice(&w.overflow_pos.to_le_bytes());
                self.freq
                    .write(&mut self.seqs[at + OVERFLOW_DATA_SIZE..at + self.v.tail_size()]);
            }
            Variant::Only => {
                let t = &mut self.seqs[at..at + ONLY_TAIL_SIZE];
                t[..4].copy_from_slice(&w.lit_num.to_le_bytes());
                t[4..8].copy_from_slice(&w.seq_num.to_le_bytes());
                t[8..12].copy_from_slice(&(w.consumed as u32).to_le_bytes());
                t[12..].fill(0);
            }
        }
        w
    }

    /// Input covered so far by records and pending literals.
    pub fn consumed(&self) -> usize {
        self.covered + self.pending
    }
}

/// Write a match finder's output (`found`, then `tail` literals, covering all of `data`)
/// through a [`Writer`]. When the sequences do not fit, a block request fails ([`Full`]:
/// the engine's `ERR_DSTLEN_OUT`) and a stream request stops at the last record that fits,
/// reporting less input consumed.
#[allow(clippy::too_many_arguments)]
pub fn write_found(
    v: Variant,
    data: &[u8],
    found: &[crate::hw::lz77_find::Found],
    tail: usize,
    lit_area: &mut [u8],
    seq_area: &mut [u8],
    reps: Reps,
    stream: bool,
) -> std::result::Result<Written, Full> {
    debug_assert_eq!(
        found.iter().map(|f| f.lit_len + f.match_len).sum::<usize>() + tail,
        data.len()
    );
    if lit_area.len() < data.len() {
        return Err(Full);
    }
    let mut w = Writer::new(v, lit_area, seq_area, reps);
    let mut at = 0;
    let mut full = false;
    for f in found {
        if w.push(&data[at..at + f.lit_len], f.match_len, f.offset)
            .is_err()
        {
            full = true;
            break;
        }
        at += f.lit_len + f.match_len;
    }
    if !full && w.tail_literals(&data[at..]).is_err() {
        full = true;
    }
    if full {
        if !stream {
            return Err(Full);
        }
        w.cut();
    }
    if v.tail_size() > w.seqs.len() {
        return Err(Full);
    }
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_offsets_follow_zstd() {
        let mut r = Reps::default();
        assert_eq!(r.encode(4, 5), 2);
        assert_eq!(r.encode(4, 0), 1);
        assert_eq!(r.encode(0, 0), 3, "rep0 - 1 with no literals");
        assert_eq!(r.encode(100, 1), 103);
        r.update(103, 1);
        assert_eq!(r.0, [100, 1, 4]);
        r.update(2, 3);
        assert_eq!(r.0, [1, 100, 4]);
        r.update(3, 0);
        assert_eq!(r.0, [0, 1, 100]);
        let r = Reps([10, 20, 30]);
        for ll in [0usize, 7] {
            for off in [9u32, 10, 19, 20, 30, 77] {
                let ob = r.encode(off, ll);
                assert_eq!(r.decode(ob, ll), Some(off), "off {off} ll {ll}");
            }
        }
        assert_eq!(Reps::from_bytes(&r.to_bytes()), r);
    }

    #[test]
    fn codes_match_rfc_8878() {
        assert_eq!(ll_code(15), 15);
        assert_eq!(ll_code(16), 16);
        assert_eq!(ll_code(17), 16);
        assert_eq!(ll_code(65535), 34);
        assert_eq!(ll_code(131071), 35);
        assert_eq!(ml_code(3), 0);
        assert_eq!(ml_code(34), 31);
        assert_eq!(ml_code(35), 32);
        assert_eq!(ml_code(65538), 51);
        assert_eq!(ml_code(65539), 52);
        assert_eq!(of_code(1), 0);
        assert_eq!(of_code(4), 2);
    }

    #[test]
    fn sizes_follow_uadk_rules() {
        let v = Variant::Zstd;
        assert!(check_sizes(
            v,
            ZSTD_MAX_SIZE + 1,
            1 << 20,
            ZSTD_MAX_SIZE + 17,
            false,
            false
        )
        .is_err());
        // The frequency table must fit after the literal area.
        assert!(check_sizes(v, 100, 116 + 783, 116, false, false).is_err());
        assert_eq!(
            check_sizes(v, 100, 116 + 784, 116, false, false).unwrap(),
            784
        );
        // Streams need more than 1000 (4096 in price mode) bytes of sequence space.
        assert!(check_sizes(v, 100, 116 + 1000, 116, true, false).is_err());
        assert!(check_sizes(v, 100, 116 + 1001, 116, true, false).is_ok());
        assert!(check_sizes(v, 100, 116 + 4096, 116, true, true).is_err());
        let v = Variant::Only;
        assert!(check_sizes(v, 100, 131, 116, false, false).is_err());
        assert!(check_sizes(v, 100, 132, 116, false, false).is_ok());
        assert!(check_sizes(v, 100, 116 + 200, 116, true, false).is_err());
        assert!(check_sizes(
            v,
            HZ_MAX_SIZE - 16,
            HZ_MAX_SIZE * 2,
            HZ_MAX_SIZE,
            false,
            false
        )
        .is_ok());
        assert!(check_sizes(
            v,
            HZ_MAX_SIZE - 15,
            HZ_MAX_SIZE * 2,
            HZ_MAX_SIZE + 1,
            false,
            false
        )
        .is_err());
        assert_eq!(sgl_seq_start([50, 50, 30, 900], 100), Some((3, 130)));
        assert_eq!(sgl_seq_start([50, 66, 900], 100), Some((2, 116)));
        assert_eq!(sgl_seq_start([50, 60], 100), None);
        assert!(price_mode(8).is_ok() && price_mode(9).unwrap() && price_mode(1).is_err());
    }

    fn roundtrip(v: Variant, input: &[u8], plan: &[(usize, usize, u32)]) {
        let mut lits = vec![0u8; input.len() + LIT_RESV_SIZE];
        let mut seqs = vec![0u8; 1 << 16];
        let mut w = Writer::new(v, &mut lits, &mut seqs, Reps::default());
        let mut at = 0;
        for &(ll, ml, off) in plan {
            w.push(&input[at..at + ll], ml, off).unwrap();
            at += ll + ml;
        }
        w.tail_literals(&input[at..]).unwrap();
        let got = w.finish();
        assert_eq!(got.consumed, input.len());
        let recs = records(&seqs, got.seq_num as usize);
        let s = decode(
            v,
            recs,
            (got.overflow_cnt, got.overflow_pos),
            &mut Reps::default(),
        )
        .unwrap();
        let mut out = Vec::new();
        replay(&s, &lits[..got.lit_num as usize], &[], &mut out).unwrap();
        assert_eq!(out, input);
    }

    #[test]
    fn writer_splits_long_runs_and_replays() {
        let mut input: Vec<u8> = (0..70_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        input.extend(std::iter::repeat_n(b'z', 70_000));
        // 70000 literals, then a long run of 'z' as a 1-distance match.
        let plan = [(70_001, 69_999, 1)];
        roundtrip(Variant::Zstd, &input, &plan);
        roundtrip(Variant::Only, &input, &plan);
        let mut lits = vec![0u8; input.len() + LIT_RESV_SIZE];
        let mut seqs = vec![0u8; 4096];
        let mut w = Writer::new(Variant::Zstd, &mut lits, &mut seqs, Reps::default());
        w.push(&input[..70_001], 69_999, 1).unwrap();
        let got = w.finish();
        assert_eq!((got.overflow_cnt, got.overflow_pos), (1, 0));
        assert_eq!(got.seq_num, 2, "match split at 65538");
        let f = Freq::read(&seqs[2 * SEQ_SIZE + OVERFLOW_DATA_SIZE..]);
        assert_eq!(f.ll[35] + f.ll[0], 2);
        assert_eq!(f.lit.iter().map(|&c| c as u32).sum::<u32>(), 70_001);
    }

    #[test]
    fn full_sequence_area_is_reported() {
        let input = [1u8; 64];
        let mut lits = vec![0u8; 80];
        let mut seqs = vec![0u8; 16 + ONLY_TAIL_SIZE];
        let mut w = Writer::new(Variant::Only, &mut lits, &mut seqs, Reps::default());
        assert!(w.push(&input[..1], 3, 1).is_ok());
        assert!(w.push(&input[..1], 3, 1).is_ok());
        assert_eq!(w.push(&input[..1], 3, 1), Err(Full));
        w.cut();
        let got = w.finish();
        assert_eq!((got.seq_num, got.lit_num, got.consumed), (2, 2, 8));
    }
}

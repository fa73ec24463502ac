//! The modelled ZIP engine: what one hardware queue does with the SQEs it is given.
//!
//! The engine reads input and writes output through the addresses in the SQE (shared
//! virtual addressing: the process's own pointers), writes lengths, status, checksum and
//! stream-context words back into the SQE, and posts a CQE naming the SQ slot.

mod dma;
mod lz77_req;
mod stream;

use crate::hw::lz77;
use crate::hw::zip::{self as fmt, ctx_st, dw, hw_alg, status, ZipSqe};
use dma::{gather, scatter, Moved};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use lz77_req::Lz77Scratch;
use stream::{deflate_stream, inflate_stream};

/// Window bits for a window code: the largest power of two that fits the window.
fn window_bits(code: u32) -> u8 {
    match code {
        0 => 12,
        1 => 13,
        2 | 3 => 14,
        _ => 15,
    }
}

/// Per-queue scratch: reused buffers and stateless codecs.
pub struct Engine {
    input: Vec<u8>,
    output: Vec<u8>,
    lz77: Lz77Scratch,
    comp: Vec<Option<Compress>>,
    decomp: Option<Decompress>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

/// What one SQE asked for.
struct Outcome {
    consumed: u32,
    produced: u32,
    status: u32,
    last_block: bool,
    ctx_state: u32,
}

impl Outcome {
    fn fail(st: u32) -> Outcome {
        Outcome {
            consumed: 0,
            produced: 0,
            status: st,
            last_block: false,
            ctx_state: 0,
        }
    }

    /// A request consumed `consumed` bytes and succeeded; `last` when its stream is
    /// finished (compression finished, or a block request decompressed to the end).
    fn done(consumed: usize, produced: usize, last: bool) -> Outcome {
        Outcome {
            consumed: consumed as u32,
            produced: produced as u32,
            status: status::OK,
            last_block: last,
            ctx_state: 0,
        }
    }

    /// Decompression paused before the end: out of output space, or out of input.
    fn paused(consumed: usize, produced: usize, out_len: usize) -> Outcome {
        Outcome::more(
            consumed,
            produced,
            if produced >= out_len {
                ctx_st::DECOMPING_NO_SPACE
            } else {
                ctx_st::DECOMP_BLK_NOSTART
            },
        )
    }

    /// More of the stream is to come; the engine says where it stopped.
    fn more(consumed: usize, produced: usize, ctx_state: u32) -> Outcome {
        Outcome {
            consumed: consumed as u32,
            produced: produced as u32,
            status: status::OK,
            last_block: false,
            ctx_state,
        }
    }

    /// Decompression reached the end of the stream, trailer checked.
    fn ended(consumed: usize, produced: usize) -> Outcome {
        Outcome {
            consumed: consumed as u32,
            produced: produced as u32,
            status: status::DECOMP_END,
            last_block: true,
            ctx_state: 0,
        }
    }
}

enum Check {
    Adler(adler2::Adler32),
    Crc(crc32fast::Hasher, u32),
    None,
}

impl Check {
    fn start(alg: u32, new: bool, sqe: &ZipSqe) -> Check {
        let (isize, sum) = (sqe.w[dw::ISIZE], sqe.w[dw::CHECKSUM]);
        match alg {
            hw_alg::ZLIB if new => Check::Adler(adler2::Adler32::new()),
            hw_alg::ZLIB => Check::Adler(adler2::Adler32::from_checksum(sum)),
            hw_alg::GZIP if new => Check::Crc(crc32fast::Hasher::new(), 0),
            hw_alg::GZIP => Check::Crc(
                crc32fast::Hasher::new_with_initial(fmt::gzip_word_to_crc(sum)),
                isize,
            ),
            _ => Check::None,
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Check::Adler(a) => a.write_slice(data),
            Check::Crc(c, n) => {
                c.update(data);
                *n = n.wrapping_add(data.len() as u32);
            }
            Check::None => {}
        }
    }

    /// (isize, checksum) as the SQE reports them.
    fn words(&self) -> (u32, u32) {
        match self {
            Check::Adler(a) => (0, a.checksum()),
            Check::Crc(c, n) => (*n, fmt::gzip_crc_to_word(c.clone().finalize())),
            Check::None => (0, 0),
        }
    }

    fn trailer(&self) -> Vec<u8> {
        match self {
            Check::Adler(a) => a.checksum().to_be_bytes().to_vec(),
            Check::Crc(c, n) => {
                let mut t = c.clone().finalize().to_le_bytes().to_vec();
                t.extend_from_slice(&n.to_le_bytes());
                t
            }
            Check::None => Vec::new(),
        }
    }

    fn trailer_len(alg: u32) -> usize {
        match alg {
            hw_alg::ZLIB => 4,
            hw_alg::GZIP => 8,
            _ => 0,
        }
    }
}

impl Engine {
    /// Fresh scratch.
    pub fn new() -> Engine {
        Engine {
            input: Vec::new(),
            output: Vec::new(),
            lz77: Lz77Scratch::default(),
            comp: (0..4).map(|_| None).collect(),
            decomp: None,
        }
    }

    /// Execute one SQE in place (one that [`check`](super::check) accepted). Returns a
    /// model error when the SQE could not be executed for a reason of the driver's making
    /// (an SGL chain too short for the output, a stream the engine never started); the
    /// SQE then carries [`status::BAD_SQE`].
    ///
    /// # Safety
    /// The SQE's addresses must be valid as the SVA contract says: input readable, output
    /// writable, for the lengths the SQE gives, until the CQE is posted.
    pub unsafe fn execute(&mut self, sqe: &mut ZipSqe, qc_type: u16) -> Option<String> {
        if let Some((v, price)) = lz77::Variant::of_hw_alg(sqe.alg()) {
            // SAFETY: the caller's contract.
            return unsafe { self.lz77(sqe, qc_type, v, price) };
        }
        let in_len = sqe.w[dw::INPUT_DATA_LENGTH] as usize;
        let out_len = sqe.w[dw::DEST_AVAIL_OUT] as usize;
        let (src_skip, dst_skip) = sqe.sgl_skip();
        let sgl = sqe.is_sgl();
        let alg = sqe.alg();
        let new = sqe.stream_new();
        let mut check = Check::start(alg, new || !sqe.stateful(), sqe);
        let mut input = std::mem::take(&mut self.input);
        let mut output = std::mem::take(&mut self.output);
        let mut note = None;
        // SAFETY: the caller's contract.
        let got = unsafe { gather(sqe.src(), in_len, sgl, src_skip as usize, &mut input) };
        let outcome = if got == Moved::Fault {
            Outcome::fail(status::ENGINE_FAULT)
        } else if in_len > fmt::HZ_MAX_SIZE || out_len > fmt::HZ_MAX_SIZE || got == Moved::Short {
            note = Some("the input does not fit its buffers".to_string());
            Outcome::fail(status::BAD_SQE)
        } else {
            output.clear();
            let flush = sqe.flush();
            match (alg, qc_type, sqe.stateful()) {
                (hw_alg::DEFLATE | hw_alg::ZLIB | hw_alg::GZIP, 0, false) => {
                    self.deflate_block(sqe.window(), &input, &mut output, &mut check, alg)
                }
                (hw_alg::DEFLATE | hw_alg::ZLIB | hw_alg::GZIP, 0, true) => {
                    deflate_stream(sqe, new, flush, &input, &mut output, &mut check, alg)
                }
                (hw_alg::DEFLATE | hw_alg::ZLIB | hw_alg::GZIP, 1, false) => {
                    self.inflate_block(&input, &mut output, out_len, &mut check, alg)
                }
                (hw_alg::DEFLATE | hw_alg::ZLIB | hw_alg::GZIP, 1, true) => {
                    inflate_stream(sqe, new, &input, &mut output, out_len, &mut check, alg)
                }
                (hw_alg::LZ4, 0, false) => {
                    output.resize(lz4_flex::block::get_maximum_output_size(input.len()), 0);
                    match lz4_flex::block::compress_into(&input, &mut output) {
                        Ok(n) => {
                            output.truncate(n);
                            Outcome::done(input.len(), n, true)
                        }
                        Err(_) => Outcome::fail(status::ENGINE_FAULT),
                    }
                }
                _ => {
                    note = Some(format!("request type {alg:#x} on queue type {qc_type}"));
                    Outcome::fail(status::BAD_SQE)
                }
            }
        };
        let mut outcome = outcome;
        if outcome.status == status::BAD_SQE && note.is_none() {
            note = Some("a stream continued that the engine never started".to_string());
        }
        if outcome.status == status::OK || outcome.status == status::DECOMP_END {
            if output.len() > out_len {
                outcome = Outcome::fail(status::DSTLEN_OUT);
            } else {
                // SAFETY: the caller's contract.
                match unsafe { scatter(sqe.dst(), &output, sgl, dst_skip as usize) } {
                    Moved::All => outcome.produced = output.len() as u32,
                    Moved::Fault => outcome = Outcome::fail(status::ENGINE_FAULT),
                    Moved::Short => {
                        note = Some(format!(
                            "{} bytes of output do not fit the destination SGL chain",
                            output.len()
                        ));
                        outcome = Outcome::fail(status::BAD_SQE);
                    }
                }
            }
        }
        let (isize, sum) = check.words();
        sqe.w[dw::CONSUMED] = outcome.consumed;
        sqe.w[dw::PRODUCED] = outcome.produced;
        sqe.w[dw::STATUS] = outcome.status
            | if outcome.last_block {
                status::LSTBLK
            } else {
                0
            };
        sqe.w[dw::CTX_DW0] = (sqe.w[dw::CTX_DW0] & !ctx_st::MASK) | outcome.ctx_state;
        sqe.w[dw::ISIZE] = isize;
        sqe.w[dw::CHECKSUM] = sum;
        self.input = input;
        self.output = output;
        note
    }

    fn deflate_block(
        &mut self,
        wcode: u32,
        input: &[u8],
        output: &mut Vec<u8>,
        check: &mut Check,
        alg: u32,
    ) -> Outcome {
        let bits = window_bits(wcode);
        let c = self.comp[(bits - 12) as usize].get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(2), false, bits)
        });
        c.reset();
        check.update(input);
        output.reserve(input.len() + input.len() / 8 + 64);
        loop {
            if output.len() == output.capacity() {
                output.reserve(output.capacity().max(1024));
            }
            let before = c.total_in() as usize;
            match c.compress_vec(&input[before..], output, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => break,
                Ok(_) => {}
                Err(_) => return Outcome::fail(status::ENGINE_FAULT),
            }
        }
        output.extend_from_slice(&check.trailer());
        let _ = alg;
        Outcome::done(input.len(), output.len(), true)
    }

    fn inflate_block(
        &mut self,
        input: &[u8],
        output: &mut Vec<u8>,
        out_len: usize,
        check: &mut Check,
        alg: u32,
    ) -> Outcome {
        let d = self.decomp.get_or_insert_with(|| Decompress::new(false));
        d.reset(false);
        output.clear();
        output.resize(out_len, 0);
        let r = d.decompress(input, output, FlushDecompress::Finish);
        output.truncate(d.total_out() as usize);
        let consumed = d.total_in() as usize;
        match r {
            Err(_) => Outcome::fail(status::BAD_DATA),
            Ok(Status::StreamEnd) => {
                check.update(output);
                let tl = Check::trailer_len(alg);
                let rest = &input[consumed..];
                if rest.len() < tl {
                    // The body ended but the trailer did not arrive: a truncated stream.
                    let st = ctx_st::DECOMP_BLK_NOSTART;
                    return Outcome::more(input.len(), output.len(), st);
                }
                if rest[..tl] != check.trailer()[..] {
                    return Outcome::fail(status::CRC_ERR);
                }
                // A block request reports plain success: the kernel's hisi_zip acomp
                // driver takes only 0 (and 0x0d) from stateless requests, and UADK turns
                // 0x13 into WD_STREAM_END, which its block callers count as a failure.
                Outcome::done(consumed + tl, output.len(), true)
            }
            Ok(_) if output.len() >= out_len => {
                // A block request cannot be resumed: no room is an error, as compression's.
                Outcome::fail(status::DSTLEN_OUT)
            }
            Ok(_) => {
                check.update(output);
                Outcome::paused(consumed, output.len(), out_len)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dma;

    #[test]
    fn dma_faults_on_unmapped_and_read_only_pages() {
        let page = 4096;
        // SAFETY: an anonymous mapping of two pages; the second is unmapped again, the
        // first made read-only, and both are only reached through dma (or munmapped).
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            ) as *mut u8;
            assert_ne!(p as *mut libc::c_void, libc::MAP_FAILED);
            p.write_bytes(7, 2 * page);
            let mut out = Vec::new();
            assert!(dma::read(p, 2 * page, &mut out));
            assert_eq!(out.len(), 2 * page);
            assert!(out.iter().all(|&b| b == 7));
            assert!(dma::write(p, &[1, 2, 3]));
            assert_eq!(*p.add(2), 3);

            libc::munmap(p.add(page).cast(), page);
            out.clear();
            // A buffer running into the unmapped page fails, leaving nothing behind.
            assert!(!dma::read(p, 2 * page, &mut out));
            assert!(out.is_empty());
            assert!(!dma::write(p.add(page), &[0; 16]));
            libc::mprotect(p.cast(), page, libc::PROT_READ);
            assert!(!dma::write(p, &[0; 16]));
            assert_eq!(*p, 1, "a refused write changes nothing");
            libc::munmap(p.cast(), page);
        }
    }
}

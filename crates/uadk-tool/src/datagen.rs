//! The benchmark's built-in input: deterministic text-like data.
//!
//! Phrases of words from a generated vocabulary are drawn with a skewed (roughly
//! Zipf-like) frequency and laid out in sentences and lines, so LZ77 finds matches at
//! realistic distances: deflate level 1 compresses 64 KiB packets of it about 3:1.

/// A small xorshift generator: fast, deterministic, good enough for test data.
pub struct XorShift(pub u64);

impl XorShift {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `0..n` (0 for n = 0); the slight modulo bias does not matter here.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Words in the vocabulary.
const VOCAB: u64 = 4096;
/// Phrases (runs of 1..=6 words) the text is made of.
const PHRASES: u64 = 1024;

/// `len` bytes of text-like data; the same `len` always gives the same bytes.
pub fn text(len: usize) -> Vec<u8> {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    // Short words are the common ones, as in natural language.
    let vocab: Vec<Vec<u8>> = (0..VOCAB)
        .map(|i| {
            let l = 1 + (i as f64).sqrt() as u64 / 8 + rng.below(4);
            (0..l).map(|_| b'a' + rng.below(26) as u8).collect()
        })
        .collect();
    // The product of two uniforms favours small indices: a skewed frequency.
    let skewed = |rng: &mut XorShift, n: u64| (rng.below(n) * rng.below(n) / n) as usize;
    // Recurring phrases give LZ77 the longer matches that real prose has.
    let phrases: Vec<Vec<u8>> = (0..PHRASES)
        .map(|_| {
            let words = 1 + rng.below(6);
            let mut p = Vec::new();
            for i in 0..words {
                if i > 0 {
                    p.push(b' ');
                }
                p.extend_from_slice(&vocab[skewed(&mut rng, VOCAB)]);
            }
            p
        })
        .collect();
    let mut out = Vec::with_capacity(len + 64);
    let mut line = 0usize;
    let mut in_sentence = 0u32;
    while out.len() < len {
        let p = &phrases[skewed(&mut rng, PHRASES)];
        if in_sentence == 0 {
            out.push(p[0].to_ascii_uppercase());
            out.extend_from_slice(&p[1..]);
        } else {
            out.extend_from_slice(p);
        }
        line += p.len();
        in_sentence += 1;
        if in_sentence > 2 && rng.below(4) == 0 {
            let stop = rng.below(5) != 0;
            out.push(if stop { b'.' } else { b',' });
            if stop {
                in_sentence = 0;
            }
            line += 1;
        }
        if line > 68 {
            out.push(b'\n');
            line = 0;
        } else {
            out.push(b' ');
            line += 1;
        }
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sized() {
        let a = text(100_000);
        assert_eq!(a.len(), 100_000);
        assert_eq!(a, text(100_000));
        assert_eq!(&text(50_000)[..], &a[..50_000]);
        assert!(a.iter().all(|c| c.is_ascii()));
    }
}

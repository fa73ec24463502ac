//! Decoding the x86-64 store instruction that wrote into a trapped MMIO page.
//!
//! Only the forms a compiler emits for a plain (volatile) integer store are accepted:
//! `mov r/m, reg` (opcodes 88, 89) and `mov r/m, imm` (C6 /0, C7 /0), with optional
//! operand-size, lock, rep and legacy segment prefixes and a REX prefix, and every
//! memory addressing form (base, index, scale, displacement, RIP-relative). Anything
//! else is refused, so the caller never guesses at a store it did not understand.

/// One decoded store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Store {
    /// Bytes written (1, 2, 4 or 8).
    pub size: u8,
    /// The value written, zero-extended.
    pub value: u64,
    /// Length of the instruction in bytes.
    pub len: usize,
    /// The address it writes to.
    pub addr: u64,
}

/// The registers a store may read: general registers in encoding order (rax, rcx, rdx,
/// rbx, rsp, rbp, rsi, rdi, r8 .. r15) and the instruction pointer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Regs {
    /// General registers.
    pub gpr: [u64; 16],
    /// Address of the instruction.
    pub rip: u64,
}

fn sext(v: u64, bytes: usize) -> u64 {
    let shift = 64 - 8 * bytes as u32;
    (((v << shift) as i64) >> shift) as u64
}

/// Decode the instruction whose bytes `fetch(i)` returns, executed with `regs`.
pub fn decode(fetch: impl Fn(usize) -> u8, regs: &Regs) -> Option<Store> {
    let mut i = 0usize;
    let mut op16 = false;
    let mut b = fetch(i);
    // Legacy prefixes (at most four). FS/GS overrides and 32-bit addressing are refused:
    // their effective address cannot be checked here.
    while matches!(b, 0x66 | 0xf0 | 0xf2 | 0xf3 | 0x2e | 0x36 | 0x3e | 0x26) {
        op16 |= b == 0x66;
        i += 1;
        if i > 4 {
            return None;
        }
        b = fetch(i);
    }
    let mut rex = 0u8;
    if (0x40..=0x4f).contains(&b) {
        rex = b;
        i += 1;
        b = fetch(i);
    }
    let (w, r, x, bb) = (rex & 8 != 0, (rex >> 2) & 1, (rex >> 1) & 1, rex & 1);
    let opcode = b;
    i += 1;
    let wide = if w {
        8
    } else if op16 {
        2
    } else {
        4
    };
    let (size, imm_len) = match opcode {
        0x88 => (1u8, 0usize),
        0x89 => (wide, 0),
        0xc6 => (1, 1),
        0xc7 => (wide, if op16 { 2 } else { 4 }),
        _ => return None,
    };
    let modrm = fetch(i);
    i += 1;
    let md = modrm >> 6;
    let reg_field = (modrm >> 3) & 7;
    let rm = modrm & 7;
    if md == 3 || (matches!(opcode, 0xc6 | 0xc7) && reg_field != 0) {
        return None;
    }
    let read = |at: usize, n: usize| -> u64 {
        (0..n).fold(0u64, |v, k| v | (fetch(at + k) as u64) << (8 * k))
    };
    let mut ea = 0u64;
    let mut rip_rel = false;
    let mut disp_len = match md {
        1 => 1,
        2 => 4,
        _ => 0,
    };
    if rm == 4 {
        let sib = fetch(i);
        i += 1;
        let scale = 1u64 << (sib >> 6);
        let index = ((sib >> 3) & 7) | (x << 3);
        let base = (sib & 7) | (bb << 3);
        if index != 4 {
            ea = regs.gpr[index as usize].wrapping_mul(scale);
        }
        if sib & 7 == 5 && md == 0 {
            disp_len = 4;
        } else {
            ea = ea.wrapping_add(regs.gpr[base as usize]);
        }
    } else if rm == 5 && md == 0 {
        rip_rel = true;
        disp_len = 4;
    } else {
        ea = regs.gpr[(rm | (bb << 3)) as usize];
    }
    let disp = if disp_len == 0 {
        0
    } else {
        sext(read(i, disp_len), disp_len)
    };
    i += disp_len;
    let value = if imm_len > 0 {
        let v = read(i, imm_len);
        i += imm_len;
        // C7 with REX.W sign-extends its 32-bit immediate.
        if size == 8 {
            sext(v, 4)
        } else {
            v
        }
    } else {
        let reg = (reg_field | (r << 3)) as usize;
        if size == 1 && rex == 0 && (4..8).contains(&reg) {
            // ah, ch, dh, bh
            (regs.gpr[reg - 4] >> 8) & 0xff
        } else {
            regs.gpr[reg]
        }
    };
    let value = match size {
        8 => value,
        n => value & ((1u64 << (8 * n as u32)) - 1),
    };
    let addr = if rip_rel {
        regs.rip.wrapping_add(i as u64).wrapping_add(disp)
    } else {
        ea.wrapping_add(disp)
    };
    Some(Store {
        size,
        value,
        len: i,
        addr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: &[u8], regs: &Regs) -> Option<Store> {
        decode(|i| code.get(i).copied().unwrap_or(0x90), regs)
    }

    fn regs() -> Regs {
        let mut r = Regs {
            rip: 0x40_0000,
            ..Regs::default()
        };
        for (k, g) in r.gpr.iter_mut().enumerate() {
            *g = 0x1000_0000 * (k as u64 + 1) + 0x1234_5678;
        }
        r
    }

    #[test]
    fn uadk_doorbell_store() {
        // mov %rcx,(%rdi): what gcc emits for UADK's wd_iowrite64.
        let r = regs();
        let s = run(&[0x48, 0x89, 0x0f, 0xc3], &r).unwrap();
        assert_eq!(
            s,
            Store {
                size: 8,
                value: r.gpr[1],
                len: 3,
                addr: r.gpr[7]
            }
        );
    }

    #[test]
    fn extended_registers_displacements_and_sib() {
        let r = regs();
        // mov %r9,0x10(%r12): REX.WRB, SIB (base r12), disp8.
        let s = run(&[0x4d, 0x89, 0x4c, 0x24, 0x10], &r).unwrap();
        assert_eq!((s.size, s.value, s.len), (8, r.gpr[9], 5));
        assert_eq!(s.addr, r.gpr[12] + 0x10);
        // mov %eax,-0x8(%rbx,%rcx,4): 32-bit, SIB with index, negative disp8.
        let s = run(&[0x89, 0x44, 0x8b, 0xf8], &r).unwrap();
        assert_eq!((s.size, s.value, s.len), (4, r.gpr[0] & 0xffff_ffff, 4));
        assert_eq!(s.addr, r.gpr[3] + r.gpr[1] * 4 - 8);
        // mov %rdx,0x1000(%rax): disp32.
        let s = run(&[0x48, 0x89, 0x90, 0x00, 0x10, 0x00, 0x00], &r).unwrap();
        assert_eq!((s.len, s.addr), (7, r.gpr[0] + 0x1000));
        // mov %r8,(%r13): r13 as base needs mod 01 with disp8 0.
        let s = run(&[0x4d, 0x89, 0x45, 0x00], &r).unwrap();
        assert_eq!((s.value, s.len, s.addr), (r.gpr[8], 4, r.gpr[13]));
        // mov %rax,0x20(%rip)
        let s = run(&[0x48, 0x89, 0x05, 0x20, 0, 0, 0], &r).unwrap();
        assert_eq!(s.addr, r.rip + 7 + 0x20);
        // mov %ax,(%rsi) with the operand-size prefix.
        let s = run(&[0x66, 0x89, 0x06], &r).unwrap();
        assert_eq!((s.size, s.value, s.len), (2, r.gpr[0] & 0xffff, 3));
        // mov %ah,(%rdi) without REX: the high byte of rax.
        let s = run(&[0x88, 0x27], &r).unwrap();
        assert_eq!((s.size, s.value), (1, (r.gpr[0] >> 8) & 0xff));
        // mov %sil,(%rdi) with an empty REX: the low byte of rsi.
        let s = run(&[0x40, 0x88, 0x37], &r).unwrap();
        assert_eq!(s.value, r.gpr[6] & 0xff);
    }

    #[test]
    fn immediates() {
        let r = regs();
        // movq $-1,(%rax): C7 with REX.W sign-extends.
        let s = run(&[0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff], &r).unwrap();
        assert_eq!((s.size, s.value, s.len), (8, u64::MAX, 7));
        // movl $0x1234,0x8(%rdx)
        let s = run(&[0xc7, 0x42, 0x08, 0x34, 0x12, 0, 0], &r).unwrap();
        assert_eq!(
            (s.size, s.value, s.len, s.addr),
            (4, 0x1234, 7, r.gpr[2] + 8)
        );
        // movb $7,(%rcx)
        let s = run(&[0xc6, 0x01, 0x07], &r).unwrap();
        assert_eq!((s.size, s.value, s.len), (1, 7, 3));
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        let r = regs();
        for code in [
            &[0x48, 0x8b, 0x07][..],   // a load
            &[0x48, 0x89, 0xc8],       // register to register
            &[0x66, 0x0f, 0xd6, 0x07], // movq %xmm0,(%rdi)
            &[0x64, 0x48, 0x89, 0x07], // FS-relative
            &[0xc7, 0x08, 0, 0, 0, 0], // C7 /1
            &[0x0f, 0xc3, 0x07],       // movnti
        ] {
            assert_eq!(run(code, &r), None, "{code:x?}");
        }
    }
}

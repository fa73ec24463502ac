//! The C library's own functions, found past this library (`real!`: `RTLD_NEXT`), and
//! `errno`.

use std::ffi::c_int;

macro_rules! real {
    ($name:ident : $ty:ty) => {{
        use std::sync::atomic::{AtomicUsize, Ordering};
        static P: AtomicUsize = AtomicUsize::new(0);
        let mut p = P.load(Ordering::Relaxed);
        if p == 0 {
            // SAFETY: dlsym with a NUL-terminated name; RTLD_NEXT finds the C library's.
            p = unsafe {
                libc::dlsym(
                    libc::RTLD_NEXT,
                    concat!(stringify!($name), "\0").as_ptr().cast(),
                )
            } as usize;
            if p == 0 {
                $crate::real::trap_missing(stringify!($name));
            }
            P.store(p, Ordering::Relaxed);
        }
        // SAFETY: the symbol of that name has this C signature.
        unsafe { std::mem::transmute::<usize, $ty>(p) }
    }};
}

pub(crate) fn trap_missing(name: &str) -> ! {
    eprintln!("uadk-model-preload: the C library has no {name}");
    std::process::abort()
}

pub(crate) fn set_errno(e: c_int) {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() = e };
}

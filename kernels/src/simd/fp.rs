//! Denormal control for the duration of an `f32` kernel call.
//!
//! Vanishing-gradient runs drive `dh_t` towards zero until the products turn
//! denormal, and x86 cores then take a microcode assist on every such operand
//! (tenfold slowdowns of whole training runs). `f32` kernel calls therefore set
//! the x86 MXCSR flags FTZ (flush results to zero) and DAZ (read denormal
//! operands as zero) on every thread they run on, and restore the caller's
//! flags on return. The effect on results is confined to values below
//! `f32::MIN_POSITIVE ≈ 1.2e-38`, which become zero. `f64` calls (the checking
//! type, where denormals need gradients to shrink by 300 orders of magnitude)
//! run unchanged. On other architectures this is a no-op.

/// Restores the floating-point control state saved by [`Ftz::new`] when dropped.
pub(crate) struct Ftz {
    #[cfg(target_arch = "x86_64")]
    saved: Option<u32>,
}

#[cfg(target_arch = "x86_64")]
const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);

#[cfg(target_arch = "x86_64")]
fn read_csr() -> u32 {
    let mut csr: u32 = 0;
    // SAFETY: STMXCSR stores the 32-bit MXCSR register (SSE, baseline on x86-64)
    // to the valid, writable `csr`.
    unsafe { core::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags)) };
    csr
}

#[cfg(target_arch = "x86_64")]
fn write_csr(csr: u32) {
    // SAFETY: LDMXCSR loads MXCSR from the valid `csr`; callers only write
    // values read by `read_csr`, with at most the FTZ and DAZ bits added (both
    // defined on every x86-64 CPU with SSE2, so no reserved bit is set).
    unsafe { core::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, preserves_flags, readonly)) };
}

impl Ftz {
    /// Sets FTZ and DAZ on this thread when `enable` (the element type is `f32`).
    #[inline]
    pub(crate) fn new(enable: bool) -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if !enable {
                return Ftz { saved: None };
            }
            let old = read_csr();
            if old & FTZ_DAZ != FTZ_DAZ {
                write_csr(old | FTZ_DAZ);
            }
            Ftz { saved: Some(old) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = enable;
            Ftz {}
        }
    }
}

impl Drop for Ftz {
    #[inline]
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        if let Some(old) = self.saved
            && old & FTZ_DAZ != FTZ_DAZ
        {
            write_csr(old);
        }
    }
}

//! SIMD kernels and their runtime dispatch.
//!
//! Every kernel is written once, generic over [`pulp::Simd`], and instantiated
//! for each instruction set the crate knows ([`Level`]). A kernel call resolves
//! its level once ([`level`]) and runs entirely at that level:
//!
//! 1. a level forced on the current thread with [`with_level`] (tests use this);
//! 2. else a level forced process-wide with [`set_level`];
//! 3. else the environment variable `RNN_KERNELS_SIMD` (`scalar`, `avx2`,
//!    `avx512`, `neon`), read once per process;
//! 4. else [`Level::best`]: AVX-512 where the CPU has it, else AVX2+FMA on
//!    x86-64 (see below), NEON on aarch64, scalar elsewhere.
//!
//! A forced level the CPU lacks is an error ([`set_level`] and [`with_level`]
//! panic; an unusable `RNN_KERNELS_SIMD` value panics on first use).
//!
//! AVX-512 is the default where it exists: on Intel cores with two 512-bit FMA
//! units it doubles the FMA peak over AVX2 (measured on this project's Intel
//! machine: the fused time loop of a GRU step ran at 92 against 62 GFLOP/s),
//! and on AMD Zen 4, whose 512-bit FMAs are double-pumped, it reaches the same
//! peak with half the instructions. The choice depends on the CPU only, never
//! on timing, so a machine always runs the same level (and gets the same bits).
//!
//! Results depend on the level (the vector activations, FMA contraction and
//! lane-wise summation orders differ from the scalar path), but never on the
//! thread count.
//!
//! This module is the crate's ground floor for vector code: it imports only
//! the scalar trait ([`crate::Real`]) and the shared-buffer type
//! (`crate::shared`). Inside: `Elem` maps `f32`/`f64` to pulp's vector types;
//! `math` holds the `f32` vector `exp`, `tanh` and `sigmoid`; `panels` packs
//! `W_hh` into panels and runs the register-tiled micro-kernels of the
//! recurrent step, handing every finished vector to a cell's epilogue; `fp`
//! controls denormals.

mod elem;
pub(crate) mod fp;
pub(crate) mod gemm;
pub(crate) mod math;
pub(crate) mod panels;

pub(crate) use elem::Elem;

use core::cell::Cell;
use core::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// An instruction set the kernels can run at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// Portable scalar code (one lane, no FMA contraction).
    Scalar,
    /// x86-64 AVX2 + FMA (pulp's `V3`, 8 `f32` lanes).
    Avx2,
    /// x86-64 AVX-512F/BW/CD/DQ/VL (pulp's `V4`, 16 `f32` lanes).
    Avx512,
    /// aarch64 NEON (4 `f32` lanes).
    Neon,
}

impl Level {
    /// Every level, scalar first.
    pub const ALL: [Level; 4] = [Level::Scalar, Level::Avx2, Level::Avx512, Level::Neon];

    /// Whether this CPU can run the level.
    pub fn is_available(self) -> bool {
        match self {
            Level::Scalar => true,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Level::Avx2 => pulp::x86::V3::try_new().is_some(),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Level::Avx512 => pulp::x86::V4::try_new().is_some(),
            #[cfg(target_arch = "aarch64")]
            Level::Neon => pulp::aarch64::Neon::try_new().is_some(),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The default level of this CPU (see the module docs).
    pub fn best() -> Level {
        [Level::Avx512, Level::Avx2, Level::Neon].into_iter().find(|l| l.is_available()).unwrap_or(Level::Scalar)
    }

    /// Lower-case name, as accepted by [`Level::parse`] and `RNN_KERNELS_SIMD`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
            Level::Neon => "neon",
        }
    }

    /// Parses a name (case-insensitive; `v3`/`v4` are accepted for AVX2/AVX-512).
    pub fn parse(s: &str) -> Option<Level> {
        match s.trim().to_ascii_lowercase().as_str() {
            "scalar" => Some(Level::Scalar),
            "avx2" | "v3" => Some(Level::Avx2),
            "avx512" | "avx-512" | "v4" => Some(Level::Avx512),
            "neon" => Some(Level::Neon),
            _ => None,
        }
    }

    fn code(self) -> u8 {
        match self {
            Level::Scalar => 1,
            Level::Avx2 => 2,
            Level::Avx512 => 3,
            Level::Neon => 4,
        }
    }

    fn from_code(c: u8) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.code() == c)
    }

    #[track_caller]
    fn check(self) -> Level {
        assert!(self.is_available(), "simd: level `{}` is not available on this CPU", self.name());
        self
    }
}

static GLOBAL: AtomicU8 = AtomicU8::new(0);
static ENV: OnceLock<Option<Level>> = OnceLock::new();
thread_local! {
    static LOCAL: Cell<u8> = const { Cell::new(0) };
}

/// Environment variable that forces a level process-wide (see the module docs).
pub const ENV_VAR: &str = "RNN_KERNELS_SIMD";

/// Forces `level` for every later kernel call in this process (`None` restores
/// the default). Panics if the CPU lacks it.
#[track_caller]
pub fn set_level(level: Option<Level>) {
    GLOBAL.store(level.map_or(0, |l| l.check().code()), Ordering::Relaxed);
}

/// Runs `f` with `level` forced for kernel calls made from this thread (the
/// level is resolved on the calling thread and carried to worker threads).
/// Panics if the CPU lacks it.
#[track_caller]
pub fn with_level<R>(level: Level, f: impl FnOnce() -> R) -> R {
    struct Restore(u8);
    impl Drop for Restore {
        fn drop(&mut self) {
            LOCAL.with(|c| c.set(self.0));
        }
    }
    let code = level.check().code();
    let _restore = Restore(LOCAL.with(|c| c.replace(code)));
    f()
}

/// The level a kernel call made now, from this thread, runs at.
pub fn level() -> Level {
    if let Some(l) = Level::from_code(LOCAL.with(Cell::get)) {
        return l;
    }
    if let Some(l) = Level::from_code(GLOBAL.load(Ordering::Relaxed)) {
        return l;
    }
    let env = ENV.get_or_init(|| {
        let v = std::env::var(ENV_VAR).ok()?;
        let l = Level::parse(&v).unwrap_or_else(|| panic!("{ENV_VAR}={v:?}: expected scalar, avx2, avx512 or neon"));
        Some(l.check())
    });
    env.unwrap_or_else(Level::best)
}

/// Runs `op` at `level` (which must be available).
#[inline]
pub(crate) fn dispatch<Op: pulp::WithSimd>(level: Level, op: Op) -> Op::Output {
    match level {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Level::Avx2 => pulp::Arch::V3(pulp::x86::V3::try_new().expect("AVX2 checked")).dispatch(op),
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Level::Avx512 => pulp::Arch::V4(pulp::x86::V4::try_new().expect("AVX-512 checked")).dispatch(op),
        #[cfg(target_arch = "aarch64")]
        Level::Neon => pulp::Arch::Neon(pulp::aarch64::Neon::try_new().expect("NEON checked")).dispatch(op),
        _ => pulp::Arch::Scalar.dispatch(op),
    }
}

/// Bytes of the cache line (and of an AVX-512 vector) that packed panels are
/// aligned to: a panel read as vectors must not straddle cache lines (each
/// such split load costs two), and allocators align large buffers to 16 bytes only.
pub(crate) const ALIGN: usize = 64;

/// Extra values a buffer needs so that [`aligned`] can skip to a boundary
/// (enough for 4- and 8-byte values).
pub(crate) const ALIGN_SLACK: usize = ALIGN / 4;

/// Values to skip from `p` to the next [`ALIGN`]-byte boundary (at most
/// [`ALIGN_SLACK`] for 4- and 8-byte values).
fn to_boundary<T>(p: *const T) -> usize {
    p.align_offset(ALIGN).min(ALIGN_SLACK)
}

/// The longest suffix of `buf` that starts on an [`ALIGN`]-byte boundary
/// (it is at most [`ALIGN_SLACK`] values shorter).
pub(crate) fn aligned<T>(buf: &mut [T]) -> &mut [T] {
    let off = to_boundary(buf.as_ptr()).min(buf.len());
    &mut buf[off..]
}

/// An owned, zero-initialised buffer of `len` values starting on an
/// [`ALIGN`]-byte boundary (for packed weights kept between calls): `len`
/// values at the boundary of a buffer [`ALIGN_SLACK`] longer.
pub(crate) struct AlignedVec<T> {
    buf: Vec<T>,
    len: usize,
}

impl<T> AlignedVec<T> {
    /// The values.
    pub(crate) fn as_slice(&self) -> &[T] {
        &self.buf[to_boundary(self.buf.as_ptr())..][..self.len]
    }
    /// The values, mutable.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        let off = to_boundary(self.buf.as_ptr());
        &mut self.buf[off..][..self.len]
    }
}

impl<T: Copy + Default> AlignedVec<T> {
    /// `len` values of `T::default()`.
    pub(crate) fn zeroed(len: usize) -> Self {
        Self { buf: vec![T::default(); len + ALIGN_SLACK], len }
    }
}

impl<T: Clone> Clone for AlignedVec<T> {
    fn clone(&self) -> Self {
        // A clone is a new allocation with its own distance to the boundary:
        // rotate the copied values to it.
        let (old, mut buf) = (to_boundary(self.buf.as_ptr()), self.buf.clone());
        let new = to_boundary(buf.as_ptr());
        if new > old {
            buf.rotate_right(new - old);
        } else {
            buf.rotate_left(old - new);
        }
        Self { buf, len: self.len }
    }
}

impl<T: core::fmt::Debug> core::fmt::Debug for AlignedVec<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// Hints the cache line holding `x[0]` into L1 (no-op for an empty slice or
/// off x86-64). Tiles call it for their epilogue's inputs when they start, so
/// the loads that follow their `k` loop do not miss.
#[inline(always)]
pub(crate) fn prefetch<T>(x: &[T]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v) = x.first() {
        // SAFETY: PREFETCHT0 needs only SSE, which every x86-64 CPU has, and it
        // never faults (`v` is a valid address anyway).
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>((v as *const T).cast::<i8>())
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

//! A cache-blocked, packed GEMM in the manner of BLIS, for the
//! once-per-sequence products (input projection, `dX`, `dW_ih`, `dW_hh`):
//!
//! ```text
//! C[i, j] ← α Σ_k A[i, k] B[k, j] + β C[i, j]     A[i, k] = a[i·rsa + k·csa], B[k, j] = b[k·rsb + j·csb]
//! ```
//!
//! `K` is cut in blocks of [`KC`], `N` in blocks of [`NC`], `M` in blocks of
//! `MC`. Per (`N` block, `K` block) the block of `B` is packed into column
//! panels of `NR = NV·L` columns (`k`-major, zero-padded); per `M` block the
//! block of `A` into row panels of `MR` rows, unless `A` is row-major: then
//! each tile row reads its row of `A` in place. The micro-kernel keeps an
//! `MR × NV` tile of vector accumulators and, for each `k`, broadcasts `MR`
//! values of `A` against `NV` vectors of `B`. The tile sizes fit the register
//! file of the level: 12 × 2 vectors with AVX-512's 32 registers, 6 × 2 with
//! AVX2's 16.
//!
//! Every `C[i, j]` is summed over `k` in the same order (blocks of `KC` in
//! order, `k` in order within a block) whatever `M` range a call covers, so a
//! product split by rows between threads gives the same bits as one call.

use super::{Elem, Level, dispatch};
use pulp::{Simd, WithSimd};

/// Block of the reduction dimension.
pub(crate) const KC: usize = 256;
/// Block of `N` (columns of `C`) packed at once.
pub(crate) const NC: usize = 512;
/// Largest packed `B` panel (bytes) that a tile walk keeps in L1 across the
/// row panels of `A` (a third of a 48 KiB L1; a 32 KiB panel at `KC = 256`
/// measured 8-13% slower that way than keeping `A`'s panel instead).
const B_PANEL_L1: usize = 16 * 1024;

/// `(MR, NV, MC)` of a level: register tile rows, vectors per tile row, and
/// the rows of `A` packed at once (a multiple of `MR`, sized for L2).
fn tile(level: Level) -> (usize, usize, usize) {
    match level {
        Level::Avx512 => (12, 2, 144),
        Level::Avx2 => (6, 2, 144),
        Level::Neon => (8, 2, 144),
        Level::Scalar => (4, 4, 128),
    }
}

/// Whether the micro-kernel prefetches its tile of `C` before the `k` loop.
/// Measured on an AMD EPYC (Zen 4) core at AVX2 on 2026-12-08: 5-10% faster
/// where `C` outgrows L2 (interleaved A/B, 3200x512x2048 and 800x1024x4096),
/// equal within L2. On an Intel Xeon at AVX-512 it was measured slower, so
/// it stays off there.
fn prefetch_c(level: Level) -> bool {
    matches!(level, Level::Avx2)
}

/// Values of the packing buffer [`gemm`] needs for `A` and `B` at `level`
/// (with `M`, `N`, `K` at most the blocks).
pub(crate) fn pack_len(level: Level, lanes: usize) -> usize {
    let (mr, nv, mc) = tile(level);
    let nr = nv * lanes;
    mc.next_multiple_of(mr) * KC + KC * NC.next_multiple_of(nr)
}

/// Columns of a packed panel of `B` (`NV·L`) at `level` for `lanes` lanes.
pub(crate) fn panel_cols(level: Level, lanes: usize) -> usize {
    tile(level).1 * lanes
}

/// The SIMD lanes of `T` at `level`.
pub(crate) fn lanes<T: Elem>(level: Level) -> usize {
    struct Lanes<T>(core::marker::PhantomData<T>);
    impl<T: Elem> WithSimd for Lanes<T> {
        type Output = usize;
        #[inline(always)]
        fn with_simd<S: Simd>(self, _s: S) -> usize {
            T::lanes::<S>()
        }
    }
    dispatch(level, Lanes::<T>(core::marker::PhantomData))
}

/// A strided matrix operand: element `(i, j)` at `data[i·rs + j·cs]`.
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a, T> {
    pub data: &'a [T],
    pub rs: usize,
    pub cs: usize,
}

/// One product `C ← α A B + β C` (`C` row-major with row stride `ldc`), with
/// `pack` at least [`pack_len`] values. Shapes are checked by the caller.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm<T: Elem>(
    level: Level,
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    beta: T,
    c: &mut [T],
    ldc: usize,
    pack: &mut [T],
) {
    dispatch(level, Gemm { level, m, n, k, alpha, a, b, beta, c, ldc, pack });
}

struct Gemm<'a, T> {
    level: Level,
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: Operand<'a, T>,
    b: Operand<'a, T>,
    beta: T,
    c: &'a mut [T],
    ldc: usize,
    pack: &'a mut [T],
}

impl<T: Elem> WithSimd for Gemm<'_, T> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        match tile(self.level) {
            (12, 2, _) => self.go::<S, 12, 2>(s),
            (6, 2, _) => self.go::<S, 6, 2>(s),
            (8, 2, _) => self.go::<S, 8, 2>(s),
            _ => self.go::<S, 4, 4>(s),
        }
    }
}

impl<T: Elem> Gemm<'_, T> {
    #[inline(always)]
    fn go<S: Simd, const MR: usize, const NV: usize>(self, s: S) {
        let l = T::lanes::<S>();
        let nr = NV * l;
        let (_, _, mc) = tile(self.level);
        let (m, n, k) = (self.m, self.n, self.k);
        let (a_pack, b_pack) = self.pack.split_at_mut(mc.next_multiple_of(MR) * KC);
        let c = self.c;
        // A row-major `A` is read in place, one row per tile row (as the step
        // kernels read `h`): packing it cost a scalar strided store per value,
        // as much time as the product itself when `B` has only a few panels,
        // and 4-20% of the larger products. Which copy a value is read from
        // changes no sum.
        let direct = self.a.cs == 1;
        let prefetch_c = prefetch_c(self.level);
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            let panels = nc.div_ceil(nr);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                pack_b::<S, T, NV>(self.b, pc, kc, jc, nc, b_pack);
                // The first K block applies β; the later ones accumulate.
                let beta = if pc == 0 { self.beta } else { T::ONE };
                for ic in (0..m).step_by(mc) {
                    let mcur = mc.min(m - ic);
                    if !direct {
                        pack_a::<T, MR>(self.a, ic, mcur, pc, kc, a_pack);
                    }
                    // Which operand a tile walk keeps in L1: a `B` panel of at most
                    // `B_PANEL_L1` bytes, reused by every row panel of `A`; else
                    // the row panel of `A`, reused by every `B` panel (streamed
                    // from L2). The walk's order changes no sum.
                    let strips = mcur.div_ceil(MR);
                    let a_outer = kc * nr * core::mem::size_of::<T>() > B_PANEL_L1;
                    let (outer, inner) = if a_outer { (strips, panels) } else { (panels, strips) };
                    for o in 0..outer {
                        for i in 0..inner {
                            let (q, p) = if a_outer { (o, i) } else { (i, o) };
                            let rows = MR.min(mcur - q * MR);
                            let bp = &b_pack[p * kc * nr..][..kc * nr];
                            let cols = nr.min(nc - p * nr);
                            let at = (ic + q * MR) * self.ldc + jc + p * nr;
                            let c = &mut c[at..];
                            let (alpha, ldc) = (self.alpha, self.ldc);
                            if direct {
                                // Rows past `rows` repeat the last row: their sums are not stored.
                                let a = RowsA(core::array::from_fn(|r| {
                                    let i = ic + q * MR + r.min(rows - 1);
                                    &self.a.data[i * self.a.rs + pc..][..kc]
                                }));
                                micro::<S, T, MR, NV>(s, a, bp, kc, alpha, beta, c, ldc, rows, cols, prefetch_c);
                            } else {
                                let a = PackedA(&a_pack[q * MR * kc..][..MR * kc]);
                                micro::<S, T, MR, NV>(s, a, bp, kc, alpha, beta, c, ldc, rows, cols, prefetch_c);
                            }
                        }
                    }
                }
            }
        }
        if k == 0 {
            // No K block ran: C ← β C.
            for i in 0..m {
                for v in &mut c[i * self.ldc..][..n] {
                    *v = if self.beta == T::ZERO { T::ZERO } else { self.beta * *v };
                }
            }
        }
    }
}

/// Packs `A[ic..ic+mc, pc..pc+kc]` into row panels of `MR` rows, `k`-major
/// (`out[(q·kc + k)·MR + r] = A[ic + q·MR + r, pc + k]`, zero past `mc`).
#[inline(always)]
fn pack_a<T: Elem, const MR: usize>(a: Operand<'_, T>, ic: usize, mc: usize, pc: usize, kc: usize, out: &mut [T]) {
    for q in 0..mc.div_ceil(MR) {
        let panel = &mut out[q * MR * kc..][..MR * kc];
        let rows = MR.min(mc - q * MR);
        if a.rs == 1 && a.cs != 1 {
            // A stored transposed (a weight gradient's `dGᵀ`): the `MR` values of
            // each `k` are contiguous, so read them together.
            for (kk, dst) in panel.chunks_exact_mut(MR).enumerate() {
                let base = (ic + q * MR) + (pc + kk) * a.cs;
                if rows == MR {
                    // A constant length: copied inline, not through `memcpy`.
                    dst.copy_from_slice(&a.data[base..base + MR]);
                } else {
                    dst[..rows].copy_from_slice(&a.data[base..base + rows]);
                    dst[rows..].fill(T::ZERO);
                }
            }
            continue;
        }
        for r in 0..MR {
            if r < rows {
                let base = (ic + q * MR + r) * a.rs + pc * a.cs;
                for kk in 0..kc {
                    panel[kk * MR + r] = a.data[base + kk * a.cs];
                }
            } else {
                for kk in 0..kc {
                    panel[kk * MR + r] = T::ZERO;
                }
            }
        }
    }
}

/// Packs `B[pc..pc+kc, jc..jc+nc]` into column panels of `nr` columns,
/// `k`-major (`out[(p·kc + k)·nr + c] = B[pc + k, jc + p·nr + c]`, zero past
/// `nc`), `nr = NV·L`.
#[inline(always)]
fn pack_b<S: Simd, T: Elem, const NV: usize>(
    b: Operand<'_, T>,
    pc: usize,
    kc: usize,
    jc: usize,
    nc: usize,
    out: &mut [T],
) {
    let l = T::lanes::<S>();
    let nr = NV * l;
    for p in 0..nc.div_ceil(nr) {
        let panel = &mut out[p * kc * nr..][..kc * nr];
        let cols = nr.min(nc - p * nr);
        if b.rs == 1 && b.cs != 1 {
            // B stored transposed (the input projection's `W_ihᵀ`): each column's
            // `kc` values are contiguous, so read along them (strided reads
            // across columns cost a cache line per value).
            for cc in 0..nr {
                if cc < cols {
                    let src = &b.data[(jc + p * nr + cc) * b.cs + pc..][..kc];
                    for (kk, &v) in src.iter().enumerate() {
                        panel[kk * nr + cc] = v;
                    }
                } else {
                    for kk in 0..kc {
                        panel[kk * nr + cc] = T::ZERO;
                    }
                }
            }
            continue;
        }
        for kk in 0..kc {
            let row = &mut panel[kk * nr..][..nr];
            let base = (pc + kk) * b.rs + (jc + p * nr) * b.cs;
            if b.cs == 1 && cols == nr {
                // Whole vectors (a `copy_from_slice` of a run-time length calls
                // `memcpy`, whose overhead dominates a 64-byte copy).
                let src = &b.data[base..base + nr];
                for v in 0..NV {
                    T::vstore::<S>(&mut row[v * l..], T::vload::<S>(&src[v * l..]));
                }
                continue;
            } else if b.cs == 1 {
                row[..cols].copy_from_slice(&b.data[base..base + cols]);
            } else {
                for (cc, v) in row[..cols].iter_mut().enumerate() {
                    *v = b.data[base + cc * b.cs];
                }
            }
            row[cols..].fill(T::ZERO);
        }
    }
}

/// The `A` side of a register tile: `MR` rows of `kc` values.
trait TileA<T: Elem, const MR: usize>: Copy {
    /// Values per row.
    fn len(&self) -> usize;
    /// `A[r, kk]`.
    ///
    /// # Safety
    /// `r < MR` and `kk < self.len()`.
    unsafe fn get(&self, r: usize, kk: usize) -> T;
}

/// A packed row panel (`[kk·MR + r]`).
#[derive(Clone, Copy)]
struct PackedA<'a, T>(&'a [T]);

impl<T: Elem, const MR: usize> TileA<T, MR> for PackedA<'_, T> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len() / MR
    }
    #[inline(always)]
    unsafe fn get(&self, r: usize, kk: usize) -> T {
        // SAFETY: the caller keeps `r < MR` and `kk < len`, so the index is below `self.0.len()`.
        unsafe { *self.0.get_unchecked(kk * MR + r) }
    }
}

/// `MR` rows read in place, each cut to the same length.
#[derive(Clone, Copy)]
struct RowsA<'a, T, const MR: usize>([&'a [T]; MR]);

impl<T: Elem, const MR: usize> TileA<T, MR> for RowsA<'_, T, MR> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.0[0].len()
    }
    #[inline(always)]
    unsafe fn get(&self, r: usize, kk: usize) -> T {
        // SAFETY: the caller keeps `r < MR` and `kk < len`, the length of every row.
        unsafe { *self.0.get_unchecked(r).get_unchecked(kk) }
    }
}

/// The register tile: `C[0..rows, 0..cols] ← α·(A_panel · B_panel) + β·C`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn micro<S: Simd, T: Elem, const MR: usize, const NV: usize>(
    s: S,
    ap: impl TileA<T, MR>,
    bp: &[T],
    kc: usize,
    alpha: T,
    beta: T,
    c: &mut [T],
    ldc: usize,
    rows: usize,
    cols: usize,
    prefetch_c: bool,
) {
    let l = T::lanes::<S>();
    if prefetch_c {
        // The tile's rows of `C` are read (β ≠ 0) or written after the `k`
        // loop: ask for their lines now, so that the loads and the stores'
        // ownership requests do not stall at the end (once `C` outgrows L2
        // they miss every cache).
        for r in 0..rows {
            let row = &c[r * ldc..][..cols];
            super::prefetch(row);
            super::prefetch(&row[cols - 1..]);
        }
    }
    let zero = T::vsplat(s, T::ZERO);
    let mut acc = [[zero; NV]; MR];
    let (bv, _) = T::as_simd::<S>(&bp[..kc * NV * l]);
    assert!(ap.len() >= kc, "micro: `A` rows shorter than `kc`");
    // `chunks_exact`, not `bv[kk·NV + v]`: the index kept a bounds check in the loop.
    for (kk, bk) in bv.chunks_exact(NV).enumerate() {
        let b: [T::V<S>; NV] = core::array::from_fn(|v| bk[v]);
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: `r < MR`, and `kk < kc <= ap.len()` (`bv` holds `kc` chunks; the length is asserted above).
            let x = T::vsplat(s, unsafe { ap.get(r, kk) });
            for v in 0..NV {
                acc[v] = T::vfma(s, x, b[v], acc[v]);
            }
        }
    }
    let (va, vb) = (T::vsplat(s, alpha), T::vsplat(s, beta));
    for (r, acc) in acc.iter().enumerate().take(rows) {
        let row = &mut c[r * ldc..];
        for (v, &a) in acc.iter().enumerate() {
            let j = v * l;
            if j >= cols {
                break;
            }
            let n = l.min(cols - j);
            let dst = &mut row[j..j + n];
            let out = if beta == T::ZERO {
                T::vmul(s, va, a)
            } else {
                T::vfma(s, vb, T::vload_n::<S>(s, dst), T::vmul(s, va, a))
            };
            T::vstore_n::<S>(s, dst, out);
        }
    }
}

//! Packed-panel products of the recurrent step, `Y = A · P`, with a fused epilogue.
//!
//! ```text
//! Y[b, c] = Σ_{k < K} A[b, k] · P[k, c]        b < B rows, c < N columns
//! ```
//!
//! `P` is a weight matrix packed once per sequence call into *panels* of
//! `u = NV·L` columns (`L` SIMD lanes, `NV` vectors): panel `p` holds, for each
//! `k`, the `NV` vectors of row `k` of its columns, so one step streams every
//! panel contiguously. Columns past `N` are zero. Two packings are used:
//!
//! - [`pack_gates`], forward, `P = W_hhᵀ` in gate-interleaved panels: the
//!   hidden units are cut in blocks of `u`, and block `p` owns the `G`
//!   consecutive panels `q = p·G + g`, panel `q` holding the rows
//!   `g·H + p·u ..` of `W_hh` (gate `g` of those units). The panels of a block
//!   are finished in gate order, so the cell update (the epilogue) sees each
//!   gate's tile while it is in registers and, at the last gate, the earlier
//!   gates of the same rows and units it parked in the (L1-hot) gate buffer.
//! - [`pack_cols`], backward, `P = W_hh` cut into column panels (`dh_prev = dG · W_hh`).
//!
//! The micro-kernel keeps an `MR × NV` register tile of accumulators and, for
//! each `k`, broadcasts `A[b, k]` for its `MR` rows and FMAs it into the `NV`
//! weight vectors. `K` is split in blocks of [`KC`] so that a panel's block
//! stays in L1 while all row tiles use it; partial tiles wait in a caller buffer
//! between blocks. With one row, a GEMV kernel splits `K` across several
//! accumulator sets instead, to hide the FMA latency.
//!
//! Every element of `Y` is a sum over `k` in a fixed order that depends only on
//! the shape and the SIMD level, never on which rows or panels a call covers:
//! results are bitwise identical however the work is split between threads.

use super::{Elem, Level, dispatch};
use crate::parallel::{Shared, Src};
use core::ops::Range;
use pulp::{Simd, WithSimd};

/// Calls `$body` with the const `$M` equal to the runtime `$m` (1..=8).
macro_rules! with_m {
    ($m:expr, $M:ident => $body:expr) => {
        match $m {
            1 => {
                const $M: usize = 1;
                $body
            }
            2 => {
                const $M: usize = 2;
                $body
            }
            3 => {
                const $M: usize = 3;
                $body
            }
            4 => {
                const $M: usize = 4;
                $body
            }
            5 => {
                const $M: usize = 5;
                $body
            }
            6 => {
                const $M: usize = 6;
                $body
            }
            7 => {
                const $M: usize = 7;
                $body
            }
            8 => {
                const $M: usize = 8;
                $body
            }
            _ => unreachable!("register tiles have at most 8 rows"),
        }
    };
}

/// Block of the reduction dimension `K` processed per pass over the rows.
pub const KC: usize = 256;

/// Upper bound, for every level, of the columns a panel can hold (for scratch sizing).
pub const MAX_PANEL: usize = 64;

/// `n` rounded up to a multiple of [`MAX_PANEL`].
pub fn padded(n: usize) -> usize {
    n.div_ceil(MAX_PANEL) * MAX_PANEL
}

/// Values [`pack_gates`] writes for `G = gates`, `H = hidden`, `K = k`: at most `G · padded(H) · K`.
pub fn pack_gates_len(gates: usize, hidden: usize, k: usize) -> usize {
    gates * padded(hidden) * k
}

/// Values [`pack_cols`] writes for `W: [R, N]`: at most `padded(N) · R`.
pub fn pack_cols_len(r: usize, n: usize) -> usize {
    padded(n) * r
}

/// Packs `W_hh: [G·H, K]` (row-major, PyTorch gate blocks) into forward panels
/// of `u = nv·L` hidden units; returns the number of unit blocks `np` (the
/// panels are `np·G`).
///
/// Layout: `out[((p·G + g)·K + k)·u + c] = W[g·H + p·u + c, k]`, zero past `H`.
pub fn pack_gates<S: Simd, T: Elem>(w: &[T], gates: usize, hidden: usize, k: usize, nv: usize, out: &mut [T]) -> usize {
    let u = nv * T::lanes::<S>();
    let np = hidden.div_ceil(u);
    assert_eq!(w.len(), gates * hidden * k, "pack_gates: `w` has the wrong length");
    assert!(out.len() >= np * gates * k * u, "pack_gates: `out` too short");
    for p in 0..np {
        for g in 0..gates {
            let panel = &mut out[(p * gates + g) * k * u..][..k * u];
            for c in 0..u {
                let unit = p * u + c;
                if unit < hidden {
                    let row = &w[(g * hidden + unit) * k..][..k];
                    for (kk, &v) in row.iter().enumerate() {
                        panel[kk * u + c] = v;
                    }
                } else {
                    for kk in 0..k {
                        panel[kk * u + c] = T::default();
                    }
                }
            }
        }
    }
    np
}

/// Packs `W: [R, N]` (row-major) into column panels of `nv·L` columns; returns
/// the number of panels. Layout: `out[(p·R + r)·nv·L + c] = W[r, p·nv·L + c]`, zero past `N`.
pub fn pack_cols<S: Simd, T: Elem>(w: &[T], r: usize, n: usize, nv: usize, out: &mut [T]) -> usize {
    let u = nv * T::lanes::<S>();
    let np = n.div_ceil(u);
    assert_eq!(w.len(), r * n, "pack_cols: `w` has the wrong length");
    assert!(out.len() >= np * r * u, "pack_cols: `out` too short");
    for p in 0..np {
        let c0 = p * u;
        let m = u.min(n - c0);
        for (rr, dst) in out[p * r * u..][..r * u].chunks_exact_mut(u).enumerate() {
            dst[..m].copy_from_slice(&w[rr * n + c0..][..m]);
            dst[m..].fill(T::default());
        }
    }
    np
}

/// Consumes finished tiles of `Y`.
///
/// `apply` receives the accumulators of rows `row0..row0 + M` and panel `panel`
/// (columns `panel·u ..`), `acc[r][v]` holding lanes `v·L..(v+1)·L` of the
/// panel. It is called exactly once per (row, panel) and may run concurrently
/// for different (row, panel) pairs, hence `&self`.
pub trait Epilogue<T: Elem>: Sync {
    /// Finishes one tile.
    fn apply<S: Simd, const M: usize, const NV: usize>(
        &self,
        s: S,
        row0: usize,
        panel: usize,
        acc: &[[T::V<S>; NV]; M],
    );

    /// Called when the tile of rows `row0..row0 + m` and `panel` starts its
    /// first `K` block: a chance to prefetch what [`Epilogue::apply`] will
    /// read, while the `k` loop runs.
    #[inline(always)]
    fn prefetch<S: Simd, const NV: usize>(&self, row0: usize, m: usize, panel: usize) {
        let _ = (row0, m, panel);
    }
}

/// The left operand `A`: row `b` is `data[b·ld ..][..K]`.
#[derive(Clone, Copy)]
pub(crate) struct Lhs<'a, T> {
    /// Backing values.
    pub data: Src<'a, T>,
    /// Row stride.
    pub ld: usize,
}

/// One product `Y = A · P` over a rectangle of (rows × panels), epilogue fused.
pub(crate) struct Job<'a, 'p, T: Elem, S: Simd, const NV: usize> {
    /// The packed `P` as `[panel][k]` arrays of `NV` vectors.
    pub packed: &'p [[T::V<S>; NV]],
    /// Reduction length `K`.
    pub k: usize,
    /// `A`, or `None` for `A = 0` (the epilogue then sees zero accumulators).
    pub a: Option<Lhs<'a, T>>,
    /// Partial tiles between `K` blocks, `NV·L` values per (row, panel): row `b`,
    /// panel `p` at `partial[(b·npanels + p)·NV·L ..]` (unused when `K <= KC`).
    /// Concurrent jobs must cover disjoint (row, panel) pairs.
    pub partial: &'p Shared<'p, T>,
    /// Panels in `P`.
    pub npanels: usize,
}

#[inline(always)]
fn zero<S: Simd, T: Elem, const NV: usize>(s: S) -> [T::V<S>; NV] {
    [T::vsplat(s, T::default()); NV]
}

/// `acc[r] += Σ_k A_r[k] · P[k]` over one `K` block; `a[r]` is row `r`'s block.
#[inline(always)]
fn tile<S: Simd, T: Elem, const M: usize, const NV: usize>(
    s: S,
    panel: &[[T::V<S>; NV]],
    a: [&[T]; M],
    acc: &mut [[T::V<S>; NV]; M],
) {
    let kc = panel.len();
    let a = a.map(|r| &r[..kc]);
    let mut c = *acc;
    for k in 0..kc {
        let w = &panel[k];
        for r in 0..M {
            let x = T::vsplat(s, a[r][k]);
            for v in 0..NV {
                c[r][v] = T::vfma(s, x, w[v], c[r][v]);
            }
        }
    }
    *acc = c;
}

/// Rows of the next register tile when `left` rows remain: the rows are cut
/// into `⌈left / M⌉` tiles of nearly equal height (16 rows as 6 + 5 + 5, not
/// 6 + 6 + 4), so that no tile is left with too few accumulators to hide the
/// FMA latency. Which rows share a tile does not change any row's sums.
#[inline(always)]
fn tile_rows<const M: usize>(left: usize) -> usize {
    left.div_ceil(left.div_ceil(M))
}

/// One row, whole `K`: `KS` interleaved accumulator sets (`k ≡ q mod KS`),
/// summed in order `((c_0 + c_1) + c_2) + …` at the end.
#[inline(always)]
fn gemv<S: Simd, T: Elem, const NV: usize, const KS: usize>(s: S, panel: &[[T::V<S>; NV]], a: &[T]) -> [T::V<S>; NV] {
    let k = panel.len();
    let a = &a[..k];
    let mut c = [zero::<S, T, NV>(s); KS];
    let (pw, aw) = (panel.chunks_exact(KS), a.chunks_exact(KS));
    let (pt, at) = (pw.remainder(), aw.remainder());
    for (w, x) in pw.zip(aw) {
        for q in 0..KS {
            let xv = T::vsplat(s, x[q]);
            for v in 0..NV {
                c[q][v] = T::vfma(s, xv, w[q][v], c[q][v]);
            }
        }
    }
    for (q, (w, &x)) in pt.iter().zip(at).enumerate() {
        let xv = T::vsplat(s, x);
        for v in 0..NV {
            c[q][v] = T::vfma(s, xv, w[v], c[q][v]);
        }
    }
    let mut out = c[0];
    for cq in &c[1..] {
        for v in 0..NV {
            out[v] = T::vadd(s, out[v], cq[v]);
        }
    }
    out
}

impl<T: Elem, S: Simd, const NV: usize> Job<'_, '_, T, S, NV> {
    /// Runs rows `rows` × panels `panels`, `M` rows per register tile (`M <= 8`).
    /// With a single-row problem (`total_rows == 1`) the GEMV kernel is used.
    #[inline(always)]
    pub(crate) fn run<E: Epilogue<T>, const M: usize>(
        &self,
        s: S,
        rows: Range<usize>,
        panels: Range<usize>,
        total_rows: usize,
        epi: &E,
    ) {
        let k = self.k;
        let Some(a) = self.a else {
            for p in panels {
                let mut r0 = rows.start;
                while r0 < rows.end {
                    let m = M.min(rows.end - r0);
                    with_m!(m, MM => epi.apply::<S, MM, NV>(s, r0, p, &[zero::<S, T, NV>(s); MM]));
                    r0 += m;
                }
            }
            return;
        };
        if total_rows == 1 {
            for p in panels {
                let panel = &self.packed[p * k..][..k];
                let row = a.data.get(0, k);
                epi.prefetch::<S, NV>(0, 1, p);
                let acc = match NV {
                    1 | 2 => gemv::<S, T, NV, 4>(s, panel, row),
                    3 => gemv::<S, T, NV, 3>(s, panel, row),
                    _ => gemv::<S, T, NV, 2>(s, panel, row),
                };
                epi.apply::<S, 1, NV>(s, 0, p, &[acc]);
            }
            return;
        }
        for p in panels {
            let panel = &self.packed[p * k..][..k];
            let mut k0 = 0;
            while k0 < k {
                let kb = KC.min(k - k0);
                let first = k0 == 0;
                let last = k0 + kb == k;
                let block = &panel[k0..k0 + kb];
                let mut r0 = rows.start;
                while r0 < rows.end {
                    let m = tile_rows::<M>(rows.end - r0);
                    with_m!(m, MM => self.block::<E, MM>(s, block, a, k0, r0, p, first, last, epi));
                    r0 += m;
                }
                k0 += kb;
            }
        }
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn block<E: Epilogue<T>, const MM: usize>(
        &self,
        s: S,
        block: &[[T::V<S>; NV]],
        a: Lhs<'_, T>,
        k0: usize,
        r0: usize,
        p: usize,
        first: bool,
        last: bool,
        epi: &E,
    ) {
        let mut acc = [zero::<S, T, NV>(s); MM];
        if first {
            epi.prefetch::<S, NV>(r0, MM, p);
        } else {
            let nl = NV * T::lanes::<S>();
            for (r, acc) in acc.iter_mut().enumerate() {
                let src = self.partial.slice(((r0 + r) * self.npanels + p) * nl, nl);
                acc.copy_from_slice(T::as_simd::<S>(src).0);
            }
        }
        let rows: [&[T]; MM] = core::array::from_fn(|r| a.data.get((r0 + r) * a.ld + k0, block.len()));
        tile::<S, T, MM, NV>(s, block, rows, &mut acc);
        if last {
            epi.apply::<S, MM, NV>(s, r0, p, &acc);
        } else {
            let nl = NV * T::lanes::<S>();
            for (r, acc) in acc.iter().enumerate() {
                let dst = self.partial.slice_mut(((r0 + r) * self.npanels + p) * nl, nl);
                T::as_simd_mut::<S>(dst).0.copy_from_slice(acc);
            }
        }
    }
}

/// Views packed values as `[panel][k]` arrays of `NV` vectors.
#[inline(always)]
pub(crate) fn as_panels<S: Simd, T: Elem, const NV: usize>(packed: &[T]) -> &[[T::V<S>; NV]] {
    let (v, _) = T::as_simd::<S>(packed);
    let n = v.len() / NV;
    // SAFETY: `[V; NV]` has the size and alignment of `NV` consecutive `V`s, and
    // the first `n·NV` vectors of `v` are in bounds and borrowed for as long.
    unsafe { core::slice::from_raw_parts(v.as_ptr().cast::<[T::V<S>; NV]>(), n) }
}

// ---------------------------------------------------------------------------
// BLAS-shaped entry points (used by tests and benchmarks; the sequence kernels
// call the jobs directly with their fused epilogues).

/// Vectors per panel of the sequence kernels (forward and backward).
pub(crate) const NV: usize = 2;
/// Vectors per panel of the sequence kernels when `B = 1` (GEMV steps):
/// each broadcast of `h[k]` feeds four FMAs instead of two.
pub(crate) const NV_GEMV: usize = 4;
/// Rows per register tile of the sequence kernels: `MR × NV = 12` accumulators,
/// plus `NV` weight vectors and a broadcast, fill AVX2's sixteen registers.
pub(crate) const MR: usize = 6;

struct Store<'a, T> {
    y: Shared<'a, T>,
    ldy: usize,
    n: usize,
    u: usize,
    /// Forward packing: panel columns are grouped by gate (`g·H + unit`).
    gates: Option<(usize, usize)>,
}

impl<T: Elem> Epilogue<T> for Store<'_, T> {
    #[inline(always)]
    fn apply<S: Simd, const M: usize, const NV: usize>(
        &self,
        _s: S,
        row0: usize,
        panel: usize,
        acc: &[[T::V<S>; NV]; M],
    ) {
        let l = T::lanes::<S>();
        for (r, acc) in acc.iter().enumerate() {
            for (v, &a) in acc.iter().enumerate() {
                let (col, limit) = match self.gates {
                    Some((g, h)) => {
                        let unit = (panel / g) * self.u + v * l;
                        ((panel % g) * h + unit, h - unit.min(h))
                    }
                    None => {
                        let c = panel * self.u + v * l;
                        (c, self.n - c.min(self.n))
                    }
                };
                let n = limit.min(l);
                if n > 0 {
                    T::vstore_n::<S>(self.y.slice_mut((row0 + r) * self.ldy + col, n), a);
                }
            }
        }
    }
}

struct GateProduct<'a, T> {
    w: &'a [T],
    gates: usize,
    hidden: usize,
    k: usize,
    x: &'a [T],
    b: usize,
    y: &'a mut [T],
}

impl<T: Elem> WithSimd for GateProduct<'_, T> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) -> Self::Output {
        let l = T::lanes::<S>();
        let g = self.gates;
        let mut packed = vec![T::default(); pack_gates_len(g, self.hidden, self.k)];
        let np = pack_gates::<S, T>(self.w, g, self.hidden, self.k, NV, &mut packed) * g;
        let mut partial = vec![T::default(); self.b * np * NV * l];
        // SAFETY: one job on this thread: each (row, panel) slot and each
        // element of `y` is touched by one tile, through one reference at a time.
        let (partial, y) = unsafe { (Shared::new(&mut partial), Shared::new(self.y)) };
        let job = Job::<T, S, NV> {
            packed: as_panels::<S, T, NV>(&packed),
            k: self.k,
            a: Some(Lhs { data: Src::Slice(self.x), ld: self.k }),
            partial: &partial,
            npanels: np,
        };
        let gh = g * self.hidden;
        let epi = Store { y, ldy: gh, n: gh, u: NV * l, gates: Some((g, self.hidden)) };
        job.run::<_, MR>(s, 0..self.b, 0..np, self.b, &epi);
    }
}

/// `Y[b, g·H + j] = Σ_k X[b, k] · W[g·H + j, k]`, i.e. `Y = X · Wᵀ` for
/// `W: [G·H, K]`, `X: [B, K]`, `Y: [B, G·H]`, all row-major, at `level`,
/// through the forward gate panels (any `G >= 1`). Allocates its packing
/// buffers: a test and benchmark entry point for the kernels of the time loop.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn gate_product<T: Elem>(
    level: Level,
    w: &[T],
    gates: usize,
    hidden: usize,
    k: usize,
    x: &[T],
    b: usize,
    y: &mut [T],
) {
    assert!(level.is_available(), "gate_product: level {level:?} unavailable");
    assert_eq!(w.len(), gates * hidden * k, "gate_product: `w` must be G*H*K");
    assert_eq!(x.len(), b * k, "gate_product: `x` must be B*K");
    assert_eq!(y.len(), b * gates * hidden, "gate_product: `y` must be B*G*H");
    if b == 0 || hidden == 0 {
        return;
    }
    if k == 0 {
        y.fill(T::default());
        return;
    }
    dispatch(level, GateProduct { w, gates, hidden, k, x, b, y });
}

struct ColProduct<'a, T> {
    w: &'a [T],
    r: usize,
    n: usize,
    a: &'a [T],
    b: usize,
    y: &'a mut [T],
}

impl<T: Elem> WithSimd for ColProduct<'_, T> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) -> Self::Output {
        let l = T::lanes::<S>();
        let mut packed = vec![T::default(); pack_cols_len(self.r, self.n)];
        let np = pack_cols::<S, T>(self.w, self.r, self.n, NV, &mut packed);
        let mut partial = vec![T::default(); self.b * np * NV * l];
        // SAFETY: one job on this thread: each (row, panel) slot and each
        // element of `y` is touched by one tile, through one reference at a time.
        let (partial, y) = unsafe { (Shared::new(&mut partial), Shared::new(self.y)) };
        let job = Job::<T, S, NV> {
            packed: as_panels::<S, T, NV>(&packed),
            k: self.r,
            a: Some(Lhs { data: Src::Slice(self.a), ld: self.r }),
            partial: &partial,
            npanels: np,
        };
        let epi = Store { y, ldy: self.n, n: self.n, u: NV * l, gates: None };
        job.run::<_, MR>(s, 0..self.b, 0..np, self.b, &epi);
    }
}

/// `Y[b, c] = Σ_r A[b, r] · W[r, c]`, i.e. `Y = A · W` for `W: [R, N]`,
/// `A: [B, R]`, `Y: [B, N]`, row-major, at `level`, through the backward
/// column panels. Allocates its packing buffers (test and benchmark entry point).
#[track_caller]
pub fn col_product<T: Elem>(level: Level, w: &[T], r: usize, n: usize, a: &[T], b: usize, y: &mut [T]) {
    assert!(level.is_available(), "col_product: level {level:?} unavailable");
    assert_eq!(w.len(), r * n, "col_product: `w` must be R*N");
    assert_eq!(a.len(), b * r, "col_product: `a` must be B*R");
    assert_eq!(y.len(), b * n, "col_product: `y` must be B*N");
    if b == 0 || n == 0 {
        return;
    }
    if r == 0 {
        y.fill(T::default());
        return;
    }
    dispatch(level, ColProduct { w, r, n, a, b, y });
}

//! Packed-panel products of the recurrent step, `Y = A · P`, each finished
//! vector of `Y` handed to a fused epilogue.
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
//! Two kernels run a step ([`Kernel`]). [`Tiles`] keeps an `M × NV` register
//! tile of accumulators (`M <= MR` rows, [`MR_WIDE`] with AVX-512) and, for
//! each `k`, broadcasts `A[b, k]` for its rows and FMAs it into the `NV` weight
//! vectors. `K` is split in blocks of [`KC`], long enough that the usual shapes
//! need one block (measured: blocks of 64 and 128 were slower, the partial
//! tiles' round trips costing more than a panel read again from L2); partial
//! tiles wait in a caller buffer between blocks. [`Gemv`], for
//! one row, splits `K` across several accumulator sets instead, to hide the FMA
//! latency, on wider panels ([`NV_GEMV`]).
//!
//! A finished tile goes through the crate's one tile walk ([`Job`]'s `finish`):
//! vector by vector, it hands the cell's [`Epilogue`] the row, the first unit,
//! the number of valid lanes and the gate of each vector. The cells supply only
//! that per-vector math.
//!
//! Every element of `Y` is a sum over `k` in a fixed order that depends only on
//! the shape and the SIMD level, never on which rows or panels a call covers:
//! results are bitwise identical however the work is split between threads.

use super::{Elem, Level, dispatch};
use crate::shared::{Shared, Src};
use core::ops::Range;
use pulp::{Simd, WithSimd};

/// Calls `$body` with the const `$M` equal to the runtime `$m` (1..=[`MR_WIDE`]).
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
            9 => {
                const $M: usize = 9;
                $body
            }
            10 => {
                const $M: usize = 10;
                $body
            }
            11 => {
                const $M: usize = 11;
                $body
            }
            12 => {
                const $M: usize = 12;
                $body
            }
            _ => unreachable!("register tiles have at most MR_WIDE = 12 rows"),
        }
    };
}

/// Block of the reduction dimension `K` processed per pass over the rows
/// (a partial tile is an exact round trip: the block does not change any sum).
pub(crate) const KC: usize = 1024;

/// Upper bound, for every level, of the columns a panel can hold (for scratch sizing).
pub(crate) const MAX_PANEL: usize = 64;

/// `n` rounded up to a multiple of [`MAX_PANEL`].
pub(crate) fn padded(n: usize) -> usize {
    n.div_ceil(MAX_PANEL) * MAX_PANEL
}

/// Values [`pack_gates`] writes for `G = gates`, `H = hidden`, `K = k`: at most `G · padded(H) · K`.
pub(crate) fn pack_gates_len(gates: usize, hidden: usize, k: usize) -> usize {
    gates * padded(hidden) * k
}

/// Values [`pack_cols`] writes for `W: [R, N]`: at most `padded(N) · R`.
pub(crate) fn pack_cols_len(r: usize, n: usize) -> usize {
    padded(n) * r
}

/// Packs `W_hh: [G·H, K]` (row-major, PyTorch gate blocks) into forward panels
/// of `u = nv·L` hidden units; returns the number of unit blocks `np` (the
/// panels are `np·G`).
///
/// Layout: `out[((p·G + g)·K + k)·u + c] = W[g·H + p·u + c, k]`, zero past `H`.
pub(crate) fn pack_gates<S: Simd, T: Elem>(
    w: &[T],
    gates: usize,
    hidden: usize,
    k: usize,
    nv: usize,
    out: &mut [T],
) -> usize {
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
pub(crate) fn pack_cols<S: Simd, T: Elem>(w: &[T], r: usize, n: usize, nv: usize, out: &mut [T]) -> usize {
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

/// Vectors per panel of the multi-row kernel ([`Tiles`]).
pub(crate) const NV: usize = 2;
/// Vectors per panel of the one-row kernel ([`Gemv`]): each broadcast of
/// `h[k]` feeds four FMAs instead of two.
pub(crate) const NV_GEMV: usize = 4;
/// Whether the multi-row kernel should run panels of one vector instead of
/// [`NV`] for `hidden` units at `S`: with AVX-512 (enough registers for a
/// tile of twelve one-vector rows to cover the FMA latency) when it pads
/// less, i.e. when `hidden mod 2L` is in `1..=L` (100 units: 112 instead of
/// 128, an eighth fewer FMAs). The panel width changes no sum. Used by the
/// forward time loop; the backward one keeps [`NV`] (one-vector panels made
/// it 5% slower at `H = 100`, `B = 20`).
#[inline(always)]
pub(crate) fn narrow_panels<S: Simd, T: Elem>(hidden: usize) -> bool {
    let l = T::lanes::<S>();
    let r = hidden % (2 * l);
    core::mem::size_of::<T::V<S>>() >= 64 && r != 0 && r <= l
}

/// Most rows of a register tile with sixteen vector registers (AVX2):
/// `MR × NV = 12` accumulators, plus `NV` weight vectors and a broadcast.
pub(crate) const MR: usize = 6;
/// Most rows of a register tile with AVX-512's thirty-two: 24 accumulators.
/// Twice the rows per pass over a panel block halve the weight loads per FMA.
pub(crate) const MR_WIDE: usize = 12;

/// The most rows of a register tile at `S`: [`MR_WIDE`] with 64-byte vectors
/// (AVX-512, 32 registers), [`MR`] otherwise.
#[inline(always)]
fn max_rows<S: Simd, T: Elem>() -> usize {
    if core::mem::size_of::<T::V<S>>() >= 64 { MR_WIDE } else { MR }
}

/// What a product does with its finished vectors: a cell's fused epilogue.
///
/// Every method is `#[inline(always)]` in the implementations and generic over
/// `S`, so that it is compiled inside the SIMD context of the kernel that calls
/// it (a closure would be compiled outside it and lose the vector code).
pub(crate) trait Epilogue<T: Elem>: Sync {
    /// Finishes `n <= L` lanes of `Y`: row `row`, units `unit..unit + n` of gate
    /// block `gate` (always 0 for column panels), lane `i` of `acc` holding unit
    /// `unit + i`. Called exactly once per (row, gate, vector of units), and
    /// concurrently for different ones: a call may write only its own row and
    /// units of the buffers the epilogue shares.
    fn vector<S: Simd>(&self, s: S, row: usize, unit: usize, n: usize, gate: usize, acc: T::V<S>);

    /// Called for each row of a tile when the tile starts (units
    /// `unit..unit + u` of gate `gate`): a chance to prefetch what
    /// [`Epilogue::vector`] will read while the `k` loop runs.
    #[inline(always)]
    fn prefetch(&self, row: usize, unit: usize, u: usize, gate: usize) {
        let _ = (row, unit, u, gate);
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

/// One product `Y = A · P` over a rectangle of (rows × panels).
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
    /// Panels per block of units: `G` for the gate-interleaved forward panels
    /// ([`pack_gates`]: panel `q` holds gate `q % G` of unit block `q / G`), 1 for
    /// column panels ([`pack_cols`]).
    pub gates: usize,
    /// Columns of `Y` per gate (`H`; `N` for column panels): lanes past it are padding.
    pub units: usize,
    /// The rows a job's row ranges count: logical row `i` is row `order[i]` of
    /// `A` and of the epilogue's buffers (variable-length batches, sorted by
    /// length, run a prefix of the logical rows); `None` is the identity.
    pub order: Option<&'p [usize]>,
}

/// How a step's product is computed.
pub(crate) trait Kernel {
    /// The one-row kernel ([`Gemv`]), whose panels are [`NV_GEMV`] vectors wide.
    const GEMV: bool;

    /// Runs rows `rows` × panels `panels` of `job`, handing every vector to `epi`.
    fn run<T: Elem, S: Simd, E: Epilogue<T>, const NV: usize>(
        job: &Job<'_, '_, T, S, NV>,
        s: S,
        rows: Range<usize>,
        panels: Range<usize>,
        epi: &E,
    );
}

/// Register tiles of up to [`MR`] rows, [`MR_WIDE`] with AVX-512 (use with [`NV`] vectors per panel).
pub(crate) struct Tiles;

/// One row (`B = 1`, rows `0..1`): a GEMV (use with [`NV_GEMV`] vectors per panel).
pub(crate) struct Gemv;

impl Kernel for Tiles {
    const GEMV: bool = false;
    #[inline(always)]
    fn run<T: Elem, S: Simd, E: Epilogue<T>, const NV: usize>(
        job: &Job<'_, '_, T, S, NV>,
        s: S,
        rows: Range<usize>,
        panels: Range<usize>,
        epi: &E,
    ) {
        job.run_tiles(s, rows, panels, epi);
    }
}

impl Kernel for Gemv {
    const GEMV: bool = true;
    #[inline(always)]
    fn run<T: Elem, S: Simd, E: Epilogue<T>, const NV: usize>(
        job: &Job<'_, '_, T, S, NV>,
        s: S,
        rows: Range<usize>,
        panels: Range<usize>,
        epi: &E,
    ) {
        debug_assert!(rows == (0..1), "the GEMV kernel runs one row");
        job.run_gemv(s, panels, epi);
    }
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
    for (k, w) in panel.iter().enumerate() {
        for r in 0..M {
            // SAFETY: every row was cut to `kc = panel.len()` values above and
            // `k < kc`. (Checked indexing here kept one compare and branch per
            // row and `k` in the hottest loop: LLVM did not hoist them.)
            let x = T::vsplat(s, unsafe { *a[r].get_unchecked(k) });
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
fn tile_rows(left: usize, most: usize) -> usize {
    left.div_ceil(left.div_ceil(most))
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
    /// The row of `A` and of the epilogue's buffers behind logical row `i`.
    #[inline(always)]
    fn row(&self, i: usize) -> usize {
        match self.order {
            Some(order) => order[i],
            None => i,
        }
    }

    /// The crate's one tile walk: hands the finished tile `acc` (rows
    /// `row0..row0 + M`, panel `panel`) to `epi`, one vector at a time, with its
    /// row, first unit, valid lanes and gate.
    #[inline(always)]
    fn finish<E: Epilogue<T>, const M: usize>(
        &self,
        s: S,
        row0: usize,
        panel: usize,
        acc: &[[T::V<S>; NV]; M],
        epi: &E,
    ) {
        let l = T::lanes::<S>();
        let (block, gate) = (panel / self.gates, panel % self.gates);
        for (r, acc) in acc.iter().enumerate() {
            for (w, &a) in acc.iter().enumerate() {
                let unit = (block * NV + w) * l;
                if unit >= self.units {
                    break;
                }
                epi.vector(s, self.row(row0 + r), unit, l.min(self.units - unit), gate, a);
            }
        }
    }

    /// Lets `epi` prefetch, for each of `rows`, what finishing `panel` will read.
    #[inline(always)]
    fn prefetch<E: Epilogue<T>>(&self, rows: Range<usize>, panel: usize, epi: &E) {
        let u = NV * T::lanes::<S>();
        let (block, gate) = (panel / self.gates, panel % self.gates);
        let unit = block * u;
        let u = u.min(self.units - unit);
        for row in rows {
            epi.prefetch(self.row(row), unit, u, gate);
        }
    }

    /// `A = 0`: every vector finishes from zero accumulators.
    #[inline(always)]
    fn run_zero<E: Epilogue<T>>(&self, s: S, rows: Range<usize>, panels: Range<usize>, epi: &E) {
        for p in panels {
            for r in rows.clone() {
                self.finish::<E, 1>(s, r, p, &[zero::<S, T, NV>(s)], epi);
            }
        }
    }

    /// Row 0 alone, whole `K` per panel ([`Gemv`]).
    #[inline(always)]
    fn run_gemv<E: Epilogue<T>>(&self, s: S, panels: Range<usize>, epi: &E) {
        let k = self.k;
        let Some(a) = self.a else { return self.run_zero(s, 0..1, panels, epi) };
        let row = a.data.get(self.row(0) * a.ld, k);
        for p in panels {
            let panel = &self.packed[p * k..][..k];
            self.prefetch(0..1, p, epi);
            // Two interleaved accumulator sets: with NV_GEMV = 4 vectors each, 8
            // independent FMA chains cover the FMA latency.
            let acc = gemv::<S, T, NV, 2>(s, panel, row);
            self.finish::<E, 1>(s, 0, p, &[acc], epi);
        }
    }

    /// Rows `rows` × panels `panels` in register tiles of at most [`MR`] rows, [`MR_WIDE`] with AVX-512 ([`Tiles`]).
    #[inline(always)]
    fn run_tiles<E: Epilogue<T>>(&self, s: S, rows: Range<usize>, panels: Range<usize>, epi: &E) {
        let k = self.k;
        let Some(a) = self.a else { return self.run_zero(s, rows, panels, epi) };
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
                    let m = tile_rows(rows.end - r0, max_rows::<S, T>());
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
            self.prefetch(r0..r0 + MM, p, epi);
        } else {
            let nl = NV * T::lanes::<S>();
            for (r, acc) in acc.iter_mut().enumerate() {
                let src = self.partial.slice(((r0 + r) * self.npanels + p) * nl, nl);
                acc.copy_from_slice(T::as_simd::<S>(src).0);
            }
        }
        let rows: [&[T]; MM] = core::array::from_fn(|r| a.data.get(self.row(r0 + r) * a.ld + k0, block.len()));
        tile::<S, T, MM, NV>(s, block, rows, &mut acc);
        if last {
            self.finish::<E, MM>(s, r0, p, &acc, epi);
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
// Products with a plain store as the epilogue: the entry points through which
// the tests check the micro-kernels at every level against a plain product.

/// Writes each vector to `y[row·ldy + gate·gate_stride + unit ..]`.
struct Store<'a, T> {
    y: Shared<'a, T>,
    ldy: usize,
    gate_stride: usize,
}

impl<T: Elem> Epilogue<T> for Store<'_, T> {
    #[inline(always)]
    fn vector<S: Simd>(&self, s: S, row: usize, unit: usize, n: usize, gate: usize, acc: T::V<S>) {
        T::vstore_n::<S>(s, self.y.slice_mut(row * self.ldy + gate * self.gate_stride + unit, n), acc);
    }
}

/// A product through the step kernels: forward gate panels of `W: [G·H, K]`
/// (`gates = Some(G)`, `Y = X · Wᵀ`) or backward column panels of `W: [R, N]`
/// (`gates = None`, `Y = A · W`).
struct StoreProduct<'a, T> {
    w: &'a [T],
    gates: Option<usize>,
    /// `H` (gate panels) or `N` (column panels).
    units: usize,
    k: usize,
    x: &'a [T],
    b: usize,
    y: &'a mut [T],
}

impl<T: Elem> StoreProduct<'_, T> {
    #[inline(always)]
    fn go<S: Simd, K: Kernel, const NV: usize>(self, s: S) {
        let l = T::lanes::<S>();
        let (packed, np, g) = match self.gates {
            Some(g) => {
                let mut packed = vec![T::default(); pack_gates_len(g, self.units, self.k)];
                let np = pack_gates::<S, T>(self.w, g, self.units, self.k, NV, &mut packed) * g;
                (packed, np, g)
            }
            None => {
                let mut packed = vec![T::default(); pack_cols_len(self.k, self.units)];
                let np = pack_cols::<S, T>(self.w, self.k, self.units, NV, &mut packed);
                (packed, np, 1)
            }
        };
        let mut partial = vec![T::default(); self.b * np * NV * l];
        let ldy = g * self.units;
        // SAFETY: one job on this thread: each (row, panel) slot and each
        // element of `y` is touched by one vector, through one reference at a time.
        let (partial, y) = unsafe { (Shared::new(&mut partial), Shared::new(self.y)) };
        let job = Job::<T, S, NV> {
            packed: as_panels::<S, T, NV>(&packed),
            k: self.k,
            a: Some(Lhs { data: Src::Slice(self.x), ld: self.k }),
            partial: &partial,
            npanels: np,
            gates: g,
            units: self.units,
            order: None,
        };
        K::run(&job, s, 0..self.b, 0..np, &Store { y, ldy, gate_stride: self.units });
    }
}

impl<T: Elem> WithSimd for StoreProduct<'_, T> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        if self.b == 1 { self.go::<S, Gemv, NV_GEMV>(s) } else { self.go::<S, Tiles, NV>(s) }
    }
}

/// `Y[b, g·H + j] = Σ_k X[b, k] · W[g·H + j, k]` (`Y = X · Wᵀ`) through the
/// forward gate panels, for `W: [G·H, K]`, `X: [B, K]`, `Y: [B, G·H]`; shapes
/// checked by the caller, all sizes non-zero.
pub(crate) fn gate_product<T: Elem>(
    level: Level,
    w: &[T],
    gates: usize,
    hidden: usize,
    k: usize,
    x: &[T],
    b: usize,
    y: &mut [T],
) {
    dispatch(level, StoreProduct { w, gates: Some(gates), units: hidden, k, x, b, y });
}

/// `Y[b, c] = Σ_r A[b, r] · W[r, c]` (`Y = A · W`) through the backward column
/// panels, for `W: [R, N]`, `A: [B, R]`, `Y: [B, N]`; shapes checked by the
/// caller, all sizes non-zero.
pub(crate) fn col_product<T: Elem>(level: Level, w: &[T], r: usize, n: usize, a: &[T], b: usize, y: &mut [T]) {
    dispatch(level, StoreProduct { w, gates: None, units: n, k: r, x: a, b, y });
}

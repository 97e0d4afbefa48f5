//! Bounds-checked strided GEMM on slices, over matrixmultiply, and its
//! row-split threaded form.
//!
//! Used for the once-per-sequence products (input projection, dX, weight
//! gradients), where matrixmultiply is near peak. The per-step recurrent
//! product uses [`crate::simd::panels`] instead.

use crate::parallel::{MAX_PARTS, run_parts, split};
use crate::real::Real;
use crate::shared::Shared;

/// Big-GEMM work (FLOPs) below which [`par_gemm`] does not split.
const MIN_GEMM_WORK: usize = 4 << 20;

/// A strided matrix view: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatRef<'a, T> {
    /// Backing storage.
    pub(crate) data: &'a [T],
    /// Rows.
    pub(crate) rows: usize,
    /// Columns.
    pub(crate) cols: usize,
    /// Row stride in elements.
    pub(crate) rs: usize,
    /// Column stride in elements.
    pub(crate) cs: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// Row-major contiguous `rows × cols`.
    pub(crate) fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self { data, rows, cols, rs: cols, cs: 1 }
    }
    /// The transpose (no copy).
    pub(crate) fn t(self) -> Self {
        Self { data: self.data, rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs }
    }
    /// Columns `c0..c0+ncols` (no copy).
    pub(crate) fn cols(self, c0: usize, ncols: usize) -> Self {
        assert!(c0 + ncols <= self.cols, "column range out of bounds");
        let off = if ncols == 0 || self.rows == 0 { 0 } else { c0 * self.cs };
        Self { data: &self.data[off..], cols: ncols, ..self }
    }
    /// Rows `r0..r0+nrows` (no copy).
    pub(crate) fn rows(self, r0: usize, nrows: usize) -> Self {
        assert!(r0 + nrows <= self.rows, "row range out of bounds");
        let off = if nrows == 0 || self.cols == 0 { 0 } else { r0 * self.rs };
        Self { data: &self.data[off..], rows: nrows, ..self }
    }
    fn check(&self, what: &str) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.rs + (self.cols - 1) * self.cs;
            assert!(last < self.data.len(), "gemm: {what} view exceeds its slice");
        }
    }
}

/// `C ← α A B + β C` for row-major contiguous `C` (`m × n`, row stride `ldc`).
///
/// With `β = 0`, `C` is overwritten and never read (NaNs in it do not leak).
#[track_caller]
pub(crate) fn gemm<T: Real>(alpha: T, a: MatRef<'_, T>, b: MatRef<'_, T>, beta: T, c: &mut [T], ldc: usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(k, b.rows, "gemm: inner dimensions differ");
    a.check("A");
    b.check("B");
    if m == 0 || n == 0 {
        return;
    }
    assert!(ldc >= n && (m - 1) * ldc + n <= c.len(), "gemm: C too small");
    if k == 0 {
        for row in c.chunks_mut(ldc).take(m) {
            for v in &mut row[..n] {
                *v = if beta == T::ZERO { T::ZERO } else { beta * *v };
            }
        }
        return;
    }
    // SAFETY: every view was bounds-checked above against its slice; C is a
    // distinct `&mut` slice with non-aliasing strides (ldc >= n, unit column stride).
    unsafe {
        T::gemm_raw(
            m,
            k,
            n,
            alpha,
            a.data.as_ptr(),
            a.rs as isize,
            a.cs as isize,
            b.data.as_ptr(),
            b.rs as isize,
            b.cs as isize,
            beta,
            c.as_mut_ptr(),
            ldc as isize,
            1,
        )
    }
}

/// `out[j] (+)= Σ_i m[i, j]` over the rows of a row-major matrix, in row order.
pub(crate) fn col_sums<T: Real>(m: MatRef<'_, T>, out: &mut [T], accumulate: bool) {
    assert_eq!(out.len(), m.cols);
    if !accumulate {
        out.fill(T::ZERO);
    }
    for i in 0..m.rows {
        let base = i * m.rs;
        if m.cs == 1 {
            // Contiguous rows: a bounds-check-free loop the compiler vectorises
            // across columns (each column still sums in row order).
            for (o, &v) in out.iter_mut().zip(&m.data[base..base + m.cols]) {
                *o += v;
            }
        } else {
            for (j, o) in out.iter_mut().enumerate() {
                *o += m.data[base + j * m.cs];
            }
        }
    }
}

/// Initialises a block of output rows (first row index, rows) before a product accumulates into it.
pub(crate) type RowInit<'a, T> = dyn Fn(usize, &mut [T]) + Sync + 'a;

/// `C[rows] ← α A[rows] · B + β C[rows]`, output rows split between threads.
/// Each part is an independent matrixmultiply call; its values do not depend
/// on the split (matrixmultiply blocks `K` identically for every row range).
#[allow(clippy::too_many_arguments)]
pub(crate) fn par_gemm<T: Real>(
    threads: usize,
    alpha: T,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    beta: T,
    c: &mut [T],
    ldc: usize,
    init: Option<&RowInit<'_, T>>,
) {
    let (m, n) = (a.rows, b.cols);
    let work = 2 * m * n * a.cols;
    let parts = if work >= MIN_GEMM_WORK { threads.min(MAX_PARTS).min(m).max(1) } else { 1 };
    if parts == 1 {
        if let Some(f) = init {
            f(0, c);
        }
        gemm(alpha, a, b, beta, c, ldc);
        return;
    }
    assert!(m == 0 || (m - 1) * ldc + n <= c.len(), "par_gemm: C too small");
    // SAFETY: part `p` touches only rows `split(m, parts, p)` of C.
    let cs = unsafe { Shared::new(c) };
    run_parts(threads, parts, T::IS_F32, |p| {
        let r = split(m, parts, p);
        if r.is_empty() {
            return;
        }
        let len = (r.len() - 1) * ldc + n;
        let cp = cs.slice_mut(r.start * ldc, len);
        if let Some(f) = init {
            f(r.start, cp);
        }
        gemm(alpha, a.rows(r.start, r.len()), b, beta, cp, ldc);
    });
}

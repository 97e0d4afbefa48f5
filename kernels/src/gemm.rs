//! Bounds-checked strided GEMM on slices and its row-split threaded form, for
//! the once-per-sequence products (input projection, `dX`, weight gradients):
//! the packed GEMM of [`crate::simd::gemm`] at the call's SIMD level, with
//! each thread's packing buffer kept between calls. matrixmultiply stays as
//! the tests' oracle and the benchmarks' baseline. The per-step recurrent
//! product uses [`crate::simd::panels`] instead.

use crate::parallel::{MAX_PARTS, run_parts, split};
use crate::real::{Real, cast, cast_mut, cast_scalar};
use crate::shared::Shared;
use crate::simd::gemm as sg;
use crate::simd::{ALIGN_SLACK, Elem, Level, aligned};
use core::cell::RefCell;

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

/// `C ← α A B + β C` for row-major contiguous `C` (`m × n`, row stride `ldc`),
/// through the packed GEMM of [`crate::simd::gemm`] at `level`.
///
/// With `β = 0`, `C` is overwritten and never read (NaNs in it do not leak).
#[track_caller]
pub(crate) fn gemm<T: Real>(
    level: Level,
    alpha: T,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    beta: T,
    c: &mut [T],
    ldc: usize,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(k, b.rows, "gemm: inner dimensions differ");
    a.check("A");
    b.check("B");
    if m == 0 || n == 0 {
        return;
    }
    assert!(ldc >= n && (m - 1) * ldc + n <= c.len(), "gemm: C too small");
    let c = &mut c[..(m - 1) * ldc + n];
    if T::IS_F32 {
        gemm_f32(level, cast_scalar(alpha), a.cast(), b.cast(), cast_scalar(beta), cast_mut(c), ldc);
    } else {
        gemm_f64(level, cast_scalar(alpha), a.cast(), b.cast(), cast_scalar(beta), cast_mut(c), ldc);
    }
}

// The packed GEMM compiled once per element type, in this crate (see `crate::real::cast`).

#[inline(never)]
fn gemm_f32(level: Level, alpha: f32, a: MatRef<'_, f32>, b: MatRef<'_, f32>, beta: f32, c: &mut [f32], ldc: usize) {
    packed(level, alpha, a, b, beta, c, ldc);
}

#[inline(never)]
fn gemm_f64(level: Level, alpha: f64, a: MatRef<'_, f64>, b: MatRef<'_, f64>, beta: f64, c: &mut [f64], ldc: usize) {
    packed(level, alpha, a, b, beta, c, ldc);
}

/// The packed GEMM's view of a matrix.
fn op<T>(x: MatRef<'_, T>) -> sg::Operand<'_, T> {
    sg::Operand { data: x.data, rs: x.rs, cs: x.cs }
}

fn packed<T: Elem>(level: Level, alpha: T, a: MatRef<'_, T>, b: MatRef<'_, T>, beta: T, c: &mut [T], ldc: usize) {
    let lanes = sg::lanes::<T>(level);
    let len = sg::pack_len(level, lanes);
    let (m, n, k) = (a.rows, b.cols, a.cols);
    // A narrow product (the input gradient `dG · W_ih` or `dW_ih = dGᵀ · X` of a
    // few inputs) would fill panels of `NV·L` columns mostly with padding: it
    // runs transposed, `Cᵀ = Bᵀ Aᵀ`, into a buffer copied back. Each element is
    // the same products summed in the same order, so the bits do not change;
    // only for `β = 0`, where the copy back is exact.
    let narrow = 2 * n <= sg::panel_cols(level, lanes) && m >= 2 * n && beta == T::ZERO;
    let temp = if narrow { m * n } else { 0 };
    with_pack_buffer::<T, _>(len + temp + ALIGN_SLACK, |buf| {
        let (pack, rest) = aligned(buf).split_at_mut(len);
        if narrow {
            // `Cᵀ` is `n × m`, row-major.
            let ct = &mut rest[..temp];
            sg::gemm(level, n, m, k, alpha, op(b.t()), op(a.t()), T::ZERO, ct, m, pack);
            for (i, row) in c.chunks_mut(ldc).take(m).enumerate() {
                for (j, v) in row[..n].iter_mut().enumerate() {
                    *v = ct[j * m + i];
                }
            }
        } else {
            sg::gemm(level, m, n, k, alpha, op(a), op(b), beta, c, ldc, pack);
        }
    });
}

thread_local! {
    // Each thread's packing buffer for the GEMM, grown to the largest need and
    // kept: products allocate only the first time a thread needs more.
    static PACK_F32: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static PACK_F64: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's packing buffer of at least `len` values; on a
/// nested call (a thread that picked up another product while its own is in
/// flight) on a temporary one instead.
fn with_pack_buffer<T: Real, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    fn take<U: Real, T: Real, R>(cell: &RefCell<Vec<U>>, len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
        match cell.try_borrow_mut() {
            Ok(mut buf) => {
                if buf.len() < len {
                    buf.resize(len, U::ZERO);
                }
                f(cast_mut(&mut buf[..len]))
            }
            Err(_) => f(&mut vec![T::ZERO; len]),
        }
    }
    if T::IS_F32 {
        PACK_F32.with(|c| take::<f32, T, R>(c, len, f))
    } else {
        PACK_F64.with(|c| take::<f64, T, R>(c, len, f))
    }
}

/// `C ← α A B + β C` through matrixmultiply: the oracle the tests compare the
/// packed GEMM with, and the baseline of the benchmarks.
#[track_caller]
pub(crate) fn gemm_matrixmultiply<T: Real>(
    alpha: T,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    beta: T,
    c: &mut [T],
    ldc: usize,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(k, b.rows, "gemm: inner dimensions differ");
    a.check("A");
    b.check("B");
    if m == 0 || n == 0 {
        return;
    }
    assert!(ldc >= n && (m - 1) * ldc + n <= c.len(), "gemm: C too small");
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
/// Each part is an independent [`gemm`]; its values do not depend on the
/// split (the packed GEMM sums every element in the same order for every row
/// range).
#[allow(clippy::too_many_arguments)]
pub(crate) fn par_gemm<T: Real>(
    level: Level,
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
        gemm(level, alpha, a, b, beta, c, ldc);
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
        gemm(level, alpha, a.rows(r.start, r.len()), b, beta, cp, ldc);
    });
}

impl<'a, T: Real> MatRef<'a, T> {
    /// The same view with elements seen as `U` (the same type: see `crate::real::cast`).
    fn cast<U: Real>(self) -> MatRef<'a, U> {
        MatRef { data: cast(self.data), rows: self.rows, cols: self.cols, rs: self.rs, cs: self.cs }
    }
}

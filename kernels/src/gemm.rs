//! Bounds-checked strided GEMM on slices, over matrixmultiply.
//!
//! Used for the once-per-sequence products (input projection, dX, weight
//! gradients), where matrixmultiply is near peak. The per-step recurrent
//! product uses [`crate::simd`] instead.

use crate::real::Real;

/// A strided matrix view: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    /// Backing storage.
    pub data: &'a [T],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Row stride in elements.
    pub rs: usize,
    /// Column stride in elements.
    pub cs: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// Row-major contiguous `rows × cols`.
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self { data, rows, cols, rs: cols, cs: 1 }
    }
    /// The transpose (no copy).
    pub fn t(self) -> Self {
        Self { data: self.data, rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs }
    }
    /// Columns `c0..c0+ncols` (no copy).
    pub fn cols(self, c0: usize, ncols: usize) -> Self {
        assert!(c0 + ncols <= self.cols, "column range out of bounds");
        let off = if ncols == 0 || self.rows == 0 { 0 } else { c0 * self.cs };
        Self { data: &self.data[off..], cols: ncols, ..self }
    }
    /// Rows `r0..r0+nrows` (no copy).
    pub fn rows(self, r0: usize, nrows: usize) -> Self {
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
pub fn gemm<T: Real>(alpha: T, a: MatRef<'_, T>, b: MatRef<'_, T>, beta: T, c: &mut [T], ldc: usize) {
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
pub fn col_sums<T: Real>(m: MatRef<'_, T>, out: &mut [T], accumulate: bool) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn col_sums_contiguous_strided_and_accumulating() {
        // 5 × 3, m[i, j] = 10 i + j; its transpose viewed without a copy.
        let data: Vec<f64> = (0..5).flat_map(|i| (0..3).map(move |j| (10 * i + j) as f64)).collect();
        let m = MatRef::row_major(&data, 5, 3);
        let expect = [100.0, 105.0, 110.0];
        let mut out = [7.0; 3];
        col_sums(m, &mut out, false);
        assert_eq!(out, expect);
        col_sums(m, &mut out, true);
        assert_eq!(out, expect.map(|v| 2.0 * v));
        // Columns of mᵀ are the rows of m: sums 3, 33, 63, 93, 123.
        let mut out_t = [0.0; 5];
        col_sums(m.t(), &mut out_t, false);
        assert_eq!(out_t, [3.0, 33.0, 63.0, 93.0, 123.0]);
        // A column window of the contiguous view (row stride 3, 2 columns).
        let mut out_w = [0.0; 2];
        col_sums(m.cols(1, 2), &mut out_w, false);
        assert_eq!(out_w, [105.0, 110.0]);
    }
}

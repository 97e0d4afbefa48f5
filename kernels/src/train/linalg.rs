//! Small dense `f64` linear algebra for the initialisers and the experiment reports: the
//! spectral radius (largest eigenvalue modulus) of a general square matrix and the spectral norm
//! (largest singular value) of a rectangular one.
//!
//! Matrices are row-major: `a[i * cols + j]` is A_ij.
//!
//! Everything here uses only IEEE-754 basic arithmetic and `sqrt`, in a fixed order (no `libm`
//! calls, no fused multiply-add), so a result is bit-for-bit the same on every machine;
//! [`crate::train::init::sparse`] relies on this for its reproducibility.

/// Spectral radius ρ(A) = max_i |λ_i(A)| of a general (non-symmetric) n×n matrix `a`, row-major.
///
/// Method (EISPACK `balanc`, `elmhes`, `hqr`): balance the matrix by exact powers of two,
/// reduce it to upper Hessenberg form by elementary similarity transforms with partial
/// pivoting, then run Francis' implicit double-shift QR iteration with deflation, which finds
/// the real eigenvalues and the complex-conjugate pairs. |x + iy| is evaluated as
/// m·√((x/m)² + (y/m)²), m = max(|x|, |y|), so it cannot overflow. Cost about 10n³ flops and
/// O(n²) memory (n = 512 takes a fraction of a second).
///
/// Accuracy: the method is backward stable, so an eigenvalue with condition number κ is found
/// to within about κ·n·ε·‖A‖; for a normal matrix (κ = 1, e.g. a scaled orthogonal matrix)
/// that is a few multiples of n·ε relative.
///
/// Returns NaN if any entry of `a` is NaN or infinite.
///
/// # Panics
/// If `n` is 0 or `a.len() != n*n`; if the QR iteration has not converged after 30·n
/// iterations in total (EISPACK's limit; not expected for finite input).
#[track_caller]
pub fn spectral_radius(a: &[f64], n: usize) -> f64 {
    assert!(n > 0, "linalg::spectral_radius: `n` must be positive, got 0");
    assert!(a.len() == n * n, "linalg::spectral_radius: `a` has length {}, expected n*n = {}", a.len(), n * n);
    if !a.iter().all(|x| x.is_finite()) {
        return f64::NAN;
    }
    let mut h = a.to_vec();
    balance(&mut h, n);
    to_hessenberg(&mut h, n);
    hessenberg_max_modulus(&mut h, n, "linalg::spectral_radius")
}

/// Spectral norm ‖A‖₂ = σ_max(A) = √λ_max(AᵀA) of a `rows`×`cols` matrix `a`, row-major.
///
/// Method: form the smaller Gram matrix (AᵀA if cols ≤ rows, else AAᵀ; O(rows·cols·min) flops)
/// and take the square root of its largest eigenvalue, found as in [`spectral_radius`] (the Gram
/// matrix is symmetric positive semi-definite, so its spectral radius is its largest
/// eigenvalue).
///
/// Accuracy: the eigenvalues of a symmetric matrix are perfectly conditioned and the rounding
/// in forming the Gram matrix is at most about m·ε·σ_max² (m = max(rows, cols)), so the result
/// has a relative error of about m·ε (≈ 1e-13 at m = 512). Small singular values would lose
/// accuracy this way, the largest does not.
///
/// Returns NaN if any entry of `a` is NaN or infinite.
///
/// # Panics
/// If `rows` or `cols` is 0 or `a.len() != rows*cols`.
#[track_caller]
pub fn spectral_norm(a: &[f64], rows: usize, cols: usize) -> f64 {
    assert!(rows > 0 && cols > 0, "linalg::spectral_norm: `rows` and `cols` must be positive, got {rows}×{cols}");
    assert!(
        a.len() == rows * cols,
        "linalg::spectral_norm: `a` has length {}, expected rows*cols = {}",
        a.len(),
        rows * cols
    );
    if !a.iter().all(|x| x.is_finite()) {
        return f64::NAN;
    }
    let mut g;
    let m;
    if cols <= rows {
        // G = AᵀA, accumulated as a sum of outer products of the rows of A.
        m = cols;
        g = vec![0.0; m * m];
        for row in a.chunks_exact(cols) {
            for (i, &ri) in row.iter().enumerate() {
                for (gij, &rj) in g[i * m..(i + 1) * m].iter_mut().zip(row) {
                    *gij += ri * rj;
                }
            }
        }
    } else {
        // G = AAᵀ: G_ij is the dot product of rows i and j of A.
        m = rows;
        g = vec![0.0; m * m];
        for i in 0..m {
            let ri = &a[i * cols..(i + 1) * cols];
            for j in 0..=i {
                let rj = &a[j * cols..(j + 1) * cols];
                let d: f64 = ri.iter().zip(rj).map(|(x, y)| x * y).sum();
                g[i * m + j] = d;
                g[j * m + i] = d;
            }
        }
    }
    // A symmetric matrix is already balanced.
    to_hessenberg(&mut g, m);
    hessenberg_max_modulus(&mut g, m, "linalg::spectral_norm").sqrt()
}

/// Balances `h` in place (EISPACK `balanc` without permutations): repeatedly scales row i by
/// 1/f and column i by f, f a power of two, until each row and column have comparable 1-norms.
/// D⁻¹AD has the same eigenvalues, and the scaling is exact.
fn balance(h: &mut [f64], n: usize) {
    const RADIX: f64 = 2.0;
    let mut done = false;
    while !done {
        done = true;
        for i in 0..n {
            let mut c = 0.0;
            let mut r = 0.0;
            for j in (0..n).filter(|&j| j != i) {
                c += h[j * n + i].abs();
                r += h[i * n + j].abs();
            }
            if c == 0.0 || r == 0.0 {
                continue;
            }
            let s = c + r;
            let mut f = 1.0;
            while c < r / RADIX {
                f *= RADIX;
                c *= RADIX * RADIX;
            }
            while c > r * RADIX {
                f /= RADIX;
                c /= RADIX * RADIX;
            }
            // The balanced row and column sums would be r/f and c_old·f = c/f.
            if (c + r) / f < 0.95 * s {
                done = false;
                for x in &mut h[i * n..(i + 1) * n] {
                    *x /= f;
                }
                for j in 0..n {
                    h[j * n + i] *= f;
                }
            }
        }
    }
}

/// Reduces `h` to upper Hessenberg form in place by stabilised elementary similarity
/// transforms (EISPACK `elmhes`): for each column m-1, swap the largest entry below the
/// diagonal into row m, then subtract multiples y_i of row m from rows i > m and add the same
/// multiples of columns i to column m. Entries below the subdiagonal are set to exactly zero.
fn to_hessenberg(h: &mut [f64], n: usize) {
    let mut y = vec![0.0; n];
    for m in 1..n.saturating_sub(1) {
        let mut pivot = m;
        for j in m + 1..n {
            if h[j * n + m - 1].abs() > h[pivot * n + m - 1].abs() {
                pivot = j;
            }
        }
        if pivot != m {
            for j in m - 1..n {
                h.swap(pivot * n + j, m * n + j);
            }
            for j in 0..n {
                h.swap(j * n + pivot, j * n + m);
            }
        }
        let x = h[m * n + m - 1];
        if x == 0.0 {
            continue;
        }
        // Rows: row_i -= y_i · row_m (L⁻¹A), which zeroes column m-1 below the subdiagonal.
        let (top, bottom) = h.split_at_mut((m + 1) * n);
        let row_m = &top[m * n..];
        for (i, row_i) in (m + 1..n).zip(bottom.chunks_exact_mut(n)) {
            y[i] = row_i[m - 1] / x;
            row_i[m - 1] = 0.0;
            if y[i] != 0.0 {
                for (hij, &hmj) in row_i[m..].iter_mut().zip(&row_m[m..]) {
                    *hij -= y[i] * hmj;
                }
            }
        }
        // Columns: col_m += Σ_i y_i · col_i ((L⁻¹A)L), row by row for contiguous access.
        for row in h.chunks_exact_mut(n) {
            let mut acc = row[m];
            for i in m + 1..n {
                acc += y[i] * row[i];
            }
            row[m] = acc;
        }
    }
}

/// |b| with the sign of `a` (Fortran `SIGN(b, a)`; +0 counts as positive).
fn with_sign_of(b: f64, a: f64) -> f64 {
    if a >= 0.0 { b.abs() } else { -b.abs() }
}

/// |re + i·im|, scaled so that it cannot overflow.
fn modulus(re: f64, im: f64) -> f64 {
    let m = re.abs().max(im.abs());
    if m == 0.0 {
        return 0.0;
    }
    let (x, y) = (re / m, im / m);
    m * (x * x + y * y).sqrt()
}

/// Largest eigenvalue modulus of the upper Hessenberg matrix `h` (destroyed), by Francis'
/// double-shift QR iteration (EISPACK `hqr`, eigenvalues only: only the active block is
/// updated). `who` names the public caller in the non-convergence panic.
#[track_caller]
fn hessenberg_max_modulus(h: &mut [f64], n: usize, who: &str) -> f64 {
    let at = |i: usize, j: usize| i * n + j;
    let mut norm = 0.0;
    for i in 0..n {
        for j in i.saturating_sub(1)..n {
            norm += h[at(i, j)].abs();
        }
    }
    let mut radius: f64 = 0.0;
    let mut budget = 30 * n;
    let mut t = 0.0; // accumulated exceptional shifts
    let mut its = 0; // iterations since the last deflation
    let mut deferred = Vec::with_capacity(BLOCK);
    // The active block is rows/columns l..=en; eigenvalues are deflated off its bottom.
    let mut en_plus_1 = n;
    while en_plus_1 > 0 {
        let en = en_plus_1 - 1;
        // Look for a negligible subdiagonal entry h[l][l-1], scanning upwards from en.
        let mut l = en;
        while l > 0 {
            let mut s = h[at(l - 1, l - 1)].abs() + h[at(l, l)].abs();
            if s == 0.0 {
                s = norm;
            }
            if s + h[at(l, l - 1)].abs() == s {
                h[at(l, l - 1)] = 0.0;
                break;
            }
            l -= 1;
        }
        let mut x = h[at(en, en)];
        if l == en {
            // One real eigenvalue.
            radius = radius.max((x + t).abs());
            en_plus_1 -= 1;
            its = 0;
            continue;
        }
        let mut y = h[at(en - 1, en - 1)];
        let mut w = h[at(en, en - 1)] * h[at(en - 1, en)];
        if l == en - 1 {
            // A 2×2 block: two real eigenvalues or a complex-conjugate pair.
            let p = 0.5 * (y - x);
            let q = p * p + w;
            let z = q.abs().sqrt();
            x += t;
            if q >= 0.0 {
                let z = p + with_sign_of(z, p);
                radius = radius.max((x + z).abs());
                if z != 0.0 {
                    radius = radius.max((x - w / z).abs());
                }
            } else {
                radius = radius.max(modulus(x + p, z));
            }
            en_plus_1 -= 2;
            its = 0;
            continue;
        }
        assert!(budget > 0, "{who}: QR iteration did not converge in 30·n = {} iterations", 30 * n);
        budget -= 1;
        if its == 10 || its == 20 {
            // Exceptional shift, to break a cycle.
            t += x;
            for i in 0..=en {
                h[at(i, i)] -= x;
            }
            let s = h[at(en, en - 1)].abs() + h[at(en - 1, en - 2)].abs();
            x = 0.75 * s;
            y = x;
            w = -0.4375 * s * s;
        }
        its += 1;
        // Look for two consecutive small subdiagonal entries, from which to start the bulge.
        let mut m = en - 2;
        let (mut p, mut q, mut r);
        loop {
            let z = h[at(m, m)];
            let rr = x - z;
            let ss = y - z;
            p = (rr * ss - w) / h[at(m + 1, m)] + h[at(m, m + 1)];
            q = h[at(m + 1, m + 1)] - z - rr - ss;
            r = h[at(m + 2, m + 1)];
            let s = p.abs() + q.abs() + r.abs();
            p /= s;
            q /= s;
            r /= s;
            if m == l {
                break;
            }
            let u = h[at(m, m - 1)].abs() * (q.abs() + r.abs());
            let v = p.abs() * (h[at(m - 1, m - 1)].abs() + z.abs() + h[at(m + 1, m + 1)].abs());
            if u + v == v {
                break;
            }
            m -= 1;
        }
        for i in m + 2..=en {
            h[at(i, i - 2)] = 0.0;
            if i != m + 2 {
                h[at(i, i - 3)] = 0.0;
            }
        }
        // Double QR step on rows/columns l..=en, chasing the bulge from m down. The column
        // modifications of rows above the current block of BLOCK bulge positions are deferred and
        // applied row by row when the block ends (contiguous access instead of strided): nothing
        // in the block reads those rows, and every entry still receives the same operations in
        // the same order, so the result is bit-identical to the unblocked EISPACK loop.
        let mut block_start = m;
        for k in m..en {
            let last = k == en - 1;
            if k == block_start + BLOCK {
                flush_deferred(h, n, l..block_start, &mut deferred);
                block_start = k;
            }
            if k != m {
                p = h[at(k, k - 1)];
                q = h[at(k + 1, k - 1)];
                r = if last { 0.0 } else { h[at(k + 2, k - 1)] };
                x = p.abs() + q.abs() + r.abs();
                if x != 0.0 {
                    p /= x;
                    q /= x;
                    r /= x;
                }
            }
            let s = with_sign_of((p * p + q * q + r * r).sqrt(), p);
            if s == 0.0 {
                continue;
            }
            if k == m {
                if l != m {
                    h[at(k, k - 1)] = -h[at(k, k - 1)];
                }
            } else {
                h[at(k, k - 1)] = -s * x;
            }
            p += s;
            x = p / s;
            y = q / s;
            let z = r / s;
            q /= p;
            r /= p;
            // Row modification: rows k, k+1 (and k+2), columns k..=en.
            let (row_k, below) = h[k * n..].split_at_mut(n);
            let (row_k1, below) = below.split_at_mut(n);
            let cols = k..en + 1;
            let rows = row_k[cols.clone()].iter_mut().zip(&mut row_k1[cols.clone()]);
            if last {
                for (a, b) in rows {
                    let pp = *a + q * *b;
                    *b -= pp * y;
                    *a -= pp * x;
                }
            } else {
                for ((a, b), c) in rows.zip(&mut below[cols]) {
                    let pp = *a + q * *b + r * *c;
                    *c -= pp * z;
                    *b -= pp * y;
                    *a -= pp * x;
                }
            }
            // Column modification: rows l..=min(en, k+3), columns k, k+1 (and k+2).
            let reflector = Reflector { k, last, x, y, z, q, r };
            for row in h[n * block_start..n * (en.min(k + 3) + 1)].chunks_exact_mut(n) {
                reflector.apply_to_row(row);
            }
            deferred.push(reflector);
        }
        flush_deferred(h, n, l..block_start, &mut deferred);
    }
    radius
}

/// Bulge positions per block of deferred column modifications in [`hessenberg_max_modulus`].
const BLOCK: usize = 16;

/// The column part of one double-shift QR reflector at bulge position k: for a row h_i,
/// p = x·h_ik + y·h_i,k+1 + z·h_i,k+2, then h_ik −= p, h_i,k+1 −= p·q, h_i,k+2 −= p·r (columns k
/// and k+1 only when `last`).
struct Reflector {
    k: usize,
    last: bool,
    x: f64,
    y: f64,
    z: f64,
    q: f64,
    r: f64,
}

impl Reflector {
    #[inline]
    fn apply_to_row(&self, row: &mut [f64]) {
        let k = self.k;
        if self.last {
            let [a, b] = &mut row[k..k + 2] else { unreachable!() };
            let p = self.x * *a + self.y * *b;
            *b -= p * self.q;
            *a -= p;
        } else {
            let [a, b, c] = &mut row[k..k + 3] else { unreachable!() };
            let p = self.x * *a + self.y * *b + self.z * *c;
            *c -= p * self.r;
            *b -= p * self.q;
            *a -= p;
        }
    }
}

/// Applies the `deferred` reflectors, in order, to each row in `rows`, and clears them.
fn flush_deferred(h: &mut [f64], n: usize, rows: core::ops::Range<usize>, deferred: &mut Vec<Reflector>) {
    // Four rows at a time: consecutive reflectors overlap in two columns, so within one row
    // they form a dependency chain; independent rows keep the pipeline full.
    for group in h[n * rows.start..n * rows.end].chunks_mut(4 * n) {
        for reflector in deferred.iter() {
            for row in group.chunks_exact_mut(n) {
                reflector.apply_to_row(row);
            }
        }
    }
    deferred.clear();
}

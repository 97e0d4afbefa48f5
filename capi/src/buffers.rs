//! Pointer arguments: NULL and alignment checks, strided sequences (their
//! extent, layout checks, gathers and scatters), and the check that no buffer
//! a call writes shares memory with another buffer of the call.

use core::mem::{align_of, size_of};

use crate::error::{Error, Result};

/// Most elements a strided sequence may span (its byte count fits `isize`).
const MAX_BYTES: usize = isize::MAX as usize;

/// A required out-parameter (a scalar written with an unaligned write).
pub(crate) fn check_out<T>(name: &str, p: *mut T) -> Result<()> {
    if p.is_null() {
        Err(Error::null(name))
    } else {
        Ok(())
    }
}

/// Writes an out-parameter.
///
/// # Safety
/// `p` is non-null and valid for writing a `T` (any alignment).
pub(crate) unsafe fn write_out<T>(p: *mut T, v: T) {
    // SAFETY: the caller's guarantee.
    unsafe { p.write_unaligned(v) }
}

/// `p` is aligned for `T` (a slice over it needs it).
pub(crate) fn check_aligned<T>(name: &str, p: *const T) -> Result<()> {
    if (p as usize).is_multiple_of(align_of::<T>()) {
        Ok(())
    } else {
        Err(Error::invalid(format!("`{name}` ({p:p}) is not aligned to {} bytes", align_of::<T>())))
    }
}

/// A dense buffer argument: `None` when NULL (an error when `required`),
/// else the pointer, checked for alignment.
pub(crate) fn buffer<T>(name: &str, p: *const T, required: bool) -> Result<Option<*const T>> {
    if p.is_null() {
        return if required { Err(Error::null(name)) } else { Ok(None) };
    }
    check_aligned(name, p)?;
    Ok(Some(p))
}

/// A sequence buffer `[T, B, F]` with a time stride and a batch stride in
/// elements (feature stride 1): element `(t, b, f)` is at `ptr + t * ts + b * bs + f`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seq<T> {
    name: &'static str,
    ptr: *const T,
    t: usize,
    b: usize,
    f: usize,
    ts: usize,
    bs: usize,
    /// Elements from the first to one past the last addressed element.
    extent: usize,
}

impl<T: Copy> Seq<T> {
    /// A sequence argument (`None` when NULL, an error when `required`):
    /// aligned, and spanning an address range that fits.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: &'static str,
        ptr: *const T,
        t: usize,
        b: usize,
        f: usize,
        ts: usize,
        bs: usize,
        required: bool,
    ) -> Result<Option<Self>> {
        let Some(ptr) = buffer(name, ptr, required)? else { return Ok(None) };
        let too_large = || {
            Error::invalid(format!(
                "`{name}` with time stride {ts} and batch stride {bs} over [{t}, {b}, {f}] spans more memory than exists"
            ))
        };
        let extent = (t - 1)
            .checked_mul(ts)
            .and_then(|a| a.checked_add((b - 1).checked_mul(bs)?))
            .and_then(|a| a.checked_add(f))
            .ok_or_else(too_large)?;
        let bytes = extent.checked_mul(size_of::<T>()).filter(|&n| n <= MAX_BYTES).ok_or_else(too_large)?;
        if (ptr as usize).checked_add(bytes).is_none() {
            return Err(too_large());
        }
        Ok(Some(Self { name, ptr, t, b, f, ts, bs, extent }))
    }

    /// Whether it is dense time-major `[T, B, F]` (a stride of a dimension of
    /// size 1 does not matter).
    pub(crate) fn dense(&self) -> bool {
        (self.b == 1 || self.bs == self.f) && (self.t == 1 || self.ts == self.b * self.f)
    }

    /// For a buffer the call writes: no two elements at the same address
    /// (time outside batch, or batch outside time, neither overlapping).
    pub(crate) fn check_disjoint_rows(&self) -> Result<()> {
        let (t, b, f, ts, bs) = (self.t, self.b, self.f, self.ts, self.bs);
        // Both sums are at most `extent`, which fits.
        let time_outer = (b == 1 || bs >= f) && (t == 1 || ts >= (b - 1) * bs + f);
        let batch_outer = (t == 1 || ts >= f) && (b == 1 || bs >= (t - 1) * ts + f);
        if time_outer || batch_outer {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "`{}` with time stride {ts} and batch stride {bs} over [{t}, {b}, {f}] puts two elements at one address",
                self.name
            )))
        }
    }

    /// The byte range it spans.
    fn span(&self) -> (usize, usize) {
        let start = self.ptr as usize;
        (start, start + self.extent * size_of::<T>())
    }

    /// The pointer to row `(t, b)`.
    fn row(&self, t: usize, b: usize) -> *const T {
        // `wrapping_add` keeps this safe; the offset is within the extent.
        self.ptr.wrapping_add(t * self.ts + b * self.bs)
    }

    /// The buffer as a dense slice.
    ///
    /// # Safety
    /// It is [`Seq::dense`]; the caller of the entry point guarantees the
    /// memory readable, and nothing writes it while the slice lives.
    pub(crate) unsafe fn as_slice<'a>(&self) -> &'a [T] {
        // SAFETY: dense, so it spans exactly `t * b * f = extent` elements;
        // non-null and aligned (checked); readable (the caller's guarantee).
        unsafe { core::slice::from_raw_parts(self.ptr, self.t * self.b * self.f) }
    }

    /// The buffer as a dense mutable slice.
    ///
    /// # Safety
    /// As [`Seq::as_slice`], and the memory is writable and shared with no
    /// other buffer of the call.
    pub(crate) unsafe fn as_mut_slice<'a>(&self) -> &'a mut [T] {
        // SAFETY: as `as_slice`; the caller guarantees it writable, and the
        // entry point checked that it overlaps no other buffer.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.cast_mut(), self.t * self.b * self.f) }
    }

    /// Copies the buffer into the dense `dst: [T, B, F]`.
    ///
    /// # Safety
    /// The memory is readable and `dst` is not part of it.
    pub(crate) unsafe fn gather(&self, dst: &mut [T]) {
        let (b, f) = (self.b, self.f);
        for t in 0..self.t {
            for r in 0..b {
                // SAFETY: row `(t, r)` lies within the checked extent, which
                // the caller guarantees readable; `dst` is disjoint from it.
                let src = unsafe { core::slice::from_raw_parts(self.row(t, r), f) };
                dst[(t * b + r) * f..][..f].copy_from_slice(src);
            }
        }
    }

    /// Copies the dense `src: [T, B, F]` into the buffer.
    ///
    /// # Safety
    /// The memory is writable, shares no address with `src` or any other
    /// buffer in use, and [`Seq::check_disjoint_rows`] passed.
    pub(crate) unsafe fn scatter(&self, src: &[T]) {
        let (b, f) = (self.b, self.f);
        for t in 0..self.t {
            for r in 0..b {
                // SAFETY: row `(t, r)` lies within the checked extent, which
                // the caller guarantees writable; rows do not overlap each
                // other (checked) nor anything else in use.
                let dst = unsafe { core::slice::from_raw_parts_mut(self.row(t, r).cast_mut(), f) };
                dst.copy_from_slice(&src[(t * b + r) * f..][..f]);
            }
        }
    }
}

/// The byte ranges of a call's buffers, to check that none it writes shares
/// memory with another.
#[derive(Default)]
pub(crate) struct Regions {
    spans: Vec<(&'static str, usize, usize, bool)>,
}

impl Regions {
    /// A dense buffer of `len` elements at `p` (nothing when `None`).
    pub(crate) fn add<T>(&mut self, name: &'static str, p: Option<*const T>, len: usize, writes: bool) {
        if let Some(p) = p {
            let start = p as usize;
            self.spans.push((name, start, start.saturating_add(len.saturating_mul(size_of::<T>())), writes));
        }
    }

    /// A sequence buffer (nothing when `None`).
    pub(crate) fn add_seq<T: Copy>(&mut self, s: Option<&Seq<T>>, writes: bool) {
        if let Some(s) = s {
            let (start, end) = s.span();
            self.spans.push((s.name, start, end, writes));
        }
    }

    /// Fails if a written buffer's range meets another buffer's.
    pub(crate) fn check(&self) -> Result<()> {
        for (i, &(a, a0, a1, aw)) in self.spans.iter().enumerate() {
            for &(b, b0, b1, bw) in &self.spans[i + 1..] {
                if (aw || bw) && a0 < b1 && b0 < a1 {
                    let (w, o) = if aw { (a, b) } else { (b, a) };
                    return Err(Error::invalid(format!(
                        "`{w}` overlaps `{o}`: a buffer the call writes must share no memory with another"
                    )));
                }
            }
        }
        Ok(())
    }
}

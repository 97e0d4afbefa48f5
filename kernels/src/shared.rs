//! Buffers that the threads of one kernel call share: each thread writes its
//! own disjoint pieces, and reads other pieces only when nobody writes them
//! (after a step barrier).

use core::marker::PhantomData;

/// A mutable slice whose disjoint sub-slices are handed to the threads of one call.
///
/// Creating one is `unsafe` (see [`Shared::new`]); its accessors are then safe.
pub(crate) struct Shared<'a, T> {
    ptr: *mut T,
    len: usize,
    _life: PhantomData<&'a mut [T]>,
}

// SAFETY: a `Shared` stands for a `&mut [T]` handed out in disjoint pieces
// (the contract of `Shared::new`), so moving it to or sharing it with other
// threads is as sound as sending those `&mut [T]` pieces, which needs `T: Send`.
unsafe impl<T: Send> Send for Shared<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Shared<'_, T> {}

impl<'a, T> Shared<'a, T> {
    /// Takes `s` for the lifetime `'a`.
    ///
    /// # Safety
    /// For as long as any reference returned by [`Shared::slice_mut`] or
    /// [`Shared::slice`] lives, no other returned reference (from this value or
    /// another `Shared` over the same memory, on any thread) may overlap it,
    /// unless both are shared (`slice`).
    pub(crate) unsafe fn new(s: &'a mut [T]) -> Self {
        Self { ptr: s.as_mut_ptr(), len: s.len(), _life: PhantomData }
    }

    /// Elements `start..start + len` (bounds-checked), mutably.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub(crate) fn slice_mut(&self, start: usize, len: usize) -> &mut [T] {
        assert!(start <= self.len && len <= self.len - start, "Shared: range out of bounds");
        // SAFETY: in bounds of the original `&'a mut [T]`; exclusivity is the contract of `new`.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }

    /// Elements `start..start + len` (bounds-checked), shared.
    #[inline(always)]
    pub(crate) fn slice(&self, start: usize, len: usize) -> &[T] {
        assert!(start <= self.len && len <= self.len - start, "Shared: range out of bounds");
        // SAFETY: in bounds; the absence of overlapping writers is the contract of `new`.
        unsafe { core::slice::from_raw_parts(self.ptr.add(start), len) }
    }
}

/// A read-only source that is either a plain slice or a region of a [`Shared`]
/// buffer (read piecewise, so that other threads may write elsewhere in it).
#[derive(Clone, Copy)]
pub(crate) enum Src<'a, T> {
    /// A slice no one writes during the call.
    Slice(&'a [T]),
    /// The region of a shared buffer starting at the offset.
    Shared(&'a Shared<'a, T>, usize),
}

impl<T> Src<'_, T> {
    /// Elements `off..off + n` of the source.
    #[inline(always)]
    pub(crate) fn get(&self, off: usize, n: usize) -> &[T] {
        match *self {
            Src::Slice(s) => &s[off..off + n],
            Src::Shared(s, base) => s.slice(base + off, n),
        }
    }
}

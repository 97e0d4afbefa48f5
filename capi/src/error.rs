//! Status codes, the thread-local last-error message, and the guard every
//! entry point's body runs under (no panic crosses the boundary).

use core::ffi::c_char;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a call returns. Every entry point except the version, status-name and
/// last-error functions returns one; on anything but `RNNK_STATUS_OK` the call
/// wrote nothing and `rnnk_last_error` says why.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RnnkStatus {
    /// Success.
    Ok = 0,
    /// A required pointer argument is NULL.
    NullPointer = 1,
    /// An argument is invalid: a size, a shape, a length, a stride, a flag, a
    /// cell code, a misaligned or overlapping buffer, a workspace too small.
    InvalidArgument = 2,
    /// A bug: the library panicked (the message holds the panic's). Output
    /// buffers may have been partly written.
    InternalError = 3,
}

/// An entry point's failure: a status and a message.
#[derive(Debug)]
pub(crate) struct Error {
    pub(crate) status: RnnkStatus,
    pub(crate) message: String,
}

impl Error {
    /// An invalid argument.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self { status: RnnkStatus::InvalidArgument, message: message.into() }
    }

    /// A required pointer `arg` is NULL.
    pub(crate) fn null(arg: &str) -> Self {
        Self { status: RnnkStatus::NullPointer, message: format!("`{arg}` is NULL") }
    }
}

impl From<kernels::ShapeError> for Error {
    fn from(e: kernels::ShapeError) -> Self {
        Self::invalid(e.to_string())
    }
}

/// The result of an entry point's body.
pub(crate) type Result<T> = core::result::Result<T, Error>;

thread_local! {
    /// The calling thread's last message ("" after a successful call).
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last_error(message: String) {
    // Neither may panic: `try_with` fails only while the thread is being torn
    // down, `try_borrow_mut` never (nothing holds the cell across a call).
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            *e = message;
        }
    });
}

/// Runs an entry point's `body`, turning its error or panic into a status and
/// the thread's last-error message (cleared on success).
pub(crate) fn guard(call: &'static str, body: impl FnOnce() -> Result<()>) -> RnnkStatus {
    let (status, message) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => (RnnkStatus::Ok, String::new()),
        Ok(Err(e)) => (e.status, format!("{call}: {}", e.message)),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            // A payload whose destructor panics must not unwind out either.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            (RnnkStatus::InternalError, format!("{call}: internal error (panic): {what}"))
        }
    };
    set_last_error(message);
    status
}

/// Copies the calling thread's last error message into `buf` (at most
/// `len - 1` bytes and a terminating NUL; nothing when `buf` is NULL or `len`
/// is 0) and returns the buffer size the whole message needs, its terminating
/// NUL included: 1 (the empty message) after a successful call.
///
/// Each call of the API that returns an `RnnkStatus` replaces the message
/// (with "" on success); the version, status-name and last-error functions
/// leave it alone. Messages are per thread.
///
/// # Safety
/// `buf` is NULL or valid for writing `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn rnnk_last_error(buf: *mut c_char, len: usize) -> usize {
    let copy = || {
        LAST_ERROR
            .try_with(|e| {
                let Ok(message) = e.try_borrow() else { return 1 };
                let bytes = message.as_bytes();
                if !buf.is_null() && len > 0 {
                    // Cut at a character boundary, never inside a UTF-8 sequence.
                    let mut n = bytes.len().min(len - 1);
                    while !message.is_char_boundary(n) {
                        n -= 1;
                    }
                    // SAFETY: the caller guarantees `buf` is valid for `len`
                    // bytes, and `n + 1 <= len`; the message is ours, so it
                    // cannot overlap `buf`.
                    unsafe {
                        core::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
                        buf.add(n).write(0);
                    }
                }
                bytes.len() + 1
            })
            .unwrap_or(1)
    };
    catch_unwind(AssertUnwindSafe(copy)).unwrap_or(1)
}

/// A static NUL-terminated name for a status code (`"RNNK_STATUS_OK"`, ...),
/// or `"RNNK_STATUS_UNKNOWN"` for a value that is none of them.
#[no_mangle]
pub extern "C" fn rnnk_status_name(status: i32) -> *const c_char {
    let name: &'static str = match status {
        0 => "RNNK_STATUS_OK\0",
        1 => "RNNK_STATUS_NULL_POINTER\0",
        2 => "RNNK_STATUS_INVALID_ARGUMENT\0",
        3 => "RNNK_STATUS_INTERNAL_ERROR\0",
        _ => "RNNK_STATUS_UNKNOWN\0",
    };
    name.as_ptr().cast()
}

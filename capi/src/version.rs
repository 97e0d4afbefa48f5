//! The library's version: a string and its three numbers.

use core::ffi::c_char;

/// Major version of the header (compare with `rnnk_version_major`, the library's).
pub const RNNK_VERSION_MAJOR: u32 = 0;
/// Minor version of the header.
pub const RNNK_VERSION_MINOR: u32 = 1;
/// Patch version of the header.
pub const RNNK_VERSION_PATCH: u32 = 0;

/// The library's version, `"MAJOR.MINOR.PATCH"`: a static NUL-terminated string.
#[no_mangle]
pub extern "C" fn rnnk_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The library's major version.
#[no_mangle]
pub extern "C" fn rnnk_version_major() -> u32 {
    RNNK_VERSION_MAJOR
}

/// The library's minor version.
#[no_mangle]
pub extern "C" fn rnnk_version_minor() -> u32 {
    RNNK_VERSION_MINOR
}

/// The library's patch version.
#[no_mangle]
pub extern "C" fn rnnk_version_patch() -> u32 {
    RNNK_VERSION_PATCH
}

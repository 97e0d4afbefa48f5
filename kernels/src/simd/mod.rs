//! SIMD kernels (in progress).

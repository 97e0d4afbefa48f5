//! How many threads a kernel call may use. Passed per call; the library never
//! configures a global thread pool.

/// Threads for one kernel call. Work runs on the caller's current rayon pool.
///
/// Results never depend on this choice: every thread count produces the same bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Parallelism {
    /// Run on the calling thread.
    #[default]
    Sequential,
    /// Split the work into this many parts on the current rayon pool
    /// (`0` means the pool's thread count).
    Rayon(usize),
}

impl Parallelism {
    /// The number of parts work is split into (at least 1).
    pub fn threads(self) -> usize {
        match self {
            Parallelism::Sequential => 1,
            Parallelism::Rayon(0) => rayon::current_num_threads().max(1),
            Parallelism::Rayon(n) => n,
        }
    }
}

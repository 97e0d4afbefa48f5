//! How many threads a kernel call may use, and the step-synchronous team that
//! runs a sequence call's time loop. Passed per call; the library never
//! configures a global thread pool.
//!
//! # Work split
//! A call cuts its work into a fixed number of *parts* (the requested thread
//! count, bounded by the work available) before the time loop. Every part
//! computes the same values whichever thread runs it, so results do not
//! depend on the thread count. The team runs on the caller's current rayon
//! pool: the caller is worker 0 and `min(parts, pool threads) - 1` workers are
//! spawned once per call. Worker `w` runs part `w` at every step, so the
//! weight panels of a part stay in one core's cache for the whole sequence;
//! a part whose worker has not started (a busy pool) is taken by whoever gets
//! to it, so the call never waits for a thread the pool cannot give. Steps are
//! separated by one barrier (a shared counter, spun on).

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

/// Most parts one call is split into.
pub(crate) const MAX_PARTS: usize = 64;

#[repr(align(128))]
#[derive(Default)]
struct Padded<T>(T);

/// Synchronisation state of one team, on the caller's stack.
struct TeamState {
    /// `claimed[p]` = steps of part `p` already claimed.
    claimed: [Padded<AtomicUsize>; MAX_PARTS],
    arrived: [AtomicBool; MAX_PARTS],
    /// Parts finished, over all steps.
    done: Padded<AtomicUsize>,
    poisoned: AtomicBool,
}

struct PoisonOnUnwind<'a>(&'a AtomicBool);
impl Drop for PoisonOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Release);
        }
    }
}

/// Runs `work(step, part)` for `step in 0..steps` (in order) and `part in
/// 0..parts`; the parts of one step may run concurrently, and step `s + 1`
/// starts only when every part of step `s` is done (Release/Acquire ordered).
/// With `ftz`, every thread runs with denormals flushed (see `simd::fp`).
///
/// Allocates only to spawn the workers (once per call), never per step.
pub(crate) fn run_steps<F: Fn(usize, usize) + Sync>(threads: usize, parts: usize, steps: usize, ftz: bool, work: F) {
    assert!((1..=MAX_PARTS).contains(&parts), "run_steps: 1..={MAX_PARTS} parts");
    // (Asking rayon for its thread count would start the global pool: not for one thread.)
    let workers = match threads.min(parts) {
        0 | 1 => 1,
        n => n.min(rayon::current_num_threads()),
    };
    if workers == 1 {
        let _ftz = crate::simd::fp::Ftz::new(ftz);
        for s in 0..steps {
            for p in 0..parts {
                work(s, p);
            }
        }
        return;
    }
    let st = TeamState {
        claimed: core::array::from_fn(|_| Padded::default()),
        arrived: core::array::from_fn(|_| AtomicBool::new(false)),
        done: Padded::default(),
        poisoned: AtomicBool::new(false),
    };
    let worker = |w: usize| {
        let _ftz = crate::simd::fp::Ftz::new(ftz);
        let _poison = PoisonOnUnwind(&st.poisoned);
        st.arrived[w].store(true, Ordering::Release);
        let claim = |p: usize, s: usize| {
            st.claimed[p].0.compare_exchange(s, s + 1, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        };
        for s in 0..steps {
            let mut n = 0;
            if claim(w, s) {
                work(s, w);
                n += 1;
            }
            for p in (0..parts).filter(|&p| p != w) {
                if !st.arrived[p].load(Ordering::Acquire) && claim(p, s) {
                    work(s, p);
                    n += 1;
                }
            }
            if n > 0 {
                st.done.0.fetch_add(n, Ordering::Release);
            }
            let target = (s + 1) * parts;
            let mut spins = 0u32;
            while st.done.0.load(Ordering::Acquire) < target {
                if st.poisoned.load(Ordering::Acquire) {
                    return;
                }
                // A part whose worker has not arrived yet may still be unclaimed.
                let mut stolen = 0;
                for p in (0..parts).filter(|&p| p != w) {
                    if !st.arrived[p].load(Ordering::Acquire) && claim(p, s) {
                        work(s, p);
                        stolen += 1;
                    }
                }
                if stolen > 0 {
                    st.done.0.fetch_add(stolen, Ordering::Release);
                }
                spins += 1;
                if spins < 1 << 14 {
                    core::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
    };
    rayon::in_place_scope(|sc| {
        for w in 1..workers {
            let worker = &worker;
            sc.spawn(move |_| worker(w));
        }
        worker(0);
    });
}

/// Runs `work(part)` for every `part in 0..parts`, concurrently (one step of [`run_steps`]).
pub(crate) fn run_parts<F: Fn(usize) + Sync>(threads: usize, parts: usize, ftz: bool, work: F) {
    run_steps(threads, parts, 1, ftz, |_, p| work(p));
}

/// The `i`-th of `parts` near-equal contiguous pieces of `0..n`.
pub(crate) fn split(n: usize, parts: usize, i: usize) -> core::ops::Range<usize> {
    let (q, r) = (n / parts, n % parts);
    let start = i * q + i.min(r);
    start..start + q + usize::from(i < r)
}

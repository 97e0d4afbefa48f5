//! No allocation inside the time loop: with a counting global allocator, the
//! number of allocations of a call does not grow with the sequence length
//! (what a call allocates at all is matrixmultiply's packing buffer per big
//! GEMM and, with threads, the team's spawn), sequential and threaded.

use kernels::{
    BackwardOpts, BackwardOut, Cell, Dims, ForwardOut, PackedWeights, Parallelism, Rnn, Saved, State, StepOut,
    Upstream, Weights,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MEASURED: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    /// Allocations of this thread while it is measured (no other thread's).
    static OWN: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

/// Counts the allocations of the measuring thread and of rayon's workers (the
/// kernels' teams), not those of the test harness's other threads.
fn note() {
    if MEASURED.with(|m| m.get()) {
        OWN.with(|n| n.set(n.get() + 1));
    }
    if MEASURED.with(|m| m.get()) || rayon::current_thread_index().is_some() {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards to the system allocator unchanged, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The tests of this crate run one at a time: the counter also counts rayon's
/// workers, which a concurrent test would share.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Allocations made by (forward-train, backward, forward-infer) of one shape.
fn count(cell: Cell, hidden: usize, batch: usize, t: usize, par: Parallelism) -> [usize; 3] {
    let rnn = Rnn::new(cell, hidden, hidden);
    let dims = Dims::new(t, batch);
    let mut w = Weights::<f32>::zeros(&rnn);
    for (k, v) in w.w_hh.iter_mut().enumerate() {
        *v = ((k % 7) as f32 - 3.0) * 0.01;
    }
    let bh = batch * hidden;
    let x = vec![0.5f32; t * bh];
    let h0 = vec![0.1f32; bh];
    let c0 = vec![0.2f32; bh];
    let init = State { h: &h0, c: cell.has_cell_state().then_some(&c0[..]) };
    let mut h_out = vec![0.0f32; t * bh];
    let mut tape = vec![0.0f32; rnn.tape_len(dims)];
    let mut scratch = vec![0.0f32; rnn.forward_scratch_len(dims, true).max(rnn.backward_scratch_len(dims))];
    let mut infer_scratch = vec![0.0f32; rnn.forward_scratch_len(dims, false)];
    let mut grads = Weights::zeros(&rnn);
    let mut dx = vec![0.0f32; t * bh];
    let mut dh0 = vec![0.0f32; bh];
    let mut norms = vec![0.0f32; t];
    let dh_out = vec![1.0f32; t * bh];

    let before = ALLOCS.load(Ordering::SeqCst);
    rnn.forward(
        w.view(),
        dims,
        &x,
        init,
        ForwardOut { h_out: &mut h_out, h_n: None, c_n: None, tape: Some(&mut tape) },
        &mut scratch,
        par,
    );
    let fwd = ALLOCS.load(Ordering::SeqCst) - before;

    let before = ALLOCS.load(Ordering::SeqCst);
    rnn.backward(
        w.view(),
        dims,
        Saved { x: &x, init, h_out: &h_out, tape: &mut tape },
        Upstream { dh_out: Some(&dh_out), dh_n: None, dc_n: None },
        BackwardOut {
            grads: Some(grads.view_mut()),
            dx: Some(&mut dx),
            dh0: Some(&mut dh0),
            step_norms: Some(&mut norms),
            ..Default::default()
        },
        BackwardOpts::default(),
        &mut scratch,
        par,
    );
    let bwd = ALLOCS.load(Ordering::SeqCst) - before;

    let before = ALLOCS.load(Ordering::SeqCst);
    rnn.forward(
        w.view(),
        dims,
        &x,
        init,
        ForwardOut { h_out: &mut h_out, h_n: None, c_n: None, tape: None },
        &mut infer_scratch,
        par,
    );
    let inf = ALLOCS.load(Ordering::SeqCst) - before;
    assert!(h_out.iter().all(|v| v.is_finite()) && dx.iter().all(|v| v.is_finite()));
    [fwd, bwd, inf]
}

#[test]
fn allocations_do_not_grow_with_sequence_length() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // One test function: the counter is global, and other tests would race it.
    // Threaded calls run inside a pool of their own, so that their spawns go
    // to its workers' deques rather than to the global pool's injector (whose
    // amortised block allocations would be counted at random steps).
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    for par in [Parallelism::Sequential, Parallelism::Rayon(2)] {
        for cell in [Cell::Rnn(kernels::Activation::Tanh), Cell::Lstm, Cell::Gru] {
            // Panels split (B = 1) and rows split (B = 16); lengths within one
            // inference chunk (32 steps) whose big GEMMs are all split alike
            // (above the size at which they go to two threads, for both lengths).
            for (hidden, batch, short, long) in [(512, 1, 10, 32), (128, 16, 10, 32)] {
                let run = |t| {
                    pool.install(|| {
                        MEASURED.with(|m| m.set(true));
                        count(cell, hidden, batch, t, par)
                    })
                };
                // Warm-up: thread start-up, feature detection, and each thread's
                // GEMM packing buffer (kept per thread once it has grown; which
                // pool thread runs which part varies, so warm every one).
                pool.broadcast(|_| warm_gemm_buffers());
                warm_gemm_buffers();
                run(short);
                run(long);
                let a = run(short);
                let b = run(long);
                assert_eq!(a, b, "{cell:?} {par:?} H={hidden} B={batch}: allocations [fwd, bwd, infer] grow with T");
                // A sequential call allocates nothing at all.
                if par == Parallelism::Sequential {
                    assert_eq!(a, [0, 0, 0], "{cell:?}: {a:?} allocations");
                }
            }
        }
    }
}

/// A decode loop on packed weights allocates nothing at all (sequential): the
/// packing happened once, before the loop, and the projection of each step
/// runs through the step kernels, not a GEMM that allocates its own packing.
#[test]
fn decode_steps_on_packed_weights_do_not_allocate() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for cell in [Cell::Rnn(kernels::Activation::Tanh), Cell::Lstm, Cell::Gru] {
        for batch in [1, 4] {
            let (input, hidden) = (32, 96);
            let rnn = Rnn::new(cell, input, hidden);
            let w = Weights::<f32>::zeros(&rnn);
            let packed = PackedWeights::new(&rnn, w.view());
            let bh = batch * hidden;
            let x = vec![0.25f32; batch * input];
            let (h, c) = (vec![0.0f32; bh], vec![0.0f32; bh]);
            let (mut hn, mut cn) = (vec![0.0f32; bh], vec![0.0f32; bh]);
            let mut scratch = vec![0.0f32; packed.step_scratch_len(batch)];
            let lstm = cell.has_cell_state();
            let mut step = || {
                let prev = State { h: &h, c: lstm.then_some(&c[..]) };
                let next = StepOut { h: &mut hn, c: lstm.then_some(&mut cn[..]) };
                packed.step(&x, prev, next, &mut scratch, Parallelism::Sequential);
            };
            step();
            // Sequential: only this thread's allocations count.
            MEASURED.with(|m| m.set(true));
            let before = OWN.with(|n| n.get());
            for _ in 0..20 {
                step();
            }
            let n = OWN.with(|n| n.get()) - before;
            MEASURED.with(|m| m.set(false));
            assert_eq!(n, 0, "{cell:?} B={batch}: {n} allocations in 20 steps");
        }
    }
}

/// Grows this thread's GEMM packing buffers (f32 and f64) to their size.
fn warm_gemm_buffers() {
    let level = kernels::simd::level();
    kernels::internals::gemm(level, 1, (1, 1, 1), 1.0f32, (&[1.0], 1, 1), (&[1.0], 1, 1), 0.0, &mut [0.0], 1);
    kernels::internals::gemm(level, 1, (1, 1, 1), 1.0f64, (&[1.0], 1, 1), (&[1.0], 1, 1), 0.0, &mut [0.0], 1);
}

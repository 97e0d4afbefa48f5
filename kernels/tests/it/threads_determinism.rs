//! Results are bitwise identical for every thread count, whichever way the
//! time loop is split (hidden-unit panels or batch rows), with more parts than
//! pool threads, and when the pool is busy with other kernel calls.

use crate::common::all_cells;
use crate::driver::{Case, Want};
use kernels::{Cell, Dims, Parallelism, Real};
use rayon::prelude::*;

const PARS: [Parallelism; 6] = [
    Parallelism::Sequential,
    Parallelism::Rayon(1),
    Parallelism::Rayon(2),
    Parallelism::Rayon(3),
    Parallelism::Rayon(4),
    Parallelism::Rayon(0),
];

const RING: Want = Want { dh_all: false, step_norms: true, dh0: true, dc0: true, truncate: Some(3) };

fn same_for_every_thread_count<T: Real>(cell: Cell, i: usize, h: usize, dims: Dims<'static>) {
    let c = Case::<T>::new(cell, i, h, dims, 99);
    for want in [Want::ALL, RING] {
        let base = c.run(Parallelism::Sequential, want);
        assert!(base.h_out.iter().all(|v| v.is_finite()));
        for par in PARS {
            let o = c.run(par, want);
            assert!(o == base, "{cell:?} I={i} H={h} {dims:?} {want:?} {}: {par:?} differs from sequential", T::NAME);
        }
    }
}

#[test]
fn bitwise_identical_panel_split() {
    // B = 1 and 2: the time loop splits W_hh's panels between threads.
    for cell in all_cells() {
        same_for_every_thread_count::<f32>(cell, 64, 256, Dims::new(6, 1));
        same_for_every_thread_count::<f64>(cell, 16, 200, Dims::new(5, 2));
    }
}

#[test]
fn bitwise_identical_row_split() {
    // Large B: each thread runs its batch rows through the whole sequence.
    for cell in all_cells() {
        same_for_every_thread_count::<f32>(cell, 64, 72, Dims::new(7, 16));
        same_for_every_thread_count::<f64>(cell, 8, 33, Dims::new(5, 13));
    }
}

#[test]
fn bitwise_identical_with_split_big_gemms() {
    // Shapes whose projection and weight-gradient GEMMs are split between threads.
    for cell in [Cell::Lstm, Cell::Gru] {
        same_for_every_thread_count::<f32>(cell, 128, 128, Dims::new(24, 16));
    }
}

#[test]
fn busy_pool_neither_deadlocks_nor_changes_results() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let c = Case::<f32>::new(Cell::Lstm, 32, 256, Dims::new(8, 1), 5);
    let base = c.run(Parallelism::Sequential, RING);
    let outs: Vec<_> = pool.install(|| (0..6).into_par_iter().map(|k| c.run(PARS[k % PARS.len()], RING)).collect());
    for o in outs {
        assert!(o == base, "a call inside a busy pool changed the results");
    }
}

//! `rnnk-case FILE`: writes the case the C and C++ tests (`capi/tests/c`,
//! `capi/tests/cpp`) run through the C API and compare: a 2-layer
//! bidirectional LSTM over a batch of unequal lengths, its inputs, and every
//! output and gradient of the kernels' Rust API (the owning `Stack` API, not
//! the C API), in `f64` and, from the same inputs rounded, in `f32`.
//!
//! The format is whitespace-separated text: a header (`rnnk-case 1`, `desc`,
//! `shape`, `lengths`, `names`, `offsets` lines) then `array NAME N` followed
//! by `N` values, each the 16 hex digits of an `f64`'s bits (exact), and `end`.

use std::fmt::Write as _;

use kernels::{BackwardOpts, Cell, Dims, Parallelism, Real, Stack, StackUpstream, Weights};

/// The case: `RNNK_CELL_LSTM`, I = 3, H = 4, L = 2, bidirectional; T = 7 and
/// B = 4 rows of lengths 6, 2, 5, 3 (unsorted, none reaching T).
const CELL_CODE: i32 = 6;
const INPUT: usize = 3;
const HIDDEN: usize = 4;
const LAYERS: usize = 2;
const SEQ_LEN: usize = 7;
const LENGTHS: [usize; 4] = [6, 2, 5, 3];

/// A deterministic generator of values in `[-0.5, 0.5)` (SplitMix64).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    fn vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// The case's inputs, in `f64`.
struct Inputs {
    params: Vec<f64>,
    x: Vec<f64>,
    h0: Vec<f64>,
    c0: Vec<f64>,
    d_output: Vec<f64>,
    dh_n: Vec<f64>,
    dc_n: Vec<f64>,
}

/// Every output and gradient, flattened as the C API lays them out.
struct Results {
    output: Vec<f64>,
    h_n: Vec<f64>,
    c_n: Vec<f64>,
    grads: Vec<f64>,
    dx: Vec<f64>,
    dh0: Vec<f64>,
    dc0: Vec<f64>,
    step_norms: Vec<f64>,
}

/// The flat parameter buffer as one `Weights` per (layer, direction).
fn unflatten<T: Real>(stack: &Stack, flat: &[f64]) -> Vec<Weights<T>> {
    let mut at = 0;
    let mut take = |n: usize| {
        let v: Vec<T> = flat[at..at + n].iter().map(|&v| T::from_f64(v)).collect();
        at += n;
        v
    };
    (0..stack.units())
        .map(|u| {
            let rnn = stack.layer(u / stack.directions());
            Weights {
                w_ih: take(rnn.w_ih_len()),
                w_hh: take(rnn.w_hh_len()),
                b_ih: take(rnn.bias_len()),
                b_hh: take(rnn.bias_len()),
            }
        })
        .collect()
}

/// The Rust API's results in `T`, from the inputs converted to `T`.
fn run<T: Real>(stack: &Stack, dims: Dims<'_>, inputs: &Inputs) -> Results {
    let conv = |v: &[f64]| -> Vec<T> { v.iter().map(|&v| T::from_f64(v)).collect() };
    let back = |v: &[T]| -> Vec<f64> { v.iter().map(|v| v.to_f64()).collect() };
    let weights = unflatten::<T>(stack, &inputs.params);
    let (x, h0, c0) = (conv(&inputs.x), conv(&inputs.h0), conv(&inputs.c0));
    let trace = stack.forward_train(&weights, dims, &x, Some(&h0), Some(&c0), Parallelism::Sequential);
    let (output, h_n, c_n) = (back(&trace.output), back(&trace.h_n), back(trace.c_n.as_deref().expect("LSTM")));
    let (d_output, dh_n, dc_n) = (conv(&inputs.d_output), conv(&inputs.dh_n), conv(&inputs.dc_n));
    let grads = stack.backward_trace(
        &weights,
        trace,
        StackUpstream { d_output: Some(&d_output), dh_n: Some(&dh_n), dc_n: Some(&dc_n) },
        BackwardOpts { accumulate: false, truncate: None },
        Parallelism::Sequential,
    );
    let flat: Vec<f64> = grads.weights.iter().flat_map(|w| w.buffers().into_iter().flat_map(&back)).collect();
    Results {
        output,
        h_n,
        c_n,
        grads: flat,
        dx: back(&grads.dx),
        dh0: back(&grads.dh0),
        dc0: back(grads.dc0.as_deref().expect("LSTM")),
        step_norms: back(&grads.step_norms),
    }
}

fn array(out: &mut String, name: &str, v: &[f64]) {
    writeln!(out, "array {name} {}", v.len()).expect("a String");
    for row in v.chunks(8) {
        let hex: Vec<String> = row.iter().map(|v| format!("{:016x}", v.to_bits())).collect();
        writeln!(out, "{}", hex.join(" ")).expect("a String");
    }
}

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: rnnk-case FILE");
        std::process::exit(2)
    });
    let stack = Stack::new(Cell::Lstm, INPUT, HIDDEN, LAYERS, true);
    let dims = Dims::with_lengths(SEQ_LEN, &LENGTHS);
    let (t, b) = (SEQ_LEN, LENGTHS.len());
    let states = stack.units() * b * HIDDEN;
    let mut g = Gen(0x5eed_ca5e);
    let inputs = Inputs {
        params: g.vec(stack.num_params()),
        x: g.vec(t * b * INPUT),
        h0: g.vec(states),
        c0: g.vec(states),
        d_output: g.vec(t * b * stack.output_size()),
        dh_n: g.vec(states),
        dc_n: g.vec(states),
    };

    let mut out = String::new();
    writeln!(out, "rnnk-case 1").expect("a String");
    writeln!(out, "desc {CELL_CODE} 1 {INPUT} {HIDDEN} {LAYERS}").expect("a String");
    writeln!(out, "shape {t} {b}").expect("a String");
    let lens: Vec<String> = LENGTHS.iter().map(usize::to_string).collect();
    writeln!(out, "lengths {}", lens.join(" ")).expect("a String");
    let names = stack.param_names();
    writeln!(out, "names {} {}", names.len(), names.join(" ")).expect("a String");
    let mut offsets = Vec::new();
    let mut at = 0;
    for u in 0..stack.units() {
        let rnn = stack.layer(u / stack.directions());
        for n in [rnn.w_ih_len(), rnn.w_hh_len(), rnn.bias_len(), rnn.bias_len()] {
            offsets.push(at.to_string());
            at += n;
        }
    }
    writeln!(out, "offsets {} {}", offsets.len(), offsets.join(" ")).expect("a String");
    for (name, v) in [
        ("params", &inputs.params),
        ("x", &inputs.x),
        ("h0", &inputs.h0),
        ("c0", &inputs.c0),
        ("d_output", &inputs.d_output),
        ("dh_n", &inputs.dh_n),
        ("dc_n", &inputs.dc_n),
    ] {
        array(&mut out, name, v);
    }
    for (suffix, r) in [("", run::<f64>(&stack, dims, &inputs)), ("_f32", run::<f32>(&stack, dims, &inputs))] {
        for (name, v) in [
            ("output", &r.output),
            ("h_n", &r.h_n),
            ("c_n", &r.c_n),
            ("grads", &r.grads),
            ("dx", &r.dx),
            ("dh0", &r.dh0),
            ("dc0", &r.dc0),
            ("step_norms", &r.step_norms),
        ] {
            array(&mut out, &format!("{name}{suffix}"), v);
        }
    }
    writeln!(out, "end").expect("a String");
    if let Err(e) = std::fs::write(&path, out) {
        eprintln!("rnnk-case: cannot write {path}: {e}");
        std::process::exit(1);
    }
}

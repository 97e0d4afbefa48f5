//! A call of the C API with owned buffers (each optional, so that a test can
//! pass NULL), its random inputs, the layouts, and the Rust API's results
//! for the same inputs.

use kernels::{
    Activation, BackwardOpts, Cell, Dims, Parallelism, Real, Stack, StackBackwardOut, StackOut, StackSaved,
    StackUpstream, State,
};
use rnn_kernels::*;

/// What every output buffer holds before a call: a test that a call wrote
/// nothing compares the bits.
pub const CANARY: f64 = -12345.678;

/// A descriptor.
pub fn desc(cell: RnnkCell, input: usize, hidden: usize, layers: usize, bidirectional: bool) -> RnnkDesc {
    RnnkDesc {
        cell: cell as i32,
        bidirectional: i32::from(bidirectional),
        input_size: input,
        hidden_size: hidden,
        num_layers: layers,
        leaky_relu_slope: 0.1,
    }
}

/// The kernels' stack for a valid descriptor.
pub fn stack_of(d: &RnnkDesc) -> Stack {
    let cell = match d.cell {
        1 => Cell::Rnn(Activation::Tanh),
        2 => Cell::Rnn(Activation::Relu),
        3 => Cell::Rnn(Activation::Sigmoid),
        4 => Cell::Rnn(Activation::Linear),
        5 => Cell::Rnn(Activation::LeakyRelu(d.leaky_relu_slope)),
        6 => Cell::Lstm,
        7 => Cell::Gru,
        c => panic!("cell {c}"),
    };
    Stack::new(cell, d.input_size, d.hidden_size, d.num_layers, d.bidirectional == 1)
}

/// Every cell code.
pub const CELLS: [RnnkCell; 7] = [
    RnnkCell::RnnTanh,
    RnnkCell::RnnRelu,
    RnnkCell::RnnSigmoid,
    RnnkCell::RnnLinear,
    RnnkCell::RnnLeakyRelu,
    RnnkCell::Lstm,
    RnnkCell::Gru,
];

/// The calling thread's last error message.
pub fn last_error() -> String {
    // SAFETY: a NULL buffer of length 0, then a buffer of the length asked for.
    let n = unsafe { rnnk_last_error(core::ptr::null_mut(), 0) };
    let mut buf = vec![0u8; n];
    // SAFETY: `buf` holds `n` bytes.
    let m = unsafe { rnnk_last_error(buf.as_mut_ptr().cast(), n) };
    assert_eq!(m, n);
    assert_eq!(buf[n - 1], 0);
    String::from_utf8(buf[..n - 1].to_vec()).expect("UTF-8")
}

/// A deterministic generator of values in `[-0.5, 0.5)`.
pub struct Gen(pub u64);

impl Gen {
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    pub fn vec<T: Real>(&mut self, n: usize) -> Vec<T> {
        (0..n).map(|_| T::from_f64(self.next())).collect()
    }
}

/// How the sequences (`x`, `output`, `d_output`, `dx`) are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Time-major, contiguous: strides `B*F` and `F`.
    Dense,
    /// `[B, T, F]`: strides `F` and `T*F`.
    BatchFirst,
    /// Time-major rows of `F + 3` values and one unused row per step.
    Sliced,
}

/// A `[T, B, F]` sequence in a buffer with strides.
#[derive(Clone, Debug)]
pub struct SeqBuf<T> {
    pub data: Vec<T>,
    pub ts: usize,
    pub bs: usize,
    pub t: usize,
    pub b: usize,
    pub f: usize,
}

impl<T: Real> SeqBuf<T> {
    /// A buffer in `layout` filled with `fill`.
    pub fn new(layout: Layout, t: usize, b: usize, f: usize, fill: T) -> Self {
        let (ts, bs, len) = match layout {
            Layout::Dense => (b * f, f, t * b * f),
            Layout::BatchFirst => (f, t * f, t * b * f),
            Layout::Sliced => ((b + 1) * (f + 3), f + 3, t * (b + 1) * (f + 3)),
        };
        Self { data: vec![fill; len], ts, bs, t, b, f }
    }

    /// A buffer in `layout` holding the dense `[T, B, F]` values `v`.
    pub fn from_dense(layout: Layout, t: usize, b: usize, f: usize, v: &[T]) -> Self {
        let mut s = Self::new(layout, t, b, f, T::from_f64(CANARY));
        for tt in 0..t {
            for bb in 0..b {
                let at = tt * s.ts + bb * s.bs;
                s.data[at..at + f].copy_from_slice(&v[(tt * b + bb) * f..][..f]);
            }
        }
        s
    }

    /// The values as dense `[T, B, F]`.
    pub fn dense(&self) -> Vec<T> {
        let mut v = Vec::with_capacity(self.t * self.b * self.f);
        for tt in 0..self.t {
            for bb in 0..self.b {
                let at = tt * self.ts + bb * self.bs;
                v.extend_from_slice(&self.data[at..at + self.f]);
            }
        }
        v
    }
}

/// The bits of a buffer, to compare exactly.
pub fn bits<T: Real>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().to_bits()).collect()
}

/// Whether every value is still the canary.
pub fn untouched<T: Real>(v: &[T]) -> bool {
    // The canary as `T` (an `f32` one is `CANARY` rounded).
    let canary = T::from_f64(CANARY).to_f64().to_bits();
    v.iter().all(|x| x.to_f64().to_bits() == canary)
}

/// One forward and one backward call's arguments, owned.
#[derive(Clone, Debug)]
pub struct Call<T> {
    pub desc: RnnkDesc,
    pub seq_len: usize,
    pub batch: usize,
    pub lengths: Option<Vec<usize>>,
    pub params: Option<Vec<T>>,
    pub params_len: usize,
    pub x: Option<SeqBuf<T>>,
    pub h0: Option<Vec<T>>,
    pub c0: Option<Vec<T>>,
    pub output: Option<SeqBuf<T>>,
    pub h_n: Option<Vec<T>>,
    pub c_n: Option<Vec<T>>,
    pub tape: Option<Vec<T>>,
    pub tape_len: usize,
    pub fwd_scratch: Option<Vec<T>>,
    pub fwd_scratch_len: usize,
    pub d_output: Option<SeqBuf<T>>,
    pub dh_n: Option<Vec<T>>,
    pub dc_n: Option<Vec<T>>,
    pub grads: Option<Vec<T>>,
    pub dx: Option<SeqBuf<T>>,
    pub dh0: Option<Vec<T>>,
    pub dc0: Option<Vec<T>>,
    pub step_norms: Option<Vec<T>>,
    pub accumulate: i32,
    pub truncate: usize,
    pub bwd_scratch: Option<Vec<T>>,
    pub bwd_scratch_len: usize,
    pub threads: usize,
}

/// Queries a size through the C API (panicking on an error).
pub fn query(f: impl FnOnce(*mut usize) -> RnnkStatus) -> usize {
    let mut n = usize::MAX;
    let s = f(&mut n);
    assert_eq!(s, RnnkStatus::Ok, "{}", last_error());
    n
}

impl<T: Real> Call<T> {
    /// A call with random inputs (every optional input given, the LSTM's cell
    /// states only for the LSTM), every output wanted and filled with the
    /// canary, and workspaces of the sizes the C API asks for.
    pub fn new(d: RnnkDesc, seq_len: usize, lengths: &[usize], seed: u64, layout: Layout) -> Self {
        let stack = stack_of(&d);
        let batch = lengths.len();
        let (i, dh) = (d.input_size, stack.output_size());
        let states = stack.units() * batch * d.hidden_size;
        let lstm = stack.cell().has_cell_state();
        let lens = lengths.as_ptr();
        let strided = i32::from(layout != Layout::Dense);
        // SAFETY (the queries): valid pointers to a descriptor, `batch` lengths and the out value.
        let n_params = query(|n| unsafe { rnnk_num_params(&d, n) });
        let tape_len = query(|n| unsafe { rnnk_tape_len(&d, seq_len, batch, lens, n) });
        // SAFETY: as above.
        let fwd = query(|n| unsafe { rnnk_forward_scratch_len(&d, seq_len, batch, lens, 1, strided, n) });
        // SAFETY: as above.
        let bwd = query(|n| unsafe { rnnk_backward_scratch_len(&d, seq_len, batch, lens, strided, n) });
        let mut g = Gen(seed);
        let canary = T::from_f64(CANARY);
        let maybe = |want: bool, v: Vec<T>| want.then_some(v);
        Self {
            desc: d,
            seq_len,
            batch,
            lengths: Some(lengths.to_vec()),
            params: Some(g.vec(n_params)),
            params_len: n_params,
            x: Some(SeqBuf::from_dense(layout, seq_len, batch, i, &g.vec(seq_len * batch * i))),
            h0: Some(g.vec(states)),
            c0: maybe(lstm, g.vec(states)),
            output: Some(SeqBuf::new(layout, seq_len, batch, dh, canary)),
            h_n: Some(vec![canary; states]),
            c_n: maybe(lstm, vec![canary; states]),
            tape: Some(vec![canary; tape_len]),
            tape_len,
            fwd_scratch: Some(vec![canary; fwd]),
            fwd_scratch_len: fwd,
            d_output: Some(SeqBuf::from_dense(layout, seq_len, batch, dh, &g.vec(seq_len * batch * dh))),
            dh_n: Some(g.vec(states)),
            dc_n: maybe(lstm, g.vec(states)),
            grads: Some(vec![canary; n_params]),
            dx: Some(SeqBuf::new(layout, seq_len, batch, i, canary)),
            dh0: Some(vec![canary; states]),
            dc0: maybe(lstm, vec![canary; states]),
            step_norms: Some(vec![canary; stack.units() * seq_len]),
            accumulate: 0,
            truncate: 0,
            bwd_scratch: Some(vec![canary; bwd]),
            bwd_scratch_len: bwd,
            threads: 1,
        }
    }

    /// Every buffer a forward or backward writes, by name.
    pub fn outputs(&self) -> Vec<(&'static str, &[T])> {
        fn seq<T>(s: &Option<SeqBuf<T>>) -> Option<&[T]> {
            s.as_ref().map(|s| s.data.as_slice())
        }
        [
            ("output", seq(&self.output)),
            ("h_n", self.h_n.as_deref()),
            ("c_n", self.c_n.as_deref()),
            ("tape", self.tape.as_deref()),
            ("fwd_scratch", self.fwd_scratch.as_deref()),
            ("grads", self.grads.as_deref()),
            ("dx", seq(&self.dx)),
            ("dh0", self.dh0.as_deref()),
            ("dc0", self.dc0.as_deref()),
            ("step_norms", self.step_norms.as_deref()),
            ("bwd_scratch", self.bwd_scratch.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, b)| b.map(|b| (name, b)))
        .collect()
    }

    /// Panics unless every output buffer still holds only the canary.
    pub fn assert_untouched(&self, what: &str) {
        for (name, b) in self.outputs() {
            assert!(untouched(b), "{what}: `{name}` was written");
        }
    }

    /// The kernels' Rust API on the same inputs: (output, h_n, c_n) of a
    /// training forward, then (grads, dx, dh0, dc0, step_norms) of the
    /// backward, each dense; NULL inputs are zeros, NULL outputs not computed.
    pub fn expected(&self) -> Expected<T> {
        let stack = stack_of(&self.desc);
        let dims = match &self.lengths {
            Some(l) => Dims::with_lengths(self.seq_len, l),
            None => Dims::new(self.seq_len, self.batch),
        };
        let (tb, states) = (self.seq_len * self.batch, stack.units() * self.batch * self.desc.hidden_size);
        let flat = self.params.as_ref().expect("params");
        let params = stack.split_params(flat);
        let x = self.x.as_ref().expect("x").dense();
        let zeros = vec![T::ZERO; states];
        let h0 = self.h0.clone().unwrap_or_else(|| zeros.clone());
        let lstm = stack.cell().has_cell_state();
        let c0 = lstm.then(|| self.c0.clone().unwrap_or_else(|| zeros.clone()));
        let init = State { h: &h0, c: c0.as_deref() };
        let mut output = vec![T::ZERO; tb * stack.output_size()];
        let mut h_n = vec![T::ZERO; states];
        let mut c_n = lstm.then(|| vec![T::ZERO; states]);
        let mut tape = vec![T::ZERO; stack.tape_len(dims)];
        let mut scratch = vec![T::ZERO; stack.forward_scratch_len(dims, true)];
        let par = Parallelism::Sequential;
        let out = StackOut { output: &mut output, h_n: Some(&mut h_n), c_n: c_n.as_deref_mut(), tape: Some(&mut tape) };
        stack.forward(&params, dims, &x, init, out, &mut scratch, par);

        let mut grads = self.grads.clone();
        let mut dx = vec![T::ZERO; tb * self.desc.input_size];
        let mut dh0 = vec![T::ZERO; states];
        let mut dc0 = lstm.then(|| vec![T::ZERO; states]);
        let mut norms = vec![T::ZERO; stack.units() * self.seq_len];
        let d_output = self.d_output.as_ref().map(SeqBuf::dense);
        let mut scratch = vec![T::ZERO; stack.backward_scratch_len(dims)];
        {
            let mut views = grads.as_deref_mut().map(|g| stack.split_params_mut(g));
            stack.backward(
                &params,
                dims,
                StackSaved { x: &x, init, tape: &mut tape },
                StackUpstream { d_output: d_output.as_deref(), dh_n: self.dh_n.as_deref(), dc_n: self.dc_n.as_deref() },
                StackBackwardOut {
                    grads: views.as_deref_mut(),
                    dx: Some(&mut dx),
                    dh0: Some(&mut dh0),
                    dc0: dc0.as_deref_mut(),
                    step_norms: Some(&mut norms),
                },
                BackwardOpts {
                    accumulate: self.accumulate == 1,
                    truncate: (self.truncate > 0).then_some(self.truncate),
                },
                &mut scratch,
                par,
            );
        }
        Expected { output, h_n, c_n, grads, dx, dh0, dc0, step_norms: norms }
    }

    /// What the call computed, dense, in the layout of [`Expected`].
    pub fn got(&self) -> Expected<T> {
        Expected {
            output: self.output.as_ref().expect("output").dense(),
            h_n: self.h_n.clone().expect("h_n"),
            c_n: self.c_n.clone(),
            grads: self.grads.clone(),
            dx: self.dx.as_ref().expect("dx").dense(),
            dh0: self.dh0.clone().expect("dh0"),
            dc0: self.dc0.clone(),
            step_norms: self.step_norms.clone().expect("step_norms"),
        }
    }
}

/// A forward's and a backward's results, dense.
#[derive(Clone, Debug)]
pub struct Expected<T> {
    pub output: Vec<T>,
    pub h_n: Vec<T>,
    pub c_n: Option<Vec<T>>,
    pub grads: Option<Vec<T>>,
    pub dx: Vec<T>,
    pub dh0: Vec<T>,
    pub dc0: Option<Vec<T>>,
    pub step_norms: Vec<T>,
}

impl<T: Real> Expected<T> {
    /// Panics unless `other` holds the same bits everywhere.
    pub fn assert_bits_eq(&self, other: &Self, what: &str) {
        let opt = |v: &Option<Vec<T>>| v.as_deref().map(bits);
        assert_eq!(bits(&self.output), bits(&other.output), "{what}: output");
        assert_eq!(bits(&self.h_n), bits(&other.h_n), "{what}: h_n");
        assert_eq!(opt(&self.c_n), opt(&other.c_n), "{what}: c_n");
        assert_eq!(opt(&self.grads), opt(&other.grads), "{what}: grads");
        assert_eq!(bits(&self.dx), bits(&other.dx), "{what}: dx");
        assert_eq!(bits(&self.dh0), bits(&other.dh0), "{what}: dh0");
        assert_eq!(opt(&self.dc0), opt(&other.dc0), "{what}: dc0");
        assert_eq!(bits(&self.step_norms), bits(&other.step_norms), "{what}: step_norms");
    }
}

/// `Option<&[T]>` as a pointer, NULL for `None`.
pub fn ptr<T>(v: Option<&[T]>) -> *const T {
    v.map_or(core::ptr::null(), <[T]>::as_ptr)
}

/// `Option<&mut [T]>` as a pointer, NULL for `None`.
pub fn ptr_mut<T>(v: Option<&mut [T]>) -> *mut T {
    v.map_or(core::ptr::null_mut(), <[T]>::as_mut_ptr)
}

/// The C API's forward and backward in one element type.
pub trait Api: Real {
    /// `rnnk_forward_*` on the call's buffers (`training`: with the tape).
    fn forward(c: &mut Call<Self>, training: bool) -> RnnkStatus;
    /// `rnnk_backward_*` on the call's buffers.
    fn backward(c: &mut Call<Self>) -> RnnkStatus;
}

macro_rules! api {
    ($t:ty, $forward:ident, $backward:ident) => {
        impl Api for $t {
            fn forward(c: &mut Call<$t>, training: bool) -> RnnkStatus {
                let (x, xts, xbs) = c.x.as_ref().map_or((core::ptr::null(), 0, 0), |s| (s.data.as_ptr(), s.ts, s.bs));
                let (o, ots, obs) =
                    c.output.as_mut().map_or((core::ptr::null_mut(), 0, 0), |s| (s.data.as_mut_ptr(), s.ts, s.bs));
                let tape = if training { ptr_mut(c.tape.as_deref_mut()) } else { core::ptr::null_mut() };
                // SAFETY: every pointer is NULL or owns the elements the shape says (or
                // deliberately not, in the error tests, where the call must refuse first).
                unsafe {
                    $forward(
                        &c.desc,
                        c.seq_len,
                        c.batch,
                        ptr(c.lengths.as_deref()),
                        ptr(c.params.as_deref()),
                        c.params_len,
                        x,
                        xts,
                        xbs,
                        ptr(c.h0.as_deref()),
                        ptr(c.c0.as_deref()),
                        o,
                        ots,
                        obs,
                        ptr_mut(c.h_n.as_deref_mut()),
                        ptr_mut(c.c_n.as_deref_mut()),
                        tape,
                        if training { c.tape_len } else { 0 },
                        ptr_mut(c.fwd_scratch.as_deref_mut()),
                        c.fwd_scratch_len,
                        c.threads,
                    )
                }
            }

            fn backward(c: &mut Call<$t>) -> RnnkStatus {
                let (x, xts, xbs) = c.x.as_ref().map_or((core::ptr::null(), 0, 0), |s| (s.data.as_ptr(), s.ts, s.bs));
                let (g, gts, gbs) =
                    c.d_output.as_ref().map_or((core::ptr::null(), 0, 0), |s| (s.data.as_ptr(), s.ts, s.bs));
                let (dx, dts, dbs) =
                    c.dx.as_mut().map_or((core::ptr::null_mut(), 0, 0), |s| (s.data.as_mut_ptr(), s.ts, s.bs));
                // SAFETY: as in `forward`.
                unsafe {
                    $backward(
                        &c.desc,
                        c.seq_len,
                        c.batch,
                        ptr(c.lengths.as_deref()),
                        ptr(c.params.as_deref()),
                        c.params_len,
                        x,
                        xts,
                        xbs,
                        ptr(c.h0.as_deref()),
                        ptr(c.c0.as_deref()),
                        ptr_mut(c.tape.as_deref_mut()),
                        c.tape_len,
                        g,
                        gts,
                        gbs,
                        ptr(c.dh_n.as_deref()),
                        ptr(c.dc_n.as_deref()),
                        ptr_mut(c.grads.as_deref_mut()),
                        dx,
                        dts,
                        dbs,
                        ptr_mut(c.dh0.as_deref_mut()),
                        ptr_mut(c.dc0.as_deref_mut()),
                        ptr_mut(c.step_norms.as_deref_mut()),
                        c.accumulate,
                        c.truncate,
                        ptr_mut(c.bwd_scratch.as_deref_mut()),
                        c.bwd_scratch_len,
                        c.threads,
                    )
                }
            }
        }
    };
}

api!(f32, rnnk_forward_f32, rnnk_backward_f32);
api!(f64, rnnk_forward_f64, rnnk_backward_f64);

/// Runs a training forward and the backward, panicking on an error.
pub fn run<T: Api>(c: &mut Call<T>) {
    assert_eq!(T::forward(c, true), RnnkStatus::Ok, "{}", last_error());
    assert_eq!(T::backward(c), RnnkStatus::Ok, "{}", last_error());
}

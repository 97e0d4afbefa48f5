//! `rnn_kernels._native`: the kernels' [`kernels::Stack`] for Python.
//!
//! Arrays cross as flat, C-contiguous numpy arrays (`torch.Tensor.numpy()`
//! views and `torch.from_numpy` of the results, so no copy on either side);
//! the Python package (`rnn_kernels/`) reshapes them and wraps them in a
//! `torch.autograd.Function`. Every call checks its arguments with the
//! kernels' own `check_forward`/`check_backward` (a `ValueError` naming the
//! argument) and then runs with the GIL released.

use std::sync::{Arc, Mutex};

use kernels::{
    Activation, BackwardOpts, Cell, Dims, Parallelism, Params, ParamsMut, Real, ShapeError, StackBackwardOut, StackOut,
    StackSaved, StackUpstream, State,
};
use numpy::{Element, PyArray1, PyReadonlyArray1, PyReadwriteArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A stack's shape: `kernels::Stack` (cell, sizes, layers, directions).
#[pyclass(frozen, module = "rnn_kernels._native")]
struct Stack {
    inner: kernels::Stack,
}

/// A flat array's contents, or a `ValueError` naming it.
fn slice<'a, T: Element>(name: &str, a: &'a PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    a.as_slice().map_err(|_| PyValueError::new_err(format!("`{name}` must be C-contiguous")))
}

fn shape_err(e: ShapeError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The `L*D` parameter sets from the `4*L*D` flat arrays in `Stack::param_names` order.
fn param_sets<'a, T: Element>(params: &'a [PyReadonlyArray1<'_, T>]) -> PyResult<Vec<Params<'a, T>>> {
    if !params.len().is_multiple_of(4) {
        return Err(PyValueError::new_err(format!("`params` has {} arrays, expected 4*L*D", params.len())));
    }
    params
        .chunks(4)
        .map(|p| {
            Ok(Params {
                w_ih: slice("params", &p[0])?,
                w_hh: slice("params", &p[1])?,
                b_ih: slice("params", &p[2])?,
                b_hh: slice("params", &p[3])?,
            })
        })
        .collect()
}

/// A rayon pool of `n` threads, built once per `n` and kept.
fn pool(n: usize) -> PyResult<Arc<rayon::ThreadPool>> {
    static POOLS: Mutex<Vec<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(Vec::new());
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = pools.iter().find(|(k, _)| *k == n) {
        return Ok(Arc::clone(p));
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("rnn-kernels-{i}"))
        .build()
        .map_err(|e| PyValueError::new_err(format!("cannot start {n} threads: {e}")))?;
    let p = Arc::new(p);
    pools.push((n, Arc::clone(&p)));
    Ok(p)
}

/// Runs `f` on `threads` threads (on the calling thread when 1), without the GIL.
fn run<R: Send>(py: Python<'_>, threads: usize, f: impl FnOnce(Parallelism) -> R + Send) -> PyResult<R> {
    if threads == 0 {
        return Err(PyValueError::new_err("`threads` must be >= 1"));
    }
    if threads == 1 {
        return Ok(py.detach(|| f(Parallelism::Sequential)));
    }
    let p = pool(threads)?;
    Ok(py.detach(|| p.install(|| f(Parallelism::Rayon(threads)))))
}

/// The row lengths as `Dims`, or every row `seq_len` steps.
fn dims<'a>(seq_len: usize, batch: usize, lengths: &'a Option<Vec<usize>>) -> PyResult<Dims<'a>> {
    match lengths {
        Some(l) if l.len() != batch => {
            Err(PyValueError::new_err(format!("`lengths` has {} entries, expected B = {batch}", l.len())))
        }
        Some(l) => Ok(Dims::with_lengths(seq_len, l)),
        None => Ok(Dims::new(seq_len, batch)),
    }
}

type Forward<'py, T> = (
    Bound<'py, PyArray1<T>>,
    Bound<'py, PyArray1<T>>,
    Option<Bound<'py, PyArray1<T>>>,
    Option<Bound<'py, PyArray1<T>>>,
);

type Backward<'py, T> = (
    Vec<Bound<'py, PyArray1<T>>>,
    Option<Bound<'py, PyArray1<T>>>,
    Bound<'py, PyArray1<T>>,
    Option<Bound<'py, PyArray1<T>>>,
);

/// The arguments both passes share: parameters, input, initial states and shape.
struct Inputs<'a, 'py, T: Element> {
    params: &'a [PyReadonlyArray1<'py, T>],
    x: &'a PyReadonlyArray1<'py, T>,
    h0: &'a Option<PyReadonlyArray1<'py, T>>,
    c0: &'a Option<PyReadonlyArray1<'py, T>>,
    seq_len: usize,
    batch: usize,
    lengths: &'a Option<Vec<usize>>,
}

impl<'a, T: Element + Real> Inputs<'a, '_, T> {
    /// The parameter sets, `x`, and the initial states (`zeros` where not given).
    #[allow(clippy::type_complexity)]
    fn views(&self, stack: &kernels::Stack, zeros: &'a [T]) -> PyResult<(Vec<Params<'a, T>>, &'a [T], State<'a, T>)> {
        let params = param_sets(self.params)?;
        let x = slice("x", self.x)?;
        let h = match self.h0 {
            Some(h) => slice("h0", h)?,
            None => zeros,
        };
        let c = match self.c0 {
            Some(c) if stack.cell().has_cell_state() => Some(slice("c0", c)?),
            Some(_) => return Err(PyValueError::new_err("`c0` is given for a cell without cell state (LSTM only)")),
            None => stack.cell().has_cell_state().then_some(zeros),
        };
        Ok((params, x, State { h, c }))
    }
}

impl Stack {
    fn state_len(&self, batch: usize) -> usize {
        self.inner.units() * batch * self.inner.hidden_size()
    }

    fn forward<'py, T: Element + Real>(
        &self,
        py: Python<'py>,
        inp: Inputs<'_, 'py, T>,
        threads: usize,
        training: bool,
    ) -> PyResult<Forward<'py, T>> {
        let stack = self.inner;
        let dims = dims(inp.seq_len, inp.batch, inp.lengths)?;
        let n = self.state_len(inp.batch);
        let zeros = vec![T::ZERO; if inp.h0.is_none() || inp.c0.is_none() { n } else { 0 }];
        let (params, x, init) = inp.views(&stack, &zeros)?;
        let tb = dims.seq_len * dims.batch;
        let lstm = stack.cell().has_cell_state();
        let mut output = vec![T::ZERO; tb * stack.output_size()];
        let mut h_n = vec![T::ZERO; n];
        let mut c_n = lstm.then(|| vec![T::ZERO; n]);
        let mut tape = training.then(|| vec![T::ZERO; stack.tape_len(dims)]);
        let mut scratch = vec![T::ZERO; stack.forward_scratch_len(dims, training)];
        let out =
            StackOut { output: &mut output, h_n: Some(&mut h_n), c_n: c_n.as_deref_mut(), tape: tape.as_deref_mut() };
        stack.check_forward(&params, dims, x, &init, &out, &scratch).map_err(shape_err)?;
        run(py, threads, |par| stack.forward(&params, dims, x, init, out, &mut scratch, par))?;
        Ok((
            PyArray1::from_vec(py, output),
            PyArray1::from_vec(py, h_n),
            c_n.map(|c| PyArray1::from_vec(py, c)),
            tape.map(|t| PyArray1::from_vec(py, t)),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn backward<'py, T: Element + Real>(
        &self,
        py: Python<'py>,
        inp: Inputs<'_, 'py, T>,
        mut tape: PyReadwriteArray1<'py, T>,
        d_output: Option<PyReadonlyArray1<'py, T>>,
        dh_n: Option<PyReadonlyArray1<'py, T>>,
        dc_n: Option<PyReadonlyArray1<'py, T>>,
        want_dx: bool,
        threads: usize,
    ) -> PyResult<Backward<'py, T>> {
        let stack = self.inner;
        let dims = dims(inp.seq_len, inp.batch, inp.lengths)?;
        let n = self.state_len(inp.batch);
        let zeros = vec![T::ZERO; if inp.h0.is_none() || inp.c0.is_none() { n } else { 0 }];
        let (params, x, init) = inp.views(&stack, &zeros)?;
        let tape = tape.as_slice_mut().map_err(|_| PyValueError::new_err("`tape` must be C-contiguous"))?;
        let upstream = StackUpstream {
            d_output: d_output.as_ref().map(|g| slice("d_output", g)).transpose()?,
            dh_n: dh_n.as_ref().map(|g| slice("dh_n", g)).transpose()?,
            dc_n: dc_n.as_ref().map(|g| slice("dc_n", g)).transpose()?,
        };
        let lstm = stack.cell().has_cell_state();
        let mut grads: Vec<Vec<T>> = params
            .iter()
            .flat_map(|p| [p.w_ih.len(), p.w_hh.len(), p.b_ih.len(), p.b_hh.len()])
            .map(|len| vec![T::ZERO; len])
            .collect();
        let mut dx = want_dx.then(|| vec![T::ZERO; x.len()]);
        let mut dh0 = vec![T::ZERO; n];
        let mut dc0 = lstm.then(|| vec![T::ZERO; n]);
        let mut scratch = vec![T::ZERO; stack.backward_scratch_len(dims)];
        {
            let mut views: Vec<ParamsMut<'_, T>> = grads
                .chunks_mut(4)
                .map(|g| {
                    let [w_ih, w_hh, b_ih, b_hh] = g else { unreachable!("chunks of 4") };
                    ParamsMut { w_ih, w_hh, b_ih, b_hh }
                })
                .collect();
            let saved = StackSaved { x, init, tape };
            let opts = BackwardOpts { accumulate: false, truncate: None };
            let out = StackBackwardOut {
                grads: Some(&mut views),
                dx: dx.as_deref_mut(),
                dh0: Some(&mut dh0),
                dc0: dc0.as_deref_mut(),
                step_norms: None,
            };
            stack.check_backward(&params, dims, &saved, &upstream, &out, &opts, &scratch).map_err(shape_err)?;
            run(py, threads, |par| stack.backward(&params, dims, saved, upstream, out, opts, &mut scratch, par))?;
        }
        Ok((
            grads.into_iter().map(|g| PyArray1::from_vec(py, g)).collect(),
            dx.map(|d| PyArray1::from_vec(py, d)),
            PyArray1::from_vec(py, dh0),
            dc0.map(|d| PyArray1::from_vec(py, d)),
        ))
    }
}

/// The thin, dtype-specific entry points: Python picks one by the tensors' dtype.
#[pymethods]
impl Stack {
    /// `mode`: `RNN_TANH`, `RNN_RELU`, `LSTM` or `GRU` (`torch.nn.RNNBase.mode`).
    #[new]
    fn new(
        mode: &str,
        input_size: usize,
        hidden_size: usize,
        num_layers: usize,
        bidirectional: bool,
    ) -> PyResult<Self> {
        let cell = match mode {
            "RNN_TANH" => Cell::Rnn(Activation::Tanh),
            "RNN_RELU" => Cell::Rnn(Activation::Relu),
            "LSTM" => Cell::Lstm,
            "GRU" => Cell::Gru,
            _ => return Err(PyValueError::new_err(format!("unknown mode {mode:?}"))),
        };
        for (name, v) in [("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)] {
            if v == 0 {
                return Err(PyValueError::new_err(format!("`{name}` must be >= 1")));
            }
        }
        Ok(Self { inner: kernels::Stack::new(cell, input_size, hidden_size, num_layers, bidirectional) })
    }

    /// PyTorch's parameter names, in the order `params` takes them.
    fn param_names(&self) -> Vec<String> {
        self.inner.param_names()
    }

    /// Forward over `x` (`[T, B, I]`, flat): `(output, h_n, c_n, tape)`, flat;
    /// `c_n` is `None` but for the LSTM, `tape` unless `training`.
    #[pyo3(signature = (params, x, seq_len, batch, h0=None, c0=None, lengths=None, threads=1, training=false))]
    #[allow(clippy::too_many_arguments)]
    fn forward_f32<'py>(
        &self,
        py: Python<'py>,
        params: Vec<PyReadonlyArray1<'py, f32>>,
        x: PyReadonlyArray1<'py, f32>,
        seq_len: usize,
        batch: usize,
        h0: Option<PyReadonlyArray1<'py, f32>>,
        c0: Option<PyReadonlyArray1<'py, f32>>,
        lengths: Option<Vec<usize>>,
        threads: usize,
        training: bool,
    ) -> PyResult<Forward<'py, f32>> {
        let inp = Inputs { params: &params, x: &x, h0: &h0, c0: &c0, seq_len, batch, lengths: &lengths };
        self.forward(py, inp, threads, training)
    }

    /// [`Stack::forward_f32`] in `f64`.
    #[pyo3(signature = (params, x, seq_len, batch, h0=None, c0=None, lengths=None, threads=1, training=false))]
    #[allow(clippy::too_many_arguments)]
    fn forward_f64<'py>(
        &self,
        py: Python<'py>,
        params: Vec<PyReadonlyArray1<'py, f64>>,
        x: PyReadonlyArray1<'py, f64>,
        seq_len: usize,
        batch: usize,
        h0: Option<PyReadonlyArray1<'py, f64>>,
        c0: Option<PyReadonlyArray1<'py, f64>>,
        lengths: Option<Vec<usize>>,
        threads: usize,
        training: bool,
    ) -> PyResult<Forward<'py, f64>> {
        let inp = Inputs { params: &params, x: &x, h0: &h0, c0: &c0, seq_len, batch, lengths: &lengths };
        self.forward(py, inp, threads, training)
    }

    /// BPTT over the `tape` of a training forward with the same arguments
    /// (the tape is overwritten): `(grads, dx, dh0, dc0)`, flat, `grads` in
    /// `params` order, `dx` only if `want_dx`, `dc0` only for the LSTM.
    #[pyo3(signature = (params, x, seq_len, batch, tape, h0=None, c0=None, lengths=None,
                        d_output=None, dh_n=None, dc_n=None, want_dx=true, threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn backward_f32<'py>(
        &self,
        py: Python<'py>,
        params: Vec<PyReadonlyArray1<'py, f32>>,
        x: PyReadonlyArray1<'py, f32>,
        seq_len: usize,
        batch: usize,
        tape: PyReadwriteArray1<'py, f32>,
        h0: Option<PyReadonlyArray1<'py, f32>>,
        c0: Option<PyReadonlyArray1<'py, f32>>,
        lengths: Option<Vec<usize>>,
        d_output: Option<PyReadonlyArray1<'py, f32>>,
        dh_n: Option<PyReadonlyArray1<'py, f32>>,
        dc_n: Option<PyReadonlyArray1<'py, f32>>,
        want_dx: bool,
        threads: usize,
    ) -> PyResult<Backward<'py, f32>> {
        let inp = Inputs { params: &params, x: &x, h0: &h0, c0: &c0, seq_len, batch, lengths: &lengths };
        self.backward(py, inp, tape, d_output, dh_n, dc_n, want_dx, threads)
    }

    /// [`Stack::backward_f32`] in `f64`.
    #[pyo3(signature = (params, x, seq_len, batch, tape, h0=None, c0=None, lengths=None,
                        d_output=None, dh_n=None, dc_n=None, want_dx=true, threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn backward_f64<'py>(
        &self,
        py: Python<'py>,
        params: Vec<PyReadonlyArray1<'py, f64>>,
        x: PyReadonlyArray1<'py, f64>,
        seq_len: usize,
        batch: usize,
        tape: PyReadwriteArray1<'py, f64>,
        h0: Option<PyReadonlyArray1<'py, f64>>,
        c0: Option<PyReadonlyArray1<'py, f64>>,
        lengths: Option<Vec<usize>>,
        d_output: Option<PyReadonlyArray1<'py, f64>>,
        dh_n: Option<PyReadonlyArray1<'py, f64>>,
        dc_n: Option<PyReadonlyArray1<'py, f64>>,
        want_dx: bool,
        threads: usize,
    ) -> PyResult<Backward<'py, f64>> {
        let inp = Inputs { params: &params, x: &x, h0: &h0, c0: &c0, seq_len, batch, lengths: &lengths };
        self.backward(py, inp, tape, d_output, dh_n, dc_n, want_dx, threads)
    }

    fn __repr__(&self) -> String {
        let s = &self.inner;
        format!(
            "Stack({}, input_size={}, hidden_size={}, num_layers={}, bidirectional={})",
            s.cell().name(),
            s.input_size(),
            s.hidden_size(),
            s.num_layers(),
            s.bidirectional()
        )
    }
}

/// The instruction set the kernels run at on this machine (`scalar`, `avx2`, `avx512`, `neon`).
#[pyfunction]
fn simd_level() -> &'static str {
    kernels::simd::level().name()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Stack>()?;
    m.add_function(wrap_pyfunction!(simd_level, m)?)?;
    Ok(())
}

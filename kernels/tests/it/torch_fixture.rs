//! Values from PyTorch itself: `torch.nn.RNN` (tanh, relu), `LSTM` and `GRU`
//! with `num_layers = 2`, `bidirectional = True`, on a packed batch of unequal
//! lengths, in f64 (`tests/fixtures/torch_stack.json`, written by
//! `tests/fixtures/make_torch_fixture.py`). Every output and every gradient
//! must match to 1e-10.

use crate::common::assert_close;
use kernels::{Activation, BackwardOpts, Cell, Dims, Parallelism, Stack, StackUpstream, Weights};
use serde_json::Value;

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("an array").iter().map(|x| x.as_f64().expect("a number")).collect()
}

#[test]
fn stacked_bidirectional_packed_batches_match_pytorch() {
    let text = include_str!("../fixtures/torch_stack.json");
    let data: Value = serde_json::from_str(text).expect("valid JSON");
    let n = |k: &str| data[k].as_u64().expect("a size") as usize;
    let (t, i, h, layers) = (n("T"), n("I"), n("H"), n("num_layers"));
    let lengths: Vec<usize> =
        data["lengths"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let dims = Dims::with_lengths(t, &lengths);
    let cases = data["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 4);
    for case in cases {
        let name = case["cell"].as_str().unwrap();
        let cell = match name {
            "rnn_tanh" => Cell::Rnn(Activation::Tanh),
            "rnn_relu" => Cell::Rnn(Activation::Relu),
            "lstm" => Cell::Lstm,
            "gru" => Cell::Gru,
            other => panic!("unknown cell {other}"),
        };
        let stack = Stack::new(cell, i, h, layers, true);
        let names = stack.param_names();
        let mut w: Vec<Weights<f64>> = Weights::zeros_for(&stack);
        for (k, name) in names.iter().enumerate() {
            let v = floats(&case["params"][name]);
            let buf = &mut w[k / 4].buffers_mut()[k % 4];
            assert_eq!(v.len(), buf.len(), "{name}: size");
            buf.copy_from_slice(&v);
        }
        let x = floats(&case["x"]);
        let h0 = floats(&case["h0"]);
        let c0 = case.get("c0").map(floats);
        for par in [Parallelism::Sequential, Parallelism::Rayon(2)] {
            let what = |k: &str| format!("{name} {par:?}: {k}");
            let trace = stack.forward_train(&w, dims, &x, Some(&h0), c0.as_deref(), par);
            assert_close(&what("output"), &trace.output, &floats(&case["output"]), 1e-10);
            assert_close(&what("h_n"), &trace.h_n, &floats(&case["h_n"]), 1e-10);
            if let Some(c_n) = &trace.c_n {
                assert_close(&what("c_n"), c_n, &floats(&case["c_n"]), 1e-10);
            }
            let (a, b, c) = (floats(&case["a"]), floats(&case["b"]), case.get("c").map(floats));
            let up = StackUpstream { d_output: Some(&a), dh_n: Some(&b), dc_n: c.as_deref() };
            let g = stack.backward_trace(&w, trace, up, BackwardOpts::default(), par);
            for (k, name) in names.iter().enumerate() {
                assert_close(&what(name), g.weights[k / 4].buffers()[k % 4], &floats(&case["grads"][name]), 1e-10);
            }
            assert_close(&what("dx"), &g.dx, &floats(&case["dx"]), 1e-10);
            assert_close(&what("dh0"), &g.dh0, &floats(&case["dh0"]), 1e-10);
            if let Some(dc0) = &g.dc0 {
                assert_close(&what("dc0"), dc0, &floats(&case["dc0"]), 1e-10);
            }
        }
    }
}

// The C API from C++ (the header's extern "C" guards): the case of
// capi/tests/c/capi_test.c, run three ways and compared with the Rust API's
// results: in double on a sliced layout (x a view into wider rows, output
// into a batch with an extra row) on rayon's whole pool (threads = 0), with
// the gradients accumulated onto a first backward's; and in float, densely,
// against the Rust API's float results.
//
//   capi_test_cpp CASE_FILE
//
// Exits 1 on any mismatch (double: 1e-12, relative above 1; float: 1e-5).
#include "rnn_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Case {
    RnnkDesc desc{};
    size_t T = 0, B = 0;
    std::vector<size_t> lengths;
    std::map<std::string, std::vector<double>> arrays;

    const std::vector<double>& get(const std::string& name, size_t n) const {
        auto it = arrays.find(name);
        if (it == arrays.end()) throw std::runtime_error("no array " + name);
        if (it->second.size() != n) throw std::runtime_error("array " + name + " has the wrong size");
        return it->second;
    }
};

Case read_case(const char* path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open the case file");
    Case c;
    std::string tok;
    int version = 0;
    in >> tok >> version;
    if (tok != "rnnk-case" || version != 1) throw std::runtime_error("not a version 1 case file");
    while (in >> tok) {
        if (tok == "end") return c;
        if (tok == "desc") {
            in >> c.desc.cell >> c.desc.bidirectional >> c.desc.input_size >> c.desc.hidden_size >> c.desc.num_layers;
        } else if (tok == "shape") {
            in >> c.T >> c.B;
        } else if (tok == "lengths") {
            c.lengths.resize(c.B);
            for (auto& l : c.lengths) in >> l;
        } else if (tok == "names" || tok == "offsets") {
            size_t n = 0;
            in >> n;
            for (size_t i = 0; i < n; i++) in >> tok;
        } else if (tok == "array") {
            std::string name;
            size_t n = 0;
            in >> name >> n;
            std::vector<double> v(n);
            for (auto& x : v) {
                in >> tok;
                uint64_t bits = std::stoull(tok, nullptr, 16);
                std::memcpy(&x, &bits, sizeof bits);
            }
            c.arrays[name] = std::move(v);
        } else {
            throw std::runtime_error("unknown line " + tok);
        }
        if (!in) throw std::runtime_error("malformed case file");
    }
    throw std::runtime_error("case file without end");
}

int failures = 0;

template <typename T>
void compare(const std::string& what, const std::vector<T>& got, const std::vector<double>& want, double tol) {
    size_t bad = 0;
    for (size_t i = 0; i < want.size(); i++) {
        double g = static_cast<double>(got.at(i));
        if (!(std::fabs(g - want[i]) <= tol * std::max(1.0, std::fabs(want[i])))) {
            if (bad < 3) std::fprintf(stderr, "  %s[%zu]: got %.17g, want %.17g\n", what.c_str(), i, g, want[i]);
            bad++;
        }
    }
    if (bad || got.size() != want.size()) {
        std::fprintf(stderr, "MISMATCH %s: %zu of %zu values\n", what.c_str(), bad, want.size());
        failures++;
    } else {
        std::printf("ok   %s (%zu values)\n", what.c_str(), want.size());
    }
}

void ok(RnnkStatus s, const char* call) {
    if (s != RNNK_STATUS_OK) {
        std::vector<char> msg(rnnk_last_error(nullptr, 0));
        rnnk_last_error(msg.data(), msg.size());
        throw std::runtime_error(std::string(call) + ": " + rnnk_status_name(s) + ": " + msg.data());
    }
}

// The f32 or f64 entry points.
template <typename T> struct Api;
template <> struct Api<float> {
    static constexpr auto forward = rnnk_forward_f32;
    static constexpr auto backward = rnnk_backward_f32;
};
template <> struct Api<double> {
    static constexpr auto forward = rnnk_forward_f64;
    static constexpr auto backward = rnnk_backward_f64;
};

// A [T, B, F] sequence stored with a time and a batch stride inside `data`.
template <typename T> struct Seq {
    std::vector<T> data;
    size_t ts, bs, F;
    T& at(size_t t, size_t b, size_t f) { return data[t * ts + b * bs + f]; }
};

// Time-major with `pad` unused values after each row and `extra_rows` unused
// rows after each step: a view into a larger tensor, neither dense nor batch-first.
template <typename T> Seq<T> sliced(size_t Tn, size_t B, size_t F, size_t pad, size_t extra_rows) {
    Seq<T> s;
    s.F = F;
    s.bs = F + pad;
    s.ts = (B + extra_rows) * s.bs;
    s.data.assign(Tn * s.ts, T(-3));
    return s;
}

template <typename T>
void run(const Case& c, bool strided, size_t threads, bool accumulate_twice, double tol, const std::string& suffix) {
    const RnnkDesc& d = c.desc;
    const size_t Tn = c.T, B = c.B, I = d.input_size, H = d.hidden_size, D = d.bidirectional ? 2 : 1;
    const size_t DH = D * H, S = d.num_layers * D * B * H;
    size_t n_params = 0, tape_len = 0, fwd_len = 0, bwd_len = 0;
    ok(rnnk_num_params(&d, &n_params), "rnnk_num_params");
    ok(rnnk_tape_len(&d, Tn, B, c.lengths.data(), &tape_len), "rnnk_tape_len");
    ok(rnnk_forward_scratch_len(&d, Tn, B, c.lengths.data(), 1, strided, &fwd_len), "rnnk_forward_scratch_len");
    ok(rnnk_backward_scratch_len(&d, Tn, B, c.lengths.data(), strided, &bwd_len), "rnnk_backward_scratch_len");

    auto conv = [](const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); };
    auto params = conv(c.get("params", n_params));
    auto h0 = conv(c.get("h0", S)), c0 = conv(c.get("c0", S));
    auto dh_n = conv(c.get("dh_n", S)), dc_n = conv(c.get("dc_n", S));
    const auto& x_tm = c.get("x", Tn * B * I);
    const auto& dout_tm = c.get("d_output", Tn * B * DH);

    auto x = strided ? sliced<T>(Tn, B, I, 2, 0) : sliced<T>(Tn, B, I, 0, 0);
    auto d_out = strided ? sliced<T>(Tn, B, DH, 0, 1) : sliced<T>(Tn, B, DH, 0, 0);
    auto output = strided ? sliced<T>(Tn, B, DH, 0, 1) : sliced<T>(Tn, B, DH, 0, 0);
    auto dx = strided ? sliced<T>(Tn, B, I, 1, 1) : sliced<T>(Tn, B, I, 0, 0);
    for (size_t t = 0; t < Tn; t++)
        for (size_t b = 0; b < B; b++) {
            for (size_t f = 0; f < I; f++) x.at(t, b, f) = T(x_tm[(t * B + b) * I + f]);
            for (size_t f = 0; f < DH; f++) d_out.at(t, b, f) = T(dout_tm[(t * B + b) * DH + f]);
        }
    std::vector<T> h_n(S), c_n(S), tape(tape_len), scratch(std::max(fwd_len, bwd_len));
    std::vector<T> grads(n_params, T(0)), dh0(S), dc0(S), norms(d.num_layers * D * Tn);
    const size_t* lens = c.lengths.data();
    for (int pass = 0; pass < (accumulate_twice ? 2 : 1); pass++) {
        ok(Api<T>::forward(&d, Tn, B, lens, params.data(), n_params, x.data.data(), x.ts, x.bs, h0.data(),
                           c0.data(), output.data.data(), output.ts, output.bs, h_n.data(), c_n.data(),
                           tape.data(), tape_len, scratch.data(), fwd_len, threads),
           "forward");
        ok(Api<T>::backward(&d, Tn, B, lens, params.data(), n_params, x.data.data(), x.ts, x.bs, h0.data(),
                            c0.data(), tape.data(), tape_len, d_out.data.data(), d_out.ts, d_out.bs, dh_n.data(),
                            dc_n.data(), grads.data(), dx.data.data(), dx.ts, dx.bs, dh0.data(), dc0.data(),
                            norms.data(), pass > 0 ? 1 : 0, 0, scratch.data(), bwd_len, threads),
           "backward");
    }

    std::string how = std::string(strided ? "sliced" : "dense") + ", threads " + std::to_string(threads) +
                      (accumulate_twice ? ", accumulated twice" : "") + ")";
    auto dense = [&](Seq<T>& s) {
        std::vector<T> v(Tn * B * s.F);
        for (size_t t = 0; t < Tn; t++)
            for (size_t b = 0; b < B; b++)
                for (size_t f = 0; f < s.F; f++) v[(t * B + b) * s.F + f] = s.at(t, b, f);
        return v;
    };
    compare("output" + suffix + " (" + how, dense(output), c.get("output" + suffix, Tn * B * DH), tol);
    compare("h_n" + suffix + " (" + how, h_n, c.get("h_n" + suffix, S), tol);
    compare("c_n" + suffix + " (" + how, c_n, c.get("c_n" + suffix, S), tol);
    std::vector<double> want_grads = c.get("grads" + suffix, n_params);
    if (accumulate_twice)
        for (auto& g : want_grads) g *= 2;
    compare("grads" + suffix + " (" + how, grads, want_grads, tol);
    compare("dx" + suffix + " (" + how, dense(dx), c.get("dx" + suffix, Tn * B * I), tol);
    compare("dh0" + suffix + " (" + how, dh0, c.get("dh0" + suffix, S), tol);
    compare("dc0" + suffix + " (" + how, dc0, c.get("dc0" + suffix, S), tol);
    compare("step_norms" + suffix + " (" + how, norms, c.get("step_norms" + suffix, d.num_layers * D * Tn), tol);
    // The unused parts of the sliced output and dx kept their fill.
    bool untouched = true;
    for (size_t t = 0; t < Tn && strided; t++)
        for (size_t b = B; b < B + 1; b++)
            for (size_t f = 0; f < DH; f++) untouched &= output.data[t * output.ts + b * output.bs + f] == T(-3);
    if (!untouched) {
        std::fprintf(stderr, "FAIL the sliced output's extra rows were written\n");
        failures++;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: capi_test_cpp CASE_FILE\n");
        return 2;
    }
    try {
        Case c = read_case(argv[1]);
        std::printf("rnn_kernels %s\n", rnnk_version());
        run<double>(c, true, 0, true, 1e-12, "");
        run<double>(c, false, 3, false, 1e-12, "");
        run<float>(c, false, 2, false, 1e-5, "_f32");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "capi_test_cpp: %s\n", e.what());
        return 2;
    }
    if (failures) {
        std::fprintf(stderr, "capi_test_cpp: %d check(s) failed\n", failures);
        return 1;
    }
    std::printf("capi_test_cpp: all checks passed\n");
    return 0;
}

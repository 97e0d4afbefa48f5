/*
 * The C API from C: a 2-layer bidirectional LSTM over a batch of unequal
 * lengths, forward and backward, compared with the Rust API's results.
 *
 *   capi_test CASE_FILE [--corrupt]
 *
 * CASE_FILE is written by `rnnk-case` (capi/src/bin/rnnk_case.rs): the inputs
 * and every output and gradient of the kernels' Rust API. This program runs
 * the C API on the inputs (dense time-major on 1 thread, then batch-first on
 * 2 threads), compares every value to 1e-12 (relative above 1), checks the
 * parameter layout queries and the error paths (NULL pointers, wrong sizes,
 * bad lengths, zero batch: an error status, a message, and canary-filled
 * buffers left alone), and exits 1 on any failed check, 2 on a broken setup.
 * `--corrupt` changes one expected gradient by one part in 1e9 first: the
 * run must then fail (capi/check.sh checks that it does).
 */
#include "rnn_kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-12
#define MAX_ARRAYS 64
#define MAX_NAMES 64

typedef struct {
    char name[32];
    size_t n;
    double *v;
} Array;

static Array arrays[MAX_ARRAYS];
static int n_arrays;
static int failures;

static RnnkDesc desc;
static size_t T, B, lengths[64], n_names, offsets[MAX_NAMES];
static char names[MAX_NAMES][64];

static void die(const char *what) {
    fprintf(stderr, "capi_test: %s\n", what);
    exit(2);
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) die("out of memory");
    return p;
}

static const double *get(const char *name, size_t n) {
    for (int i = 0; i < n_arrays; i++) {
        if (strcmp(arrays[i].name, name) == 0) {
            if (arrays[i].n != n) {
                fprintf(stderr, "capi_test: array %s has %zu values, expected %zu\n", name, arrays[i].n, n);
                exit(2);
            }
            return arrays[i].v;
        }
    }
    fprintf(stderr, "capi_test: no array %s in the case file\n", name);
    exit(2);
}

static void read_case(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open the case file");
    char tok[128];
    int version;
    if (fscanf(f, "%127s %d", tok, &version) != 2 || strcmp(tok, "rnnk-case") != 0 || version != 1)
        die("not a version 1 case file");
    while (fscanf(f, "%127s", tok) == 1) {
        if (strcmp(tok, "end") == 0) {
            fclose(f);
            return;
        } else if (strcmp(tok, "desc") == 0) {
            memset(&desc, 0, sizeof desc);
            if (fscanf(f, "%d %d %zu %zu %zu", &desc.cell, &desc.bidirectional, &desc.input_size,
                       &desc.hidden_size, &desc.num_layers) != 5)
                die("bad desc line");
        } else if (strcmp(tok, "shape") == 0) {
            if (fscanf(f, "%zu %zu", &T, &B) != 2 || B > 64) die("bad shape line");
        } else if (strcmp(tok, "lengths") == 0) {
            for (size_t b = 0; b < B; b++)
                if (fscanf(f, "%zu", &lengths[b]) != 1) die("bad lengths line");
        } else if (strcmp(tok, "names") == 0) {
            if (fscanf(f, "%zu", &n_names) != 1 || n_names > MAX_NAMES) die("bad names line");
            for (size_t i = 0; i < n_names; i++)
                if (fscanf(f, "%63s", names[i]) != 1) die("bad names line");
        } else if (strcmp(tok, "offsets") == 0) {
            size_t n;
            if (fscanf(f, "%zu", &n) != 1 || n != n_names) die("bad offsets line");
            for (size_t i = 0; i < n; i++)
                if (fscanf(f, "%zu", &offsets[i]) != 1) die("bad offsets line");
        } else if (strcmp(tok, "array") == 0) {
            if (n_arrays == MAX_ARRAYS) die("too many arrays");
            Array *a = &arrays[n_arrays++];
            if (fscanf(f, "%31s %zu", a->name, &a->n) != 2) die("bad array header");
            a->v = xcalloc(a->n, sizeof(double));
            for (size_t i = 0; i < a->n; i++) {
                char hex[32];
                if (fscanf(f, "%31s", hex) != 1) die("truncated array");
                uint64_t bits = strtoull(hex, NULL, 16);
                memcpy(&a->v[i], &bits, sizeof bits);
            }
        } else {
            die("unknown line in the case file");
        }
    }
    die("case file without `end`");
}

/* Compares `n` values; a NaN anywhere is a mismatch. */
static void compare(const char *what, const double *got, const double *want, size_t n) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double tol = TOL * fmax(1.0, fabs(want[i]));
        if (!(fabs(got[i] - want[i]) <= tol)) {
            if (bad < 3) fprintf(stderr, "  %s[%zu]: got %.17g, want %.17g\n", what, i, got[i], want[i]);
            bad++;
        }
    }
    if (bad) {
        fprintf(stderr, "MISMATCH %s: %zu of %zu values\n", what, bad, n);
        failures++;
    } else {
        printf("ok   %s (%zu values)\n", what, n);
    }
}

static void check(int cond, const char *what) {
    if (cond) {
        printf("ok   %s\n", what);
    } else {
        fprintf(stderr, "FAIL %s\n", what);
        failures++;
    }
}

static void expect_ok(RnnkStatus s, const char *call) {
    if (s != RNNK_STATUS_OK) {
        char msg[512];
        rnnk_last_error(msg, sizeof msg);
        fprintf(stderr, "capi_test: %s returned %s: %s\n", call, rnnk_status_name(s), msg);
        exit(1);
    }
}

/* The parameter layout queries against the Rust API's names and offsets. */
static void check_layout(size_t n_params) {
    size_t count = 0, tensors = 0;
    expect_ok(rnnk_num_params(&desc, &count), "rnnk_num_params");
    check(count == n_params, "rnnk_num_params");
    expect_ok(rnnk_num_param_tensors(&desc, &tensors), "rnnk_num_param_tensors");
    check(tensors == n_names, "rnnk_num_param_tensors = 4*L*D");
    size_t *all = xcalloc(tensors, sizeof(size_t));
    expect_ok(rnnk_param_offsets(&desc, all, tensors), "rnnk_param_offsets");
    int names_ok = 1, offsets_ok = 1, cover = 1;
    size_t end = 0;
    for (size_t i = 0; i < tensors; i++) {
        char name[64];
        size_t needed = 0;
        RnnkParamTensor t;
        expect_ok(rnnk_param_name(&desc, i, name, sizeof name, &needed), "rnnk_param_name");
        expect_ok(rnnk_param_tensor(&desc, i, &t), "rnnk_param_tensor");
        names_ok &= strcmp(name, names[i]) == 0 && needed == strlen(names[i]) + 1;
        offsets_ok &= t.offset == offsets[i] && all[i] == offsets[i];
        cover &= t.offset == end && t.len == t.rows * t.cols;
        end = t.offset + t.len;
    }
    check(names_ok, "rnnk_param_name: PyTorch's names in order");
    check(offsets_ok, "rnnk_param_tensor / rnnk_param_offsets: the Rust layout");
    check(cover && end == n_params, "the tensors tile the flat buffer");
    free(all);
}

/* Element (t, b, f) of a [T, B, F] buffer stored batch-first, [B, T, F]. */
static void to_batch_first(const double *tm, double *bf, size_t F) {
    for (size_t t = 0; t < T; t++)
        for (size_t b = 0; b < B; b++) memcpy(&bf[(b * T + t) * F], &tm[(t * B + b) * F], F * sizeof(double));
}

static void from_batch_first(const double *bf, double *tm, size_t F) {
    for (size_t t = 0; t < T; t++)
        for (size_t b = 0; b < B; b++) memcpy(&tm[(t * B + b) * F], &bf[(b * T + t) * F], F * sizeof(double));
}

/* Forward and backward through the C API, every output compared. */
static void run(int batch_first, size_t threads) {
    const size_t I = desc.input_size, H = desc.hidden_size, D = desc.bidirectional ? 2 : 1;
    const size_t DH = D * H, S = desc.num_layers * D * B * H, L = desc.num_layers;
    size_t n_params, tape_len, fwd_len, bwd_len;
    expect_ok(rnnk_num_params(&desc, &n_params), "rnnk_num_params");
    expect_ok(rnnk_tape_len(&desc, T, B, lengths, &tape_len), "rnnk_tape_len");
    expect_ok(rnnk_forward_scratch_len(&desc, T, B, lengths, 1, batch_first, &fwd_len), "rnnk_forward_scratch_len");
    expect_ok(rnnk_backward_scratch_len(&desc, T, B, lengths, batch_first, &bwd_len), "rnnk_backward_scratch_len");

    const double *params = get("params", n_params), *x = get("x", T * B * I);
    const double *h0 = get("h0", S), *c0 = get("c0", S), *d_output = get("d_output", T * B * DH);
    const double *dh_n = get("dh_n", S), *dc_n = get("dc_n", S);

    /* Batch-first copies: time stride F, batch stride T * F. */
    double *x_in = xcalloc(T * B * I, sizeof(double)), *d_out_in = xcalloc(T * B * DH, sizeof(double));
    size_t x_ts = B * I, x_bs = I, o_ts = B * DH, o_bs = DH;
    if (batch_first) {
        to_batch_first(x, x_in, I);
        to_batch_first(d_output, d_out_in, DH);
        x_ts = I, x_bs = T * I, o_ts = DH, o_bs = T * DH;
    } else {
        memcpy(x_in, x, T * B * I * sizeof(double));
        memcpy(d_out_in, d_output, T * B * DH * sizeof(double));
    }

    double *output = xcalloc(T * B * DH, sizeof(double)), *h_n = xcalloc(S, sizeof(double));
    double *c_n = xcalloc(S, sizeof(double)), *tape = xcalloc(tape_len, sizeof(double));
    double *scratch = xcalloc(fwd_len > bwd_len ? fwd_len : bwd_len, sizeof(double));
    expect_ok(rnnk_forward_f64(&desc, T, B, lengths, params, n_params, x_in, x_ts, x_bs, h0, c0, output, o_ts, o_bs,
                               h_n, c_n, tape, tape_len, scratch, fwd_len, threads),
              "rnnk_forward_f64");

    double *grads = xcalloc(n_params, sizeof(double)), *dx = xcalloc(T * B * I, sizeof(double));
    double *dh0 = xcalloc(S, sizeof(double)), *dc0 = xcalloc(S, sizeof(double));
    double *norms = xcalloc(L * D * T, sizeof(double));
    for (size_t i = 0; i < n_params; i++) grads[i] = 1e300; /* overwritten: accumulate = 0 */
    expect_ok(rnnk_backward_f64(&desc, T, B, lengths, params, n_params, x_in, x_ts, x_bs, h0, c0, tape, tape_len,
                                d_out_in, o_ts, o_bs, dh_n, dc_n, grads, dx, x_ts, x_bs, dh0, dc0, norms, 0, 0,
                                scratch, bwd_len, threads),
              "rnnk_backward_f64");

    char label[64];
    const char *layout = batch_first ? "batch-first" : "time-major";
    double *tm = xcalloc(T * B * (DH > I ? DH : I), sizeof(double));
#define CMP(NAME, GOT, N)                                                     \
    do {                                                                      \
        snprintf(label, sizeof label, "%s (%s, %zu threads)", NAME, layout, threads); \
        compare(label, GOT, get(NAME, N), N);                                 \
    } while (0)
    if (batch_first) from_batch_first(output, tm, DH); else memcpy(tm, output, T * B * DH * sizeof(double));
    CMP("output", tm, T * B * DH);
    CMP("h_n", h_n, S);
    CMP("c_n", c_n, S);
    CMP("grads", grads, n_params);
    if (batch_first) from_batch_first(dx, tm, I); else memcpy(tm, dx, T * B * I * sizeof(double));
    CMP("dx", tm, T * B * I);
    CMP("dh0", dh0, S);
    CMP("dc0", dc0, S);
    CMP("step_norms", norms, L * D * T);
#undef CMP
    free(tm), free(x_in), free(d_out_in), free(output), free(h_n), free(c_n), free(tape), free(scratch);
    free(grads), free(dx), free(dh0), free(dc0), free(norms);
}

/* Bad calls: each returns its error status and a message naming the problem,
 * and writes nothing: every buffer the call could write (output, h_n, c_n,
 * the tape, the scratch; grads, dx, dh0, dc0, step_norms) is filled with a
 * canary before and compared after. */
#define CANARY (-12345.678)

typedef struct {
    const RnnkDesc *desc;
    size_t T, B;
    const size_t *lengths;
    const double *params;
    size_t params_len;
    const double *x;
    double *output, *h_n, *c_n, *tape;
    size_t tape_len;
    double *scratch;
    size_t scratch_len;
} FwdArgs;

static RnnkStatus fwd(const FwdArgs *a) {
    const size_t I = desc.input_size, DH = (desc.bidirectional ? 2 : 1) * desc.hidden_size;
    return rnnk_forward_f64(a->desc, a->T, a->B, a->lengths, a->params, a->params_len, a->x, B * I, I, NULL, NULL,
                            a->output, B * DH, DH, a->h_n, a->c_n, a->tape, a->tape_len, a->scratch, a->scratch_len,
                            1);
}

static void fill(double *v, size_t n) {
    for (size_t i = 0; i < n; i++) v[i] = CANARY;
}

static int all_canary(const double *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (v[i] != CANARY) return 0;
    return 1;
}

static void expect_refused(RnnkStatus s, RnnkStatus want, const char *needle, const char *what) {
    char msg[512], label[640];
    size_t need = rnnk_last_error(msg, sizeof msg);
    snprintf(label, sizeof label, "%s: %s, \"%s\"", what, rnnk_status_name(s), msg);
    check(s == want && need > 1 && strstr(msg, needle) != NULL, label);
}

static void check_errors(void) {
    const size_t I = desc.input_size, H = desc.hidden_size, D = desc.bidirectional ? 2 : 1;
    const size_t DH = D * H, S = desc.num_layers * D * B * H;
    size_t n_params, tape_len, fwd_len, bwd_len;
    expect_ok(rnnk_num_params(&desc, &n_params), "rnnk_num_params");
    expect_ok(rnnk_tape_len(&desc, T, B, lengths, &tape_len), "rnnk_tape_len");
    expect_ok(rnnk_forward_scratch_len(&desc, T, B, lengths, 1, 0, &fwd_len), "rnnk_forward_scratch_len");
    expect_ok(rnnk_backward_scratch_len(&desc, T, B, lengths, 0, &bwd_len), "rnnk_backward_scratch_len");
    const double *params = get("params", n_params), *x = get("x", T * B * I);
    const double *d_output = get("d_output", T * B * DH);
    double *output = xcalloc(T * B * DH, sizeof(double)), *h_n = xcalloc(S, sizeof(double));
    double *c_n = xcalloc(S, sizeof(double)), *tape = xcalloc(tape_len, sizeof(double));
    double *scratch = xcalloc(fwd_len > bwd_len ? fwd_len : bwd_len, sizeof(double));
    double *grads = xcalloc(n_params, sizeof(double)), *dx = xcalloc(T * B * I, sizeof(double));
    double *dh0 = xcalloc(S, sizeof(double)), *dc0 = xcalloc(S, sizeof(double));
    double *norms = xcalloc(desc.num_layers * D * T, sizeof(double));
    const size_t scratch_n = fwd_len > bwd_len ? fwd_len : bwd_len;
#define FILL_ALL()                                                                                             \
    do {                                                                                                       \
        fill(output, T * B * DH), fill(h_n, S), fill(c_n, S), fill(tape, tape_len), fill(scratch, scratch_n); \
        fill(grads, n_params), fill(dx, T * B * I), fill(dh0, S), fill(dc0, S);                                \
        fill(norms, desc.num_layers * D * T);                                                                  \
    } while (0)
#define UNTOUCHED()                                                                                          \
    (all_canary(output, T * B * DH) && all_canary(h_n, S) && all_canary(c_n, S) &&                           \
     all_canary(tape, tape_len) && all_canary(scratch, scratch_n) && all_canary(grads, n_params) &&          \
     all_canary(dx, T * B * I) && all_canary(dh0, S) && all_canary(dc0, S) &&                                \
     all_canary(norms, desc.num_layers * D * T))

    size_t too_long[64], zero_len[64];
    memcpy(too_long, lengths, B * sizeof(size_t));
    memcpy(zero_len, lengths, B * sizeof(size_t));
    too_long[B - 1] = T + 1;
    zero_len[0] = 0;
    const FwdArgs good = {&desc, T, B, lengths, params, n_params, x, output, h_n, c_n, tape, tape_len,
                          scratch, fwd_len};
    struct {
        const char *what, *needle;
        RnnkStatus want;
        FwdArgs a;
    } cases[16];
    size_t n = 0;
#define CASE(WHAT, NEEDLE, WANT, FIELD, VALUE)                                   \
    do {                                                                         \
        cases[n].what = WHAT, cases[n].needle = NEEDLE, cases[n].want = WANT; \
        cases[n].a = good;                                                       \
        cases[n].a.FIELD = VALUE;                                                \
        n++;                                                                     \
    } while (0)
    CASE("forward: a NULL desc", "`desc` is NULL", RNNK_STATUS_NULL_POINTER, desc, NULL);
    CASE("forward: NULL params", "`params` is NULL", RNNK_STATUS_NULL_POINTER, params, NULL);
    CASE("forward: a NULL x", "`x` is NULL", RNNK_STATUS_NULL_POINTER, x, NULL);
    CASE("forward: a NULL output", "`output` is NULL", RNNK_STATUS_NULL_POINTER, output, NULL);
    CASE("forward: a NULL scratch", "`scratch` is NULL", RNNK_STATUS_NULL_POINTER, scratch, NULL);
    CASE("forward: params_len one short", "`params_len` is", RNNK_STATUS_INVALID_ARGUMENT, params_len,
         n_params - 1);
    CASE("forward: tape_len one long", "`tape_len` is", RNNK_STATUS_INVALID_ARGUMENT, tape_len, tape_len + 1);
    CASE("forward: scratch_len one short", "`scratch_len` is", RNNK_STATUS_INVALID_ARGUMENT, scratch_len,
         fwd_len - 1);
    CASE("forward: a length longer than T", "must be in 1..=seq_len", RNNK_STATUS_INVALID_ARGUMENT,
         lengths, too_long);
    CASE("forward: a zero length", "`lengths[0]` is 0", RNNK_STATUS_INVALID_ARGUMENT, lengths, zero_len);
    CASE("forward: zero batch", "`batch` is 0", RNNK_STATUS_INVALID_ARGUMENT, B, 0);
    CASE("forward: zero seq_len", "`seq_len` is 0", RNNK_STATUS_INVALID_ARGUMENT, T, 0);
#undef CASE
    for (size_t i = 0; i < n; i++) {
        FILL_ALL();
        expect_refused(fwd(&cases[i].a), cases[i].want, cases[i].needle, cases[i].what);
        check(UNTOUCHED(), "  ... and wrote nothing");
    }

    /* A bad backward after a good training forward: the forward's outputs
     * and tape are kept aside, the backward's outputs hold the canary. */
    FILL_ALL();
    expect_ok(fwd(&good), "rnnk_forward_f64");
    double *tape_copy = xcalloc(tape_len, sizeof(double));
    memcpy(tape_copy, tape, tape_len * sizeof(double));
    fill(output, T * B * DH), fill(h_n, S), fill(c_n, S), fill(scratch, scratch_n);
    RnnkStatus s = rnnk_backward_f64(&desc, T, B, too_long, params, n_params, x, B * I, I, NULL, NULL, tape, tape_len,
                                     d_output, B * DH, DH, NULL, NULL, grads, dx, B * I, I, dh0, dc0, norms, 0, 0,
                                     scratch, bwd_len, 1);
    expect_refused(s, RNNK_STATUS_INVALID_ARGUMENT, "must be in 1..=seq_len", "backward: a length longer than T");
    int tape_kept = memcmp(tape, tape_copy, tape_len * sizeof(double)) == 0;
    fill(tape, tape_len);
    check(UNTOUCHED() && tape_kept, "  ... and wrote nothing (the tape unchanged)");
    s = rnnk_backward_f64(&desc, T, 0, NULL, params, n_params, x, B * I, I, NULL, NULL, tape, tape_len, d_output,
                          B * DH, DH, NULL, NULL, grads, dx, B * I, I, dh0, dc0, norms, 0, 0, scratch, bwd_len, 1);
    expect_refused(s, RNNK_STATUS_INVALID_ARGUMENT, "`batch` is 0", "backward: zero batch");
    check(UNTOUCHED(), "  ... and wrote nothing");
    s = rnnk_backward_f64(&desc, T, B, lengths, params, n_params, x, B * I, I, NULL, NULL, NULL, tape_len, d_output,
                          B * DH, DH, NULL, NULL, grads, dx, B * I, I, dh0, dc0, norms, 0, 0, scratch, bwd_len, 1);
    expect_refused(s, RNNK_STATUS_NULL_POINTER, "`tape` is NULL", "backward: a NULL tape");
    check(UNTOUCHED(), "  ... and wrote nothing");
#undef FILL_ALL
#undef UNTOUCHED

    s = fwd(&good);
    check(s == RNNK_STATUS_OK && rnnk_last_error(NULL, 0) == 1, "a good call clears the message");
    free(output), free(h_n), free(c_n), free(tape), free(tape_copy), free(scratch);
    free(grads), free(dx), free(dh0), free(dc0), free(norms);
}

int main(int argc, char **argv) {
    if (argc < 2) die("usage: capi_test CASE_FILE [--corrupt]");
    read_case(argv[1]);
    if (argc > 2 && strcmp(argv[2], "--corrupt") == 0) {
        size_t n;
        expect_ok(rnnk_num_params(&desc, &n), "rnnk_num_params");
        double *g = (double *)get("grads", n);
        g[n / 2] *= 1.0 + 1e-9;
    }
    printf("rnn_kernels %s (header %d.%d.%d)\n", rnnk_version(), RNNK_VERSION_MAJOR, RNNK_VERSION_MINOR,
           RNNK_VERSION_PATCH);
    check(rnnk_version_major() == RNNK_VERSION_MAJOR && rnnk_version_minor() == RNNK_VERSION_MINOR &&
              rnnk_version_patch() == RNNK_VERSION_PATCH,
          "library version = header version");
    size_t n_params;
    expect_ok(rnnk_num_params(&desc, &n_params), "rnnk_num_params");
    check_layout(n_params);
    run(0, 1);
    run(1, 2);
    check_errors();
    for (int i = 0; i < n_arrays; i++) free(arrays[i].v);
    if (failures) {
        fprintf(stderr, "capi_test: %d check(s) failed\n", failures);
        return 1;
    }
    printf("capi_test: all checks passed\n");
    return 0;
}

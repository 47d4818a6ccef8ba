/* SPDX-License-Identifier: MIT */
/*
 * infer.c - one inference: route, map the request's tensors onto the chosen model's input
 * columns (one [N, n_inputs] tensor, or one tensor per column), preprocess, run the engine
 * directly or through the deployment's batcher, record statistics, mirror to shadows.
 *
 * The hot path is a model whose preprocessing is the identity over float64 columns (decided
 * once at load, model.c) asked with one FP32 [N, n_inputs] tensor: the input is scanned once
 * for Inf and handed to the engine as is when it is 4-byte aligned (copied otherwise). Other
 * numeric passthrough models (int64 and bool columns too) convert value by value without the
 * gy_feature_value detour; every other case goes through gy_features_apply_row, the code
 * training used.
 */
#include "serving/serving_int.h"

#include <math.h>
#include <string.h>

#define STACK_COLS 64
#define MAX_CELLS (UINT64_C(1) << 31) /* rows x columns of one request */

static enum gy_status nomem(void)
{
    return gy_error_set(GY_E_NOMEM, "out of memory");
}

static const char *tname(const struct gy_tensor *t)
{
    return t->name ? t->name : "";
}

/* "[2, 3]" into @p out. */
static const char *shape_str(const struct gy_tensor *t, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    n += (size_t)snprintf(out, cap, "[");
    for (int i = 0; i < t->ndim && i < GY_TENSOR_MAX_DIMS && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%llu", i ? ", " : "",
                              (unsigned long long)t->shape[i]);
    if (n < cap)
        snprintf(out + n, cap - n, "]");
    return out;
}

/* A refusal of the request's inputs: *kind gets its gy_input_error (for the counters). */
static enum gy_status refuse(int *kind, enum gy_input_error k, enum gy_status rc)
{
    *kind = (int)k;
    return rc;
}

/* Checks what every tensor must satisfy: datatype, dims, element count, data. */
static enum gy_status tensor_check(const struct gy_tensor *t, int *kind)
{
    uint64_t prod = 1;
    char sh[160];
    if (t->dtype < GY_DT_BOOL || t->dtype > GY_DT_BYTES)
        return refuse(kind, GY_INPUT_ERR_TYPE,
                      gy_error_set(GY_E_INVALID, "input '%.100s': unknown datatype", tname(t)));
    if (t->ndim < 1 || t->ndim > GY_TENSOR_MAX_DIMS)
        return refuse(kind, GY_INPUT_ERR_SHAPE,
                      gy_error_set(GY_E_INVALID, "input '%.100s': %d dimensions (1 to %d allowed)",
                                   tname(t), t->ndim, GY_TENSOR_MAX_DIMS));
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] != 0 && prod > UINT64_MAX / t->shape[i])
            return refuse(kind, GY_INPUT_ERR_SHAPE,
                          gy_error_set(GY_E_INVALID, "input '%.100s': shape %s is too large",
                                       tname(t), shape_str(t, sh, sizeof sh)));
        prod *= t->shape[i];
    }
    if (prod != t->n_elems)
        return refuse(
            kind, GY_INPUT_ERR_SHAPE,
            gy_error_set(GY_E_INVALID,
                         "input '%.100s': shape %s holds %llu elements but %llu were given",
                         tname(t), shape_str(t, sh, sizeof sh), (unsigned long long)prod,
                         (unsigned long long)t->n_elems));
    if (t->n_elems && !t->data)
        return refuse(kind, GY_INPUT_ERR_SHAPE,
                      gy_error_set(GY_E_INVALID, "input '%.100s': no data", tname(t)));
    return GY_OK;
}

/* The input column names of @p m, for messages ("a, b, c" or "a, b, ... (40 inputs)"). */
static const char *input_list(const struct gy_served_model *m, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < m->n_in && n + 1 < cap; i++) {
        if (i == 8 && m->n_in > 9) {
            snprintf(out + n, cap - n, ", ... (%zu inputs)", m->n_in);
            break;
        }
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "",
                              gy_features_input_name(m->features, i));
    }
    return out;
}

/* How the request's tensors map onto the model's inputs. */
struct imap {
    const struct gy_served_model *m;
    uint64_t n;                     /* rows */
    const struct gy_tensor *single; /* one [N, n_in] tensor, or NULL */
    const struct gy_tensor **cols;  /* else one tensor per input (n_in) */
};

static enum gy_status imap_build(const struct gy_served_model *m,
                                 const struct gy_serving_call *call, const struct gy_tensor **cols,
                                 struct imap *im, int *kind)
{
    char names[512], sh[160];
    enum gy_status rc;
    memset(im, 0, sizeof *im);
    im->m = m;
    if (!call->inputs || call->n_inputs == 0)
        return refuse(kind, GY_INPUT_ERR_MISSING, gy_error_set(GY_E_INVALID, "no input tensors"));
    if (call->n_inputs == 1 && m->n_in > 1) {
        const struct gy_tensor *t = &call->inputs[0];
        if ((rc = tensor_check(t, kind)))
            return rc;
        if (m->has_strings)
            return refuse(
                kind, GY_INPUT_ERR_MISSING,
                gy_error_set(GY_E_INVALID,
                             "model %s has string inputs: send one tensor per input, named as "
                             "the input (%s)",
                             m->name, input_list(m, names, sizeof names)));
        if (t->dtype == GY_DT_BYTES)
            return refuse(kind, GY_INPUT_ERR_TYPE,
                          gy_error_set(GY_E_INVALID,
                                       "input '%.100s': BYTES is not accepted for numeric inputs",
                                       tname(t)));
        if (t->ndim == 2 && t->shape[1] == m->n_in)
            im->n = t->shape[0];
        else
            return refuse(
                kind, GY_INPUT_ERR_SHAPE,
                gy_error_set(GY_E_INVALID,
                             "input '%.100s' has shape %s but model %s version %lld takes "
                             "[N, %zu] (%s)",
                             tname(t), shape_str(t, sh, sizeof sh), m->name, (long long)m->version,
                             m->n_in, input_list(m, names, sizeof names)));
        im->single = t;
    } else {
        for (size_t i = 0; i < m->n_in; i++)
            cols[i] = NULL;
        for (size_t j = 0; j < call->n_inputs; j++) {
            const struct gy_tensor *t = &call->inputs[j];
            long k;
            if ((rc = tensor_check(t, kind)))
                return rc;
            if (m->n_in == 1 && call->n_inputs == 1) {
                k = 0; /* one input, one tensor: the name does not matter */
            } else {
                if (!t->name || !*t->name)
                    return refuse(kind, GY_INPUT_ERR_MISSING,
                                  gy_error_set(GY_E_INVALID, "input tensor %zu has no name", j));
                k = gy_features_input_find(m->features, t->name);
                if (k < 0)
                    return refuse(
                        kind, GY_INPUT_ERR_MISSING,
                        gy_error_set(GY_E_INVALID,
                                     "unknown input '%.100s': model %s version %lld takes %s",
                                     t->name, m->name, (long long)m->version,
                                     input_list(m, names, sizeof names)));
            }
            if (cols[k])
                return refuse(
                    kind, GY_INPUT_ERR_SHAPE,
                    gy_error_set(GY_E_INVALID, "input '%.100s' is given twice", tname(t)));
            cols[k] = t;
        }
        for (size_t i = 0; i < m->n_in; i++) {
            const struct gy_tensor *t = cols[i];
            const char *col = gy_features_input_name(m->features, i);
            uint64_t rows;
            if (!t)
                return refuse(kind, GY_INPUT_ERR_MISSING,
                              gy_error_set(GY_E_INVALID,
                                           "missing input '%s': model %s version %lld takes %s",
                                           col, m->name, (long long)m->version,
                                           input_list(m, names, sizeof names)));
            if (t->ndim == 1 || (t->ndim == 2 && t->shape[1] == 1))
                rows = t->shape[0];
            else
                return refuse(
                    kind, GY_INPUT_ERR_SHAPE,
                    gy_error_set(GY_E_INVALID,
                                 "input '%.100s' has shape %s: one tensor per input column "
                                 "takes [N] or [N, 1]",
                                 tname(t), shape_str(t, sh, sizeof sh)));
            if (i > 0 && rows != im->n)
                return refuse(kind, GY_INPUT_ERR_SHAPE,
                              gy_error_set(GY_E_INVALID,
                                           "input '%.100s' has %llu rows but input '%s' has %llu",
                                           tname(t), (unsigned long long)rows,
                                           gy_features_input_name(m->features, 0),
                                           (unsigned long long)im->n));
            im->n = rows;
            if (m->types[i] == GY_TYPE_STRING && t->dtype != GY_DT_BYTES)
                return refuse(kind, GY_INPUT_ERR_TYPE,
                              gy_error_set(GY_E_INVALID,
                                           "input '%s' is a string column: send BYTES, not %s", col,
                                           gy_dtype_name(t->dtype)));
            if (m->types[i] != GY_TYPE_STRING && t->dtype == GY_DT_BYTES)
                return refuse(
                    kind, GY_INPUT_ERR_TYPE,
                    gy_error_set(GY_E_INVALID,
                                 "input '%s' is a %s column: BYTES given (send a numeric or "
                                 "BOOL datatype)",
                                 col, gy_type_name(m->types[i])));
        }
        im->cols = cols;
    }
    if (im->n == 0)
        return refuse(kind, GY_INPUT_ERR_SHAPE,
                      gy_error_set(GY_E_INVALID, "the request has no rows"));
    if (im->n > MAX_CELLS / (m->n_in > m->n_feat ? m->n_in : m->n_feat))
        return refuse(kind, GY_INPUT_ERR_TOO_LARGE,
                      gy_error_set(GY_E_TOO_LARGE, "the request has too many rows (%llu)",
                                   (unsigned long long)im->n));
    return GY_OK;
}

static enum gy_status inf_error(const struct imap *im, uint64_t r, size_t i)
{
    const char *col = gy_features_input_name(im->m->features, i);
    if (im->single)
        return gy_error_set(GY_E_INVALID,
                            "input '%.100s' element %llu (row %llu, column '%s') is infinite: "
                            "Inf is not accepted (NaN means missing)",
                            tname(im->single), (unsigned long long)(r * im->m->n_in + i),
                            (unsigned long long)r, col);
    return gy_error_set(GY_E_INVALID,
                        "input '%s' row %llu is infinite: Inf is not accepted (NaN means missing)",
                        col, (unsigned long long)r);
}

/* The raw value of row @p r, input @p i. */
static enum gy_status imap_value(const struct gy_serving *s, const struct imap *im, uint64_t r,
                                 size_t i, struct gy_feature_value *v)
{
    const struct gy_tensor *t = im->single ? im->single : im->cols[i];
    uint64_t idx = im->single ? r * im->m->n_in + i : r;
    if (t->dtype == GY_DT_BYTES) {
        const struct gy_bytes *b = (const struct gy_bytes *)t->data + idx;
        if (!b->data && b->len)
            return gy_error_set(GY_E_INVALID, "input '%.100s' row %llu: no data", tname(t),
                                (unsigned long long)r);
        v->kind = GY_FV_STR;
        v->str = b->data ? b->data : "";
        v->len = b->len;
        v->num = 0;
        return GY_OK;
    }
    v->num = gy__tensor_get(t, idx);
    v->str = NULL;
    v->len = 0;
    if (isnan(v->num)) {
        v->kind = GY_FV_NULL;
        return GY_OK;
    }
    if (isinf(v->num) && !s->allow_inf)
        return inf_error(im, r, i);
    v->kind = t->dtype == GY_DT_BOOL ? GY_FV_BOOL : GY_FV_NUM;
    return GY_OK;
}

static int is_inf_bits(uint32_t b)
{
    return (b & 0x7fffffffu) == 0x7f800000u;
}

/* The numeric fast path, column by column into row-major @p x (see gy_served_model.ops). */
static enum gy_status numeric_fill(const struct gy_serving *s, const struct imap *im, float *x)
{
    size_t w = im->m->n_in;
    for (size_t i = 0; i < w; i++) {
        const struct gy_tensor *t = im->single ? im->single : im->cols[i];
        uint64_t stride = im->single ? w : 1, base = im->single ? i : 0;
        uint8_t op = im->m->ops[i];
        for (uint64_t r = 0; r < im->n; r++) {
            double d = gy__tensor_get(t, r * stride + base);
            if (isinf(d)) {
                if (!s->allow_inf)
                    return inf_error(im, r, i);
                d = NAN; /* a non-finite value is missing, as gy_features_apply_row has it */
            }
            if (op == GY__OP_I64)
                d = gy__i64_trunc(d);
            else if (op == GY__OP_BOOL && !isnan(d))
                d = d != 0 ? 1.0 : 0.0;
            x[r * w + i] = (float)d;
        }
    }
    return GY_OK;
}

enum gy_status gy__infer_map(const struct gy_serving *s, const struct gy_served_model *m,
                             struct gy_serving_call *call, const float **xo, uint64_t *nrows)
{
    int *kind = &call->input_error;
    const struct gy_tensor *stack_cols[STACK_COLS], **cols = stack_cols;
    struct gy_feature_value stack_vals[STACK_COLS], *vals = stack_vals;
    struct imap im;
    float *x = NULL;
    enum gy_status rc;
    *xo = NULL;
    *nrows = 0;
    if (!call->arena)
        return gy_error_set(GY_E_INVALID, "inference call without an arena");
    if (m->n_in > STACK_COLS) {
        cols = gy_calloc(m->n_in, sizeof *cols);
        vals = gy_calloc(m->n_in, sizeof *vals);
        if (!cols || !vals) {
            rc = nomem();
            goto out;
        }
    }
    if ((rc = imap_build(m, call, cols, &im, kind)))
        goto out;
    if (m->identity && im.single && im.single->dtype == GY_DT_FP32) {
        /* The common case: scan for Inf, then use the request's floats in place. */
        const struct gy_tensor *t = im.single;
        uint64_t cells = im.n * m->n_in, bad = UINT64_MAX;
        const unsigned char *p = t->data;
        for (uint64_t k = 0; k < cells; k++) {
            uint32_t b;
            memcpy(&b, p + k * 4, 4);
            if (is_inf_bits(b)) {
                bad = k;
                break;
            }
        }
        if (bad != UINT64_MAX && !s->allow_inf) {
            rc = inf_error(&im, bad / m->n_in, bad % m->n_in);
            goto out;
        }
        if (bad == UINT64_MAX && ((uintptr_t)p & 3) == 0) {
            *xo = (const float *)p;
            *nrows = im.n;
            goto out;
        }
        if (!(x = gy_arena_alloc(call->arena, cells * sizeof(float)))) {
            rc = nomem();
            goto out;
        }
        memcpy(x, p, cells * sizeof(float));
        for (uint64_t k = bad == UINT64_MAX ? cells : bad; k < cells; k++) {
            uint32_t b;
            memcpy(&b, &x[k], 4);
            if (is_inf_bits(b))
                x[k] = NAN;
        }
    } else if (m->numeric_fast) {
        if (!(x = gy_arena_alloc(call->arena, im.n * m->n_in * sizeof(float)))) {
            rc = nomem();
            goto out;
        }
        if ((rc = numeric_fill(s, &im, x)))
            goto out;
    } else {
        if (!(x = gy_arena_alloc(call->arena, im.n * m->n_feat * sizeof(float)))) {
            rc = nomem();
            goto out;
        }
        for (uint64_t r = 0; r < im.n; r++) {
            for (size_t i = 0; i < m->n_in; i++)
                if ((rc = imap_value(s, &im, r, i, &vals[i])))
                    goto out;
            if ((rc = gy_features_apply_row(m->features, vals, x + r * m->n_feat))) {
                gy_error_wrap(rc, "row %llu", (unsigned long long)r);
                goto out;
            }
        }
    }
    *xo = x;
    *nrows = im.n;
out:
    /* A value refused after the structure passed (Inf, what the preprocessing refuses). */
    if ((rc == GY_E_INVALID || rc == GY_E_SCHEMA) && *kind < 0)
        *kind = GY_INPUT_ERR_TYPE;
    if (cols != stack_cols)
        gy_free(cols);
    if (vals != stack_vals)
        gy_free(vals);
    return rc;
}

enum gy_status gy__infer_raw_values(const struct gy_serving *s, const struct gy_served_model *m,
                                    const struct gy_serving_call *call,
                                    struct gy_feature_value **vals_out, char **blob_out)
{
    int kind = -1;
    const struct gy_tensor **cols = NULL;
    struct gy_feature_value *vals = NULL;
    char *blob = NULL;
    size_t total = 0, used = 0;
    struct imap im;
    enum gy_status rc;
    *vals_out = NULL;
    *blob_out = NULL;
    if (!(cols = gy_calloc(m->n_in, sizeof *cols)))
        return nomem();
    if ((rc = imap_build(m, call, cols, &im, &kind)))
        goto out;
    for (size_t i = 0; !im.single && i < m->n_in; i++)
        if (im.cols[i]->dtype == GY_DT_BYTES)
            for (uint64_t r = 0; r < im.n; r++)
                total += ((const struct gy_bytes *)im.cols[i]->data)[r].len;
    vals = gy_calloc(im.n * m->n_in, sizeof *vals);
    blob = gy_malloc(total ? total : 1);
    if (!vals || !blob) {
        rc = nomem();
        goto out;
    }
    for (uint64_t r = 0; r < im.n; r++) {
        for (size_t i = 0; i < m->n_in; i++) {
            struct gy_feature_value *v = &vals[r * m->n_in + i];
            if ((rc = imap_value(s, &im, r, i, v)))
                goto out;
            if (v->kind == GY_FV_STR) {
                if (v->len)
                    memcpy(blob + used, v->str, v->len);
                v->str = blob + used;
                used += v->len;
            }
        }
    }
    *vals_out = vals;
    *blob_out = blob;
    vals = NULL;
    blob = NULL;
out:
    gy_free(cols);
    gy_free(vals);
    gy_free(blob);
    return rc;
}

/* ------------------------------------------------------------------ running */

void gy__infer_fail_stats(struct gy_served_model *m, struct gy__variant *v, int reason, uint64_t ns)
{
    gy__dur_add(&m->fail, ns);
    gy__add(&m->fail_reason[reason], 1);
    gy__variant_record(v, ns, 0);
}

void gy__infer_finish(struct gy_serving *s, struct gy_serving_target *t, struct gy__sroute *r,
                      struct gy_serving_call *call, const float *x, enum gy_status rc,
                      int64_t t0_ns, int64_t t_end_ns, gy_serving_done_fn done, void *ctx)
{
    struct gy_served_model *m = r->m;
    uint64_t ns;
    if (!t_end_ns)
        t_end_ns = gy_time_mono_ns();
    ns = (uint64_t)(t_end_ns - t0_ns);
    if (rc == GY_OK) {
        gy__dur_add(&m->success, ns);
        atomic_store_explicit(&m->last_ms, (uint64_t)((t_end_ns + s->wall_minus_mono_ns) / 1000000),
                              memory_order_relaxed);
        gy__variant_record(r->var, ns, 1);
        if (t->log_sample > 0)
            gy__predlog_submit(s->predlog, t, r, call, x, ns);
        if (t->n_shadows)
            gy__shadower_submit(s->shadower, t, r, call, x);
    } else {
        gy__infer_fail_stats(m, r->var, rc == GY_E_BUSY ? GY_FAIL_REJECTED : GY_FAIL_OTHER, ns);
    }
    atomic_fetch_sub_explicit(&m->pending, 1, memory_order_relaxed);
    if (done)
        done(call, rc, ctx);
}

/*
 * Starts @p call: route, map, then either run now (*queued 0, result returned) or hand it to
 * the batcher (*queued 1: @p done will be called).
 */
static enum gy_status start(struct gy_serving_target *t, struct gy_serving_call *call,
                            gy_serving_done_fn done, void *ctx, int *queued)
{
    int64_t t0 = gy_time_mono_ns(), t1, t2;
    struct gy__sroute *r = gy__route_pick(t, call->sticky);
    struct gy_served_model *m = r->m;
    struct gy_serving *s = m->s;
    const float *x = NULL;
    uint64_t n = 0;
    size_t scratch_n;
    unsigned char *scratch;
    enum gy_status rc;
    *queued = 0;
    call->model = m;
    call->variant = r->label;
    call->nrows = 0;
    call->n_outputs = m->n_out;
    call->outputs = NULL;
    call->n_margins = call->want_margins ? m->n_marg : 0;
    call->margins = NULL;
    call->queue_ns = call->compute_ns = 0;
    call->input_error = -1;
    gy__add(&m->pending, 1);
    if ((rc = gy__infer_map(s, m, call, &x, &n)))
        goto fail;
    call->nrows = n;
    call->outputs = gy_arena_alloc(call->arena, n * m->n_out * sizeof(float));
    if (call->want_margins)
        call->margins = gy_arena_alloc(call->arena, n * m->n_marg * sizeof(float));
    if (!call->outputs || (call->want_margins && !call->margins)) {
        rc = nomem();
        goto fail;
    }
    t1 = gy_time_mono_ns();
    if (t->max_batch) {
        rc = gy__batcher_submit(s->batcher, t, r, call, x, t0, t1 - t0, done, ctx);
        if (rc)
            goto fail;
        *queued = 1;
        return GY_OK;
    }
    scratch_n = gy_engine_scratch_size(m->engine, n);
    scratch = gy_arena_alloc(call->arena, scratch_n + 64);
    if (!scratch) {
        rc = nomem();
        goto fail;
    }
    scratch += (64 - ((uintptr_t)scratch & 63)) & 63;
    gy_engine_predict(m->engine, x, n, scratch, call->margins, call->outputs);
    t2 = gy_time_mono_ns();
    call->compute_ns = (uint64_t)(t2 - t1);
    gy__dur_add(&m->cin, (uint64_t)(t1 - t0));
    gy__dur_add(&m->cinfer, (uint64_t)(t2 - t1));
    gy__dur_add(&m->cout, 0);
    gy__add(&m->execution_count, 1);
    gy__add(&m->inference_count, n);
    gy__infer_finish(s, t, r, call, x, GY_OK, t0, t2, NULL, NULL);
    return GY_OK;
fail:
    gy__infer_finish(s, t, r, call, x, rc, t0, 0, NULL, NULL);
    return rc;
}

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    enum gy_status rc;
    char msg[512];
};

static void wake(struct gy_serving_call *call, enum gy_status rc, void *ctx)
{
    struct waiter *w = ctx;
    (void)call;
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    if (rc)
        snprintf(w->msg, sizeof w->msg, "%s", gy_error_msg());
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

enum gy_status gy_serving_infer(struct gy_serving_target *t, struct gy_serving_call *call)
{
    struct waiter w;
    enum gy_status rc;
    int queued = 0;
    if (!t->max_batch)
        return start(t, call, NULL, NULL, &queued);
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    rc = start(t, call, wake, &w, &queued);
    if (queued) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        rc = w.rc;
        if (rc)
            gy_error_set(rc, "%s", w.msg);
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return rc;
}

void gy_serving_infer_async(struct gy_serving_target *t, struct gy_serving_call *call,
                            gy_serving_done_fn done, void *ctx)
{
    int queued = 0;
    enum gy_status rc = start(t, call, done, ctx, &queued);
    if (!queued)
        done(call, rc, ctx);
}

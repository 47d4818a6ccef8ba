/* SPDX-License-Identifier: MIT */
/*
 * model.c - the `gyre model` commands on single bundles:
 *   inspect  loads a bundle with full validation and prints it as JSON (metadata, signatures,
 *            preprocessing, an estimator summary and the reference profile);
 *   import   turns an XGBoost model file (JSON or UBJSON) into a bundle with identity
 *            preprocessing over its feature names, written to a file and/or stored and
 *            registered as a new version;
 *   export   writes a registered version's bundle to a file;
 *   predict  runs a bundle on the rows of a CSV file with the fast engine (or the reference
 *            evaluator) and prints each row's outputs or margins.
 * A bundle argument is a file, or a registry reference (MODEL, MODEL@alias, MODEL@N) whose
 * version's bundle is read from the object store. A damaged or malformed file is reported
 * with the loader's reason and exit code 1. User guide: docs/models.md.
 */
#include "cli/cli.h"
#include "models/models.h"
#include "registry/registry.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))

/* Largest model file, CSV file and bundle the commands read. */
#define MODEL_FILE_MAX ((size_t)1 << 30)
#define CSV_FILE_MAX ((size_t)1 << 30)
#define BUNDLE_MAX ((size_t)1 << 31)

/*
 * Reads the bundle named by @p ref - a file when one exists at that path, else a registry
 * reference - into @p data (initialized here; the caller frees it). @p what gets a
 * description for messages ("F" or "MODEL version N"), cap bytes.
 */
static enum gy_status bundle_bytes(const char *ref, struct gy_buf *data, char *what, size_t cap)
{
    struct gy_db *db = NULL;
    struct gy_registry_version_info *vi = NULL;
    enum gy_status rc;

    gy_buf_init(data, BUNDLE_MAX);
    if (access(ref, F_OK) == 0) {
        gy_snprintf(what, cap, "%s", ref);
        rc = gy_file_read(ref, data);
        return rc ? gy_error_wrap(rc, "%s", ref) : GY_OK;
    }
    rc = gy_db_open_env(&db);
    if (rc)
        return gy_error_wrap(rc, "cannot open the data home");
    rc = gy_registry_resolve(db, ref, &vi);
    if (rc == GY_OK && !vi->bundle_hash)
        rc = gy_error_set(GY_NOT_FOUND, "%s version %lld has no gyre bundle", vi->name,
                          (long long)vi->version);
    if (rc == GY_OK) {
        gy_snprintf(what, cap, "%s version %lld", vi->name, (long long)vi->version);
        rc = gy_db_object_get(db, vi->bundle_hash, data);
    }
    gy_registry_version_info_free(vi);
    gy_db_free(db);
    return rc;
}

/* Loads the bundle named by @p ref (see bundle_bytes). *out new. */
static enum gy_status bundle_open(const char *ref, struct gy_model_bundle **out)
{
    struct gy_buf data;
    char what[512];
    enum gy_status rc = bundle_bytes(ref, &data, what, sizeof what);
    *out = NULL;
    if (rc == GY_OK) {
        rc = gy_model_bundle_load(data.data, data.len, out);
        if (rc)
            gy_error_wrap(rc, "%s", what);
    }
    gy_buf_free(&data);
    return rc;
}

static int cmd_inspect(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--compact", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    struct gy_model_bundle *b = NULL;
    json_t *j = NULL;
    enum gy_status rc;
    int ex;

    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1) {
        fprintf(stderr, "usage: gyre model inspect FILE|MODEL[@ALIAS|@N] [--compact]\n");
        return GY_EXIT_USAGE;
    }
    if (access(pos[0], F_OK) == 0)
        rc = gy_model_bundle_load_file(pos[0], &b);
    else
        rc = bundle_open(pos[0], &b); /* a registry reference (MODEL, MODEL@alias, MODEL@N) */
    if (rc)
        return gy_cli_fail(rc, NULL);
    rc = gy_model_bundle_to_json(b, &j);
    gy_model_bundle_free(b);
    if (rc)
        return gy_cli_fail(rc, pos[0]);
    if (gy_cli_get(o, NOPTS(o), "--compact")) {
        struct gy_buf out;
        gy_buf_init(&out, (size_t)1 << 31);
        rc = gy_json_dump(j, &out);
        if (rc == GY_OK)
            printf("%s\n", out.data);
        gy_buf_free(&out);
    } else {
        gy_cli_print_json(j);
    }
    json_decref(j);
    if (rc)
        return gy_cli_fail(rc, pos[0]);
    return fflush(stdout) == 0 ? GY_EXIT_OK : GY_EXIT_FAIL;
}

/* ------------------------------------------------------------------ import */

/* The last path component of @p path without its extension, into @p out. */
static void file_stem(const char *path, char *out, size_t cap)
{
    const char *b = strrchr(path, '/');
    const char *dot;
    size_t n;
    b = b ? b + 1 : path;
    dot = strrchr(b, '.');
    n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    gy_snprintf(out, cap, "%.*s", (int)GY_MIN(n, cap - 1), b);
}

/*
 * The feature names for an imported model of @p nf features: from --feature-names (@p flag,
 * comma-separated), else from the model file, else f0 .. f{nf-1}. *out new (json array).
 */
static enum gy_status import_names(const char *flag, const struct gy_buf *file, uint32_t nf,
                                   json_t **out)
{
    json_t *names = NULL;
    enum gy_status rc = GY_OK;

    *out = NULL;
    if (flag) {
        const char *p = flag;
        names = json_array();
        while (names) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            if (n == 0) {
                json_decref(names);
                return gy_error_set(GY_E_INVALID, "--feature-names: an empty name");
            }
            if (json_array_append_new(names, json_stringn(p, n))) {
                json_decref(names);
                return gy_error_set(GY_E_INVALID, "--feature-names: a name is not UTF-8");
            }
            if (!comma)
                break;
            p = comma + 1;
        }
        if (!names)
            return gy_error_set(GY_E_NOMEM, "out of memory");
        if (json_array_size(names) != nf)
            rc = gy_error_set(GY_E_INVALID,
                              "--feature-names gives %zu names; the model has %u features",
                              json_array_size(names), nf);
    } else {
        rc = gy_model_xgboost_feature_names(file->data, file->len, &names);
        if (rc == GY_OK && json_array_size(names) == 0) {
            for (uint32_t i = 0; i < nf && rc == GY_OK; i++) {
                char tmp[32];
                gy_snprintf(tmp, sizeof tmp, "f%u", i);
                if (json_array_append_new(names, json_string(tmp)))
                    rc = gy_error_set(GY_E_NOMEM, "out of memory");
            }
        } else if (rc == GY_OK && json_array_size(names) != nf) {
            rc = gy_error_set(GY_E_INVALID,
                              "the model names %zu features but has %u (give --feature-names)",
                              json_array_size(names), nf);
        }
    }
    if (rc) {
        json_decref(names);
        return rc;
    }
    *out = names;
    return GY_OK;
}

/* Builds the bundle of an imported ensemble into @p out. */
static enum gy_status import_bundle(const struct gy_trees *t, const json_t *names,
                                    const char *model_name, const char *file, const char *format,
                                    struct gy_buf *out)
{
    size_t n = json_array_size(names);
    const char **v = gy_calloc(n ? n : 1, sizeof(*v));
    struct gy_features *f = NULL;
    struct gy_model_builder *mb = NULL;
    json_t *params = NULL;
    struct gy_model_info info;
    enum gy_status rc;

    if (!v)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        v[i] = json_string_value(json_array_get(names, i));
    rc = gy_features_identity(v, n, &f);
    if (rc)
        goto out;
    params = json_pack("{s:s,s:s,s:i}", "imported_from", file, "format", format,
                       "num_parallel_tree", (int)t->num_parallel_tree);
    if (!params) {
        rc = gy_error_set(GY_E_INVALID, "the file name \"%s\" is not UTF-8", file);
        goto out;
    }
    memset(&info, 0, sizeof info);
    info.name = model_name;
    info.trainer = "xgboost";
    info.objective = t->objective;
    info.params = params;
    if ((rc = gy_model_builder_create(&mb)) != GY_OK ||
        (rc = gy_model_builder_set_info(mb, &info)) != GY_OK)
        goto out;
    gy_model_builder_set_features(mb, f);
    gy_model_builder_set_trees(mb, t);
    rc = gy_model_builder_serialize(mb, out);
out:
    gy_model_builder_free(mb);
    gy_features_free(f);
    json_decref(params);
    gy_free(v);
    return rc;
}

/* Stores @p bundle and registers it as a new version of @p model (created when missing). */
static enum gy_status import_register(const char *model, const struct gy_buf *bundle,
                                      const char *file, const char *format, int64_t *version)
{
    struct gy_db *db = NULL;
    char hex[GY_SHA256_HEX_LEN + 1], source[GY_SHA256_HEX_LEN + 32], desc[512];
    struct gy_registry_tag tags[2] = {{"gyre.import.file", file}, {"gyre.import.format", format}};
    struct gy_registry_version_create c;
    enum gy_status rc;

    rc = gy_db_open_env(&db);
    if (rc)
        return gy_error_wrap(rc, "cannot open the data home");
    if ((rc = gy_db_object_put(db, bundle->data, bundle->len, hex)) != GY_OK)
        goto out;
    rc = gy_registry_model_create(db, model, NULL, NULL, NULL, 0);
    if (rc == GY_E_EXISTS)
        rc = GY_OK;
    if (rc)
        goto out;
    /* No training run: the version points at its bundle object, named by content. */
    gy_snprintf(source, sizeof source, "models:/imported/%s", hex);
    gy_snprintf(desc, sizeof desc, "Imported from the XGBoost model %s", file);
    memset(&c, 0, sizeof c);
    c.name = model;
    c.source = source;
    c.description = desc;
    c.tags = tags;
    c.ntags = GY_ARRAY_LEN(tags);
    c.bundle_hash = hex;
    rc = gy_registry_version_create(db, &c, version);
out:
    gy_db_free(db);
    return rc;
}

static int cmd_import(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--format", NULL, 1, NULL, 0},
                             {"--name", NULL, 1, NULL, 0},
                             {"--feature-names", NULL, 1, NULL, 0},
                             {"--register", NULL, 1, NULL, 0},
                             {"--out", NULL, 1, NULL, 0}};
    char *pos[16];
    size_t npos;
    const char *fmt = NULL, *reg, *outp, *format;
    char stem[256], base[256], hex[GY_SHA256_HEX_LEN + 1];
    struct gy_buf file, bundle;
    struct gy_trees *t = NULL;
    json_t *names = NULL;
    int64_t version = 0;
    enum gy_status rc;
    int ex;

    if (argc > 16 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1)
        goto usage;
    fmt = gy_cli_get(o, NOPTS(o), "--format");
    reg = gy_cli_get(o, NOPTS(o), "--register");
    outp = gy_cli_get(o, NOPTS(o), "--out");
    if (fmt && strcmp(fmt, "xgboost") != 0) {
        fprintf(stderr, "gyre: --format %s is not supported (xgboost)\n", fmt);
        return GY_EXIT_USAGE;
    }
    if (!reg && !outp) {
        fprintf(stderr, "gyre: model import needs --out FILE and/or --register MODEL\n");
        goto usage;
    }
    if (reg && (rc = gy_registry_name_check(reg)) != GY_OK)
        return gy_cli_fail(rc, "--register");
    gy_buf_init(&file, MODEL_FILE_MAX);
    gy_buf_init(&bundle, BUNDLE_MAX);
    file_stem(pos[0], stem, sizeof stem);
    {
        const char *b = strrchr(pos[0], '/');
        gy_snprintf(base, sizeof base, "%s", b ? b + 1 : pos[0]);
    }
    if ((rc = gy_file_read(pos[0], &file)) != GY_OK) {
        ex = gy_cli_fail(rc, pos[0]);
        goto out;
    }
    format = file.len >= 2 && file.data[0] == '{' && strchr("iUIlL$#", file.data[1]) && file.data[1]
                 ? "xgboost-ubj"
                 : "xgboost-json";
    if ((rc = gy_model_trees_from_xgboost(file.data, file.len, &t)) != GY_OK ||
        (rc = import_names(gy_cli_get(o, NOPTS(o), "--feature-names"), &file, t->n_features,
                           &names)) != GY_OK ||
        (rc = import_bundle(t, names,
                            gy_cli_get(o, NOPTS(o), "--name") ? gy_cli_get(o, NOPTS(o), "--name")
                            : reg                             ? reg
                                                              : stem,
                            base, format, &bundle)) != GY_OK) {
        ex = gy_cli_fail(rc, pos[0]);
        goto out;
    }
    gy_sha256_hex(bundle.data, bundle.len, hex);
    printf("imported %s: %u trees, %u features, objective %s\n", pos[0], t->n_trees, t->n_features,
           t->objective);
    printf("  bundle %s (%zu bytes)\n", hex, bundle.len);
    if (outp) {
        if ((rc = gy_file_write_atomic(outp, bundle.data, bundle.len)) != GY_OK) {
            ex = gy_cli_fail(rc, outp);
            goto out;
        }
        printf("wrote %s\n", outp);
    }
    if (reg) {
        if ((rc = import_register(reg, &bundle, base, format, &version)) != GY_OK) {
            ex = gy_cli_fail(rc, "import failed");
            goto out;
        }
        printf("registered %s version %lld\n", reg, (long long)version);
    }
    ex = fflush(stdout) == 0 ? GY_EXIT_OK : GY_EXIT_FAIL;
out:
    json_decref(names);
    gy_model_trees_free(t);
    gy_buf_free(&file);
    gy_buf_free(&bundle);
    return ex;
usage:
    fprintf(stderr, "usage: gyre model import FILE --format xgboost [--name NAME] "
                    "[--feature-names a,b,..] [--register MODEL] [--out FILE.gyre]\n");
    return GY_EXIT_USAGE;
}

/* ------------------------------------------------------------------ export */

static int cmd_export(int argc, char **argv)
{
    char *pos[8];
    size_t npos;
    struct gy_buf data;
    struct gy_model_bundle *b = NULL;
    char what[512];
    enum gy_status rc;
    int ex;

    if (argc > 8 || (ex = gy_cli_parse(argc, argv, NULL, 0, pos, &npos)) || npos != 2) {
        fprintf(stderr, "usage: gyre model export MODEL[@ALIAS|@N] FILE\n");
        return GY_EXIT_USAGE;
    }
    rc = bundle_bytes(pos[0], &data, what, sizeof what);
    /* Only a bundle that loads is written out. */
    if (rc == GY_OK && (rc = gy_model_bundle_load(data.data, data.len, &b)) != GY_OK)
        gy_error_wrap(rc, "%s", what);
    gy_model_bundle_free(b);
    if (rc == GY_OK && (rc = gy_file_write_atomic(pos[1], data.data, data.len)) != GY_OK)
        gy_error_wrap(rc, "%s", pos[1]);
    if (rc == GY_OK)
        printf("wrote %s (%zu bytes) from %s\n", pos[1], data.len, what);
    gy_buf_free(&data);
    if (rc)
        return gy_cli_fail(rc, NULL);
    return fflush(stdout) == 0 ? GY_EXIT_OK : GY_EXIT_FAIL;
}

/* ------------------------------------------------------------------ predict */

/*
 * A CSV reader over a buffer held in memory: RFC 4180 quoting ("a,b", "say ""hi"""), CRLF or
 * LF line ends. Fields are unquoted in place and NUL-terminated.
 */
struct csv {
    char *p, *end;
    size_t line;     /* line of the record being read, from 1 */
    size_t max_cols; /* fields per record at most */
};

/*
 * Reads the next record into @p f (at most c->max_cols), *n fields. GY_NOT_FOUND at the end;
 * GY_E_INVALID for a bad quote or too many fields, naming the line.
 */
static enum gy_status csv_record(struct csv *c, char **f, size_t *n, const char *path)
{
    *n = 0;
    if (c->p >= c->end)
        return GY_NOT_FOUND;
    for (;;) {
        char *w = c->p, *start = c->p;
        if (*n == c->max_cols)
            return gy_error_set(GY_E_INVALID, "%s:%zu: more than %zu fields", path, c->line,
                                c->max_cols);
        f[(*n)++] = start;
        if (c->p < c->end && *c->p == '"') {
            c->p++;
            for (;;) {
                if (c->p >= c->end)
                    return gy_error_set(GY_E_INVALID, "%s:%zu: unterminated quoted field", path,
                                        c->line);
                if (*c->p == '"') {
                    if (c->p + 1 < c->end && c->p[1] == '"') {
                        *w++ = '"';
                        c->p += 2;
                        continue;
                    }
                    c->p++;
                    break;
                }
                if (*c->p == '\n')
                    c->line++;
                *w++ = *c->p++;
            }
            if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
                return gy_error_set(GY_E_INVALID, "%s:%zu: text after a closing quote", path,
                                    c->line);
        } else {
            while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
                w++, c->p++;
        }
        if (c->p < c->end && *c->p == ',') {
            *w = '\0';
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '\r')
            c->p++;
        if (c->p < c->end && *c->p == '\n')
            c->p++;
        *w = '\0';
        c->line++;
        return GY_OK;
    }
}

/* Shortest "%.*g" text that reads back (strtof) as @p f. */
static void fmt_f32(float f, char *out, size_t cap)
{
    if (isnan(f)) {
        gy_snprintf(out, cap, "nan");
        return;
    }
    for (int p = 1; p <= 9; p++) {
        snprintf(out, cap, "%.*g", p, (double)f);
        if (strtof(out, NULL) == f)
            return;
    }
}

/* One raw CSV field as the value of input @p i. */
static enum gy_status csv_value(const struct gy_features *f, size_t i, const char *text,
                                struct gy_feature_value *v)
{
    enum gy_type ty = gy_features_input_type(f, i);
    char *end;
    memset(v, 0, sizeof *v);
    if (*text == '\0') {
        v->kind = GY_FV_NULL;
        return GY_OK;
    }
    if (ty == GY_TYPE_STRING) {
        v->kind = GY_FV_STR;
        v->str = text;
        v->len = strlen(text);
        return GY_OK;
    }
    if (ty == GY_TYPE_BOOL && (strcmp(text, "true") == 0 || strcmp(text, "false") == 0)) {
        v->kind = GY_FV_BOOL;
        v->num = text[0] == 't';
        return GY_OK;
    }
    errno = 0;
    v->num = strtod(text, &end);
    if (end == text || *end != '\0')
        return gy_error_set(GY_E_INVALID, "column \"%s\": \"%.40s\" is not a number",
                            gy_features_input_name(f, i), text);
    v->kind = GY_FV_NUM;
    return GY_OK;
}

/* Reads the CSV at @p path into preprocessed rows: *x new (nrows x width floats). */
static enum gy_status predict_rows(const struct gy_model_bundle *b, const char *path, float **xo,
                                   size_t *nrows_out)
{
    const struct gy_features *f = gy_model_bundle_features(b);
    size_t ni = gy_features_n_inputs(f), nf = gy_model_bundle_n_features(b);
    size_t ncols = 0, nrows = 0, cap = 0, n;
    struct gy_buf data;
    struct csv c;
    char **fields = NULL;
    long *col = NULL; /* column of each input */
    struct gy_feature_value *vals = NULL;
    float *x = NULL;
    enum gy_status rc;

    *xo = NULL;
    *nrows_out = 0;
    gy_buf_init(&data, CSV_FILE_MAX);
    if ((rc = gy_file_read(path, &data)) != GY_OK) {
        gy_error_wrap(rc, "%s", path);
        goto out;
    }
    c = (struct csv){data.data, data.data + data.len, 1, 65536};
    fields = gy_malloc(c.max_cols * sizeof(*fields));
    col = gy_malloc((ni ? ni : 1) * sizeof(*col));
    vals = gy_calloc(ni ? ni : 1, sizeof(*vals));
    if (!fields || !col || !vals) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    rc = csv_record(&c, fields, &ncols, path);
    if (rc == GY_NOT_FOUND)
        rc = gy_error_set(GY_E_INVALID, "%s: empty file (a header line is needed)", path);
    if (rc)
        goto out;
    for (size_t i = 0; i < ni; i++) {
        const char *name = gy_features_input_name(f, i);
        col[i] = -1;
        for (size_t k = 0; k < ncols; k++) {
            if (strcmp(fields[k], name) != 0)
                continue;
            if (col[i] >= 0) {
                rc = gy_error_set(GY_E_INVALID, "%s:1: column \"%s\" appears twice", path, name);
                goto out;
            }
            col[i] = (long)k;
        }
        if (col[i] < 0) {
            rc = gy_error_set(GY_E_SCHEMA, "%s:1: the model's input \"%s\" has no column", path,
                              name);
            goto out;
        }
    }
    for (;;) {
        size_t line = c.line;
        rc = csv_record(&c, fields, &n, path);
        if (rc == GY_NOT_FOUND) {
            rc = GY_OK;
            break;
        }
        if (rc)
            goto out;
        if (n == 1 && fields[0][0] == '\0' && ncols > 1)
            continue; /* an empty line */
        if (n != ncols) {
            rc = gy_error_set(GY_E_INVALID, "%s:%zu: %zu fields; the header has %zu", path, line, n,
                              ncols);
            goto out;
        }
        if (nrows == cap) {
            size_t ncap = cap ? 2 * cap : 1024;
            float *nx = gy_realloc(x, ncap * (nf ? nf : 1) * sizeof(float));
            if (!nx) {
                rc = gy_error_set(GY_E_NOMEM, "out of memory");
                goto out;
            }
            x = nx;
            cap = ncap;
        }
        for (size_t i = 0; i < ni; i++) {
            if ((rc = csv_value(f, i, fields[col[i]], &vals[i])) != GY_OK) {
                gy_error_wrap(rc, "%s:%zu", path, line);
                goto out;
            }
        }
        if ((rc = gy_features_apply_row(f, vals, x + nrows * nf)) != GY_OK) {
            gy_error_wrap(rc, "%s:%zu", path, line);
            goto out;
        }
        nrows++;
    }
    *xo = x;
    *nrows_out = nrows;
    x = NULL;
out:
    gy_free(x);
    gy_free(fields);
    gy_free(col);
    gy_free(vals);
    gy_buf_free(&data);
    return rc;
}

static int cmd_predict(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--csv", NULL, 1, NULL, 0},
                             {"--margins", NULL, 0, NULL, 0},
                             {"--engine", NULL, 1, NULL, 0}};
    char *pos[16];
    size_t npos, nrows = 0, width;
    const char *csv, *engine_name;
    struct gy_model_bundle *b = NULL;
    struct gy_engine *e = NULL;
    float *x = NULL, *res = NULL;
    void *scratch = NULL;
    int margins, ex;
    enum gy_status rc;
    struct gy_buf line;

    if (argc > 16 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1 ||
        !(csv = gy_cli_get(o, NOPTS(o), "--csv"))) {
        fprintf(stderr, "usage: gyre model predict FILE|MODEL[@REF] --csv FILE [--margins] "
                        "[--engine fast|reference]\n");
        return GY_EXIT_USAGE;
    }
    engine_name = gy_cli_get(o, NOPTS(o), "--engine");
    if (!engine_name)
        engine_name = "fast";
    if (strcmp(engine_name, "fast") != 0 && strcmp(engine_name, "reference") != 0) {
        fprintf(stderr, "gyre: --engine is fast or reference\n");
        return GY_EXIT_USAGE;
    }
    margins = gy_cli_get(o, NOPTS(o), "--margins") != NULL;
    gy_buf_init(&line, (size_t)1 << 30);
    if ((rc = bundle_open(pos[0], &b)) != GY_OK || (rc = predict_rows(b, csv, &x, &nrows)) != GY_OK)
        goto fail;
    width = margins ? gy_model_bundle_n_margins(b) : gy_model_bundle_n_outputs(b);
    res = gy_malloc((nrows ? nrows : 1) * width * sizeof(float));
    if (!res) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto fail;
    }
    if (strcmp(engine_name, "fast") == 0) {
        char *aligned;
        if ((rc = gy_engine_create(b, &e)) != GY_OK)
            goto fail;
        scratch = gy_malloc(gy_engine_scratch_size(e, nrows) + 63);
        if (!scratch) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto fail;
        }
        aligned = (char *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
        gy_engine_predict(e, x, nrows, aligned, margins ? res : NULL, margins ? NULL : res);
    } else {
        gy_model_predict_matrix(b, x, nrows, margins ? res : NULL, margins ? NULL : res);
    }
    for (size_t r = 0; r < nrows; r++) {
        gy_buf_reset(&line);
        for (size_t k = 0; k < width; k++) {
            char num[32];
            fmt_f32(res[r * width + k], num, sizeof num);
            if ((k && gy_buf_putc(&line, ',')) || gy_buf_puts(&line, num)) {
                rc = gy_error_set(GY_E_NOMEM, "out of memory");
                goto fail;
            }
        }
        if (gy_buf_putc(&line, '\n') || fputs(line.data, stdout) == EOF) {
            rc = gy_error_set(GY_E_IO, "cannot write the predictions");
            goto fail;
        }
    }
    ex = fflush(stdout) == 0 ? GY_EXIT_OK : GY_EXIT_FAIL;
    goto out;
fail:
    ex = gy_cli_fail(rc, NULL);
out:
    gy_buf_free(&line);
    gy_free(scratch);
    gy_free(res);
    gy_free(x);
    gy_engine_free(e);
    gy_model_bundle_free(b);
    return ex;
}

const struct gy_cli_cmd gy_cli_model_cmds[] = {
    {"model inspect", "FILE|MODEL[@ALIAS] [--compact]",
     "validate a model bundle and print it as JSON (signature, preprocessing, estimator, profile)",
     cmd_inspect},
    {"model import",
     "FILE --format xgboost [--name NAME] [--feature-names a,b,..] [--register MODEL] "
     "[--out FILE.gyre]",
     "turn an XGBoost JSON or UBJSON model into a gyre bundle: a file and/or a registered version",
     cmd_import},
    {"model export", "MODEL[@ALIAS|@N] FILE", "write a registered version's bundle to a file",
     cmd_export},
    {"model predict", "FILE|MODEL[@REF] --csv FILE [--margins] [--engine fast|reference]",
     "predict the rows of a CSV file (header: input names) and print one line per row",
     cmd_predict},
    {NULL, NULL, NULL, NULL},
};

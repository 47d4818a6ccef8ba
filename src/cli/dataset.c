/* SPDX-License-Identifier: MIT */
/*
 * dataset.c - dataset commands: create, ingest, list, show, versions, head and export.
 */
#include "auth/auth.h"
#include "cli/cli.h"
#include "lake/lake.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))

static int parse_format(const char *s, enum gy_format *f)
{
    if (!s || strcmp(s, "auto") == 0)
        *f = GY_FORMAT_AUTO;
    else if (strcmp(s, "csv") == 0)
        *f = GY_FORMAT_CSV;
    else if (strcmp(s, "jsonl") == 0 || strcmp(s, "ndjson") == 0 || strcmp(s, "json") == 0)
        *f = GY_FORMAT_JSONL;
    else {
        fprintf(stderr, "gyre: --format must be csv or jsonl, not \"%s\"\n", s);
        return GY_EXIT_USAGE;
    }
    return GY_EXIT_OK;
}

static int open_input(const char *path, int *fd)
{
    if (strcmp(path, "-") == 0) {
        *fd = STDIN_FILENO;
        return GY_EXIT_OK;
    }
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        fprintf(stderr, "gyre: %s: %s\n", path, strerror(errno));
        return GY_EXIT_FAIL;
    }
    return GY_EXIT_OK;
}

static int cmd_create(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--schema", NULL, 1, NULL, 0},
                             {"--infer-from", NULL, 1, NULL, 0},
                             {"--format", NULL, 1, NULL, 0},
                             {"--description", NULL, 1, NULL, 0}};
    char *pos[64];
    size_t npos;
    struct gy_schema *schema = NULL;
    struct gy_db *db = NULL;
    const char *schema_file, *infer;
    enum gy_status rc = GY_OK;
    int ex;

    if (argc > 64 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)))
        return GY_EXIT_USAGE;
    if (npos != 1) {
        fprintf(stderr, "usage: gyre dataset create NAME [--schema FILE|--infer-from FILE]\n");
        return GY_EXIT_USAGE;
    }
    schema_file = gy_cli_get(o, NOPTS(o), "--schema");
    infer = gy_cli_get(o, NOPTS(o), "--infer-from");
    if (schema_file && infer) {
        fprintf(stderr, "gyre: give --schema or --infer-from, not both\n");
        return GY_EXIT_USAGE;
    }
    if (schema_file) {
        struct gy_buf b;
        json_t *j = NULL;
        gy_buf_init(&b, 16 << 20);
        rc = gy_file_read(schema_file, &b);
        if (rc == GY_OK)
            rc = gy_json_parse(b.data, b.len, 8, schema_file, &j);
        if (rc == GY_OK) {
            rc = gy_schema_from_json(j, &schema);
            if (rc)
                gy_error_wrap(rc, "%s", schema_file);
        }
        json_decref(j);
        gy_buf_free(&b);
        if (rc)
            return gy_cli_fail(rc, NULL);
    } else if (infer) {
        struct gy_ingest_opts io = {0};
        struct gy_buf report;
        int fd;
        if ((ex = parse_format(gy_cli_get(o, NOPTS(o), "--format"), &io.format)))
            return ex;
        if ((ex = open_input(infer, &fd)))
            return ex;
        io.source = infer;
        gy_buf_init(&report, 1 << 20);
        rc = gy_lake_infer_schema(fd, &io, 0, &schema, &report);
        if (fd != STDIN_FILENO)
            close(fd);
        if (rc == GY_OK)
            printf("inferred schema from %s:\n%s", infer, report.data ? report.data : "");
        gy_buf_free(&report);
        if (rc)
            return gy_cli_fail(rc, NULL);
    }
    if ((ex = gy_cli_open_db(&db))) {
        gy_schema_free(schema);
        return ex;
    }
    rc = gy_lake_dataset_create(db, pos[0], schema, gy_cli_get(o, NOPTS(o), "--description"));
    gy_audit_cli(db, "dataset.create", rc, NULL, "datasets/%s", pos[0]);
    if (rc == GY_OK)
        printf("created dataset %s%s\n", pos[0],
               schema ? "" : " (schema will be inferred at the first ingest)");
    gy_schema_free(schema);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

struct progress {
    int64_t t0;
    int quiet;
};

static void on_progress(void *arg, uint64_t rows, uint64_t bytes)
{
    struct progress *p = arg;
    double s = (double)(gy_time_mono_ns() - p->t0) / 1e9;
    if (!p->quiet)
        fprintf(stderr, "\r  %llu rows, %.1f MB, %.0f MB/s   ", (unsigned long long)rows,
                (double)bytes / 1e6, s > 0 ? (double)bytes / 1e6 / s : 0.0);
}

/* The process's own peak resident memory in MiB (VmHWM: per address space, so not inherited
 * from a parent that forked us), or -1 when unknown. */
static double peak_rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = strtod(line + 6, NULL);
    fclose(f);
    return kib < 0 ? -1 : kib / 1024.0;
}

static int cmd_ingest(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--format", NULL, 1, NULL, 0},
                             {"--skip-bad-rows", NULL, 1, NULL, 0},
                             {"--max-line", NULL, 1, NULL, 0},
                             {"--quiet", "-q", 0, NULL, 0},
                             {"--json", NULL, 0, NULL, 0}};
    char *pos[64];
    size_t npos;
    struct gy_ingest_opts io = {0};
    struct gy_ingest_result res;
    struct progress pr;
    struct gy_db *db = NULL;
    enum gy_status rc;
    int fd, ex, tty = isatty(STDERR_FILENO);
    const char *v;

    if (argc > 64 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)))
        return GY_EXIT_USAGE;
    if (npos != 2) {
        fprintf(stderr, "usage: gyre ingest NAME FILE|- [--format csv|jsonl] "
                        "[--skip-bad-rows N]\n");
        return GY_EXIT_USAGE;
    }
    if ((ex = parse_format(gy_cli_get(o, NOPTS(o), "--format"), &io.format)))
        return ex;
    if ((v = gy_cli_get(o, NOPTS(o), "--skip-bad-rows"))) {
        int64_t n;
        if (gy_parse_int64(v, &n) || n < 0) {
            fprintf(stderr, "gyre: --skip-bad-rows needs a count >= 0\n");
            return GY_EXIT_USAGE;
        }
        io.skip_bad_rows = (size_t)n;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--max-line"))) {
        int64_t n;
        if (gy_parse_int64(v, &n) || n < 16 || n > (1 << 30)) {
            fprintf(stderr, "gyre: --max-line needs a byte count from 16 to 1073741824\n");
            return GY_EXIT_USAGE;
        }
        io.max_line = (size_t)n;
    }
    if ((ex = open_input(pos[1], &fd)))
        return ex;
    if ((ex = gy_cli_open_db(&db))) {
        if (fd != STDIN_FILENO)
            close(fd);
        return ex;
    }
    io.source = strcmp(pos[1], "-") == 0 ? "<stdin>" : pos[1];
    io.report = stderr;
    pr.t0 = gy_time_mono_ns();
    pr.quiet = gy_cli_get(o, NOPTS(o), "--quiet") || !tty;
    io.progress = on_progress;
    io.progress_arg = &pr;
    rc = gy_lake_ingest(db, pos[0], fd, &io, &res);
    if (fd != STDIN_FILENO)
        close(fd);
    if (!pr.quiet)
        fprintf(stderr, "\r\033[K");
    if (rc == GY_OK) {
        double s = (double)(gy_time_mono_ns() - pr.t0) / 1e9;
        if (gy_cli_get(o, NOPTS(o), "--json")) {
            json_t *j =
                json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:f, s:f}", "dataset", pos[0],
                          "version", (json_int_t)res.version, "rows", (json_int_t)res.rows,
                          "total_rows", (json_int_t)res.total_rows, "skipped",
                          (json_int_t)res.skipped, "bytes", (json_int_t)res.bytes_in, "manifest",
                          res.manifest, "seconds", s, "peak_rss_mib", peak_rss_mib());
            gy_cli_print_json(j);
            json_decref(j);
        } else {
            printf("ingested %llu rows into %s@%lld (%llu rows in all%s%llu skipped) in %.2f s, "
                   "%.0f MB/s\n",
                   (unsigned long long)res.rows, pos[0], (long long)res.version,
                   (unsigned long long)res.total_rows, ", ", (unsigned long long)res.skipped, s,
                   s > 0 ? (double)res.bytes_in / 1e6 / s : 0.0);
        }
    }
    gy_audit_cli(db, "dataset.ingest", rc, NULL, "datasets/%s", pos[0]);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, "ingest failed, nothing was committed") : GY_EXIT_OK;
}

static int cmd_list(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    struct gy_db *db;
    json_t *a = NULL;
    enum gy_status rc;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos) {
        fprintf(stderr, "usage: gyre dataset list [--json]\n");
        return GY_EXIT_USAGE;
    }
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_lake_dataset_list(db, &a);
    if (rc == GY_OK) {
        if (gy_cli_get(o, NOPTS(o), "--json")) {
            gy_cli_print_json(a);
        } else {
            size_t i;
            json_t *d;
            printf("%-24s %8s %12s  %s\n", "NAME", "VERSION", "ROWS", "CREATED");
            json_array_foreach(a, i, d)
            {
                printf("%-24s %8lld %12lld  %s\n", gy_json_str(d, "name", ""),
                       (long long)gy_json_int(d, "latest_version", 0),
                       (long long)gy_json_int(d, "rows", 0), gy_json_str(d, "created", ""));
            }
        }
    }
    json_decref(a);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

static int cmd_versions(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    struct gy_db *db;
    json_t *a = NULL;
    enum gy_status rc;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1) {
        fprintf(stderr, "usage: gyre dataset versions NAME [--json]\n");
        return GY_EXIT_USAGE;
    }
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_lake_version_list(db, pos[0], &a);
    if (rc == GY_OK) {
        if (gy_cli_get(o, NOPTS(o), "--json")) {
            gy_cli_print_json(a);
        } else {
            size_t i;
            json_t *d;
            printf("%8s %12s  %-27s  %-16s  %s\n", "VERSION", "ROWS", "CREATED", "MANIFEST",
                   "SOURCE");
            json_array_foreach(a, i, d)
            {
                printf("%8lld %12lld  %-27s  %.16s  %s\n", (long long)gy_json_int(d, "version", 0),
                       (long long)gy_json_int(d, "rows", 0), gy_json_str(d, "created", ""),
                       gy_json_str(d, "manifest", ""), gy_json_str(d, "source", ""));
            }
        }
    }
    json_decref(a);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

static void print_num(const json_t *c, const char *key, int is_int)
{
    const json_t *v = json_object_get(c, key);
    if (!json_is_number(v))
        printf(" %12s", "-");
    else if (is_int && json_is_integer(v))
        printf(" %12lld", (long long)json_integer_value(v));
    else
        printf(" %12.6g", json_number_value(v));
}

static void print_profile(const json_t *m)
{
    const json_t *cols = json_object_get(json_object_get(m, "profile"), "columns");
    size_t i;
    json_t *c;
    printf("\n%-20s %-9s %10s %8s %12s %12s %12s %12s %12s %9s\n", "COLUMN", "TYPE", "COUNT",
           "NULLS", "MIN", "P50", "MAX", "MEAN", "STD", "DISTINCT");
    json_array_foreach(cols, i, c)
    {
        const char *type = gy_json_str(c, "type", "");
        int num = strcmp(type, "string") && strcmp(type, "bool");
        int isint = strcmp(type, "int64") == 0 || strcmp(type, "timestamp") == 0;
        printf("%-20.20s %-9s %10lld %8lld", gy_json_str(c, "name", ""), type,
               (long long)gy_json_int(c, "count", 0), (long long)gy_json_int(c, "nulls", 0));
        if (strcmp(type, "timestamp") == 0) {
            /* Microsecond counts mean nothing to a reader: dates on a line of their own. */
            char p50[32] = "-";
            const json_t *q = json_object_get(json_object_get(c, "quantiles"), "p50");
            if (json_is_number(q))
                gy_time_format((int64_t)json_number_value(q), p50);
            printf(" %12s %12s %12s %12s %12s %9lld\n", "", "", "", "", "",
                   (long long)gy_json_num(c, "distinct", 0));
            printf("%-20s from %s to %s, median %s\n", "", gy_json_str(c, "min_time", "-"),
                   gy_json_str(c, "max_time", "-"), p50);
            continue;
        }
        if (num) {
            print_num(c, "min", isint);
            print_num(json_object_get(c, "quantiles"), "p50", 0);
            print_num(c, "max", isint);
            print_num(c, "mean", 0);
            print_num(c, "std", 0);
        } else {
            printf(" %12s %12s %12s %12s %12s", "", "", "", "", "");
        }
        printf(" %9lld\n", (long long)gy_json_num(c, "distinct", 0));
        if (!num || json_array_size(json_object_get(c, "top")) <= 10) {
            const json_t *top = json_object_get(c, "top");
            size_t j;
            json_t *t;
            if (json_array_size(top) && !num) {
                printf("%-20s top:", "");
                json_array_foreach(top, j, t)
                {
                    const json_t *val = json_object_get(t, "value");
                    if (j >= 8) {
                        printf(" ...");
                        break;
                    }
                    if (json_is_string(val))
                        printf(" %s=%lld", json_string_value(val),
                               (long long)gy_json_int(t, "count", 0));
                    else if (json_is_true(val) || json_is_false(val))
                        printf(" %s=%lld", json_is_true(val) ? "true" : "false",
                               (long long)gy_json_int(t, "count", 0));
                }
                printf("\n");
            }
        }
    }
}

static int cmd_show(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}};
    char *pos[8], name[GY_LAKE_MAX_NAME + 1];
    size_t npos;
    int64_t version;
    struct gy_db *db;
    json_t *m = NULL;
    enum gy_status rc;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1) {
        fprintf(stderr, "usage: gyre dataset show NAME[@VERSION] [--json]\n");
        return GY_EXIT_USAGE;
    }
    if ((rc = gy_lake_parse_ref(pos[0], name, &version)))
        return gy_cli_fail(rc, NULL);
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_lake_version_get(db, name, version, &m);
    if (rc == GY_OK) {
        if (gy_cli_get(o, NOPTS(o), "--json")) {
            json_t *out = json_pack(
                "{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:I}", "dataset",
                json_object_get(m, "dataset"), "version", json_object_get(m, "version"), "rows",
                json_object_get(m, "rows"), "created", json_object_get(m, "created"), "source",
                json_object_get(m, "source"), "schema", json_object_get(m, "schema"), "profile",
                json_object_get(m, "profile"), "chunks",
                (json_int_t)json_array_size(json_object_get(m, "chunks")));
            if (out)
                gy_cli_print_json(out);
            json_decref(out);
        } else {
            printf("dataset %s, version %lld of %s: %lld rows, %zu columns, %zu chunks\n", name,
                   (long long)gy_json_int(m, "version", 0), gy_json_str(m, "created", ""),
                   (long long)gy_json_int(m, "rows", 0),
                   json_array_size(json_object_get(m, "schema")),
                   json_array_size(json_object_get(m, "chunks")));
            printf("source: %s\n", gy_json_str(m, "source", ""));
            print_profile(m);
        }
    }
    json_decref(m);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ head / export */

enum out_fmt { OUT_CSV, OUT_JSONL, OUT_TABLE };

static void csv_field(FILE *f, const char *p, size_t n)
{
    int quote = n == 0;
    for (size_t i = 0; i < n && !quote; i++)
        if (p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r')
            quote = 1;
    /* NA-like text would read back as null; quote it so it stays a string. */
    if (!quote && ((n == 2 && memcmp(p, "NA", 2) == 0) || (n == 4 && memcmp(p, "null", 4) == 0) ||
                   (n == 3 && memcmp(p, "N/A", 3) == 0) || (n == 4 && memcmp(p, "NULL", 4) == 0)))
        quote = 1;
    if (!quote) {
        fwrite(p, 1, n, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"')
            fputc('"', f);
        fputc(p[i], f);
    }
    fputc('"', f);
}

/* Formats one value as text (not for strings). */
static void value_text(const struct gy_colvec *c, size_t i, char *buf, size_t cap)
{
    switch (c->type) {
    case GY_TYPE_FLOAT64:
        if (isinf(c->f64[i]))
            snprintf(buf, cap, "%s", c->f64[i] > 0 ? "inf" : "-inf");
        else
            snprintf(buf, cap, "%.17g", c->f64[i]);
        break;
    case GY_TYPE_INT64:
        snprintf(buf, cap, "%lld", (long long)c->i64[i]);
        break;
    case GY_TYPE_BOOL:
        snprintf(buf, cap, "%s", c->b[i] ? "true" : "false");
        break;
    case GY_TYPE_TIMESTAMP: {
        char ts[32];
        gy_time_format(c->i64[i], ts);
        snprintf(buf, cap, "%s", ts);
        break;
    }
    default:
        buf[0] = '\0';
    }
}

/* Shortest text that reads back to the same double. */
static void shortest_double(double v, char *buf, size_t cap)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static int dump_rows(struct gy_lake_scan *s, FILE *f, enum out_fmt fmt, uint64_t limit)
{
    const struct gy_schema *sc = gy_lake_scan_schema(s);
    uint64_t done = 0;
    enum gy_status rc;
    char buf[64];
    if (fmt == OUT_CSV || fmt == OUT_TABLE) {
        for (size_t k = 0; k < sc->ncols; k++) {
            if (k)
                fputc(fmt == OUT_CSV ? ',' : '\t', f);
            if (fmt == OUT_CSV)
                csv_field(f, sc->cols[k].name, strlen(sc->cols[k].name));
            else
                fputs(sc->cols[k].name, f);
        }
        fputc('\n', f);
    }
    while (done < limit) {
        const struct gy_colvec *cols;
        size_t n;
        if ((rc = gy_lake_scan_next(s, &cols, &n)) != GY_OK)
            return gy_cli_fail(rc, "export failed");
        if (n == 0)
            break;
        for (size_t i = 0; i < n && done < limit; i++, done++) {
            if (fmt == OUT_JSONL)
                fputc('{', f);
            for (size_t k = 0; k < sc->ncols; k++) {
                const struct gy_colvec *c = &cols[k];
                if (fmt == OUT_JSONL) {
                    json_t *key = json_string(sc->cols[k].name);
                    char *ks = json_dumps(key, JSON_ENCODE_ANY);
                    fprintf(f, "%s%s:", k ? "," : "", ks ? ks : "\"?\"");
                    gy_free(ks);
                    json_decref(key);
                } else if (k) {
                    fputc(fmt == OUT_CSV ? ',' : '\t', f);
                }
                if (!c->valid[i]) {
                    if (fmt == OUT_JSONL)
                        fputs("null", f);
                    else if (fmt == OUT_TABLE)
                        fputs("NA", f);
                    continue;
                }
                if (c->type == GY_TYPE_STRING) {
                    const char *p = c->data + c->off[i];
                    size_t len = c->off[i + 1] - c->off[i];
                    if (fmt == OUT_JSONL) {
                        json_t *js = json_stringn(p, len);
                        char *t = json_dumps(js, JSON_ENCODE_ANY);
                        fputs(t ? t : "null", f);
                        gy_free(t);
                        json_decref(js);
                    } else if (fmt == OUT_CSV) {
                        csv_field(f, p, len);
                    } else {
                        fwrite(p, 1, len, f);
                    }
                    continue;
                }
                if (c->type == GY_TYPE_FLOAT64 && !isinf(c->f64[i]))
                    shortest_double(c->f64[i], buf, sizeof buf);
                else
                    value_text(c, i, buf, sizeof buf);
                if (fmt == OUT_JSONL && (c->type == GY_TYPE_TIMESTAMP ||
                                         (c->type == GY_TYPE_FLOAT64 && isinf(c->f64[i]))))
                    fprintf(f, "\"%s\"", buf);
                else
                    fputs(buf, f);
            }
            fputs(fmt == OUT_JSONL ? "}\n" : "\n", f);
        }
    }
    return ferror(f) ? GY_EXIT_FAIL : GY_EXIT_OK;
}

static int scan_cmd(int argc, char **argv, int is_head)
{
    struct gy_cli_opt o[] = {{"--format", NULL, 1, NULL, 0},
                             {"-n", "--rows", 1, NULL, 0},
                             {"--output", "-o", 1, NULL, 0}};
    char *pos[8], name[GY_LAKE_MAX_NAME + 1];
    size_t npos;
    int64_t version, limit = is_head ? 10 : INT64_MAX;
    struct gy_db *db;
    struct gy_lake_scan *s = NULL;
    enum out_fmt fmt = is_head ? OUT_TABLE : OUT_CSV;
    const char *v, *outp;
    FILE *f = stdout;
    enum gy_status rc;
    int ex;

    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1) {
        fprintf(stderr, is_head ? "usage: gyre dataset head NAME[@V] [-n N] [--format csv|jsonl]\n"
                                : "usage: gyre dataset export NAME[@V] --format csv|jsonl "
                                  "[-o FILE]\n");
        return GY_EXIT_USAGE;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--format"))) {
        if (strcmp(v, "csv") == 0)
            fmt = OUT_CSV;
        else if (strcmp(v, "jsonl") == 0)
            fmt = OUT_JSONL;
        else {
            fprintf(stderr, "gyre: --format must be csv or jsonl\n");
            return GY_EXIT_USAGE;
        }
    }
    if ((v = gy_cli_get(o, NOPTS(o), "-n")) && (gy_parse_int64(v, &limit) || limit < 0)) {
        fprintf(stderr, "gyre: -n needs a row count >= 0\n");
        return GY_EXIT_USAGE;
    }
    if ((rc = gy_lake_parse_ref(pos[0], name, &version)))
        return gy_cli_fail(rc, NULL);
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_lake_scan_open(db, name, version, NULL, 0, &s);
    if (rc) {
        gy_db_free(db);
        return gy_cli_fail(rc, NULL);
    }
    outp = gy_cli_get(o, NOPTS(o), "--output");
    if (outp && !(f = fopen(outp, "w"))) {
        fprintf(stderr, "gyre: %s: %s\n", outp, strerror(errno));
        ex = GY_EXIT_FAIL;
    } else {
        ex = dump_rows(s, f, fmt, (uint64_t)limit);
        if (f != stdout && fclose(f) != 0)
            ex = GY_EXIT_FAIL;
        else if (f == stdout && fflush(stdout) != 0)
            ex = GY_EXIT_FAIL;
    }
    gy_lake_scan_free(s);
    gy_db_free(db);
    return ex;
}

static int cmd_head(int argc, char **argv)
{
    return scan_cmd(argc, argv, 1);
}

static int cmd_export(int argc, char **argv)
{
    return scan_cmd(argc, argv, 0);
}

static int cmd_verify(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--all", NULL, 0, NULL, 0}};
    char *pos[8], name[GY_LAKE_MAX_NAME + 1];
    size_t npos;
    int64_t version, first, last;
    struct gy_db *db;
    enum gy_status rc = GY_OK;
    int ex, bad = 0;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1) {
        fprintf(stderr, "usage: gyre dataset verify NAME[@V] [--all]\n");
        return GY_EXIT_USAGE;
    }
    if ((rc = gy_lake_parse_ref(pos[0], name, &version)))
        return gy_cli_fail(rc, NULL);
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    first = last = version;
    if (gy_cli_get(o, NOPTS(o), "--all")) {
        json_t *a = NULL;
        if ((rc = gy_lake_version_list(db, name, &a)) != GY_OK) {
            gy_db_free(db);
            return gy_cli_fail(rc, NULL);
        }
        first = 1;
        last = json_array_size(a)
                   ? gy_json_int(json_array_get(a, json_array_size(a) - 1), "version", 0)
                   : 0;
        json_decref(a);
        if (last == 0) {
            printf("%s: no versions\n", name);
            gy_db_free(db);
            return GY_EXIT_OK;
        }
    }
    for (int64_t v = first; v <= last; v++) {
        uint64_t rows;
        rc = gy_lake_version_verify(db, name, v, &rows);
        if (rc == GY_OK) {
            printf("%s@%lld: ok, %llu rows\n", name, (long long)v, (unsigned long long)rows);
        } else {
            printf("%s@%lld: FAILED: %s\n", name, (long long)v, gy_error_msg());
            bad = 1;
        }
        if (v == 0)
            break;
    }
    gy_db_free(db);
    return bad ? GY_EXIT_FAIL : GY_EXIT_OK;
}

const struct gy_cli_cmd gy_cli_dataset_cmds[] = {
    {"dataset create", "NAME [--schema FILE|--infer-from FILE] [--description D]",
     "create a dataset, with a fixed schema or one inferred from a sample", cmd_create},
    {"ingest", "NAME FILE|- [--format csv|jsonl] [--skip-bad-rows N]",
     "append CSV or JSON Lines rows as a new dataset version", cmd_ingest},
    {"dataset list", "[--json]", "list datasets", cmd_list},
    {"dataset show", "NAME[@V] [--json]", "schema, row count and per-column profile", cmd_show},
    {"dataset versions", "NAME [--json]", "list the versions of a dataset", cmd_versions},
    {"dataset head", "NAME[@V] [-n N] [--format csv|jsonl]", "print the first rows", cmd_head},
    {"dataset export", "NAME[@V] --format csv|jsonl [-o FILE]", "write out a version", cmd_export},
    {"dataset verify", "NAME[@V] [--all]",
     "check every segment's checksum and the row counts of a version (or all)", cmd_verify},
    {NULL, NULL, NULL, NULL},
};

/* SPDX-License-Identifier: MIT */
/*
 * feedback.c - `gyre feedback DEPLOYMENT --csv FILE` stores ground-truth labels and business
 * values for logged requests (a CSV with a header naming request_id and label and/or value),
 * and `gyre feedback metrics DEPLOYMENT` prints the online metrics per model version from
 * that feedback joined to the prediction log (src/serving/feedback.c, docs/monitoring.md).
 */
#include "cli/cli.h"
#include "serving/serving.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define CHUNK 10000
#define LINE_MAX_BYTES 4096

/* Parses a label/value field: empty is absent (*out NULL), a number, or true/false. */
static int field_value(const char *s, size_t len, json_t **out)
{
    char buf[64], *end = NULL;
    double v;
    *out = NULL;
    if (len == 0)
        return 0;
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    if (strcmp(buf, "true") == 0 || strcmp(buf, "false") == 0) {
        *out = json_real(buf[0] == 't');
        return *out ? 0 : -1;
    }
    errno = 0;
    v = strtod(buf, &end);
    if (errno || end == buf || *end || !isfinite(v))
        return -1;
    *out = json_real(v);
    return *out ? 0 : -1;
}

static int flush_items(struct gy_db *db, const char *dep, json_t *items, size_t *total)
{
    size_t n = 0;
    enum gy_status rc;
    if (!json_array_size(items))
        return GY_EXIT_OK;
    if ((rc = gy_feedback_put(db, dep, items, &n)))
        return gy_cli_fail(rc, NULL);
    *total += n;
    json_array_clear(items);
    return GY_EXIT_OK;
}

static int cmd_feedback(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--csv", NULL, 1, NULL, 0}};
    char *pos[64], line[LINE_MAX_BYTES + 2];
    size_t npos, total = 0, lineno = 0;
    int ex, col_id = -1, col_label = -1, col_value = -1, ncols = 0;
    struct gy_db *db = NULL;
    json_t *items = NULL;
    FILE *fp = NULL;
    if (argc > 64)
        return GY_EXIT_USAGE;
    if ((ex = gy_cli_parse(argc, argv, o, 1, pos, &npos)))
        return ex;
    if (npos != 1 || !o[0].value) {
        fprintf(stderr, "usage: gyre feedback DEPLOYMENT --csv FILE|-\n");
        return GY_EXIT_USAGE;
    }
    fp = strcmp(o[0].value, "-") == 0 ? stdin : fopen(o[0].value, "r");
    if (!fp) {
        fprintf(stderr, "gyre: cannot open %s: %s\n", o[0].value, strerror(errno));
        return GY_EXIT_FAIL;
    }
    if ((ex = gy_cli_open_db(&db)))
        goto out;
    if (!(items = json_array())) {
        ex = gy_cli_fail(GY_E_NOMEM, NULL);
        goto out;
    }
    while (fgets(line, sizeof line, fp)) {
        size_t len = strlen(line);
        const char *p = line;
        json_t *it = NULL, *id = NULL, *label = NULL, *value = NULL;
        int c = 0;
        lineno++;
        if (len > LINE_MAX_BYTES) {
            fprintf(stderr, "gyre: %s:%zu: line longer than %d bytes\n", o[0].value, lineno,
                    LINE_MAX_BYTES);
            ex = GY_EXIT_FAIL;
            goto out;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (!len)
            continue;
        if (strchr(line, '"')) {
            fprintf(stderr, "gyre: %s:%zu: quoted fields are not supported\n", o[0].value, lineno);
            ex = GY_EXIT_FAIL;
            goto out;
        }
        for (;;) {
            size_t n = strcspn(p, ",");
            const char *what = NULL;
            if (!ncols) {
                if (n == 10 && strncmp(p, "request_id", 10) == 0)
                    col_id = c;
                else if (n == 5 && strncmp(p, "label", 5) == 0)
                    col_label = c;
                else if (n == 5 && strncmp(p, "value", 5) == 0)
                    col_value = c;
            } else if (c == col_id) {
                if (!n)
                    what = "empty request_id";
                else if (!(id = json_stringn(p, n)))
                    what = "request_id is not UTF-8";
            } else if (c == col_label && field_value(p, n, &label)) {
                what = "label is not a number";
            } else if (c == col_value && field_value(p, n, &value)) {
                what = "value is not a number";
            }
            if (what) {
                fprintf(stderr, "gyre: %s:%zu: column %d: %s\n", o[0].value, lineno, c + 1, what);
                json_decref(id);
                json_decref(label);
                json_decref(value);
                ex = GY_EXIT_FAIL;
                goto out;
            }
            c++;
            if (!p[n])
                break;
            p += n + 1;
        }
        if (!ncols) {
            ncols = c;
            if (col_id < 0 || (col_label < 0 && col_value < 0)) {
                fprintf(stderr,
                        "gyre: %s:%zu: the header must name request_id and label "
                        "and/or value\n",
                        o[0].value, lineno);
                ex = GY_EXIT_FAIL;
                goto out;
            }
            continue;
        }
        if (c != ncols) {
            fprintf(stderr, "gyre: %s:%zu: %d fields, the header has %d\n", o[0].value, lineno, c,
                    ncols);
            json_decref(id);
            json_decref(label);
            json_decref(value);
            ex = GY_EXIT_FAIL;
            goto out;
        }
        it = json_object();
        if (!it || json_object_set_new(it, "request_id", id) ||
            (label && json_object_set_new(it, "label", label)) ||
            (value && json_object_set_new(it, "value", value)) ||
            json_array_append_new(items, it)) {
            ex = gy_cli_fail(GY_E_NOMEM, NULL);
            goto out;
        }
        if (json_array_size(items) >= CHUNK && (ex = flush_items(db, pos[0], items, &total)))
            goto out;
    }
    if (ferror(fp)) {
        fprintf(stderr, "gyre: cannot read %s\n", o[0].value);
        ex = GY_EXIT_FAIL;
        goto out;
    }
    if (!ncols) {
        fprintf(stderr, "gyre: %s is empty\n", o[0].value);
        ex = GY_EXIT_FAIL;
        goto out;
    }
    if ((ex = flush_items(db, pos[0], items, &total)))
        goto out;
    printf("stored feedback for %zu requests of %s\n", total, pos[0]);
out:
    json_decref(items);
    if (fp && fp != stdin)
        fclose(fp);
    gy_db_free(db);
    return ex;
}

static void print_metric(const json_t *v, const char *key)
{
    const json_t *x = json_object_get(v, key);
    if (x && json_is_number(x))
        printf("  %-10.6g", json_number_value(x));
    else
        printf("  %-10s", "-");
}

static int cmd_metrics(int argc, char **argv)
{
    static const char *const keys[] = {"accuracy", "auc",       "logloss",    "rmse",
                                       "mae",      "value_sum", "value_mean", NULL};
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}, {"--since-us", NULL, 1, NULL, 0}};
    char *pos[64];
    size_t npos, i;
    int64_t since = 0;
    int ex;
    struct gy_db *db = NULL;
    json_t *m = NULL, *v;
    enum gy_status rc;
    if (argc > 64)
        return GY_EXIT_USAGE;
    if ((ex = gy_cli_parse(argc, argv, o, 2, pos, &npos)))
        return ex;
    if (npos != 1) {
        fprintf(stderr, "usage: gyre feedback metrics DEPLOYMENT [--since-us US] [--json]\n");
        return GY_EXIT_USAGE;
    }
    if (o[1].value && (gy_parse_int64(o[1].value, &since) || since < 0)) {
        fprintf(stderr, "gyre: --since-us must be microseconds since the epoch\n");
        return GY_EXIT_USAGE;
    }
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_feedback_metrics(db, pos[0], since, &m);
    gy_db_free(db);
    if (rc)
        return gy_cli_fail(rc, NULL);
    if (o[0].value) {
        gy_cli_print_json(m);
    } else {
        printf("deployment %s: %lld feedback, %lld matched in %lld logged rows\n", pos[0],
               (long long)gy_json_int(m, "feedback", 0), (long long)gy_json_int(m, "matched", 0),
               (long long)gy_json_int(m, "logged", 0));
        printf("%-8s  %-8s  %-10s  %-10s  %-10s  %-10s  %-10s  %-10s  %-10s\n", "version",
               "labeled", "accuracy", "auc", "logloss", "rmse", "mae", "value_sum", "value_mean");
        json_array_foreach(json_object_get(m, "versions"), i, v)
        {
            printf("%-8lld  %-8lld", (long long)gy_json_int(v, "version", 0),
                   (long long)gy_json_int(v, "labeled", 0));
            for (size_t k = 0; keys[k]; k++)
                print_metric(v, keys[k]);
            printf("\n");
        }
    }
    json_decref(m);
    return GY_EXIT_OK;
}

const struct gy_cli_cmd gy_cli_feedback_cmds[] = {
    {"feedback", "DEPLOYMENT --csv FILE|-",
     "store ground-truth labels and business values for logged requests (CSV header: "
     "request_id and label and/or value)",
     cmd_feedback},
    {"feedback metrics", "DEPLOYMENT [--since-us US] [--json]",
     "online metrics per model version from feedback joined to the prediction log", cmd_metrics},
    {NULL, NULL, NULL, NULL},
};

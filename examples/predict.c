/* SPDX-License-Identifier: MIT */
/*
 * predict.c - a complete program on gyre's embedding API (include/gyre.h): opens a model
 * bundle, prints its signature to stderr, reads rows from stdin and prints one line of
 * predictions per row to stdout (values separated by commas, "%.9g" so every float32 reads
 * back exactly).
 *
 *   cc predict.c $(pkg-config --cflags --libs --static gyre) -o predict
 *   predict MODEL.gyb [--margins] < rows
 *
 * Two input forms; the first line decides:
 *   - numbers: each line holds the model's n_inputs values in signature order, separated by
 *     commas or blanks ("nan" or an empty field for missing), predicted in batches with
 *     gyre_predict (or gyre_predict_margins with --margins);
 *   - CSV with a header line naming the columns (any order, extra columns ignored, an empty
 *     field is missing; bools as true/false/1/0; timestamps as microseconds or
 *     YYYY-MM-DDTHH:MM:SS[Z]), each row predicted with gyre_predict_values. Models with
 *     category (string) inputs need this form.
 *
 * Uses only static buffers: lines up to 64 KiB, up to 4096 columns.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gyre.h"

#define MAX_LINE 65536
#define MAX_COLS 4096
#define BATCH 64

static char line[MAX_LINE];
static char *fields[MAX_COLS];
static long colmap[MAX_COLS]; /* model input i -> CSV column, or -1 */
static gyre_value vals[MAX_COLS];
static float xs[BATCH * MAX_COLS];
static float outs[1 << 18];
static char first[MAX_LINE];

static const char *type_name(gyre_type t)
{
    switch (t) {
    case GYRE_TYPE_FLOAT:
        return "float";
    case GYRE_TYPE_INT:
        return "int";
    case GYRE_TYPE_BOOL:
        return "bool";
    case GYRE_TYPE_STRING:
        return "string";
    case GYRE_TYPE_TIMESTAMP:
        return "timestamp";
    }
    return "?";
}

/* Reads one line without its newline; 0 at end of input, -1 for a line too long. */
static int read_line(FILE *in)
{
    size_t n;
    if (!fgets(line, sizeof line, in))
        return 0;
    n = strlen(line);
    if (n == sizeof line - 1 && line[n - 1] != '\n')
        return -1;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return 1;
}

/* Splits the line in place at commas (double quotes protect commas; "" is a quote). */
static size_t split_csv(char *s)
{
    size_t n = 0;
    for (;;) {
        char *w = s;
        if (n == MAX_COLS)
            return n + 1;
        fields[n++] = s;
        if (*s == '"') {
            s++;
            for (;;) {
                if (*s == '"' && s[1] == '"') {
                    *w++ = '"';
                    s += 2;
                } else if (*s == '"' || *s == '\0') {
                    if (*s)
                        s++;
                    break;
                } else {
                    *w++ = *s++;
                }
            }
            while (*s && *s != ',')
                s++;
        } else {
            while (*s && *s != ',')
                *w++ = *s++;
        }
        if (*s == '\0') {
            *w = '\0';
            return n;
        }
        s++;
        *w = '\0';
    }
}

/* Splits at commas and blanks (runs of blanks count once); for the numbers form. */
static size_t split_numbers(char *s)
{
    size_t n = 0;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0')
        return 0;
    for (;;) {
        if (n == MAX_COLS)
            return n + 1;
        fields[n++] = s;
        while (*s && *s != ',' && *s != ' ' && *s != '\t')
            s++;
        if (*s == '\0')
            return n;
        {
            char *end = s;
            while (*s == ' ' || *s == '\t')
                s++;
            if (*s == ',') {
                s++;
                while (*s == ' ' || *s == '\t')
                    s++;
            }
            *end = '\0';
        }
    }
}

/* A number, or NaN for an empty field or "nan"/"NA"; -1 when not a number. */
static int parse_number(const char *s, double *out)
{
    char *end;
    if (*s == '\0' || strcmp(s, "nan") == 0 || strcmp(s, "NaN") == 0 || strcmp(s, "NA") == 0) {
        *out = NAN;
        return 0;
    }
    *out = strtod(s, &end);
    return end != s && *end == '\0' ? 0 : -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    long long era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* YYYY-MM-DD[THH:MM:SS[.ffffff]][Z] to microseconds since the epoch; -1 when malformed. */
static int parse_timestamp(const char *s, double *out)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    long long us = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    s += n;
    if (*s == 'T' || *s == ' ') {
        if (sscanf(s + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3)
            return -1;
        s += 1 + n;
        if (*s == '.') {
            long long scale = 100000;
            for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
                us += (*s - '0') * scale;
        }
    }
    if (*s == 'Z')
        s++;
    if (*s != '\0')
        return -1;
    *out =
        (double)(((days_from_civil(y, (unsigned)mo, (unsigned)d) * 24 + h) * 60 + mi) * 60 + sec) *
            1e6 +
        (double)us;
    return 0;
}

static void print_row(const float *p, size_t n)
{
    for (size_t k = 0; k < n; k++)
        printf(k ? ",%.9g" : "%.9g", (double)p[k]);
    putchar('\n');
}

static void print_signature(const gyre_model *m)
{
    fprintf(stderr, "model %s (%s), gyre %s\n", gyre_model_name(m), gyre_model_objective(m),
            gyre_version());
    for (size_t i = 0; i < gyre_model_n_inputs(m); i++)
        fprintf(stderr, "  input %zu: %s %s\n", i, gyre_model_input_name(m, i),
                type_name(gyre_model_input_type(m, i)));
    fprintf(stderr, "  outputs per row: %zu (margins: %zu)\n", gyre_model_n_outputs(m),
            gyre_model_n_margins(m));
}

/* The numbers form: batches of rows through gyre_predict / gyre_predict_margins. */
static int run_numbers(const gyre_model *m, int margins, int have_line, long *lineno)
{
    size_t ni = gyre_model_n_inputs(m);
    size_t no = margins ? gyre_model_n_margins(m) : gyre_model_n_outputs(m);
    size_t cap = BATCH, nrows = 0;
    char err[512];
    int r = have_line;
    if (cap > sizeof xs / sizeof xs[0] / ni)
        cap = sizeof xs / sizeof xs[0] / ni;
    if (cap > sizeof outs / sizeof outs[0] / no)
        cap = sizeof outs / sizeof outs[0] / no;
    if (cap == 0) {
        fprintf(stderr, "predict: the model is too wide for this example's buffers\n");
        return 1;
    }
    for (;;) {
        if (r > 0) {
            size_t n = split_numbers(line);
            if (n == 0)
                goto next; /* blank line */
            if (n != ni) {
                fprintf(stderr, "predict: line %ld: %zu values, the model takes %zu\n", *lineno, n,
                        ni);
                return 1;
            }
            for (size_t i = 0; i < ni; i++) {
                double v;
                if (parse_number(fields[i], &v) != 0) {
                    fprintf(stderr, "predict: line %ld, value %zu: \"%s\" is not a number\n",
                            *lineno, i + 1, fields[i]);
                    return 1;
                }
                xs[nrows * ni + i] = (float)v;
            }
            nrows++;
        }
        if (nrows == cap || (r <= 0 && nrows > 0)) {
            gyre_status st = margins ? gyre_predict_margins(m, xs, nrows, outs, err, sizeof err)
                                     : gyre_predict(m, xs, nrows, outs, err, sizeof err);
            if (st != GYRE_OK) {
                fprintf(stderr, "predict: %s: %s\n", gyre_status_str(st), err);
                return 1;
            }
            for (size_t k = 0; k < nrows; k++)
                print_row(outs + k * no, no);
            nrows = 0;
        }
        if (r < 0) {
            fprintf(stderr, "predict: line %ld is longer than %d bytes\n", *lineno, MAX_LINE - 1);
            return 1;
        }
        if (r == 0)
            return 0;
    next:
        r = read_line(stdin);
        ++*lineno;
    }
}

/* The CSV form: the header maps model inputs to columns, each row goes to gyre_predict_values. */
static int run_csv(const gyre_model *m, long *lineno)
{
    size_t ni = gyre_model_n_inputs(m), no = gyre_model_n_outputs(m), ncols;
    char err[512];
    int r;
    if (no > sizeof outs / sizeof outs[0]) {
        fprintf(stderr, "predict: the model has too many outputs for this example\n");
        return 1;
    }
    ncols = split_csv(line);
    if (ncols > MAX_COLS) {
        fprintf(stderr, "predict: the header has more than %d columns\n", MAX_COLS);
        return 1;
    }
    for (size_t i = 0; i < ni; i++)
        colmap[i] = -1;
    for (size_t c = 0; c < ncols; c++) {
        long i = gyre_model_input_index(m, fields[c]);
        if (i >= 0)
            colmap[i] = (long)c;
    }
    for (size_t i = 0; i < ni; i++) {
        if (colmap[i] < 0) {
            fprintf(stderr, "predict: the header has no column \"%s\"\n",
                    gyre_model_input_name(m, i));
            return 1;
        }
    }
    while ((r = read_line(stdin)) > 0) {
        ++*lineno;
        if (line[0] == '\0')
            continue;
        if (split_csv(line) != ncols) {
            fprintf(stderr, "predict: line %ld: not %zu fields\n", *lineno, ncols);
            return 1;
        }
        for (size_t i = 0; i < ni; i++) {
            const char *f = fields[colmap[i]];
            gyre_type t = gyre_model_input_type(m, i);
            int bad = 0;
            vals[i].str = NULL;
            vals[i].num = NAN;
            if (t == GYRE_TYPE_STRING) {
                vals[i].str = f[0] ? f : NULL;
            } else if (t == GYRE_TYPE_BOOL && (!strcmp(f, "true") || !strcmp(f, "false"))) {
                vals[i].num = f[0] == 't';
            } else if (t == GYRE_TYPE_TIMESTAMP && f[0] && parse_number(f, &vals[i].num) != 0) {
                bad = parse_timestamp(f, &vals[i].num);
            } else {
                bad = parse_number(f, &vals[i].num);
            }
            if (bad) {
                fprintf(stderr, "predict: line %ld, column %s: \"%s\" is not a %s\n", *lineno,
                        gyre_model_input_name(m, i), f, type_name(t));
                return 1;
            }
        }
        if (gyre_predict_values(m, vals, outs, err, sizeof err) != GYRE_OK) {
            fprintf(stderr, "predict: line %ld: %s\n", *lineno, err);
            return 1;
        }
        print_row(outs, no);
    }
    if (r < 0) {
        fprintf(stderr, "predict: line %ld is longer than %d bytes\n", *lineno + 1, MAX_LINE - 1);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    gyre_model *m;
    char err[512];
    const char *path = NULL;
    int margins = 0, usage = 0, rc, r, header = 0;
    long lineno = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--margins") == 0)
            margins = 1;
        else if (!path && argv[i][0] != '-')
            path = argv[i];
        else
            usage = 1;
    }
    if (!path || usage) {
        fprintf(stderr, "usage: predict MODEL.gyb [--margins] < rows\n");
        return 2;
    }
    if (gyre_model_open(path, &m, err, sizeof err) != GYRE_OK) {
        fprintf(stderr, "predict: %s\n", err);
        return 1;
    }
    print_signature(m);

    r = read_line(stdin);
    if (r > 0) {
        /* A header when some field of the first line is not a number. */
        size_t n;
        memcpy(first, line, strlen(line) + 1);
        n = split_numbers(first);
        for (size_t i = 0; i < n && i < MAX_COLS; i++) {
            double v;
            if (parse_number(fields[i], &v) != 0)
                header = 1;
        }
    }
    if (header && margins) {
        fprintf(stderr, "predict: --margins takes the numbers form only\n");
        rc = 1;
    } else if (header) {
        rc = run_csv(m, &lineno);
    } else {
        rc = run_numbers(m, margins, r, &lineno);
    }
    gyre_model_close(m);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "predict: writing the output failed\n");
        rc = 1;
    }
    return rc;
}

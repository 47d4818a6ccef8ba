/* SPDX-License-Identifier: MIT */
/*
 * deploy.c - deployment commands: `gyre deploy create|update|show|list|history|rollback|
 * delete`. A deployment routes an endpoint name to registry references by weight
 * (--route MODEL@REF=WEIGHT, repeatable), mirrors to shadows, optionally routes stickily by a
 * request header and batches dynamically. Every change is a revision; a running server applies
 * it within a second. `gyre deploy compare` tests the model versions of a running split
 * against a control on an online metric from feedback (src/monitor/abtest.c). A short summary
 * for people, --json for scripts.
 */
#include "auth/auth.h"
#include "cli/cli.h"
#include "monitor/monitor.h"
#include "serving/serving.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))
#define MAX_ARGS 128

static int usage(const char *u)
{
    fprintf(stderr, "usage: gyre %s\n", u);
    return GY_EXIT_USAGE;
}

/* ------------------------------------------------------------------ printing */

static void print_deployment(json_t *d)
{
    json_t *spec = json_object_get(d, "spec"), *r;
    size_t i;
    int64_t total = 0;
    int width = 8;
    char when[32];
    printf("deployment  %s\n", gy_json_str(d, "name", ""));
    printf("revision    %lld\n", (long long)gy_json_int(d, "revision", 0));
    printf("updated     %s\n", gy_cli_time(gy_json_int(d, "updated_us", 0), when));
    printf("reason      %s\n", gy_json_str(d, "reason", "-"));
    json_array_foreach(json_object_get(d, "resolved"), i, r)
    {
        int len =
            (int)(strlen(gy_json_str(r, "model", "")) + strlen(gy_json_str(r, "ref", "")) + 1);
        if (!json_is_true(json_object_get(r, "shadow")))
            total += gy_json_int(r, "weight", 0);
        width = GY_MAX(width, len);
    }
    for (int shadow = 0; shadow <= 1; shadow++) {
        int header = 0;
        json_array_foreach(json_object_get(d, "resolved"), i, r)
        {
            char label[600], ver[48];
            json_t *v = json_object_get(r, "version");
            if (json_is_true(json_object_get(r, "shadow")) != shadow)
                continue;
            if (!header++)
                printf("%s\n", shadow ? "shadows:" : "routes:");
            snprintf(label, sizeof label, "%s@%s", gy_json_str(r, "model", ""),
                     gy_json_str(r, "ref", ""));
            if (json_is_integer(v))
                snprintf(ver, sizeof ver, "version %lld", (long long)json_integer_value(v));
            else
                snprintf(ver, sizeof ver, "unresolved");
            if (shadow)
                printf("  %-*s  %s\n", width, label, ver);
            else
                printf("  %-*s  %-12s  %5.1f%%\n", width, label, ver,
                       total ? 100.0 * (double)gy_json_int(r, "weight", 0) / (double)total : 0.0);
            if (!json_is_integer(v))
                printf("    (%s)\n", gy_json_str(r, "error", ""));
        }
    }
    printf("sticky      %s\n", gy_json_str(spec, "sticky_header", "-"));
    if (gy_json_int(spec, "max_batch_size", 0) > 0)
        printf("batching    up to %lld rows, waiting at most %lld us, queue %lld\n",
               (long long)gy_json_int(spec, "max_batch_size", 0),
               (long long)gy_json_int(spec, "max_queue_delay_us", 0),
               (long long)gy_json_int(spec, "max_queue_size", 0));
    else
        printf("batching    off\n");
    printf("log sample  %g\n", gy_json_num(spec, "log_sample", 1));
}

static int finish(enum gy_status rc, json_t *d, int json)
{
    if (rc)
        return gy_cli_fail(rc, NULL);
    if (json)
        gy_cli_print_json(d);
    else
        print_deployment(d);
    return GY_EXIT_OK;
}

/* ------------------------------------------------------------------ spec flags */

/*
 * Moves every "--route X" / "--route=X" (and --shadow) out of argv into @p routes / @p shadows,
 * leaving the rest in @p rest for gy_cli_parse. Usage error for a flag without a value.
 */
static int split_repeated(int argc, char **argv, char **routes, size_t *nr, char **shadows,
                          size_t *ns, char **rest, int *nrest)
{
    *nr = *ns = 0;
    *nrest = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int is_route = strncmp(a, "--route", 7) == 0 && (a[7] == '\0' || a[7] == '=');
        int is_shadow = strncmp(a, "--shadow", 8) == 0 && (a[8] == '\0' || a[8] == '=');
        char *val;
        if (strcmp(a, "--") == 0) {
            while (i < argc)
                rest[(*nrest)++] = argv[i++];
            break;
        }
        if (!is_route && !is_shadow) {
            rest[(*nrest)++] = argv[i];
            continue;
        }
        if (strchr(a, '=')) {
            val = strchr(a, '=') + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            fprintf(stderr, "gyre: option %s needs a value\n", is_route ? "--route" : "--shadow");
            return GY_EXIT_USAGE;
        }
        if (is_route)
            routes[(*nr)++] = val;
        else
            shadows[(*ns)++] = val;
    }
    return GY_EXIT_OK;
}

/* Parses routes into a new array; prints the error (usage exit code) on a bad one. */
static int parse_routes(char **text, size_t n, struct gy_deploy_route **out)
{
    *out = gy_calloc(n ? n : 1, sizeof **out);
    if (!*out)
        return gy_cli_fail(GY_E_NOMEM, NULL);
    for (size_t i = 0; i < n; i++) {
        if (gy_deploy_route_parse(text[i], &(*out)[i])) {
            fprintf(stderr, "gyre: %s\n", gy_error_msg());
            return GY_EXIT_USAGE;
        }
    }
    return GY_EXIT_OK;
}

static void routes_free(struct gy_deploy_route *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        gy_free(r[i].model);
        gy_free(r[i].ref);
    }
    gy_free(r);
}

static int parse_u64(const char *flag, const char *v, uint64_t max, uint64_t *out)
{
    int64_t x;
    if (gy_parse_int64(v, &x) || x < 0 || (uint64_t)x > max) {
        fprintf(stderr, "gyre: %s must be an integer from 0 to %llu\n", flag,
                (unsigned long long)max);
        return GY_EXIT_USAGE;
    }
    *out = (uint64_t)x;
    return GY_EXIT_OK;
}

enum {
    O_STICKY,
    O_NO_STICKY,
    O_BATCH,
    O_DELAY,
    O_QUEUE,
    O_SAMPLE,
    O_REASON,
    O_NO_SHADOWS,
    O_JSON,
};

/* Applies the flags in @p o (and the routes/shadows given) to @p s. */
static int apply_flags(struct gy_deploy_spec *s, struct gy_cli_opt *o, char **routes, size_t nr,
                       char **shadows, size_t ns)
{
    uint64_t u;
    int ex;
    if (nr) {
        struct gy_deploy_route *r = NULL;
        if ((ex = parse_routes(routes, nr, &r))) {
            routes_free(r, nr);
            return ex;
        }
        routes_free(s->routes, s->n_routes);
        s->routes = r;
        s->n_routes = nr;
    }
    if (ns || o[O_NO_SHADOWS].value) {
        struct gy_deploy_route *r = NULL;
        if (ns && o[O_NO_SHADOWS].value) {
            fprintf(stderr, "gyre: --shadow and --no-shadows exclude each other\n");
            return GY_EXIT_USAGE;
        }
        if ((ex = parse_routes(shadows, ns, &r))) {
            routes_free(r, ns);
            return ex;
        }
        routes_free(s->shadows, s->n_shadows);
        s->shadows = ns ? r : NULL;
        s->n_shadows = ns;
        if (!ns)
            gy_free(r);
    }
    if (o[O_STICKY].value && o[O_NO_STICKY].value) {
        fprintf(stderr, "gyre: --sticky-header and --no-sticky exclude each other\n");
        return GY_EXIT_USAGE;
    }
    if (o[O_STICKY].value || o[O_NO_STICKY].value) {
        gy_free(s->sticky_header);
        s->sticky_header = o[O_STICKY].value ? gy_strdup(o[O_STICKY].value) : NULL;
    }
    if (o[O_BATCH].value) {
        if ((ex = parse_u64("--max-batch-size", o[O_BATCH].value, 65536, &u)))
            return ex;
        s->max_batch_size = (uint32_t)u;
    }
    if (o[O_DELAY].value) {
        if ((ex = parse_u64("--max-queue-delay-us", o[O_DELAY].value, 10000000, &u)))
            return ex;
        s->max_queue_delay_us = u;
    }
    if (o[O_QUEUE].value) {
        if ((ex = parse_u64("--max-queue-size", o[O_QUEUE].value, 1000000, &u)))
            return ex;
        s->max_queue_size = (uint32_t)u;
    }
    if (o[O_SAMPLE].value) {
        char *end = NULL;
        double f;
        errno = 0;
        f = strtod(o[O_SAMPLE].value, &end);
        if (errno || !end || *end || end == o[O_SAMPLE].value || !(f >= 0 && f <= 1)) {
            fprintf(stderr, "gyre: --log-sample must be a number from 0 to 1\n");
            return GY_EXIT_USAGE;
        }
        s->log_sample = f;
    }
    return GY_EXIT_OK;
}

static const char create_usage[] =
    "deploy create NAME --route MODEL[@REF][=WEIGHT]... [--shadow MODEL@REF]... "
    "[--sticky-header H] [--max-batch-size N --max-queue-delay-us US [--max-queue-size N]] "
    "[--log-sample F] [--reason TEXT] [--json]";
static const char update_usage[] =
    "deploy update NAME [--route MODEL[@REF][=WEIGHT]...] [--shadow MODEL@REF... | --no-shadows] "
    "[--sticky-header H | --no-sticky] [--max-batch-size N] [--max-queue-delay-us US] "
    "[--max-queue-size N] [--log-sample F] [--reason TEXT] [--json]";

/* create and update share everything but the starting spec and the store call. */
static int create_or_update(int argc, char **argv, int update)
{
    struct gy_cli_opt o[] = {
        {"--sticky-header", NULL, 1, NULL, 0},  {"--no-sticky", NULL, 0, NULL, 0},
        {"--max-batch-size", NULL, 1, NULL, 0}, {"--max-queue-delay-us", NULL, 1, NULL, 0},
        {"--max-queue-size", NULL, 1, NULL, 0}, {"--log-sample", NULL, 1, NULL, 0},
        {"--reason", NULL, 1, NULL, 0},         {"--no-shadows", NULL, 0, NULL, 0},
        {"--json", NULL, 0, NULL, 0},
    };
    char *routes[MAX_ARGS], *shadows[MAX_ARGS], *rest[MAX_ARGS], *pos[MAX_ARGS];
    size_t nr, ns, npos;
    int nrest, ex, changes;
    struct gy_deploy_spec *spec = NULL;
    struct gy_db *db = NULL;
    json_t *d = NULL;
    enum gy_status rc = GY_OK;
    const char *u = update ? update_usage : create_usage;
    if (argc > MAX_ARGS)
        return usage(u);
    if ((ex = split_repeated(argc, argv, routes, &nr, shadows, &ns, rest, &nrest)) ||
        (ex = gy_cli_parse(nrest, rest, o, NOPTS(o), pos, &npos)))
        return ex;
    if (npos != 1)
        return usage(u);
    if (!update && nr == 0) {
        fprintf(stderr, "gyre: a deployment needs at least one --route\n");
        return usage(u);
    }
    if (!update && (o[O_NO_STICKY].value || o[O_NO_SHADOWS].value))
        return usage(u);
    changes = nr || ns;
    for (int k = O_STICKY; k <= O_NO_SHADOWS; k++)
        if (k != O_REASON && o[k].value)
            changes = 1;
    if (update && !changes) {
        fprintf(stderr, "gyre: nothing to change (give --route, --shadow, ... )\n");
        return usage(u);
    }
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    if (update) {
        rc = gy_deploy_get_spec(db, pos[0], &spec, NULL);
    } else if (!(spec = gy_calloc(1, sizeof *spec)) || !(spec->name = gy_strdup(pos[0]))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
    } else {
        spec->log_sample = 1.0; /* every request goes to the prediction log unless told */
    }
    if (rc) {
        ex = gy_cli_fail(rc, NULL);
        goto out;
    }
    if ((ex = apply_flags(spec, o, routes, nr, shadows, ns)))
        goto out;
    if (spec->max_batch_size == 0 && (o[O_DELAY].value || o[O_QUEUE].value) && !update) {
        fprintf(stderr, "gyre: --max-queue-delay-us and --max-queue-size need --max-batch-size\n");
        ex = GY_EXIT_USAGE;
        goto out;
    }
    rc = update ? gy_deploy_update(db, spec, o[O_REASON].value, &d)
                : gy_deploy_create(db, spec, o[O_REASON].value, &d);
    gy_audit_cli(db, update ? "deploy.update" : "deploy.create", rc, NULL, "deployments/%s",
                 pos[0]);
    ex = finish(rc, d, o[O_JSON].value != NULL);
out:
    json_decref(d);
    gy_deploy_spec_free(spec);
    gy_db_free(db);
    return ex;
}

static int cmd_create(int argc, char **argv)
{
    return create_or_update(argc, argv, 0);
}

static int cmd_update(int argc, char **argv)
{
    return create_or_update(argc, argv, 1);
}

/* ------------------------------------------------------------------ show, list, history */

static int cmd_show(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    struct gy_db *db = NULL;
    json_t *d = NULL;
    enum gy_status rc;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1)
        return usage("deploy show NAME [--json]");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_deploy_get(db, pos[0], &d);
    ex = finish(rc, d, o[0].value != NULL);
    json_decref(d);
    gy_db_free(db);
    return ex;
}

static int cmd_list(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    struct gy_db *db = NULL;
    json_t *a = NULL, *d;
    size_t i;
    enum gy_status rc;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos)
        return usage("deploy list [--json]");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_deploy_list(db, &a);
    if (rc == GY_OK && o[0].value) {
        gy_cli_print_json(a);
    } else if (rc == GY_OK) {
        char when[32];
        printf("%-32s  %8s  %-48s  %7s  %s\n", "NAME", "REVISION", "ROUTES", "SHADOWS", "UPDATED");
        json_array_foreach(a, i, d)
        {
            printf("%-32s  %8lld  %-48s  %7lld  %s\n", gy_json_str(d, "name", ""),
                   (long long)gy_json_int(d, "revision", 0), gy_json_str(d, "routes", ""),
                   (long long)gy_json_int(d, "shadows", 0),
                   gy_cli_time(gy_json_int(d, "updated_us", 0), when));
        }
    }
    json_decref(a);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

/* "m@r=90,m@c=10" of a spec JSON into out. */
static const char *routes_text(json_t *spec, char *out, size_t cap)
{
    json_t *r;
    size_t i, n = 0;
    out[0] = '\0';
    json_array_foreach(json_object_get(spec, "routes"), i, r)
    {
        if (n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s%s@%s=%lld", i ? "," : "",
                                  gy_json_str(r, "model", ""), gy_json_str(r, "ref", ""),
                                  (long long)gy_json_int(r, "weight", 0));
    }
    return out;
}

static int cmd_history(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    struct gy_db *db = NULL;
    json_t *a = NULL, *h;
    size_t i;
    enum gy_status rc;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1)
        return usage("deploy history NAME [--json]");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_deploy_history(db, pos[0], &a);
    if (rc == GY_OK && o[0].value) {
        gy_cli_print_json(a);
    } else if (rc == GY_OK) {
        char when[32], routes[512];
        printf("%8s  %-20s  %-48s  %s\n", "REVISION", "CREATED", "ROUTES", "REASON");
        json_array_foreach(a, i, h)
        {
            printf("%8lld  %-20s  %-48s  %s\n", (long long)gy_json_int(h, "revision", 0),
                   gy_cli_time(gy_json_int(h, "created_us", 0), when),
                   routes_text(json_object_get(h, "spec"), routes, sizeof routes),
                   gy_json_str(h, "reason", "-"));
        }
    }
    json_decref(a);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ rollback, delete */

static int cmd_rollback(int argc, char **argv)
{
    struct gy_cli_opt o[] = {
        {"--to", NULL, 1, NULL, 0}, {"--reason", NULL, 1, NULL, 0}, {"--json", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    struct gy_db *db = NULL;
    json_t *d = NULL;
    int64_t to = 0;
    enum gy_status rc;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1)
        return usage("deploy rollback NAME [--to REVISION] [--reason TEXT] [--json]");
    if (o[0].value && (gy_parse_int64(o[0].value, &to) || to < 1)) {
        fprintf(stderr, "gyre: --to must be a revision number (1 or more)\n");
        return GY_EXIT_USAGE;
    }
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_deploy_rollback(db, pos[0], to, o[1].value, &d);
    gy_audit_cli(db, "deploy.rollback", rc, NULL, "deployments/%s", pos[0]);
    ex = finish(rc, d, o[2].value != NULL);
    json_decref(d);
    gy_db_free(db);
    return ex;
}

static int cmd_delete(int argc, char **argv)
{
    char *pos[8];
    size_t npos;
    struct gy_db *db = NULL;
    enum gy_status rc;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, NULL, 0, pos, &npos)) || npos != 1)
        return usage("deploy delete NAME");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_deploy_delete(db, pos[0]);
    gy_audit_cli(db, "deploy.delete", rc, NULL, "deployments/%s", pos[0]);
    if (rc == GY_OK)
        printf("deleted deployment %s\n", pos[0]);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ compare */

#define COMPARE_USAGE                                                                              \
    "deploy compare NAME [--metric accuracy|auc|logloss|rmse|mae|value_mean] "                     \
    "[--control VERSION] [--since DURATION|TIME] [--alpha A] [--json]"

/* A number as %.4g, or "-" for null. */
static const char *num_text(const json_t *j, char out[32])
{
    if (json_is_number(j))
        snprintf(out, 32, "%.4g", json_number_value(j));
    else
        snprintf(out, 32, "-");
    return out;
}

static void print_compare(const json_t *c)
{
    const json_t *ctl = json_object_get(c, "control"), *v;
    double alpha = gy_json_num(c, "alpha", 0.05);
    char b1[32], b2[32], b3[32], ci[80], level[32];
    size_t i;
    snprintf(level, sizeof level, "%g%% CI", 100 * (1 - alpha));
    printf("deployment  %s\n", gy_json_str(c, "deployment", ""));
    printf("metric      %s (%s is better; effect on the %s)\n", gy_json_str(c, "metric", ""),
           json_is_true(json_object_get(c, "higher_is_better")) ? "higher" : "lower",
           gy_json_str(c, "tested", ""));
    printf("alpha       %g\n", alpha);
    printf("%8s  %9s  %10s  %11s  %-25s  %10s  %s\n", "VERSION", "N", "VALUE", "EFFECT", level, "P",
           "VERDICT");
    printf("%8lld  %9lld  %10s  %11s  %-25s  %10s  %s\n", (long long)gy_json_int(ctl, "version", 0),
           (long long)gy_json_int(ctl, "n", 0), num_text(json_object_get(ctl, "value"), b1), "-",
           "-", "-", "control");
    json_array_foreach(json_object_get(c, "variants"), i, v)
    {
        const json_t *better = json_object_get(v, "better");
        const json_t *civ = json_object_get(v, "ci");
        const char *verdict = json_is_true(better)    ? "better (significant)"
                              : json_is_false(better) ? "worse (significant)"
                                                      : "no significant difference";
        snprintf(ci, sizeof ci, "[%.4g, %.4g]", json_number_value(json_array_get(civ, 0)),
                 json_number_value(json_array_get(civ, 1)));
        printf("%8lld  %9lld  %10s  %+11.4g  %-25s  %10s  %s\n",
               (long long)gy_json_int(v, "version", 0), (long long)gy_json_int(v, "n", 0),
               num_text(json_object_get(v, "value"), b2), gy_json_num(v, "effect", 0), ci,
               num_text(json_object_get(v, "p_value"), b3), verdict);
    }
    if (json_array_size(json_object_get(c, "variants")) == 0)
        printf("(no other version has feedback for this metric yet)\n");
}

static int cmd_compare(int argc, char **argv)
{
    enum { C_METRIC, C_CONTROL, C_SINCE, C_ALPHA, C_JSON };
    struct gy_cli_opt o[] = {{"--metric", NULL, 1, NULL, 0},
                             {"--control", NULL, 1, NULL, 0},
                             {"--since", NULL, 1, NULL, 0},
                             {"--alpha", NULL, 1, NULL, 0},
                             {"--json", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    struct gy_db *db = NULL;
    json_t *c = NULL;
    int64_t control = 0, since = 0;
    double alpha = 0.05;
    enum gy_status rc;
    int ex;
    if (argc > 16 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1)
        return usage(COMPARE_USAGE);
    if (o[C_CONTROL].value && (gy_parse_int64(o[C_CONTROL].value, &control) || control < 1)) {
        fprintf(stderr, "gyre: --control must be a model version number (1 or more)\n");
        return GY_EXIT_USAGE;
    }
    if (o[C_SINCE].value && (gy_audit_time_parse(o[C_SINCE].value, &since) || since < 0)) {
        fprintf(stderr, "gyre: --since must be a duration ago (\"2h\", \"7d\") or a time "
                        "(\"2025-01-31T12:00:00Z\")\n");
        return GY_EXIT_USAGE;
    }
    if (o[C_ALPHA].value) {
        char *end = NULL;
        errno = 0;
        alpha = strtod(o[C_ALPHA].value, &end);
        if (errno || !end || *end || end == o[C_ALPHA].value || !(alpha > 0 && alpha < 1)) {
            fprintf(stderr, "gyre: --alpha must be a number between 0 and 1 (exclusive)\n");
            return GY_EXIT_USAGE;
        }
    }
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_deploy_compare(db, pos[0], o[C_METRIC].value, control, since, alpha, &c);
    if (rc == GY_OK && o[C_JSON].value)
        gy_cli_print_json(c);
    else if (rc == GY_OK)
        print_compare(c);
    json_decref(c);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

const struct gy_cli_cmd gy_cli_deploy_cmds[] = {
    {"deploy create",
     "NAME --route MODEL[@REF][=WEIGHT]... [--shadow MODEL@REF]... [--sticky-header H] "
     "[--max-batch-size N --max-queue-delay-us US] [--log-sample F] [--reason TEXT] [--json]",
     "route an endpoint name to model versions by weight (A/B, canary, shadow)", cmd_create},
    {"deploy update",
     "NAME [--route ...] [--shadow ... | --no-shadows] [--sticky-header H | --no-sticky] "
     "[--max-batch-size N] [--max-queue-delay-us US] [--log-sample F] [--reason TEXT]",
     "change a deployment (a new revision; flags not given keep their values)", cmd_update},
    {"deploy show", "NAME [--json]", "a deployment's routes, resolved versions and settings",
     cmd_show},
    {"deploy list", "[--json]", "list deployments", cmd_list},
    {"deploy history", "NAME [--json]", "every revision of a deployment, newest first",
     cmd_history},
    {"deploy rollback", "NAME [--to REVISION] [--reason TEXT]",
     "make an earlier revision current again (as a new revision)", cmd_rollback},
    {"deploy delete", "NAME", "delete a deployment and its history", cmd_delete},
    {"deploy compare",
     "NAME [--metric accuracy|auc|logloss|rmse|mae|value_mean] [--control VERSION] "
     "[--since DURATION|TIME] [--alpha A] [--json]",
     "A/B test the versions of a split against a control on an online metric from feedback",
     cmd_compare},
    {NULL, NULL, NULL, NULL},
};

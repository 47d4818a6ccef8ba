/* SPDX-License-Identifier: MIT */
/*
 * fuzz_deploy.c - libFuzzer target for the deployment spec parsers of src/serving/deploy.c:
 * the JSON spec (gy_deploy_spec_from_json, what the deployments API and `gyre deploy` read,
 * through gy_json_parse as they do) and the route text "MODEL[@REF][=WEIGHT]"
 * (gy_deploy_route_parse, the --route flags), the input being read by both.
 *
 * Besides the sanitizers, the target aborts when a promise breaks: a failure without error
 * text, with a status other than GY_E_INVALID/GY_E_TOO_LARGE/GY_E_NOMEM, or that still hands
 * back a spec; an accepted spec with no route, all weights 0, a weight over the maximum, a
 * log_sample outside 0..1, or whose gy_deploy_spec_to_json does not parse back to the same
 * JSON; an accepted route with an empty model or ref or a weight over the maximum, or whose
 * "MODEL@REF=WEIGHT" label does not parse back to the same route.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serving/serving_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROUTE_MAX 4096

static void check_rc(enum gy_status rc)
{
    if (rc == GY_OK)
        return;
    if (!*gy_error_msg() || (rc != GY_E_INVALID && rc != GY_E_TOO_LARGE && rc != GY_E_NOMEM))
        abort();
}

static void check_spec(const struct gy_deploy_spec *s)
{
    struct gy_deploy_spec *s2 = NULL;
    json_t *j = NULL, *j2 = NULL;
    uint64_t total = 0;
    if (!s->name || !*s->name || s->n_routes == 0 || !s->routes)
        abort();
    for (size_t i = 0; i < s->n_routes; i++) {
        if (!s->routes[i].model || !s->routes[i].ref || s->routes[i].weight > GY_DEPLOY_MAX_WEIGHT)
            abort();
        total += s->routes[i].weight;
    }
    if (total == 0 || !(s->log_sample >= 0 && s->log_sample <= 1))
        abort();
    for (size_t i = 0; i < s->n_shadows; i++)
        if (!s->shadows[i].model || !s->shadows[i].ref)
            abort();
    if (gy_deploy_spec_to_json(s, &j) != GY_OK || !j)
        abort();
    if (gy_deploy_spec_from_json(j, &s2) != GY_OK)
        abort();
    if (gy_deploy_spec_to_json(s2, &j2) != GY_OK || !json_equal(j, j2))
        abort();
    json_decref(j);
    json_decref(j2);
    gy_deploy_spec_free(s2);
}

static void try_route(const uint8_t *data, size_t size)
{
    struct gy_deploy_route r, r2;
    char *text, *label;
    size_t n;
    enum gy_status rc;
    if (size > ROUTE_MAX || memchr(data, 0, size))
        return;
    text = gy_malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    gy_error_clear();
    rc = gy_deploy_route_parse(text, &r);
    check_rc(rc);
    if (rc == GY_OK) {
        if (!r.model || !*r.model || !r.ref || !*r.ref || r.weight > GY_DEPLOY_MAX_WEIGHT)
            abort();
        n = strlen(r.model) + strlen(r.ref) + 16;
        label = gy_malloc(n);
        if (!label)
            abort();
        snprintf(label, n, "%s@%s=%u", r.model, r.ref, (unsigned)r.weight);
        if (gy_deploy_route_parse(label, &r2) != GY_OK)
            abort();
        if (strcmp(r.model, r2.model) != 0 || strcmp(r.ref, r2.ref) != 0 || r.weight != r2.weight)
            abort();
        gy_free(r2.model);
        gy_free(r2.ref);
        gy_free(label);
        gy_free(r.model);
        gy_free(r.ref);
    } else if (r.model || r.ref) {
        abort();
    }
    gy_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gy_deploy_spec *s = NULL;
    json_t *j = NULL;
    enum gy_status rc;

    gy_error_clear();
    rc = gy_json_parse((const char *)data, size, GY_JSON_MAX_DEPTH, "deployment spec", &j);
    check_rc(rc);
    if (rc == GY_OK) {
        gy_error_clear();
        rc = gy_deploy_spec_from_json(j, &s);
        check_rc(rc);
        if (rc == GY_OK) {
            if (!s)
                abort();
            check_spec(s);
            gy_deploy_spec_free(s);
        } else if (s) {
            abort();
        }
        json_decref(j);
    }
    try_route(data, size);
    return 0;
}

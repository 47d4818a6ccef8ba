/* SPDX-License-Identifier: MIT */
/*
 * deploy.c - deployments as data: route parsing ("MODEL@REF=WEIGHT"), the spec's JSON form and
 * its validation, and persistence in the metadata store (tables deployments and
 * deployment_revisions, schema version 4). Every change is a new revision in one write
 * transaction; a rollback copies an older revision's spec into a new one. Nothing here knows
 * about live serving: the watcher in state.c reads what this file writes.
 */
#include "serving/serving_int.h"
#include "registry/registry.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

#define SPEC_JSON_DEPTH 8

static enum gy_status nomem(void)
{
    return gy_error_set(GY_E_NOMEM, "out of memory");
}

/* ------------------------------------------------------------------ names and routes */

enum gy_status gy__deploy_name_check(const char *name)
{
    size_t n;
    if (!name || !*name)
        return gy_error_set(GY_E_INVALID, "deployment name is empty");
    n = strlen(name);
    if (n > GY_DEPLOY_NAME_MAX)
        return gy_error_set(GY_E_INVALID, "deployment name is longer than %d bytes",
                            GY_DEPLOY_NAME_MAX);
    if (name[0] == '.')
        return gy_error_set(GY_E_INVALID, "deployment name '%s' must not start with '.'", name);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!(isalnum(c) || c == '_' || c == '-' || c == '.'))
            return gy_error_set(GY_E_INVALID,
                                "deployment name '%.*s' may contain only letters, digits, '_', "
                                "'-' and '.'",
                                (int)GY_MIN(n, 64), name);
    }
    return GY_OK;
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* A route's REF: an alias, a version number or "latest". */
static enum gy_status ref_check(const char *ref)
{
    int64_t v;
    if (ref && all_digits(ref, strlen(ref)))
        return gy_registry_version_parse(ref, &v);
    if (ref && strcasecmp(ref, "latest") == 0)
        return GY_OK;
    return gy_registry_alias_check(ref);
}

static void route_clear(struct gy_deploy_route *r)
{
    gy_free(r->model);
    gy_free(r->ref);
    r->model = r->ref = NULL;
}

enum gy_status gy_deploy_route_parse(const char *text, struct gy_deploy_route *r)
{
    const char *eq, *at, *end;
    size_t n;
    int64_t w = GY_DEPLOY_DEFAULT_WEIGHT;
    enum gy_status rc;
    memset(r, 0, sizeof *r);
    if (!text || !*text)
        return gy_error_set(GY_E_INVALID, "empty route (expected MODEL[@REF][=WEIGHT])");
    n = strlen(text);
    end = text + n;
    eq = strrchr(text, '=');
    if (eq && all_digits(eq + 1, strlen(eq + 1))) {
        if (gy_parse_int64(eq + 1, &w) || w > (int64_t)GY_DEPLOY_MAX_WEIGHT)
            return gy_error_set(GY_E_INVALID, "route '%.300s': weight must be 0 to %u", text,
                                GY_DEPLOY_MAX_WEIGHT);
        end = eq;
    } else if (eq && eq[1] == '\0') {
        return gy_error_set(GY_E_INVALID, "route '%.300s': '=' without a weight", text);
    } else if (eq && (eq[1] == '-' || isdigit((unsigned char)eq[1]))) {
        return gy_error_set(GY_E_INVALID, "route '%.300s': weight must be an integer 0 to %u", text,
                            GY_DEPLOY_MAX_WEIGHT);
    }
    at = memchr(text, '@', (size_t)(end - text));
    if (!at)
        at = memchr(text, '/', (size_t)(end - text));
    r->model = gy_strndup(text, (size_t)((at ? at : end) - text));
    r->ref = at ? gy_strndup(at + 1, (size_t)(end - at - 1)) : gy_strdup(GY_REGISTRY_DEFAULT_ALIAS);
    r->weight = (uint32_t)w;
    if (!r->model || !r->ref) {
        route_clear(r);
        return nomem();
    }
    if ((rc = gy_registry_name_check(r->model)) || (rc = ref_check(r->ref))) {
        gy_error_wrap(rc, "route '%.300s'", text);
        route_clear(r);
        return rc;
    }
    return GY_OK;
}

char *gy__deploy_route_label(const struct gy_deploy_route *r)
{
    size_t a = strlen(r->model), b = strlen(r->ref);
    char *s = gy_malloc(a + b + 2);
    if (!s)
        return NULL;
    memcpy(s, r->model, a);
    s[a] = '@';
    memcpy(s + a + 1, r->ref, b + 1);
    return s;
}

/* ------------------------------------------------------------------ specs */

void gy_deploy_spec_free(struct gy_deploy_spec *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_routes; i++)
        route_clear(&s->routes[i]);
    for (size_t i = 0; i < s->n_shadows; i++)
        route_clear(&s->shadows[i]);
    gy_free(s->routes);
    gy_free(s->shadows);
    gy_free(s->name);
    gy_free(s->sticky_header);
    gy_free(s);
}

static json_t *routes_json(const struct gy_deploy_route *r, size_t n, int weights)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *o = weights ? json_pack("{s:s,s:s,s:I}", "model", r[i].model, "ref", r[i].ref,
                                        "weight", (json_int_t)r[i].weight)
                            : json_pack("{s:s,s:s}", "model", r[i].model, "ref", r[i].ref);
        if (!o || json_array_append_new(a, o)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

enum gy_status gy_deploy_spec_to_json(const struct gy_deploy_spec *s, json_t **out)
{
    json_t *j = json_object();
    *out = NULL;
    if (!j || gy_json_set(j, "name", json_string(s->name ? s->name : "")) ||
        gy_json_set(j, "routes", routes_json(s->routes, s->n_routes, 1)) ||
        gy_json_set(j, "shadows", routes_json(s->shadows, s->n_shadows, 0)) ||
        gy_json_set(j, "sticky_header",
                    s->sticky_header ? json_string(s->sticky_header) : json_null()) ||
        gy_json_set(j, "max_batch_size", json_integer(s->max_batch_size)) ||
        gy_json_set(j, "max_queue_delay_us", json_integer((json_int_t)s->max_queue_delay_us)) ||
        gy_json_set(j, "max_queue_size", json_integer(s->max_queue_size)) ||
        gy_json_set(j, "log_sample", json_real(s->log_sample))) {
        json_decref(j);
        return nomem();
    }
    *out = j;
    return GY_OK;
}

static enum gy_status bad(const char *field, const char *why)
{
    return gy_error_set(GY_E_INVALID, "deployment spec: %s: %s", field, why);
}

static enum gy_status keys_check(const json_t *o, const char *where, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        size_t i;
        for (i = 0; allowed[i]; i++)
            if (strcmp(allowed[i], k) == 0)
                break;
        if (!allowed[i])
            return gy_error_set(GY_E_INVALID, "deployment spec: %s: unknown key \"%.64s\"", where,
                                k);
    }
    return GY_OK;
}

static enum gy_status uint_field(const json_t *j, const char *key, uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(j, key);
    json_int_t i;
    *out = 0;
    if (!v || json_is_null(v))
        return GY_OK;
    if (!json_is_integer(v))
        return bad(key, "must be an integer");
    i = json_integer_value(v);
    if (i < 0 || (uint64_t)i > max)
        return gy_error_set(GY_E_INVALID, "deployment spec: %s: must be 0 to %llu", key,
                            (unsigned long long)max);
    *out = (uint64_t)i;
    return GY_OK;
}

static enum gy_status routes_from_json(const json_t *a, const char *what, int shadows,
                                       struct gy_deploy_route **out, size_t *n)
{
    static const char *const keys[] = {"model", "ref", "weight", NULL};
    size_t max = shadows ? GY_DEPLOY_MAX_SHADOWS : GY_DEPLOY_MAX_ROUTES;
    json_t *o;
    size_t i;
    char where[64];
    enum gy_status rc;
    *out = NULL;
    *n = 0;
    if (!a || json_is_null(a))
        return shadows ? GY_OK : bad(what, "at least one route is required");
    if (!json_is_array(a))
        return bad(what, "must be an array");
    if (!shadows && json_array_size(a) == 0)
        return bad(what, "at least one route is required");
    if (json_array_size(a) > max)
        return gy_error_set(GY_E_INVALID, "deployment spec: %s: at most %zu entries", what, max);
    if (json_array_size(a) == 0)
        return GY_OK;
    *out = gy_calloc(json_array_size(a), sizeof **out);
    if (!*out)
        return nomem();
    json_array_foreach((json_t *)a, i, o)
    {
        struct gy_deploy_route *r = &(*out)[i];
        json_t *w;
        const char *model, *ref;
        snprintf(where, sizeof where, "%s[%zu]", what, i);
        *n = i + 1;
        if (!json_is_object(o))
            return bad(where, "must be an object {\"model\", \"ref\", \"weight\"}");
        if ((rc = keys_check(o, where, keys)))
            return rc;
        model = gy_json_str(o, "model", NULL);
        ref = json_object_get(o, "ref") ? gy_json_str(o, "ref", NULL) : GY_REGISTRY_DEFAULT_ALIAS;
        if (!model)
            return bad(where, "\"model\" must be a string");
        if (!ref)
            return bad(where, "\"ref\" must be a string");
        if ((rc = gy_registry_name_check(model)) || (rc = ref_check(ref)))
            return gy_error_wrap(rc, "deployment spec: %s", where);
        w = json_object_get(o, "weight");
        if (!w) {
            r->weight = GY_DEPLOY_DEFAULT_WEIGHT;
        } else if (!json_is_integer(w) || json_integer_value(w) < 0 ||
                   json_integer_value(w) > (json_int_t)GY_DEPLOY_MAX_WEIGHT) {
            return gy_error_set(GY_E_INVALID, "deployment spec: %s: weight must be 0 to %u", where,
                                GY_DEPLOY_MAX_WEIGHT);
        } else {
            r->weight = (uint32_t)json_integer_value(w);
        }
        if (shadows)
            r->weight = 0;
        r->model = gy_strdup(model);
        r->ref = gy_strdup(ref);
        if (!r->model || !r->ref)
            return nomem();
        for (size_t k = 0; k < i; k++) {
            if (strcmp((*out)[k].model, r->model) == 0 && strcmp((*out)[k].ref, r->ref) == 0)
                return gy_error_set(GY_E_INVALID, "deployment spec: %s: %s@%s appears twice", what,
                                    r->model, r->ref);
        }
    }
    return GY_OK;
}

static enum gy_status header_check(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > GY_DEPLOY_HEADER_MAX)
        return bad("sticky_header", "must be 1 to 128 characters");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c)))
            return bad("sticky_header", "is not a valid HTTP header name");
    }
    return GY_OK;
}

enum gy_status gy_deploy_spec_from_json(const json_t *j, struct gy_deploy_spec **out)
{
    static const char *const keys[] = {"name",           "routes",         "shadows",
                                       "sticky_header",  "max_batch_size", "max_queue_delay_us",
                                       "max_queue_size", "log_sample",     NULL};
    struct gy_deploy_spec *s = NULL;
    const char *name;
    json_t *v;
    uint64_t u;
    uint64_t total = 0;
    enum gy_status rc;
    *out = NULL;
    if (!json_is_object(j))
        return gy_error_set(GY_E_INVALID, "deployment spec: must be a JSON object");
    if ((rc = keys_check(j, "spec", keys)))
        return rc;
    s = gy_calloc(1, sizeof *s);
    if (!s)
        return nomem();
    name = gy_json_str(j, "name", NULL);
    if (!name) {
        rc = bad("name", "must be a string");
        goto out;
    }
    if ((rc = gy__deploy_name_check(name)))
        goto out;
    if (!(s->name = gy_strdup(name))) {
        rc = nomem();
        goto out;
    }
    if ((rc = routes_from_json(json_object_get(j, "routes"), "routes", 0, &s->routes,
                               &s->n_routes)) ||
        (rc = routes_from_json(json_object_get(j, "shadows"), "shadows", 1, &s->shadows,
                               &s->n_shadows)))
        goto out;
    for (size_t i = 0; i < s->n_routes; i++)
        total += s->routes[i].weight;
    if (total == 0) {
        rc = bad("routes", "the weights must not all be 0");
        goto out;
    }
    v = json_object_get(j, "sticky_header");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) {
            rc = bad("sticky_header", "must be a string or null");
            goto out;
        }
        if ((rc = header_check(json_string_value(v))))
            goto out;
        if (!(s->sticky_header = gy_strdup(json_string_value(v)))) {
            rc = nomem();
            goto out;
        }
    }
    if ((rc = uint_field(j, "max_batch_size", GY_DEPLOY_MAX_BATCH, &u)))
        goto out;
    s->max_batch_size = (uint32_t)u;
    if ((rc = uint_field(j, "max_queue_delay_us", GY_DEPLOY_MAX_DELAY_US, &u)))
        goto out;
    s->max_queue_delay_us = u;
    if ((rc = uint_field(j, "max_queue_size", GY_DEPLOY_MAX_QUEUE, &u)))
        goto out;
    s->max_queue_size = (uint32_t)u;
    if (s->max_batch_size > 0 && s->max_queue_size == 0)
        s->max_queue_size = GY_DEPLOY_DEFAULT_QUEUE;
    v = json_object_get(j, "log_sample");
    s->log_sample = 1.0; /* absent: log every request */
    if (v && !json_is_null(v)) {
        if (!json_is_number(v) || !(json_number_value(v) >= 0 && json_number_value(v) <= 1)) {
            rc = bad("log_sample", "must be a number from 0 to 1");
            goto out;
        }
        s->log_sample = json_number_value(v);
    }
out:
    if (rc) {
        gy_deploy_spec_free(s);
        return rc;
    }
    *out = s;
    return GY_OK;
}

enum gy_status gy__deploy_spec_copy(const struct gy_deploy_spec *s, struct gy_deploy_spec **out)
{
    json_t *j = NULL;
    enum gy_status rc = gy_deploy_spec_to_json(s, &j);
    *out = NULL;
    if (rc == GY_OK)
        rc = gy_deploy_spec_from_json(j, out);
    json_decref(j);
    return rc;
}

char *gy__deploy_routes_text(const struct gy_deploy_spec *s)
{
    struct gy_buf b;
    gy_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < s->n_routes; i++) {
        if (gy_buf_printf(&b, "%s%s@%s=%u", i ? "," : "", s->routes[i].model, s->routes[i].ref,
                          s->routes[i].weight)) {
            gy_buf_free(&b);
            return NULL;
        }
    }
    if (gy_buf_reserve(&b, 1)) {
        gy_buf_free(&b);
        return NULL;
    }
    return gy_buf_detach(&b, NULL);
}

/* ------------------------------------------------------------------ persistence */

/* The normalized JSON text of a spec after full validation (new). */
static enum gy_status spec_text(const struct gy_deploy_spec *spec, char **text,
                                struct gy_deploy_spec **norm)
{
    json_t *j = NULL, *j2 = NULL;
    struct gy_deploy_spec *n = NULL;
    struct gy_buf b;
    enum gy_status rc;
    *text = NULL;
    gy_buf_init(&b, 1 << 24);
    if (!spec)
        return gy_error_set(GY_E_INVALID, "no deployment spec");
    if ((rc = gy_deploy_spec_to_json(spec, &j)) || (rc = gy_deploy_spec_from_json(j, &n)) ||
        (rc = gy_deploy_spec_to_json(n, &j2)) || (rc = gy_json_dump(j2, &b)))
        goto out;
    *text = gy_buf_detach(&b, NULL);
    if (!*text)
        rc = nomem();
out:
    json_decref(j);
    json_decref(j2);
    gy_buf_free(&b);
    if (rc == GY_OK && norm)
        *norm = n;
    else
        gy_deploy_spec_free(n);
    return rc;
}

static enum gy_status reason_check(const char *reason)
{
    if (reason && strlen(reason) > GY_DEPLOY_REASON_MAX)
        return gy_error_set(GY_E_INVALID, "reason is longer than %d bytes", GY_DEPLOY_REASON_MAX);
    return GY_OK;
}

/* Every route and shadow must resolve in the registry now. */
static enum gy_status resolve_all(struct gy_db *db, const struct gy_deploy_spec *s)
{
    for (size_t k = 0; k < s->n_routes + s->n_shadows; k++) {
        const struct gy_deploy_route *r =
            k < s->n_routes ? &s->routes[k] : &s->shadows[k - s->n_routes];
        struct gy_registry_version_info *info = NULL;
        char *label = gy__deploy_route_label(r);
        enum gy_status rc;
        if (!label)
            return nomem();
        rc = gy_registry_resolve(db, label, &info);
        gy_registry_version_info_free(info);
        if (rc) {
            gy_error_wrap(rc, "%s %s", k < s->n_routes ? "route" : "shadow", label);
            gy_free(label);
            return rc;
        }
        gy_free(label);
    }
    return GY_OK;
}

static enum gy_status not_found(const char *name)
{
    return gy_error_set(GY_NOT_FOUND, "deployment '%s' not found", name);
}

/* The id and current revision of deployment @p name. */
static enum gy_status find(struct gy_db *db, const char *name, int64_t *id, int64_t *rev)
{
    struct gy_db_param p[1] = {GY_DB_P_TEXT(name)};
    struct gy_db_rows *rows = NULL;
    enum gy_status rc =
        gy_db_query(db, "SELECT id, revision FROM deployments WHERE name = $1", p, 1, &rows);
    if (rc)
        return rc;
    if (gy_db_rows_count(rows) == 0) {
        rc = not_found(name);
    } else {
        *id = gy_db_rows_int(rows, 0, 0);
        *rev = gy_db_rows_int(rows, 0, 1);
    }
    gy_db_rows_free(rows);
    return rc;
}

static enum gy_status insert_revision(struct gy_db *db, int64_t id, int64_t rev, const char *spec,
                                      int64_t now, const char *reason)
{
    struct gy_db_param p[5] = {GY_DB_P_INT(id), GY_DB_P_INT(rev), GY_DB_P_TEXT(spec),
                               GY_DB_P_INT(now), GY_DB_P_TEXT(reason)};
    return gy_db_exec(db,
                      "INSERT INTO deployment_revisions (deployment, revision, spec, created_us, "
                      "reason) VALUES ($1, $2, $3, $4, $5)",
                      p, 5, NULL);
}

/* Writes a new current revision of an existing deployment (inside a transaction). */
static enum gy_status set_current(struct gy_db *db, int64_t id, int64_t rev, const char *spec,
                                  const char *reason)
{
    int64_t now = gy_time_wall_us(), changes = 0;
    struct gy_db_param p[4] = {GY_DB_P_INT(rev), GY_DB_P_TEXT(spec), GY_DB_P_INT(now),
                               GY_DB_P_INT(id)};
    enum gy_status rc = insert_revision(db, id, rev, spec, now, reason);
    if (rc)
        return rc;
    rc = gy_db_exec(
        db, "UPDATE deployments SET revision = $1, spec = $2, updated_us = $3 WHERE id = $4", p, 4,
        &changes);
    if (rc == GY_OK && changes != 1)
        rc = gy_error_set(GY_E_CONFLICT, "the deployment changed during the update");
    return rc;
}

enum gy_status gy_deploy_create(struct gy_db *db, const struct gy_deploy_spec *spec,
                                const char *reason, json_t **out)
{
    char *text = NULL;
    struct gy_deploy_spec *norm = NULL;
    int64_t now = gy_time_wall_us(), id = 0, rev = 0;
    enum gy_status rc;
    if (out)
        *out = NULL;
    if ((rc = spec_text(spec, &text, &norm)) || (rc = reason_check(reason)) ||
        (rc = resolve_all(db, norm)))
        goto out;
    if ((rc = gy_db_begin(db)))
        goto out;
    {
        struct gy_db_param p[4] = {GY_DB_P_TEXT(norm->name), GY_DB_P_TEXT(text), GY_DB_P_INT(now),
                                   GY_DB_P_INT(now)};
        rc = gy_db_exec(db,
                        "INSERT INTO deployments (name, revision, spec, created_us, updated_us) "
                        "VALUES ($1, 1, $2, $3, $4)",
                        p, 4, NULL);
        if (rc == GY_E_EXISTS)
            gy_error_set(GY_E_EXISTS, "deployment '%s' already exists", norm->name);
    }
    if (rc == GY_OK)
        rc = find(db, norm->name, &id, &rev);
    if (rc == GY_OK)
        rc = insert_revision(db, id, 1, text, now, reason ? reason : "created");
    if (rc == GY_OK)
        rc = gy_db_commit(db);
    if (rc)
        gy_db_rollback(db);
    if (rc == GY_OK && out)
        rc = gy_deploy_get(db, norm->name, out);
out:
    gy_free(text);
    gy_deploy_spec_free(norm);
    return rc;
}

enum gy_status gy_deploy_update(struct gy_db *db, const struct gy_deploy_spec *spec,
                                const char *reason, json_t **out)
{
    char *text = NULL;
    struct gy_deploy_spec *norm = NULL;
    int64_t id = 0, rev = 0;
    enum gy_status rc;
    if (out)
        *out = NULL;
    if ((rc = spec_text(spec, &text, &norm)) || (rc = reason_check(reason)) ||
        (rc = resolve_all(db, norm)))
        goto out;
    if ((rc = gy_db_begin(db)))
        goto out;
    rc = find(db, norm->name, &id, &rev);
    if (rc == GY_OK)
        rc = set_current(db, id, rev + 1, text, reason ? reason : "updated");
    if (rc == GY_OK)
        rc = gy_db_commit(db);
    if (rc)
        gy_db_rollback(db);
    if (rc == GY_OK && out)
        rc = gy_deploy_get(db, norm->name, out);
out:
    gy_free(text);
    gy_deploy_spec_free(norm);
    return rc;
}

/* Parses a stored spec text (a damaged row is GY_E_CORRUPT). */
static enum gy_status spec_parse(const char *name, const char *text, struct gy_deploy_spec **out)
{
    json_t *j = NULL;
    enum gy_status rc;
    *out = NULL;
    rc = gy_json_parse(text ? text : "", text ? strlen(text) : 0, SPEC_JSON_DEPTH,
                       "deployment spec", &j);
    if (rc == GY_OK)
        rc = gy_deploy_spec_from_json(j, out);
    json_decref(j);
    if (rc && rc != GY_E_NOMEM)
        return gy_error_wrap(GY_E_CORRUPT, "stored spec of deployment '%s'", name);
    return rc;
}

enum gy_status gy_deploy_rollback(struct gy_db *db, const char *name, int64_t to_revision,
                                  const char *reason, json_t **out)
{
    struct gy_db_rows *rows = NULL;
    struct gy_deploy_spec *spec = NULL;
    int64_t id = 0, rev = 0, target;
    char auto_reason[64];
    enum gy_status rc;
    if (out)
        *out = NULL;
    if ((rc = gy__deploy_name_check(name)) || (rc = reason_check(reason)))
        return rc;
    if (to_revision < 0)
        return gy_error_set(GY_E_INVALID, "revision must be 1 or more");
    if ((rc = gy_db_begin(db)))
        return rc;
    if ((rc = find(db, name, &id, &rev)))
        goto out;
    target = to_revision ? to_revision : rev - 1;
    if (target < 1) {
        rc = gy_error_set(GY_NOT_FOUND, "deployment '%s' has no revision before %lld", name,
                          (long long)rev);
        goto out;
    }
    if (target == rev) {
        rc = gy_error_set(GY_E_INVALID, "deployment '%s' is already at revision %lld", name,
                          (long long)rev);
        goto out;
    }
    {
        struct gy_db_param p[2] = {GY_DB_P_INT(id), GY_DB_P_INT(target)};
        rc = gy_db_query(db,
                         "SELECT spec FROM deployment_revisions WHERE deployment = $1 AND "
                         "revision = $2",
                         p, 2, &rows);
    }
    if (rc)
        goto out;
    if (gy_db_rows_count(rows) == 0) {
        rc = gy_error_set(GY_NOT_FOUND, "deployment '%s' has no revision %lld", name,
                          (long long)target);
        goto out;
    }
    if ((rc = spec_parse(name, gy_db_rows_text(rows, 0, 0), &spec)))
        goto out;
    if ((rc = resolve_all(db, spec))) {
        gy_error_wrap(rc, "revision %lld", (long long)target);
        goto out;
    }
    snprintf(auto_reason, sizeof auto_reason, "rollback to revision %lld", (long long)target);
    rc = set_current(db, id, rev + 1, gy_db_rows_text(rows, 0, 0), reason ? reason : auto_reason);
    if (rc == GY_OK)
        rc = gy_db_commit(db);
out:
    if (rc)
        gy_db_rollback(db);
    gy_db_rows_free(rows);
    gy_deploy_spec_free(spec);
    if (rc == GY_OK && out)
        rc = gy_deploy_get(db, name, out);
    return rc;
}

/* [{"model","ref","weight"?,"version"|null,"error"?,"shadow"?}] resolved now. */
static enum gy_status resolved_json(struct gy_db *db, const struct gy_deploy_spec *s, json_t **out)
{
    json_t *a = json_array();
    *out = NULL;
    if (!a)
        return nomem();
    for (size_t k = 0; k < s->n_routes + s->n_shadows; k++) {
        int shadow = k >= s->n_routes;
        const struct gy_deploy_route *r = shadow ? &s->shadows[k - s->n_routes] : &s->routes[k];
        struct gy_registry_version_info *info = NULL;
        char *label = gy__deploy_route_label(r);
        json_t *o = json_pack("{s:s,s:s}", "model", r->model, "ref", r->ref);
        enum gy_status rc;
        if (!label || !o || json_array_append_new(a, o)) {
            gy_free(label);
            json_decref(a);
            return nomem();
        }
        rc = gy_registry_resolve(db, label, &info);
        gy_free(label);
        if (rc == GY_E_NOMEM || rc == GY_E_DB || rc == GY_E_BUSY) {
            json_decref(a);
            return rc;
        }
        if ((!shadow && gy_json_set(o, "weight", json_integer(r->weight))) ||
            (shadow && gy_json_set(o, "shadow", json_true())) ||
            gy_json_set(o, "version",
                        rc == GY_OK ? json_integer((json_int_t)info->version) : json_null()) ||
            (rc != GY_OK && gy_json_set(o, "error", json_string(gy_error_msg())))) {
            gy_registry_version_info_free(info);
            json_decref(a);
            return nomem();
        }
        gy_registry_version_info_free(info);
    }
    *out = a;
    return GY_OK;
}

enum gy_status gy_deploy_get(struct gy_db *db, const char *name, json_t **out)
{
    struct gy_db_param p[1] = {GY_DB_P_TEXT(name)};
    struct gy_db_rows *rows = NULL;
    struct gy_deploy_spec *spec = NULL;
    json_t *o = NULL, *sj = NULL, *res = NULL;
    enum gy_status rc;
    *out = NULL;
    if ((rc = gy__deploy_name_check(name)))
        return rc;
    rc = gy_db_query(db,
                     "SELECT d.name, d.revision, d.spec, d.created_us, d.updated_us, r.reason "
                     "FROM deployments d LEFT JOIN deployment_revisions r ON r.deployment = d.id "
                     "AND r.revision = d.revision WHERE d.name = $1",
                     p, 1, &rows);
    if (rc)
        return rc;
    if (gy_db_rows_count(rows) == 0) {
        rc = not_found(name);
        goto out;
    }
    if ((rc = spec_parse(name, gy_db_rows_text(rows, 0, 2), &spec)) ||
        (rc = gy_deploy_spec_to_json(spec, &sj)) || (rc = resolved_json(db, spec, &res)))
        goto out;
    o = json_pack("{s:s,s:I,s:O,s:I,s:I}", "name", gy_db_rows_text(rows, 0, 0), "revision",
                  (json_int_t)gy_db_rows_int(rows, 0, 1), "spec", sj, "created_us",
                  (json_int_t)gy_db_rows_int(rows, 0, 3), "updated_us",
                  (json_int_t)gy_db_rows_int(rows, 0, 4));
    if (!o ||
        gy_json_set(o, "reason",
                    gy_db_rows_isnull(rows, 0, 5) ? json_null()
                                                  : json_string(gy_db_rows_text(rows, 0, 5))) ||
        gy_json_set(o, "resolved", json_incref(res))) {
        rc = nomem();
        goto out;
    }
    *out = o;
    o = NULL;
out:
    json_decref(o);
    json_decref(sj);
    json_decref(res);
    gy_deploy_spec_free(spec);
    gy_db_rows_free(rows);
    return rc;
}

enum gy_status gy_deploy_get_spec(struct gy_db *db, const char *name, struct gy_deploy_spec **out,
                                  int64_t *revision)
{
    struct gy_db_param p[1] = {GY_DB_P_TEXT(name)};
    struct gy_db_rows *rows = NULL;
    enum gy_status rc;
    *out = NULL;
    if ((rc = gy__deploy_name_check(name)))
        return rc;
    rc = gy_db_query(db, "SELECT revision, spec FROM deployments WHERE name = $1", p, 1, &rows);
    if (rc)
        return rc;
    if (gy_db_rows_count(rows) == 0)
        rc = not_found(name);
    else
        rc = spec_parse(name, gy_db_rows_text(rows, 0, 1), out);
    if (rc == GY_OK && revision)
        *revision = gy_db_rows_int(rows, 0, 0);
    gy_db_rows_free(rows);
    return rc;
}

static const char *coll(const struct gy_db *db)
{
    return gy_db_kind(db) == GY_DB_POSTGRES ? " COLLATE \"C\"" : "";
}

enum gy_status gy_deploy_list(struct gy_db *db, json_t **out)
{
    struct gy_db_rows *rows = NULL;
    json_t *a = NULL;
    char sql[160];
    enum gy_status rc;
    *out = NULL;
    snprintf(sql, sizeof sql,
             "SELECT name, revision, spec, updated_us FROM deployments ORDER BY name%s", coll(db));
    if ((rc = gy_db_query(db, sql, NULL, 0, &rows)))
        return rc;
    if (!(a = json_array()))
        rc = nomem();
    for (size_t i = 0; rc == GY_OK && i < gy_db_rows_count(rows); i++) {
        struct gy_deploy_spec *spec = NULL;
        const char *name = gy_db_rows_text(rows, i, 0);
        char *routes = NULL;
        json_t *o;
        if ((rc = spec_parse(name, gy_db_rows_text(rows, i, 2), &spec)))
            break;
        routes = gy__deploy_routes_text(spec);
        o = routes ? json_pack("{s:s,s:I,s:s,s:i,s:I}", "name", name, "revision",
                               (json_int_t)gy_db_rows_int(rows, i, 1), "routes", routes, "shadows",
                               (int)spec->n_shadows, "updated_us",
                               (json_int_t)gy_db_rows_int(rows, i, 3))
                   : NULL;
        if (!o || json_array_append_new(a, o))
            rc = nomem();
        gy_free(routes);
        gy_deploy_spec_free(spec);
    }
    gy_db_rows_free(rows);
    if (rc) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return GY_OK;
}

enum gy_status gy_deploy_history(struct gy_db *db, const char *name, json_t **out)
{
    struct gy_db_param p[1] = {GY_DB_P_TEXT(name)};
    struct gy_db_rows *rows = NULL;
    int64_t id = 0, rev = 0;
    json_t *a = NULL;
    enum gy_status rc;
    *out = NULL;
    if ((rc = gy__deploy_name_check(name)) || (rc = find(db, name, &id, &rev)))
        return rc;
    rc = gy_db_query(db,
                     "SELECT r.revision, r.spec, r.created_us, r.reason FROM deployment_revisions "
                     "r JOIN deployments d ON d.id = r.deployment WHERE d.name = $1 "
                     "ORDER BY r.revision DESC",
                     p, 1, &rows);
    if (rc)
        return rc;
    if (!(a = json_array()))
        rc = nomem();
    for (size_t i = 0; rc == GY_OK && i < gy_db_rows_count(rows); i++) {
        struct gy_deploy_spec *spec = NULL;
        json_t *sj = NULL, *o = NULL;
        if ((rc = spec_parse(name, gy_db_rows_text(rows, i, 1), &spec)) ||
            (rc = gy_deploy_spec_to_json(spec, &sj))) {
            gy_deploy_spec_free(spec);
            break;
        }
        o = json_pack("{s:I,s:o,s:I}", "revision", (json_int_t)gy_db_rows_int(rows, i, 0), "spec",
                      sj, "created_us", (json_int_t)gy_db_rows_int(rows, i, 2));
        if (!o ||
            gy_json_set(o, "reason",
                        gy_db_rows_isnull(rows, i, 3) ? json_null()
                                                      : json_string(gy_db_rows_text(rows, i, 3))) ||
            json_array_append_new(a, o))
            rc = nomem();
        gy_deploy_spec_free(spec);
    }
    gy_db_rows_free(rows);
    if (rc) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return GY_OK;
}

enum gy_status gy_deploy_delete(struct gy_db *db, const char *name)
{
    struct gy_db_param p[1] = {GY_DB_P_TEXT(name)};
    int64_t changes = 0;
    enum gy_status rc;
    if ((rc = gy__deploy_name_check(name)))
        return rc;
    if ((rc = gy_db_begin(db)))
        return rc;
    rc = gy_db_exec(db,
                    "DELETE FROM deployment_revisions WHERE deployment IN (SELECT id FROM "
                    "deployments WHERE name = $1)",
                    p, 1, NULL);
    if (rc == GY_OK)
        rc = gy_db_exec(db, "DELETE FROM deployments WHERE name = $1", p, 1, &changes);
    if (rc == GY_OK && changes == 0)
        rc = not_found(name);
    if (rc == GY_OK)
        rc = gy_db_commit(db);
    if (rc)
        gy_db_rollback(db);
    return rc;
}

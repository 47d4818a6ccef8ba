/* SPDX-License-Identifier: MIT */
/*
 * token.c - API token commands: `gyre token create|list|revoke|verify`. A new token is printed
 * once, alone on stdout (so `T=$(gyre token create ...)` works), and never again: the data
 * home keeps only its keyed hash. create and revoke are recorded in the audit log as actions
 * of the local user ("cli:$USER"). verify reads a token from stdin (never from argv, where
 * other users could see it in the process list).
 */
#include "auth/auth.h"
#include "cli/cli.h"

#include <sodium.h>
#include <string.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))
#define ARGS_MAX 64
/* Default lifetime of a token created without --expires. */
#define DEFAULT_EXPIRES "90d"

static int usage(const char *u)
{
    fprintf(stderr, "usage: gyre %s\n", u);
    return GY_EXIT_USAGE;
}

/* Reports a bad argument value and returns the usage exit code. */
static int bad_usage(enum gy_status rc, const char *what)
{
    gy_cli_fail(rc, what);
    return GY_EXIT_USAGE;
}

/* "2025-01-31T12:00:00Z" of an RFC 3339 time with microseconds, "-" for null. */
static const char *short_time(const json_t *v, char out[32])
{
    const char *s = json_string_value(v);
    if (!s) {
        snprintf(out, 32, "-");
        return out;
    }
    snprintf(out, 32, "%.19sZ", s);
    return out;
}

/* ------------------------------------------------------------------ create */

#define CREATE_USAGE                                                                               \
    "token create --role ROLE [--scope RESOURCE]... [--expires 30d|12h|never] [--name N] "         \
    "[--json]"

static int cmd_create(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--role", NULL, 1, NULL, 0},
                             {"--scope", NULL, 1, NULL, 0},
                             {"--expires", NULL, 1, NULL, 0},
                             {"--name", NULL, 1, NULL, 0},
                             {"--json", NULL, 0, NULL, 0}};
    const char *scopes[GY_AUTH_SCOPES_MAX];
    char *pos[ARGS_MAX], token[GY_AUTH_TOKEN_LEN + 1] = "", id[GY_AUTH_ID_LEN + 1] = "";
    char resource[GY_AUTH_NAME_MAX + 16], expires_text[32] = "never";
    uint8_t secret[GY_AUTH_SECRET_LEN];
    struct gy_auth_token_spec spec = {0};
    struct gy_auth_principal me;
    struct gy_db *db = NULL;
    json_t *detail = NULL, *out = NULL;
    struct gy_buf dtext;
    size_t npos, nscopes = 0;
    int64_t ttl = 0;
    enum gy_status rc;
    int ex;

    if (argc > ARGS_MAX || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos ||
        !o[0].value)
        return usage(CREATE_USAGE);
    /* --scope may repeat: the parser keeps only the last, so collect them from argv. */
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--scope") == 0 && i + 1 < argc)
            v = argv[++i];
        else if (strncmp(argv[i], "--scope=", 8) == 0)
            v = argv[i] + 8;
        else if (i + 1 < argc && argv[i][0] == '-' && strcmp(argv[i], "--json") != 0 &&
                 !strchr(argv[i], '='))
            i++; /* the value of another option */
        if (!v)
            continue;
        if (nscopes == GY_AUTH_SCOPES_MAX) {
            fprintf(stderr, "gyre: at most %d scopes per token\n", GY_AUTH_SCOPES_MAX);
            return GY_EXIT_USAGE;
        }
        scopes[nscopes++] = v;
    }
    if ((rc = gy_auth_role_parse(o[0].value, &spec.role)))
        return bad_usage(rc, NULL);
    for (size_t i = 0; i < nscopes; i++)
        if ((rc = gy_auth_scope_valid(scopes[i])))
            return bad_usage(rc, NULL);
    if ((rc = gy_auth_duration_parse(o[2].value ? o[2].value : DEFAULT_EXPIRES, &ttl)))
        return bad_usage(rc, "--expires");
    gy_auth_principal_local(&me);
    spec.name = o[3].value;
    spec.scopes = scopes;
    spec.nscopes = nscopes;
    spec.expires_us = ttl ? gy_time_wall_us() + ttl : 0;
    spec.created_by = me.name;
    if (spec.expires_us)
        gy_time_format(spec.expires_us, expires_text);

    if ((ex = gy_cli_open_db(&db)))
        return ex;
    gy_buf_init(&dtext, 1 << 16);
    rc = gy_auth_secret_load(gy_db_home(db), secret);
    if (rc == GY_OK)
        rc = gy_auth_token_create(db, secret, &spec, token, id);
    sodium_memzero(secret, sizeof secret);

    /* The audit record: never the token, only what describes it. */
    snprintf(resource, sizeof resource, "tokens/%s",
             spec.name && *spec.name ? spec.name : (*id ? id : "?"));
    if (rc == GY_OK && !(spec.name && *spec.name))
        snprintf(resource, sizeof resource, "tokens/token-%s", id);
    detail = json_pack("{s:s, s:s, s:o, s:s}", "id", id, "role", gy_auth_role_name(spec.role),
                       "scopes", json_array(), "expires", expires_text);
    for (size_t i = 0; detail && i < nscopes; i++)
        json_array_append_new(json_object_get(detail, "scopes"), json_string(scopes[i]));
    if (detail)
        gy_json_dump(detail, &dtext);
    gy_audit_cli(db, "token.create", rc, dtext.data, "%s", resource);

    if (rc == GY_OK && o[4].value) {
        out = json_pack("{s:s, s:s, s:s, s:O, s:s, s:s}", "token", token, "id", id, "name",
                        resource + 7, "scopes", json_object_get(detail, "scopes"), "role",
                        gy_auth_role_name(spec.role), "expires", expires_text);
        if (out)
            gy_cli_print_json(out);
    } else if (rc == GY_OK) {
        printf("%s\n", token);
        fprintf(stderr,
                "created token %s (%s, role %s, expires %s)\n"
                "this is the only time the token is shown: store it now\n",
                id, resource + 7, gy_auth_role_name(spec.role), expires_text);
    }
    fflush(stdout);
    sodium_memzero(token, sizeof token);
    json_decref(out);
    json_decref(detail);
    gy_buf_free(&dtext);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, "token create") : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ list */

static int cmd_list(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--all", "-a", 0, NULL, 0}, {"--json", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos, i;
    struct gy_db *db = NULL;
    json_t *a = NULL, *t;
    enum gy_status rc;
    int ex;

    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos)
        return usage("token list [--all] [--json]");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_auth_token_list(db, o[0].value != NULL, &a);
    if (rc == GY_OK && o[1].value) {
        gy_cli_print_json(a);
    } else if (rc == GY_OK) {
        printf("%-8s  %-24s  %-14s  %-30s  %-20s  %-20s  %-20s  %s\n", "ID", "NAME", "ROLE",
               "SCOPES", "CREATED", "EXPIRES", "LAST USED", "STATE");
        json_array_foreach(a, i, t)
        {
            char scopes[256] = "", c[32], e[32], u[32];
            size_t k, n = 0;
            json_t *s;
            json_array_foreach(json_object_get(t, "scopes"), k, s)
            {
                if (n < sizeof scopes)
                    n += (size_t)snprintf(scopes + n, sizeof scopes - n, "%s%s", k ? "," : "",
                                          json_string_value(s));
            }
            printf("%-8s  %-24s  %-14s  %-30s  %-20s  %-20s  %-20s  %s\n", gy_json_str(t, "id", ""),
                   gy_json_str(t, "name", ""), gy_json_str(t, "role", ""), n ? scopes : "-",
                   short_time(json_object_get(t, "created"), c),
                   short_time(json_object_get(t, "expires"), e),
                   short_time(json_object_get(t, "last_used"), u), gy_json_str(t, "state", ""));
        }
    }
    json_decref(a);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, "token list") : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ revoke */

static int cmd_revoke(int argc, char **argv)
{
    char *pos[8], resource[GY_AUTH_NAME_MAX + 16];
    size_t npos;
    struct gy_db *db = NULL;
    json_t *info = NULL;
    enum gy_status rc;
    int ex;

    if (argc > 8 || (ex = gy_cli_parse(argc, argv, NULL, 0, pos, &npos)) || npos != 1)
        return usage("token revoke ID|NAME");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_auth_token_revoke(db, pos[0], &info);
    snprintf(resource, sizeof resource, "tokens/%.*s", GY_AUTH_NAME_MAX,
             info ? gy_json_str(info, "name", pos[0]) : pos[0]);
    {
        char detail[128];
        snprintf(detail, sizeof detail, "{\"id\":\"%.8s\"}",
                 info ? gy_json_str(info, "id", "") : "");
        gy_audit_cli(db, "token.revoke", rc, info ? detail : NULL, "%s", resource);
    }
    if (rc == GY_OK)
        printf("revoked token %s (%s)\n", gy_json_str(info, "id", ""),
               gy_json_str(info, "name", ""));
    json_decref(info);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, "token revoke") : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ verify */

static int cmd_verify(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}};
    char *pos[8], line[256];
    uint8_t secret[GY_AUTH_SECRET_LEN];
    struct gy_auth_principal p;
    struct gy_db *db = NULL;
    size_t npos, n;
    enum gy_status rc;
    int ex;

    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos)
        return usage("token verify [--json] < TOKEN_FILE");
    if (!fgets(line, sizeof line, stdin)) {
        fprintf(stderr, "gyre: token verify reads the token from stdin\n");
        return GY_EXIT_USAGE;
    }
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if ((ex = gy_cli_open_db(&db))) {
        sodium_memzero(line, sizeof line);
        return ex;
    }
    rc = gy_auth_secret_load(gy_db_home(db), secret);
    if (rc == GY_OK)
        rc = gy_auth_verify(db, secret, line, &p);
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(line, sizeof line);
    gy_db_free(db);
    if (rc == GY_E_PERM) {
        fprintf(stderr, "gyre: token rejected: %s\n", gy_error_msg());
        return GY_EXIT_FAIL;
    }
    if (rc)
        return gy_cli_fail(rc, "token verify");
    if (o[0].value) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:[]}", "id", p.id, "name", p.name, "role",
                              gy_auth_role_name(p.role), "scopes");
        for (size_t i = 0; j && i < p.nscopes; i++)
            json_array_append_new(json_object_get(j, "scopes"), json_string(p.scopes[i]));
        if (j)
            gy_cli_print_json(j);
        json_decref(j);
    } else {
        printf("valid: id %s, name %s, role %s", p.id, p.name, gy_auth_role_name(p.role));
        for (size_t i = 0; i < p.nscopes; i++)
            printf("%s%s", i ? "," : ", scopes ", p.scopes[i]);
        printf("\n");
    }
    return GY_EXIT_OK;
}

const struct gy_cli_cmd gy_cli_token_cmds[] = {
    {"token create", "--role ROLE [--scope RESOURCE]... [--expires 30d|12h|never] [--name N]",
     "create an API token (printed once; roles: admin, maintainer, data-scientist, viewer, "
     "predictor; default expiry 90d)",
     cmd_create},
    {"token list", "[--all] [--json]", "list tokens (never their secrets)", cmd_list},
    {"token revoke", "ID|NAME", "revoke a token at once", cmd_revoke},
    {"token verify", "[--json] < TOKEN_FILE", "check a token read from stdin and show its role",
     cmd_verify},
    {NULL, NULL, NULL, NULL},
};

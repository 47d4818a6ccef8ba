/* SPDX-License-Identifier: MIT */
/*
 * model.c - `gyre model inspect FILE`: loads a model bundle with full validation and prints
 * it as JSON (metadata, signatures, preprocessing, an estimator summary and the reference
 * profile). A damaged or malformed file is reported with the loader's reason and exit code 1.
 * The argument is a file, or a registry reference (MODEL, MODEL@alias, MODEL@N) whose
 * version's bundle is read from the object store. `gyre model import` arrives with serving.
 */
#include "cli/cli.h"
#include "models/models.h"
#include "registry/registry.h"

#include <string.h>
#include <unistd.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))

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
    if (access(pos[0], F_OK) == 0) {
        rc = gy_model_bundle_load_file(pos[0], &b);
    } else {
        /* Not a file: a registry reference (MODEL, MODEL@alias, MODEL@N). */
        struct gy_db *db = NULL;
        struct gy_registry_version_info *vi = NULL;
        struct gy_buf data;
        if ((ex = gy_cli_open_db(&db)))
            return ex;
        gy_buf_init(&data, (size_t)1 << 31);
        rc = gy_registry_resolve(db, pos[0], &vi);
        if (rc == GY_OK && !vi->bundle_hash)
            rc = gy_error_set(GY_NOT_FOUND, "%s version %lld has no gyre bundle", vi->name,
                              (long long)vi->version);
        if (rc == GY_OK)
            rc = gy_db_object_get(db, vi->bundle_hash, &data);
        if (rc == GY_OK)
            rc = gy_model_bundle_load(data.data, data.len, &b);
        gy_buf_free(&data);
        gy_registry_version_info_free(vi);
        gy_db_free(db);
    }
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

const struct gy_cli_cmd gy_cli_model_cmds[] = {
    {"model inspect", "FILE|MODEL[@ALIAS] [--compact]",
     "validate a model bundle and print it as JSON (signature, preprocessing, estimator, profile)",
     cmd_inspect},
    {NULL, NULL, NULL, NULL},
};

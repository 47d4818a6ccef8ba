/* SPDX-License-Identifier: MIT */
/*
 * model.c - `gyre model inspect FILE`: loads a model bundle with full validation and prints
 * it as JSON (metadata, signatures, preprocessing, an estimator summary and the reference
 * profile). A damaged or malformed file is reported with the loader's reason and exit code 1.
 * `gyre model import` and MODEL[@alias] references arrive with serving and the registry.
 */
#include "cli/cli.h"
#include "models/models.h"

#include <string.h>

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
        fprintf(stderr, "usage: gyre model inspect FILE [--compact]\n");
        return GY_EXIT_USAGE;
    }
    rc = gy_model_bundle_load_file(pos[0], &b);
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
    {"model inspect", "FILE [--compact]",
     "validate a model bundle and print it as JSON (signature, preprocessing, estimator, profile)",
     cmd_inspect},
    {NULL, NULL, NULL, NULL},
};

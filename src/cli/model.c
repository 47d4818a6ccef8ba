/* SPDX-License-Identifier: MIT */
/*
 * model.c - command table for `gyre model inspect|import`. The commands are added with their
 * module.
 */
#include "cli/cli.h"

const struct gy_cli_cmd gy_cli_model_cmds[] = {
    {NULL, NULL, NULL, NULL},
};

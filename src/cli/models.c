/* SPDX-License-Identifier: MIT */
/*
 * models.c - command table for `gyre models list|show|register|alias|versions`. The commands are
 * added with their module.
 */
#include "cli/cli.h"

const struct gy_cli_cmd gy_cli_registry_cmds[] = {
    {NULL, NULL, NULL, NULL},
};

/* SPDX-License-Identifier: MIT */
/*
 * server.c - command table for `gyre server`. The commands are added with their module.
 */
#include "cli/cli.h"

const struct gy_cli_cmd gy_cli_server_cmds[] = {
    {NULL, NULL, NULL, NULL},
};

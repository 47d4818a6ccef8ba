/* SPDX-License-Identifier: MIT */
/*
 * runs.c - command table for `gyre runs list|show|compare`. The commands are added with their
 * module.
 */
#include "cli/cli.h"

const struct gy_cli_cmd gy_cli_tracking_cmds[] = {
    {NULL, NULL, NULL, NULL},
};

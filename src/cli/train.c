/* SPDX-License-Identifier: MIT */
/*
 * train.c - command table for `gyre train`. The commands are added with their module.
 */
#include "cli/cli.h"

const struct gy_cli_cmd gy_cli_train_cmds[] = {
    {NULL, NULL, NULL, NULL},
};

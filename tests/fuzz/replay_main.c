/* SPDX-License-Identifier: MIT */
/*
 * replay_main.c - a main() for the fuzz targets without libFuzzer: runs
 * LLVMFuzzerTestOneInput once on every file named on the command line (directories are read
 * one level deep). `make test` links each target with this under ASan+UBSan and replays the
 * committed corpora, so every parser's known inputs are checked in CI with gcc alone.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    struct gy_buf b;
    int rc;
    gy_buf_init(&b, (size_t)64 << 20);
    if (gy_file_read(path, &b) != GY_OK) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, gy_error_msg());
        gy_buf_free(&b);
        return -1;
    }
    rc = LLVMFuzzerTestOneInput((const uint8_t *)(b.data ? b.data : ""), b.len);
    gy_buf_free(&b);
    return rc;
}

int main(int argc, char **argv)
{
    long n = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: not found\n", argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            char path[4096];
            if (!d)
                return 1;
            while ((e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
                if (replay_file(path) < 0) {
                    closedir(d);
                    return 1;
                }
                n++;
            }
            closedir(d);
        } else {
            if (replay_file(argv[i]) < 0)
                return 1;
            n++;
        }
    }
    printf("replayed %ld inputs\n", n);
    return n > 0 ? 0 : 1;
}

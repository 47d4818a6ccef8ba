/* SPDX-License-Identifier: MIT */
/*
 * admin.c - operator commands for encryption at rest: `gyre admin keygen FILE` writes a new
 * random key (64 hex digits, mode 0600, never over an existing file); `gyre admin objects`
 * counts the object store by state (plain, or encrypted under which key id), and with
 * --verify reads every object back through its integrity checks; `gyre admin rekey
 * --new-key-file F` re-encrypts every object under a new key, crash-safely and resumably
 * (see docs/security.md for the rotation procedure). The keys in use come from GYRE_KEY_FILE
 * and GYRE_OLD_KEY_FILE, read when the data home is opened.
 */
#include "auth/auth.h"
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))
#define KEY_IDS_MAX 16

static int usage(const char *u)
{
    fprintf(stderr, "usage: gyre %s\n", u);
    return GY_EXIT_USAGE;
}

/* ------------------------------------------------------------------ keygen */

static int cmd_keygen(int argc, char **argv)
{
    uint8_t key[GY_DB_KEY_LEN];
    char hex[2 * GY_DB_KEY_LEN + 2], id[GY_DB_KEY_ID_HEX_LEN + 1], *pos[4];
    size_t npos;
    enum gy_status rc;
    int fd, ex;

    if (argc > 4 || (ex = gy_cli_parse(argc, argv, NULL, 0, pos, &npos)) || npos != 1)
        return usage("admin keygen FILE");
    if (sodium_init() < 0)
        return gy_cli_fail(gy_error_set(GY_E_INTERNAL, "libsodium could not be initialized"), NULL);
    fd = open(pos[0], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "gyre: %s: %s%s\n", pos[0], strerror(errno),
                errno == EEXIST ? " (keygen never overwrites a key)" : "");
        return GY_EXIT_FAIL;
    }
    randombytes_buf(key, sizeof key);
    gy_hex_encode(key, sizeof key, hex);
    hex[2 * GY_DB_KEY_LEN] = '\n';
    hex[2 * GY_DB_KEY_LEN + 1] = '\0';
    gy_db_key_id(key, id);
    rc = gy_fd_write_all(fd, hex, 2 * GY_DB_KEY_LEN + 1);
    if (rc == GY_OK && fsync(fd) != 0)
        rc = gy_error_set(GY_E_IO, "fsync %s: %s", pos[0], strerror(errno));
    close(fd);
    sodium_memzero(key, sizeof key);
    sodium_memzero(hex, sizeof hex);
    if (rc) {
        unlink(pos[0]);
        return gy_cli_fail(rc, pos[0]);
    }
    printf("wrote a new key to %s (key id %s)\n", pos[0], id);
    return GY_EXIT_OK;
}

/* ------------------------------------------------------------------ objects */

struct census {
    struct gy_db *db;
    int verify;
    uint64_t plain, plain_bytes, bad;
    size_t nkeys;
    struct {
        char id[GY_DB_KEY_ID_HEX_LEN + 1];
        uint64_t n, bytes;
    } keys[KEY_IDS_MAX];
    struct gy_buf buf;
};

static enum gy_status census_one(void *arg, const char *hex)
{
    struct census *c = arg;
    struct gy_db_object_info info;
    enum gy_status rc = gy_db_object_stat(c->db, hex, &info);
    if (rc == GY_OK && c->verify) {
        gy_buf_reset(&c->buf);
        rc = gy_db_object_get(c->db, hex, &c->buf);
        if (c->buf.data)
            sodium_memzero(c->buf.data, c->buf.len);
    }
    if (rc) {
        c->bad++;
        fprintf(stderr, "gyre: %s\n", gy_error_msg());
        return GY_OK;
    }
    if (!info.encrypted) {
        c->plain++;
        c->plain_bytes += info.size;
        return GY_OK;
    }
    for (size_t i = 0; i < c->nkeys; i++) {
        if (strcmp(c->keys[i].id, info.key_id) == 0) {
            c->keys[i].n++;
            c->keys[i].bytes += info.size;
            return GY_OK;
        }
    }
    if (c->nkeys < KEY_IDS_MAX) {
        memcpy(c->keys[c->nkeys].id, info.key_id, sizeof info.key_id);
        c->keys[c->nkeys].n = 1;
        c->keys[c->nkeys].bytes = info.size;
        c->nkeys++;
    }
    return GY_OK;
}

static int cmd_objects(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--verify", NULL, 0, NULL, 0}, {"--json", NULL, 0, NULL, 0}};
    struct census *c;
    char *pos[8];
    size_t npos;
    struct gy_db *db = NULL;
    enum gy_status rc;
    int ex;

    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos)
        return usage("admin objects [--verify] [--json]");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    c = gy_calloc(1, sizeof *c);
    if (!c) {
        gy_db_free(db);
        return gy_cli_fail(GY_E_NOMEM, NULL);
    }
    c->db = db;
    c->verify = o[0].value != NULL;
    gy_buf_init(&c->buf, (size_t)1 << 40);
    rc = gy_db_objects_walk(db, census_one, c);
    if (rc == GY_OK && o[1].value) {
        json_t *j = json_pack("{s:{s:I, s:I}, s:[], s:I, s:b}", "plain", "objects",
                              (json_int_t)c->plain, "bytes", (json_int_t)c->plain_bytes,
                              "encrypted", "bad", (json_int_t)c->bad, "verified", c->verify);
        for (size_t i = 0; j && i < c->nkeys; i++)
            json_array_append_new(json_object_get(j, "encrypted"),
                                  json_pack("{s:s, s:I, s:I}", "key_id", c->keys[i].id, "objects",
                                            (json_int_t)c->keys[i].n, "bytes",
                                            (json_int_t)c->keys[i].bytes));
        if (j)
            gy_cli_print_json(j);
        json_decref(j);
    } else if (rc == GY_OK) {
        printf("%-24s  %10s  %14s\n", "STATE", "OBJECTS", "BYTES");
        printf("%-24s  %10llu  %14llu\n", "plain", (unsigned long long)c->plain,
               (unsigned long long)c->plain_bytes);
        for (size_t i = 0; i < c->nkeys; i++) {
            char label[40];
            snprintf(label, sizeof label, "key %s", c->keys[i].id);
            printf("%-24s  %10llu  %14llu\n", label, (unsigned long long)c->keys[i].n,
                   (unsigned long long)c->keys[i].bytes);
        }
        if (c->bad || c->verify)
            printf("%-24s  %10llu\n", c->verify ? "failed verification" : "unreadable header",
                   (unsigned long long)c->bad);
    }
    if (rc == GY_OK && c->bad)
        rc = gy_error_set(GY_E_CORRUPT, "%llu objects failed their checks",
                          (unsigned long long)c->bad);
    gy_buf_free(&c->buf);
    gy_free(c);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, "admin objects") : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ rekey */

static int cmd_rekey(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--new-key-file", NULL, 1, NULL, 0}, {"--limit", NULL, 1, NULL, 0}};
    struct gy_db_rekey_stats st = {0};
    uint8_t key[GY_DB_KEY_LEN];
    char id[GY_DB_KEY_ID_HEX_LEN + 1], detail[256], *pos[8];
    int64_t limit = 0;
    size_t npos;
    struct gy_db *db = NULL;
    enum gy_status rc;
    int ex;

    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos || !o[0].value)
        return usage("admin rekey --new-key-file FILE [--limit N]");
    if (o[1].value && (gy_parse_int64(o[1].value, &limit) || limit < 1)) {
        fprintf(stderr, "gyre: --limit must be a positive number of objects\n");
        return GY_EXIT_USAGE;
    }
    if ((rc = gy_db_key_file_read(o[0].value, key)))
        return gy_cli_fail(rc, "--new-key-file");
    gy_db_key_id(key, id);
    if ((ex = gy_cli_open_db(&db))) {
        sodium_memzero(key, sizeof key);
        return ex;
    }
    rc = gy_db_objects_rekey(db, key, (uint64_t)limit, &st);
    sodium_memzero(key, sizeof key);
    snprintf(detail, sizeof detail,
             "{\"new_key_id\":\"%s\",\"rewritten\":%llu,\"already\":%llu,\"failed\":%llu,"
             "\"limit\":%lld}",
             id, (unsigned long long)st.rewritten, (unsigned long long)st.already,
             (unsigned long long)st.failed, (long long)limit);
    gy_audit_cli(db, "admin.rekey", rc, detail, "objects");
    gy_db_free(db);
    printf("re-encrypted %llu objects under key %s; %llu already were; %llu could not be read\n",
           (unsigned long long)st.rewritten, id, (unsigned long long)st.already,
           (unsigned long long)st.failed);
    if (rc)
        return gy_cli_fail(rc, "admin rekey");
    if (limit && st.rewritten == (uint64_t)limit)
        printf("stopped at --limit %lld: run again to continue\n", (long long)limit);
    else
        printf("every object is under key %s: point GYRE_KEY_FILE at %s and retire the old key\n",
               id, o[0].value);
    return GY_EXIT_OK;
}

const struct gy_cli_cmd gy_cli_admin_cmds[] = {
    {"admin keygen", "FILE", "write a new random 32-byte key (hex, mode 0600) for GYRE_KEY_FILE",
     cmd_keygen},
    {"admin objects", "[--verify] [--json]",
     "count objects by encryption state and key id; --verify reads each one back", cmd_objects},
    {"admin rekey", "--new-key-file FILE [--limit N]",
     "re-encrypt every object under a new key, crash-safely and resumably", cmd_rekey},
    {NULL, NULL, NULL, NULL},
};

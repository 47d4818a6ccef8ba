/* SPDX-License-Identifier: MIT */
/*
 * test_artifact.c - artifact paths against every traversal trick of MLflow's artifact CVEs
 * (reference section 4.12), and artifacts on both backends: put, replace, get, stat, list
 * with directory roll-up, delete of files and directories, clashes between files and
 * directories, registering existing objects, and the mlflow-artifacts proxy path.
 */
#include "../store_fixture.h"

Test(artifact_path, accepts_clean_relative_paths)
{
    static const char *const good[] = {
        "model.json",
        "model/MLmodel",
        "a/b/c/d.txt",
        "..hidden",
        "a..b",
        "name with spaces",
        "ünïcode/文件",
        ".config",
        "a/.b",
        "ab:cd",
        "v1.2.3/file-name_x.tar.gz",
    };
    for (size_t i = 0; i < GY_ARRAY_LEN(good); i++)
        cr_assert_eq(gy_tracking_artifact_path_check(good[i], 0), GY_OK, "%s: %s", good[i],
                     gy_error_msg());
    cr_assert_eq(gy_tracking_artifact_path_check("", 1), GY_OK, "the root, for listing");
}

Test(artifact_path, rejects_every_traversal_trick)
{
    static const struct {
        const char *path, *why;
    } bad[] = {
        {"", "empty"},
        {"/etc/passwd", "absolute"},
        {"//server/share", "absolute (UNC-like)"},
        {"../etc/passwd", ".. segment"},
        {"a/../../etc/passwd", ".. in the middle"},
        {"a/..", "trailing .."},
        {"..", "just .."},
        {"./a", ". segment"},
        {"a/./b", ". in the middle"},
        {"a//b", "empty segment"},
        {"a/", "trailing slash"},
        {"\\..\\..\\etc\\passwd", "backslash traversal (CVE-2023-2780)"},
        {"a\\b", "backslash"},
        {"C:/Windows/win.ini", "drive letter"},
        {"c:evil", "drive-relative"},
        {"a;b", "path parameter (CVE-2024-1593)"},
        {"model;/../../etc", "path parameter with traversal"},
        {"a#../../etc", "fragment (CVE-2024-1594)"},
        {"a?/../../", "query string (CVE-2023-6909)"},
        {"%2e%2e/etc", "percent-encoded dots left after one decode"},
        {"%252e%252e/etc", "double encoding (CVE-2024-1560)"},
        {"a%2fb", "encoded slash"},
        {"..%2f..%2fetc", "mixed encoding"},
        {"\xc0\xae\xc0\xae/etc", "overlong UTF-8 dots"},
        {"\xe0\x80\xae", "overlong 3-byte dot"},
        {"a\x01b", "control character"},
        {"a\nb", "newline"},
        {"a\x7f", "DEL"},
        {"\xff", "invalid UTF-8"},
    };
    for (size_t i = 0; i < GY_ARRAY_LEN(bad); i++) {
        enum gy_status rc = gy_tracking_artifact_path_check(bad[i].path, 0);
        cr_assert_eq(rc, GY_E_INVALID, "%s (%s) was accepted", bad[i].path, bad[i].why);
        cr_assert_neq(gy_error_msg()[0], '\0');
    }
    cr_assert_eq(gy_tracking_artifact_path_check(NULL, 1), GY_E_INVALID);
    {
        char longp[GY_TRACKING_ARTIFACT_PATH_MAX + 2];
        memset(longp, 'a', sizeof longp - 1);
        longp[sizeof longp - 1] = '\0';
        cr_assert_eq(gy_tracking_artifact_path_check(longp, 0), GY_E_INVALID);
    }
}

static void mkrun(struct gy_db *db, char id[33])
{
    struct gy_tracking_run_create c = {0};
    OK(gy_tracking_run_create(db, &c, id));
}

static void put(struct gy_db *db, const char *id, const char *path, const char *text)
{
    OK(gy_tracking_artifact_put(db, id, path, text, strlen(text)));
}

DB_TEST(artifacts_put_get_list_delete)
{
    char id[33], hex[65];
    struct gy_buf b;
    int64_t size = 0;
    json_t *l = NULL;
    mkrun(f->db, id);
    put(f->db, id, "model/MLmodel", "flavors: {}");
    put(f->db, id, "model/data/weights.bin", "0123456789");
    put(f->db, id, "model.txt", "x");
    put(f->db, id, "metrics.json", "{}");
    put(f->db, id, "metrics.json", "{\"a\":1}"); /* replaces */

    gy_buf_init(&b, 1 << 20);
    OK(gy_tracking_artifact_get(f->db, id, "metrics.json", &b));
    cr_assert_str_eq(b.data, "{\"a\":1}");
    gy_buf_free(&b);
    OK(gy_tracking_artifact_stat(f->db, id, "model/data/weights.bin", hex, &size));
    cr_assert_eq(size, 10);
    cr_assert(gy_db_object_exists(f->db, hex));
    cr_assert_eq(gy_tracking_artifact_stat(f->db, id, "model", hex, &size), GY_NOT_FOUND,
                 "a directory is not a file");

    OK(gy_tracking_artifact_list(f->db, id, NULL, &l));
    cr_assert(strstr(jstr(l, "root_uri"), id));
    cr_assert_eq(jlen(l, "files"), 3);
    cr_assert_str_eq(jstr(l, "files.0.path"), "metrics.json");
    cr_assert_eq(jint(l, "files.0.file_size"), 7);
    cr_assert(json_is_false(jpath(l, "files.0.is_dir")));
    cr_assert_str_eq(jstr(l, "files.1.path"), "model");
    cr_assert(json_is_true(jpath(l, "files.1.is_dir")));
    cr_assert_null(jpath(l, "files.1.file_size"), "directories have no size");
    cr_assert_str_eq(jstr(l, "files.2.path"), "model.txt");
    json_decref(l);
    OK(gy_tracking_artifact_list(f->db, id, "model", &l));
    cr_assert_eq(jlen(l, "files"), 2);
    cr_assert_str_eq(jstr(l, "files.0.path"), "model/MLmodel");
    cr_assert_str_eq(jstr(l, "files.1.path"), "model/data");
    cr_assert(json_is_true(jpath(l, "files.1.is_dir")));
    json_decref(l);
    OK(gy_tracking_artifact_list(f->db, id, "model.txt", &l));
    cr_assert_null(jpath(l, "files"), "listing a file gives no entries");
    json_decref(l);
    OK(gy_tracking_artifact_list(f->db, id, "nothing/here", &l));
    cr_assert_null(jpath(l, "files"));
    json_decref(l);
    cr_assert_eq(gy_tracking_artifact_list(f->db, id, "../x", &l), GY_E_INVALID);
    cr_assert_null(l);

    /* Files and directories cannot take each other's place. */
    cr_assert_eq(gy_tracking_artifact_put(f->db, id, "model", "x", 1), GY_E_INVALID);
    cr_assert_eq(gy_tracking_artifact_put(f->db, id, "model.txt/inner", "x", 1), GY_E_INVALID);
    cr_assert_eq(gy_tracking_artifact_put(f->db, id, "../escape", "x", 1), GY_E_INVALID);
    cr_assert_eq(gy_tracking_artifact_put(f->db, "0000", "a", "x", 1), GY_NOT_FOUND);

    /* Delete a directory: everything under it goes, nothing else. */
    OK(gy_tracking_artifact_delete(f->db, id, "model"));
    OK(gy_tracking_artifact_list(f->db, id, "", &l));
    cr_assert_eq(jlen(l, "files"), 2);
    cr_assert_str_eq(jstr(l, "files.1.path"), "model.txt");
    json_decref(l);
    OK(gy_tracking_artifact_delete(f->db, id, "model.txt"));
    cr_assert_eq(gy_tracking_artifact_delete(f->db, id, "model.txt"), GY_NOT_FOUND);
    cr_assert_eq(gy_tracking_artifact_delete(f->db, id, "a;b"), GY_E_INVALID);
    gy_buf_init(&b, 1 << 20);
    cr_assert_eq(gy_tracking_artifact_get(f->db, id, "model/MLmodel", &b), GY_NOT_FOUND);
    gy_buf_free(&b);
}

DB_TEST(artifacts_unicode_prefixes)
{
    char id[33];
    json_t *l = NULL;
    mkrun(f->db, id);
    put(f->db, id, "données/ü.txt", "1");
    put(f->db, id, "données/sous/x", "2");
    put(f->db, id, "donnéesX", "3");
    OK(gy_tracking_artifact_list(f->db, id, "données", &l));
    cr_assert_eq(jlen(l, "files"), 2, "character-counted prefixes work for UTF-8");
    cr_assert_str_eq(jstr(l, "files.0.path"), "données/sous");
    cr_assert_str_eq(jstr(l, "files.1.path"), "données/ü.txt");
    json_decref(l);
    OK(gy_tracking_artifact_delete(f->db, id, "données"));
    OK(gy_tracking_artifact_list(f->db, id, "", &l));
    cr_assert_eq(jlen(l, "files"), 1);
    cr_assert_str_eq(jstr(l, "files.0.path"), "donnéesX");
    json_decref(l);
}

DB_TEST(artifacts_put_object_and_proxy_path)
{
    char id[33], hex[65], run[33], path[200], other[33];
    const char *rel = NULL;
    int64_t size = 0, exp = -1;
    mkrun(f->db, id);
    OK(gy_db_object_put(f->db, "bundle-bytes", 12, hex));
    OK(gy_tracking_artifact_put_object(f->db, id, "model/bundle.gyre", hex));
    OK(gy_tracking_artifact_stat(f->db, id, "model/bundle.gyre", hex, &size));
    cr_assert_eq(size, 12);
    cr_assert_eq(gy_tracking_artifact_put_object(f->db, id, "x",
                                                 "00000000000000000000000000000000000000000000000"
                                                 "00000000000000000"),
                 GY_NOT_FOUND);
    cr_assert_eq(gy_tracking_artifact_put_object(f->db, id, "x", "../../etc"), GY_E_INVALID);

    snprintf(path, sizeof path, "0/%s/artifacts/model/bundle.gyre", id);
    OK(gy_tracking_artifact_proxy_path(f->db, path, run, &rel));
    cr_assert_str_eq(run, id);
    cr_assert_str_eq(rel, "model/bundle.gyre");
    snprintf(path, sizeof path, "0/%s/artifacts", id);
    OK(gy_tracking_artifact_proxy_path(f->db, path, run, &rel));
    cr_assert_str_eq(rel, "");
    snprintf(path, sizeof path, "0/%s/artifacts/../../x", id);
    cr_assert_eq(gy_tracking_artifact_proxy_path(f->db, path, run, &rel), GY_E_INVALID);
    snprintf(path, sizeof path, "0/%s/other/x", id);
    cr_assert_eq(gy_tracking_artifact_proxy_path(f->db, path, run, &rel), GY_E_INVALID);
    snprintf(path, sizeof path, "x/%s/artifacts/x", id);
    cr_assert_eq(gy_tracking_artifact_proxy_path(f->db, path, run, &rel), GY_E_INVALID);
    cr_assert_eq(gy_tracking_artifact_proxy_path(f->db, "0/short/artifacts", run, &rel),
                 GY_E_INVALID);
    OK(gy_tracking_experiment_create(f->db, "e", NULL, NULL, 0, &exp));
    snprintf(path, sizeof path, "%lld/%s/artifacts/x", (long long)exp, id);
    cr_assert_eq(gy_tracking_artifact_proxy_path(f->db, path, run, &rel), GY_NOT_FOUND,
                 "the run is not in that experiment");
    memset(other, 'a', 32);
    other[32] = '\0';
    snprintf(path, sizeof path, "0/%s/artifacts/x", other);
    cr_assert_eq(gy_tracking_artifact_proxy_path(f->db, path, run, &rel), GY_NOT_FOUND);
}

/* SPDX-License-Identifier: MIT */
/*
 * inspect.c - a loaded bundle as one JSON document for `gyre model inspect`: the container
 * (size, checksum, sections), the metadata, the signatures, the preprocessing, an estimator
 * summary (tree counts and depths, or linear weights by feature name) and the profile.
 */
#include "models/models_int.h"

#include <string.h>

enum gy_status gy_model_bundle_to_json(const struct gy_model_bundle *b, json_t **out)
{
    json_t *root = NULL, *fmt = NULL, *secs = NULL, *meta = NULL, *sig = NULL, *pre = NULL;
    json_t *est = NULL;
    enum gy_status rc;
    static const char *const sig_keys[] = {"input_signature", "output_signature", "feature_names",
                                           "classes"};

    *out = NULL;
    rc = gy_features_to_json(b->features, &pre);
    if (rc == GY_OK)
        rc = b->trees ? gy__model_trees_summary(b->trees, &est)
                      : gy__model_linear_summary(b->linear, b->features, &est);
    if (rc)
        goto out;
    rc = GY_E_NOMEM;
    root = json_object();
    secs = json_array();
    meta = json_deep_copy(b->meta);
    sig = json_object();
    if (!root || !secs || !meta || !sig)
        goto out;
    for (size_t i = 0; i < b->n_sections; i++) {
        json_t *e = json_pack(
            "{s:s,s:I,s:I,s:I}", "name", gy__model_bundle_section_name(b->sections[i].id), "id",
            (json_int_t)b->sections[i].id, "offset", (json_int_t)b->sections[i].offset, "length",
            (json_int_t)b->sections[i].length);
        if (!e || json_array_append_new(secs, e))
            goto out;
    }
    fmt =
        json_pack("{s:s,s:i,s:I,s:s,s:O}", "magic", GY_BUNDLE_MAGIC, "version", GY_BUNDLE_VERSION,
                  "size", (json_int_t)b->file_len, "sha256_trailer", b->checksum, "sections", secs);
    if (!fmt)
        goto out;
    /* The signatures are shown on their own; the rest of the metadata stays as written. */
    for (size_t i = 0; i < GY_ARRAY_LEN(sig_keys); i++) {
        json_t *v = json_object_get(meta, sig_keys[i]);
        const char *k = sig_keys[i];
        if (strcmp(k, "input_signature") == 0)
            k = "inputs";
        else if (strcmp(k, "output_signature") == 0)
            k = "outputs";
        if (v && json_object_set(sig, k, v))
            goto out;
        json_object_del(meta, sig_keys[i]);
    }
    if (json_object_set(root, "format", fmt) || json_object_set(root, "metadata", meta) ||
        json_object_set(root, "signature", sig) || json_object_set(root, "preprocessing", pre) ||
        json_object_set(root, "estimator", est) || json_object_set(root, "profile", b->profile))
        goto out;
    *out = root;
    root = NULL;
    rc = GY_OK;
out:
    if (rc == GY_E_NOMEM)
        gy_error_set(rc, "out of memory");
    json_decref(root);
    json_decref(fmt);
    json_decref(secs);
    json_decref(meta);
    json_decref(sig);
    json_decref(pre);
    json_decref(est);
    return rc;
}

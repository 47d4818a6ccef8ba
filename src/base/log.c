/* SPDX-License-Identifier: MIT */
/*
 * log.c - leveled logging to stderr as text or one JSON object per line, configured from
 * GYRE_LOG_LEVEL and GYRE_LOG_FORMAT. One mutex keeps lines whole across threads.
 */
#include "base/base.h"

#include <pthread.h>
#include <string.h>

static enum gy_log_level log_level = GY_LOG_INFO;
static int log_json;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void gy_log_set_level(enum gy_log_level level)
{
    log_level = level;
}

void gy_log_set_json(int on)
{
    log_json = on;
}

void gy_log_init_from_env(void)
{
    const char *lv = getenv("GYRE_LOG_LEVEL");
    const char *fmt = getenv("GYRE_LOG_FORMAT");
    if (lv && *lv) {
        size_t i;
        for (i = 0; i < GY_ARRAY_LEN(level_names); i++)
            if (strcmp(lv, level_names[i]) == 0)
                break;
        if (i < GY_ARRAY_LEN(level_names))
            log_level = (enum gy_log_level)i;
        else
            gy_log(GY_LOG_WARN, "GYRE_LOG_LEVEL=%s is not debug|info|warn|error; using info", lv);
    }
    if (fmt && *fmt) {
        if (strcmp(fmt, "json") == 0)
            log_json = 1;
        else if (strcmp(fmt, "text") == 0)
            log_json = 0;
        else
            gy_log(GY_LOG_WARN, "GYRE_LOG_FORMAT=%s is not text|json; using text", fmt);
    }
}

void gy_log(enum gy_log_level level, const char *fmt, ...)
{
    char msg[2048], ts[32];
    va_list ap;
    if (level < log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    gy_time_format(gy_time_wall_us(), ts);
    pthread_mutex_lock(&log_lock);
    if (log_json) {
        json_t *o = json_object();
        char *line = NULL;
        if (o) {
            json_object_set_new(o, "ts", json_string(ts));
            json_object_set_new(o, "level", json_string(level_names[level]));
            json_object_set_new(o, "msg", json_string(msg));
            line = json_dumps(o, JSON_COMPACT);
            json_decref(o);
        }
        if (line) {
            fprintf(stderr, "%s\n", line);
            gy_free(line); /* jansson allocates through gy_malloc (alloc.c) */
        }
    } else {
        fprintf(stderr, "%s %-5s %s\n", ts, level_names[level], msg);
    }
    pthread_mutex_unlock(&log_lock);
}

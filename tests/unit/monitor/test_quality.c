/* SPDX-License-Identifier: MIT */
/*
 * test_quality.c - the GyreDataQuality decision of the in-server monitor
 * (gy_monitor_quality_decide in src/monitor/service.c): the refused share of a round against
 * the threshold (strictly above fires), no verdict under the minimum number of requests, and
 * the alert text naming each kind that occurred with its count.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "monitor/monitor.h"

static const char *const kinds[GY_MONITOR_QUALITY_KINDS] = {"shape", "type", "missing", "malformed",
                                                            "too_large"};

Test(quality, fires_over_the_threshold_and_names_the_kinds)
{
    struct gy_monitor_quality_round r = {28, {7, 0, 0, 5, 0}};
    char desc[256];
    double rate = -1;
    int verdict = -2;
    gy_monitor_quality_decide(&r, 0.05, 20, kinds, &verdict, &rate, desc, sizeof desc);
    cr_assert_eq(verdict, 1);
    cr_assert_float_eq(rate, 12.0 / 40.0, 1e-12);
    cr_assert_str_eq(desc, "12 of 40 infer requests (30.0%) refused for their input: shape 7, "
                           "malformed 5 (threshold 5.0%)");
}

Test(quality, resolves_at_or_under_the_threshold)
{
    struct gy_monitor_quality_round r = {95, {0, 2, 3, 0, 0}};
    char desc[256];
    double rate;
    int verdict;
    /* 5 of 100 is exactly 5%: not over it. */
    gy_monitor_quality_decide(&r, 0.05, 20, kinds, &verdict, &rate, desc, sizeof desc);
    cr_assert_eq(verdict, 0);
    cr_assert_float_eq(rate, 0.05, 1e-12);
    cr_assert_str_eq(desc, "5 of 100 infer requests (5.0%) refused for their input: type 2, "
                           "missing 3 (threshold 5.0%)");
    r.refused[4] = 1; /* 6 of 101 */
    gy_monitor_quality_decide(&r, 0.05, 20, kinds, &verdict, &rate, NULL, 0);
    cr_assert_eq(verdict, 1);
    memset(&r, 0, sizeof r);
    r.answered = 20;
    gy_monitor_quality_decide(&r, 0.05, 20, kinds, &verdict, &rate, desc, sizeof desc);
    cr_assert_eq(verdict, 0);
    cr_assert_float_eq(rate, 0.0, 0);
    cr_assert_str_eq(desc, "0 of 20 infer requests (0.0%) refused for their input "
                           "(threshold 5.0%)");
}

Test(quality, no_verdict_under_the_minimum)
{
    struct gy_monitor_quality_round r = {0, {19, 0, 0, 0, 0}};
    double rate;
    int verdict = 5;
    gy_monitor_quality_decide(&r, 0.05, 20, kinds, &verdict, &rate, NULL, 0);
    cr_assert_eq(verdict, -1, "19 requests, all refused: no verdict yet");
    cr_assert_float_eq(rate, 1.0, 0);
    memset(&r, 0, sizeof r);
    gy_monitor_quality_decide(&r, 0.05, 0, kinds, &verdict, &rate, NULL, 0);
    cr_assert_eq(verdict, -1, "no requests at all: no verdict even with a minimum of 0");
    cr_assert_float_eq(rate, 0.0, 0);
}

Test(quality, a_short_buffer_is_cut_not_overrun)
{
    struct gy_monitor_quality_round r = {1, {1, 1, 1, 1, 1}};
    char desc[24];
    double rate;
    int verdict;
    memset(desc, 'X', sizeof desc);
    gy_monitor_quality_decide(&r, 0.5, 1, kinds, &verdict, &rate, desc, 16);
    cr_assert_eq(verdict, 1);
    cr_assert_eq(strlen(desc), 15);
    cr_assert_eq(desc[16], 'X', "nothing written past the given size");
}

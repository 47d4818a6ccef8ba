/* SPDX-License-Identifier: MIT */
/*
 * generate.c - `gyre generate transactions`: a seeded generator of realistic card
 * transactions for demos, tests and benchmarks. Numeric and categorical features, daily
 * seasonality in volume and fraud, and a fraud label with a learnable signal. --shift
 * produces the "world has moved" stream: new merchant categories, larger amounts, and a
 * changed fraud pattern.
 */
#include "cli/cli.h"

#include <math.h>
#include <string.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return gy_mix64(r->s);
}

static double rng_unif(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_norm(struct rng *r)
{
    double u = rng_unif(r), v = rng_unif(r);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static size_t pick(struct rng *r, const double *w, size_t n)
{
    double t = 0, x;
    for (size_t i = 0; i < n; i++)
        t += w[i];
    x = rng_unif(r) * t;
    for (size_t i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

static const char *const categories[] = {"grocery", "fuel",        "restaurant", "online",
                                         "travel",  "electronics", "pharmacy",   "entertainment",
                                         "crypto",  "gift_cards"};
static const double cat_weight[] = {30, 15, 18, 14, 5, 6, 8, 4, 0, 0};
static const double cat_weight_shift[] = {24, 12, 15, 16, 5, 6, 7, 4, 6, 5};
static const double cat_amount[] = {3.5, 3.8, 3.4, 4.0, 5.6, 5.2, 3.0, 3.7, 5.8, 4.6};
static const char *const countries[] = {"US", "GB", "DE", "FR", "ES", "NL", "BR", "IN"};
static const double country_weight[] = {50, 12, 10, 8, 6, 5, 5, 4};

static int cmd_generate(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--rows", "-n", 1, NULL, 0},    {"--seed", NULL, 1, NULL, 0},
                             {"--start", NULL, 1, NULL, 0},   {"--days", NULL, 1, NULL, 0},
                             {"--shift", NULL, 0, NULL, 0},   {"--format", NULL, 1, NULL, 0},
                             {"--first-id", NULL, 1, NULL, 0}};
    char *pos[16];
    size_t npos;
    int64_t rows = 10000, seed = 1, days = 14, first_id = 1;
    int64_t start_day = 19723; /* 2024-01-01 */
    int shift, jsonl = 0, ex;
    const char *v;
    struct rng r;

    if (argc > 16 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1 ||
        strcmp(pos[0], "transactions") != 0) {
        fprintf(stderr, "usage: gyre generate transactions [--rows N] [--seed S] "
                        "[--start YYYY-MM-DD] [--days D] [--shift] [--format csv|jsonl]\n");
        return GY_EXIT_USAGE;
    }
    if (((v = gy_cli_get(o, NOPTS(o), "--rows")) && (gy_parse_int64(v, &rows) || rows < 0)) ||
        ((v = gy_cli_get(o, NOPTS(o), "--seed")) && gy_parse_int64(v, &seed)) ||
        ((v = gy_cli_get(o, NOPTS(o), "--days")) && (gy_parse_int64(v, &days) || days < 1)) ||
        ((v = gy_cli_get(o, NOPTS(o), "--first-id")) && gy_parse_int64(v, &first_id))) {
        fprintf(stderr, "gyre: --rows, --seed, --days and --first-id take integers\n");
        return GY_EXIT_USAGE;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--start"))) {
        int y, m, d;
        if (sscanf(v, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31) {
            fprintf(stderr, "gyre: --start takes YYYY-MM-DD\n");
            return GY_EXIT_USAGE;
        }
        /* days from civil (Howard Hinnant's algorithm) */
        y -= m <= 2;
        {
            int era = (y >= 0 ? y : y - 399) / 400;
            unsigned yoe = (unsigned)(y - era * 400);
            unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
            unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
            start_day = (int64_t)era * 146097 + (int64_t)doe - 719468;
        }
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--format")))
        jsonl = strcmp(v, "jsonl") == 0;
    shift = gy_cli_get(o, NOPTS(o), "--shift") != NULL;
    r.s = (uint64_t)seed * 0x2545F4914F6CDD1DULL + 17;

    if (!jsonl)
        printf("ts,tx_id,amount,merchant_category,country,hour,card_present,customer_age,"
               "distance_km,velocity_1h,is_fraud\n");
    for (int64_t i = 0; i < rows; i++) {
        /* Time: uniform day, hour drawn from a daily cycle peaking in the evening. */
        double frac = (double)i / (double)(rows ? rows : 1);
        int64_t day = start_day + (int64_t)(frac * (double)days);
        int hour;
        for (;;) {
            double h = rng_unif(&r) * 24.0;
            double dens = 0.55 + 0.45 * sin((h - 9.0) / 24.0 * 2.0 * M_PI);
            if (rng_unif(&r) < dens) {
                hour = (int)h;
                break;
            }
        }
        int64_t ts_s = day * 86400 + hour * 3600 + (int64_t)(rng_unif(&r) * 3600.0);
        size_t cat = pick(&r, shift ? cat_weight_shift : cat_weight, GY_ARRAY_LEN(cat_weight));
        size_t country = pick(&r, country_weight, GY_ARRAY_LEN(country_weight));
        double amount = exp(cat_amount[cat] + 0.9 * rng_norm(&r)) * (shift ? 1.8 : 1.0);
        int card_present = rng_unif(&r) < (cat == 3 || cat >= 8 ? 0.05 : 0.8);
        int age = 18 + (int)(fabs(rng_norm(&r)) * 22.0 + rng_unif(&r) * 10);
        double distance = exp(1.5 + 1.3 * rng_norm(&r));
        int velocity = (int)(-log(1.0 - rng_unif(&r) * 0.999) * 1.3);
        int night = hour < 6;
        double logit;
        if (age > 95)
            age = 95;
        if (!shift)
            logit = -5.2 + 0.9 * log(amount / 60.0 + 1.0) + 1.4 * !card_present + 1.1 * night +
                    0.35 * velocity + 0.5 * log(distance / 20.0 + 1.0) + (cat == 5 ? 1.0 : 0.0) +
                    (country >= 6 ? 0.6 : 0.0) - 0.01 * (age - 40);
        else /* fraud moves to card-present skimming at high velocity and to the new categories */
            logit = -5.0 + 0.5 * log(amount / 60.0 + 1.0) + 1.3 * card_present * (velocity >= 3) +
                    0.45 * velocity + (cat >= 8 ? 1.6 : 0.0) + 0.4 * night - 0.015 * (age - 40);
        int fraud = rng_unif(&r) < 1.0 / (1.0 + exp(-logit));
        int64_t d = ts_s / 86400, sod = ts_s % 86400;
        /* civil from days */
        int64_t z = d + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
        unsigned doe = (unsigned)(z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t y = (int64_t)yoe + era * 400;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        unsigned dd = doy - (153 * mp + 2) / 5 + 1;
        unsigned mm = mp < 10 ? mp + 3 : mp - 9;
        y += mm <= 2;
        char ts[40];
        snprintf(ts, sizeof ts, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, mm, dd,
                 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
        if (jsonl)
            printf("{\"ts\":\"%s\",\"tx_id\":%lld,\"amount\":%.2f,\"merchant_category\":\"%s\","
                   "\"country\":\"%s\",\"hour\":%d,\"card_present\":%s,\"customer_age\":%d,"
                   "\"distance_km\":%.3f,\"velocity_1h\":%d,\"is_fraud\":%s}\n",
                   ts, (long long)(first_id + i), amount, categories[cat], countries[country], hour,
                   card_present ? "true" : "false", age, distance, velocity,
                   fraud ? "true" : "false");
        else
            printf("%s,%lld,%.2f,%s,%s,%d,%s,%d,%.3f,%d,%s\n", ts, (long long)(first_id + i),
                   amount, categories[cat], countries[country], hour,
                   card_present ? "true" : "false", age, distance, velocity,
                   fraud ? "true" : "false");
    }
    return fflush(stdout) == 0 ? GY_EXIT_OK : GY_EXIT_FAIL;
}

const struct gy_cli_cmd gy_cli_generate_cmds[] = {
    {"generate", "transactions [--rows N] [--seed S] [--start DATE] [--days D] [--shift]",
     "write a seeded synthetic card-transaction stream (CSV or JSON Lines) to stdout",
     cmd_generate},
    {NULL, NULL, NULL, NULL},
};

/* ctest-sources: linecounts.c */
/* ctest-ldflags: -lpthread */
/* test_linecounts.c - unit tests for src/holter/_core/linecounts.c.
 *
 * Random hits checked against a plain array model; the recency bars checked
 * against a naive implementation of heartrate's formula; growth and the
 * line-number cap; a reader thread copying counters while the writer hits
 * and grows (run under ASan, so a use-after-free on growth would show).
 */
#define _POSIX_C_SOURCE 200809L
#include "linecounts.h"
#include "ctest.h"

#include <math.h>
#include <pthread.h>

#define MODEL_LINES 3000

static void
test_add_and_source(void)
{
    linecounts_t *t = linecounts_new(3);
    REQUIRE(t != NULL);
    const char src[] = "a = 1\nb = 2\nc = 3";          /* no final newline */
    lc_file_t *f = linecounts_add(t, "/x/a.py", src, sizeof(src) - 1);
    REQUIRE(f != NULL);
    CHECK(f->id == 0);
    CHECK(f->nlines == 3);
    CHECK(strcmp(f->path, "/x/a.py") == 0);
    CHECK(f->source_len == sizeof(src) - 1 && memcmp(f->source, src, f->source_len) == 0);
    const char mixed[] = "a\r\nb\rc\n\nd";               /* a, b, c, "", d */
    lc_file_t *crlf = linecounts_add(t, "/x/crlf.py", mixed, sizeof(mixed) - 1);
    REQUIRE(crlf != NULL);
    CHECK(crlf->nlines == 5);
    lc_file_t *g = linecounts_add(t, "/x/b.py", NULL, 0);
    REQUIRE(g != NULL);
    CHECK(g->id == 2 && g->source == NULL && g->nlines == 0);
    CHECK(linecounts_add(t, "/x/c.py", NULL, 0) == NULL);   /* max_files = 3 */
    CHECK(linecounts_get(t, 0) == f && linecounts_get(t, 2) == g);
    CHECK(linecounts_get(t, 3) == NULL);
    uint32_t n = 0;
    CHECK(linecounts_total_events(t, &n) == 0 && n == 3);
    linecounts_free(t);
    linecounts_free(NULL);
}

static void
test_random_hits_match_model(void)
{
    static uint64_t model[MODEL_LINES];
    memset(model, 0, sizeof(model));
    linecounts_t *t = linecounts_new(10);
    REQUIRE(t != NULL);
    lc_file_t *f = linecounts_add(t, "/m.py", "x\n", 2);   /* cap starts tiny: grows */
    REQUIRE(f != NULL);
    uint64_t events = 0;
    for (int i = 0; i < 200000; i++) {
        uint32_t line = (uint32_t)(ctest_rand() % 64);
        if (ctest_rand() % 100 == 0)
            line = (uint32_t)(ctest_rand() % MODEL_LINES);
        REQUIRE(linecounts_hit(t, f, line) == 0);
        model[line]++;
        events++;
    }
    static uint64_t copy[MODEL_LINES + 64];
    uint32_t n = MODEL_LINES + 64;
    uint64_t sum = linecounts_copy_hits(t, f, copy, &n);
    CHECK(sum == events);
    CHECK(linecounts_sum_hits(t, f) == events);
    CHECK(linecounts_events(f) == events);
    int same = 1;
    for (uint32_t line = 0; line < MODEL_LINES; line++)
        same &= (line < n ? copy[line] : 0) == model[line];
    CHECK(same);
    uint32_t nf;
    CHECK(linecounts_total_events(t, &nf) == events && nf == 1);
    linecounts_free(t);
}

static void
test_line_cap_is_dropped_not_crashed(void)
{
    linecounts_t *t = linecounts_new(1);
    lc_file_t *f = linecounts_add(t, "/big.py", NULL, 0);
    REQUIRE(f != NULL);
    CHECK(linecounts_hit(t, f, LC_MAX_LINE) == -1);
    CHECK(linecounts_hit(t, f, UINT32_MAX) == -1);
    CHECK(t->dropped == 2);
    CHECK(linecounts_hit(t, f, LC_MAX_LINE - 1) == 0);
    CHECK(f->cap == LC_MAX_LINE);
    CHECK(linecounts_events(f) == 1);
    linecounts_free(t);
}

/* Heartrate's formula, written the obvious way. */
static void
naive_recent(const uint32_t *ring, uint32_t kept, uint32_t line, float *out)
{
    float maxv = 0;
    float all[LC_RECENT][LC_LEVELS];
    /* values for every line in the ring, to find the global maximum */
    for (uint32_t j = 0; j < kept; j++) {
        for (int c = 0; c < LC_LEVELS; c++) {
            uint32_t n = (1u << c) < kept ? (1u << c) : kept;
            uint32_t cnt = 0;
            for (uint32_t i = 0; i < n; i++)
                cnt += ring[i] == ring[j];
            all[j][c] = (float)cnt / (float)n * (float)(c + 1) / (float)LC_LEVELS;
            if (all[j][c] > maxv)
                maxv = all[j][c];
        }
    }
    for (int c = 0; c < LC_LEVELS; c++)
        out[c] = 0;
    for (uint32_t j = 0; j < kept; j++)
        if (ring[j] == line)
            for (int c = 0; c < LC_LEVELS; c++)
                out[c] = all[j][c] / maxv;
}

static void
check_recent_against_naive(uint32_t nevents, uint32_t nlines)
{
    linecounts_t *t = linecounts_new(1);
    lc_file_t *f = linecounts_add(t, "/r.py", NULL, 0);
    REQUIRE(f != NULL);
    for (uint32_t i = 0; i < nevents; i++)
        linecounts_hit(t, f, 1 + (uint32_t)(ctest_rand() % nlines));
    uint32_t kept = nevents < LC_RECENT ? nevents : LC_RECENT;
    static uint32_t ring[LC_RECENT];
    for (uint32_t i = 0; i < kept; i++)
        ring[i] = f->recent[(nevents - 1 - i) & (LC_RECENT - 1)];

    static lc_recent_line_t out[LC_RECENT];
    uint32_t k = linecounts_recent(f, out);
    uint32_t distinct = 0;
    for (uint32_t line = 1; line <= nlines; line++) {
        int present = 0;
        for (uint32_t i = 0; i < kept; i++)
            present |= ring[i] == line;
        distinct += (uint32_t)present;
    }
    CHECK(k == distinct);
    int ok = 1, sorted = 1;
    float maxseen = 0;
    for (uint32_t i = 0; i < k; i++) {
        float want[LC_LEVELS];
        naive_recent(ring, kept, out[i].line, want);
        for (int c = 0; c < LC_LEVELS; c++) {
            ok &= fabsf(out[i].level[c] - want[c]) < 1e-5f;
            if (out[i].level[c] > maxseen)
                maxseen = out[i].level[c];
        }
        if (i > 0)
            sorted &= out[i - 1].line < out[i].line;
    }
    CHECK(ok);
    CHECK(sorted);
    CHECK(k == 0 || fabsf(maxseen - 1.0f) < 1e-6f);
    linecounts_free(t);
}

static void
test_recent(void)
{
    check_recent_against_naive(0, 5);
    check_recent_against_naive(1, 5);
    check_recent_against_naive(3, 2);
    check_recent_against_naive(100, 7);
    check_recent_against_naive(1024, 30);
    check_recent_against_naive(5000, 200);
    check_recent_against_naive(777, 1);
}

static void
test_recent_newest_line_is_brightest(void)
{
    linecounts_t *t = linecounts_new(1);
    lc_file_t *f = linecounts_add(t, "/n.py", NULL, 0);
    for (int i = 0; i < 500; i++)
        linecounts_hit(t, f, 10);
    linecounts_hit(t, f, 20);            /* the very last event */
    lc_recent_line_t out[LC_RECENT];
    uint32_t k = linecounts_recent(f, out);
    REQUIRE(k == 2);
    CHECK(out[0].line == 10 && out[1].line == 20);
    CHECK(out[1].level[0] > 0 && out[0].level[0] == 0);   /* only 20 in the last event */
    CHECK(out[0].level[10] > out[1].level[10]);           /* 10 dominates the long window */
    linecounts_free(t);
}

typedef struct {
    linecounts_t *t;
    lc_file_t *f;
    volatile int stop;
    uint64_t reads;
    int monotonic;
} reader_arg_t;

static void *
reader(void *p)
{
    reader_arg_t *a = p;
    uint64_t last = 0;
    static uint64_t buf[1 << 16];
    while (!a->stop) {
        uint32_t n = 1 << 16;
        uint64_t sum = linecounts_copy_hits(a->t, a->f, buf, &n);
        if (sum < last)
            a->monotonic = 0;
        last = sum;
        lc_recent_line_t out[LC_RECENT];
        linecounts_recent(a->f, out);
        __atomic_store_n(&a->reads, a->reads + 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void
test_reader_during_growth(void)
{
    linecounts_t *t = linecounts_new(1);
    lc_file_t *f = linecounts_add(t, "/g.py", NULL, 0);
    reader_arg_t a = {.t = t, .f = f, .monotonic = 1};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, reader, &a) == 0);
    while (__atomic_load_n(&a.reads, __ATOMIC_RELAXED) == 0)
        ;                                /* the reader is running */
    for (uint32_t i = 1; i < 60000; i++)
        linecounts_hit(t, f, i);         /* grows again and again */
    __atomic_store_n(&a.stop, 1, __ATOMIC_RELAXED);
    pthread_join(th, NULL);
    CHECK(a.monotonic);
    CHECK(linecounts_sum_hits(t, f) == 59999);
    linecounts_free(t);
}

int
main(void)
{
    ctest_seed_from_env();
    test_add_and_source();
    test_random_hits_match_model();
    test_line_cap_is_dropped_not_crashed();
    test_recent();
    test_recent_newest_line_is_brightest();
    test_reader_during_growth();
    return CTEST_DONE();
}

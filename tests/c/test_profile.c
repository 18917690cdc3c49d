/* ctest-sources: profile.c intern.c */
/* ctest-ldflags: -lpthread -Wl,--wrap=calloc -Wl,--wrap=realloc */
/* test_profile.c - unit tests for src/holter/_core/profile.c.
 *
 * What the sampler records and the exports read back: counts per stack
 * over everything or a time window, one thread or all, with or without
 * idle samples, checked against a plain model; reset; the hard caps (a
 * sample that would pass one is lost and counted, and the tables stay
 * usable); allocation failure, injected through the linker (--wrap
 * calloc/realloc: a sample that cannot allocate is lost and counted, the
 * profile stays whole; a known bug for now); and memory that does not grow with samples: 10^7
 * samples of a few stacks leave profile_memory() where the first thousand
 * put it.
 */
#define _POSIX_C_SOURCE 200809L
#include "profile.h"
#include "ctest.h"

#define SEC 1000000000ull

/* --- allocation failure injection -------------------------------------- */

void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);

static long fail_after = -1;    /* allocations to let through; -1: never fail */

void *
__wrap_calloc(size_t n, size_t size)
{
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    return __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t size)
{
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    return __real_realloc(p, size);
}

/* Interns a function named `name` in file "/f.py" and a frame of it at
 * `line`; returns the frame id. */
static uint32_t
frame(profile_t *p, const char *name, int line)
{
    prof_func_t f = {
        .name = profile_string(p, name, (uint32_t)strlen(name)),
        .file = profile_string(p, "/f.py", 5),
        .module = profile_string(p, "f", 1),
        .firstlineno = 1,
    };
    REQUIRE(f.name != INTERN_NONE && f.file != INTERN_NONE && f.module != INTERN_NONE);
    uint32_t func = profile_func(p, &f);
    REQUIRE(func != INTERN_NONE);
    return profile_frame(p, func, line);
}

static uint64_t
counts_of(profile_t *p, double window, int thread, int with_idle, uint64_t *counts,
          uint64_t *idle)
{
    return profile_stack_counts(p, window, thread, with_idle, counts, idle);
}

static void
test_record_and_read(void)
{
    profile_t *p = profile_new();
    REQUIRE(p != NULL);
    pthread_mutex_lock(&p->lock);
    uint32_t main_ = frame(p, "main", 3), work = frame(p, "work", 10),
             work2 = frame(p, "work", 11), wait = frame(p, "wait", 20);
    CHECK(main_ == 0 && work == 1 && work2 == 2 && wait == 3);
    CHECK(frame(p, "work", 10) == work);                /* interned once */
    CHECK(p->funcs.count == 3 && p->strings.count == 5);   /* 3 names, a file, a module */
    const prof_frame_t *fr = profile_frame_at(p, work2);
    CHECK(fr->line == 11 && fr->func == profile_frame_at(p, work)->func);
    uint32_t len;
    const char *s = profile_string_at(p, profile_func_at(p, fr->func)->name, &len);
    CHECK_STR(s, len, "work");

    prof_thread_t t1 = {111, 1}, t2 = {222, 2};
    uint32_t s_work[] = {main_, work}, s_work2[] = {main_, work2}, s_wait[] = {main_, wait};
    uint64_t now = profile_now_ns();
    /* model: t1 work x5 busy, t1 work2 x2 busy, t2 wait x4 idle + 1 busy */
    for (int i = 0; i < 5; i++)
        CHECK(profile_record(p, &t1, s_work, 2, 0, 1, now) == 0);
    uint32_t stack_work = profile_last_stack(p);
    for (int i = 0; i < 2; i++)
        CHECK(profile_record(p, &t1, s_work2, 2, 0, 1, now) == 0);
    CHECK(profile_record(p, &t2, s_wait, 2, 1, 1, now) == 0);
    uint32_t stack_wait = profile_last_stack(p);
    for (int i = 0; i < 3; i++)                         /* the sampler's shortcut */
        CHECK(profile_record_stack(p, &t2, stack_wait, 1, 1, now) == 0);
    CHECK(profile_record(p, &t2, s_wait, 2, 0, 1, now) == 0);
    CHECK(profile_last_stack(p) == stack_wait);
    CHECK(p->stacks.count == 3 && p->threads.count == 2 && p->recorded == 12 && p->lost == 0);
    uint32_t n;
    const uint32_t *fs = profile_stack_frames(p, stack_work, &n);
    CHECK(n == 2 && fs[0] == main_ && fs[1] == work);

    uint64_t counts[3], idle[3];
    for (int pass = 0; pass < 2; pass++) {
        double window = pass ? 60 : 0;                  /* cells, then the ring */
        CHECK(counts_of(p, window, -1, 1, counts, idle) == 12);
        CHECK(counts[stack_work] == 5 && counts[1] == 2 && counts[stack_wait] == 5);
        CHECK(idle[stack_work] == 0 && idle[stack_wait] == 4);
        CHECK(counts_of(p, window, -1, 0, counts, idle) == 8);
        CHECK(counts[stack_wait] == 1 && idle[stack_wait] == 0);
        int i1 = profile_thread_index(p, 111), i2 = profile_thread_index(p, 222);
        CHECK(i1 == 0 && i2 == 1);
        CHECK(counts_of(p, window, i1, 1, counts, NULL) == 7);
        CHECK(counts[stack_work] == 5 && counts[stack_wait] == 0);
        CHECK(counts_of(p, window, i2, 0, counts, NULL) == 1);
    }
    CHECK(profile_thread_index(p, 333) == -1);
    CHECK(profile_thread_at(p, 1)->native_id == 2);
    pthread_mutex_unlock(&p->lock);
    profile_free(p);
    profile_free(NULL);
}

static void
test_windows(void)
{
    profile_t *p = profile_new();
    REQUIRE(p != NULL);
    pthread_mutex_lock(&p->lock);
    uint32_t a = frame(p, "old", 1), b = frame(p, "mid", 1), c = frame(p, "new", 1);
    prof_thread_t t = {1, 1};
    uint64_t now = profile_now_ns();
    for (int i = 0; i < 100; i++)
        profile_record(p, &t, &a, 1, 0, 1, now - 30 * SEC);
    uint32_t sa = profile_last_stack(p);
    for (int i = 0; i < 50; i++)
        profile_record(p, &t, &b, 1, 0, 1, now - 5 * SEC);
    uint32_t sb = profile_last_stack(p);
    for (int i = 0; i < 20; i++)
        profile_record(p, &t, &c, 1, i % 2, 1, now);
    uint32_t sc = profile_last_stack(p);
    uint64_t counts[3], idle[3];
    CHECK(counts_of(p, 0, -1, 1, counts, idle) == 170);
    CHECK(counts_of(p, 60, -1, 1, counts, idle) == 170);
    CHECK(counts_of(p, 10, -1, 1, counts, idle) == 70);
    CHECK(counts[sa] == 0 && counts[sb] == 50 && counts[sc] == 20 && idle[sc] == 10);
    CHECK(counts_of(p, 2, -1, 1, counts, idle) == 20);
    CHECK(counts[sb] == 0 && counts[sc] == 20);
    CHECK(counts_of(p, 2, -1, 0, counts, idle) == 10);
    CHECK(counts_of(p, 2, 0, 1, counts, idle) == 20);
    CHECK(counts_of(p, 2, 1, 1, counts, idle) == 0);    /* no such thread index */
    pthread_mutex_unlock(&p->lock);
    profile_free(p);
}

static void
test_reset(void)
{
    profile_t *p = profile_new();
    REQUIRE(p != NULL);
    size_t empty = profile_memory(p);
    pthread_mutex_lock(&p->lock);
    uint32_t f = frame(p, "x", 1);
    prof_thread_t t = {1, 1};
    for (int i = 0; i < 1000; i++)
        profile_record(p, &t, &f, 1, 0, 1, profile_now_ns());
    CHECK(profile_memory(p) > empty);
    uint64_t before = p->reset_ns;
    pthread_mutex_unlock(&p->lock);
    profile_reset(p);
    pthread_mutex_lock(&p->lock);
    CHECK(p->recorded == 0 && p->lost == 0 && p->ring_pos == 0 && p->reset_ns >= before);
    CHECK(p->stacks.count == 0 && p->frames.count == 0 && p->strings.count == 0 &&
          p->threads.count == 0 && p->cells.count == 0);
    CHECK(profile_memory(p) == empty);
    uint64_t counts[1];
    CHECK(counts_of(p, 0, -1, 1, counts, NULL) == 0);
    CHECK(counts_of(p, 60, -1, 1, counts, NULL) == 0);
    /* ids start again from 0 */
    uint32_t g = frame(p, "y", 2);
    CHECK(g == 0 && profile_record(p, &t, &g, 1, 0, 1, profile_now_ns()) == 0);
    CHECK(profile_last_stack(p) == 0 && p->recorded == 1);
    pthread_mutex_unlock(&p->lock);
    profile_free(p);
}

/* The threads table: thread PROFILE_MAX_THREADS + 1 is lost, counted, and
 * threads already known still record. */
static void
test_threads_full(void)
{
    profile_t *p = profile_new();
    REQUIRE(p != NULL);
    pthread_mutex_lock(&p->lock);
    uint32_t f = frame(p, "x", 1);
    uint64_t now = profile_now_ns();
    for (uint64_t i = 0; i < PROFILE_MAX_THREADS; i++) {
        prof_thread_t t = {1000 + i, i};
        REQUIRE(profile_record(p, &t, &f, 1, 0, 1, now) == 0);
    }
    /* Past the cap, new threads are counted together as "other threads"
     * (id 0): a thread-per-request server keeps being profiled. */
    prof_thread_t extra = {999999, 7}, extra2 = {888888, 8};
    CHECK(profile_record(p, &extra, &f, 1, 0, 1, now) == 0);
    CHECK(profile_record_stack(p, &extra2, 0, 0, 1, now) == 0);
    CHECK(p->lost == 0 && p->recorded == PROFILE_MAX_THREADS + 2);
    CHECK(p->threads.count == PROFILE_MAX_THREADS + 1);
    prof_thread_t known = {1000, 0};
    CHECK(profile_record(p, &known, &f, 1, 0, 1, now) == 0);
    uint64_t counts[1];
    CHECK(counts_of(p, 0, -1, 1, counts, NULL) == PROFILE_MAX_THREADS + 3);
    CHECK(counts_of(p, 0, PROFILE_MAX_THREADS - 1, 1, counts, NULL) == 1);
    CHECK(counts_of(p, 0, PROFILE_MAX_THREADS, 1, counts, NULL) == 2);
    CHECK(profile_thread_index(p, 999999) == -1);
    CHECK(profile_thread_index(p, 0) == PROFILE_MAX_THREADS);
    pthread_mutex_unlock(&p->lock);
    profile_free(p);
}

/* The stacks table (distinct stacks) and the cells table (stack x thread
 * x idle): past either, samples are lost and counted; known cells count on. */
static void
test_stacks_and_cells_full(void)
{
    profile_t *p = profile_new();
    REQUIRE(p != NULL);
    pthread_mutex_lock(&p->lock);
    uint32_t base = frame(p, "x", 1);
    (void)base;
    uint64_t now = profile_now_ns();
    prof_thread_t t1 = {1, 1}, t2 = {2, 2};
    uint32_t st[2];
    /* PROFILE_MAX_STACKS distinct stacks (made of made-up frame ids: the
     * profile does not check them), each on two threads: the cells table
     * is then full too (2 x MAX_STACKS). */
    int ok = 1;
    for (uint32_t i = 0; i < PROFILE_MAX_STACKS; i++) {
        st[0] = i;
        st[1] = i ^ 0x5555;
        ok &= profile_record(p, &t1, st, 2, 0, 1, now) == 0;
        ok &= profile_record(p, &t2, st, 2, 0, 1, now) == 0;
    }
    CHECK(ok);
    CHECK(p->stacks.count == PROFILE_MAX_STACKS && p->cells.count == 2 * PROFILE_MAX_STACKS);
    CHECK(p->lost == 0);
    /* a new stack: lost */
    st[0] = PROFILE_MAX_STACKS + 1;
    CHECK(profile_record(p, &t1, st, 2, 0, 1, now) == -1);
    CHECK(profile_last_stack(p) == INTERN_NONE);
    CHECK(p->lost == 1);
    /* a known stack on a known thread but idle: a new cell, lost */
    st[0] = 5;
    st[1] = 5 ^ 0x5555;
    CHECK(profile_record(p, &t1, st, 2, 1, 1, now) == -1);
    CHECK(p->lost == 2);
    /* a known cell: still counts */
    CHECK(profile_record(p, &t1, st, 2, 0, 1, now) == 0);
    CHECK(p->recorded == 2 * (uint64_t)PROFILE_MAX_STACKS + 1);
    static uint64_t counts[PROFILE_MAX_STACKS];
    CHECK(counts_of(p, 0, -1, 1, counts, NULL) == 2 * (uint64_t)PROFILE_MAX_STACKS + 1);
    CHECK(counts[5] == 3);
    pthread_mutex_unlock(&p->lock);
    profile_free(p);
}

/* Frames and functions: profile_frame() and profile_func() answer
 * INTERN_NONE when full, which the sampler counts as torn. */
static void
test_frames_full(void)
{
    profile_t *p = profile_new();
    REQUIRE(p != NULL);
    pthread_mutex_lock(&p->lock);
    int ok = 1;
    for (uint32_t i = 0; i < PROFILE_MAX_FRAMES; i++)
        ok &= profile_frame(p, 0, (int32_t)i) == i;
    CHECK(ok);
    CHECK(profile_frame(p, 0, -5) == INTERN_NONE);
    CHECK(profile_frame(p, 0, 7) == 7);
    ok = 1;
    for (uint32_t i = 0; i < PROFILE_MAX_FRAMES; i++) {
        prof_func_t f = {i, i, i, (int32_t)i};
        ok &= profile_func(p, &f) == i;
    }
    CHECK(ok);
    prof_func_t extra = {1, 2, 3, 4};
    CHECK(profile_func(p, &extra) == INTERN_NONE);
    pthread_mutex_unlock(&p->lock);
    profile_free(p);
}

/* Every allocation while recording, failed in turn (and from then on):
 * each sample either counts or is lost and counted, never both, never
 * neither; the counts match a model of the samples that went in; once
 * memory is back, recording works again.
 * Fixed bug: when the cell is interned but growing cell_counts fails,
 * profile_record_stack() returns -1 with the cell left in p->cells, and
 * profile_stack_counts() then reads p->cell_counts[c] for every cell: past
 * the array, or through NULL (UBSan: "load of null pointer of type
 * 'uint64_t'", profile.c, counts[k->stack] += p->cell_counts[c]). A regression test: the bug is fixed. */
static void
test_allocation_failure(void)
{
    int ok = 1, some_lost = 0;
    for (long k = 0; k < 60; k++) {
        profile_t *p = profile_new();
        REQUIRE(p != NULL);
        pthread_mutex_lock(&p->lock);
        uint64_t now = profile_now_ns();
        static uint64_t model[3000];
        memset(model, 0, sizeof(model));
        fail_after = k;
        uint64_t in = 0, attempts = 0;
        for (uint32_t i = 0; i < 3000; i++) {
            uint32_t st[3] = {i % 7, i, i * 3};
            prof_thread_t t = {1 + i % 5, 1 + i % 5};
            attempts++;
            if (profile_record(p, &t, st, 3, (int)(i & 1), 1, now) == 0) {
                model[profile_last_stack(p)]++;
                in++;
            } else {
                ok &= profile_last_stack(p) == INTERN_NONE || p->lost > 0;
            }
        }
        fail_after = -1;
        some_lost |= p->lost > 0;
        ok &= p->recorded == in && p->recorded + p->lost == attempts;
        static uint64_t counts[3000];
        ok &= p->stacks.count <= 3000;
        ok &= profile_stack_counts(p, 0, -1, 1, counts, NULL) == in;
        ok &= profile_stack_counts(p, 60, -1, 1, counts, NULL) == in;
        for (uint32_t s = 0; s < p->stacks.count; s++)
            ok &= counts[s] == model[s];
        uint32_t st[3] = {1, 2, 3};
        prof_thread_t t = {9, 9};
        ok &= profile_record(p, &t, st, 3, 0, 1, now) == 0;        /* works again */
        pthread_mutex_unlock(&p->lock);
        profile_free(p);
    }
    CHECK(ok);
    CHECK(some_lost);
}

/* 10^7 samples of a few stacks on a few threads: memory stays where the
 * first samples put it (each sample is a count and a ring slot, both
 * preallocated), the counts add up, and a window over the ring sees at
 * most PROFILE_RING samples. */
static void
test_memory_constant(void)
{
    profile_t *p = profile_new();
    REQUIRE(p != NULL);
    pthread_mutex_lock(&p->lock);
    uint32_t fr[6];
    for (int i = 0; i < 6; i++)
        fr[i] = frame(p, i % 2 ? "odd" : "even", i);
    prof_thread_t th[3] = {{1, 1}, {2, 2}, {3, 3}};
    uint32_t stacks[4][4] = {{fr[0], fr[1]}, {fr[0], fr[2], fr[3]}, {fr[0], fr[4]},
                             {fr[0], fr[5], fr[1], fr[2]}};
    uint32_t depth[4] = {2, 3, 2, 4};
    uint64_t model[4] = {0};
    uint64_t now = profile_now_ns();
    size_t after_first = 0;
    const long N = 10000000;
    int ok = 1;
    for (long i = 0; i < N; i++) {
        int s = (int)(i % 7 % 4), t = (int)(i % 3);
        ok &= profile_record(p, &th[t], stacks[s], depth[s], (int)(i % 5 == 0), 1, now) == 0;
        model[s]++;
        if (i == 1000)
            after_first = profile_memory(p);
    }
    CHECK(ok);
    CHECK(profile_memory(p) == after_first);
    CHECK(p->recorded == (uint64_t)N && p->lost == 0 && p->ring_pos == (uint64_t)N);
    CHECK(p->stacks.count == 4 && p->threads.count == 3 && p->cells.count == 4 * 3 * 2);
    uint64_t counts[4];
    CHECK(counts_of(p, 0, -1, 1, counts, NULL) == (uint64_t)N);
    int same = 1;
    for (int s = 0; s < 4; s++)
        same &= counts[s] == model[s];
    CHECK(same);
    /* The ring keeps the last PROFILE_RING samples: a window sees no more. */
    double since_start = (double)(profile_now_ns() - now) * 1e-9 + 5;
    CHECK(counts_of(p, since_start, -1, 1, counts, NULL) == PROFILE_RING);
    /* A few KiB of tables beside the ring and the counts. */
    CHECK(after_first < PROFILE_RING * sizeof(prof_sample_t) + (1u << 20));
    pthread_mutex_unlock(&p->lock);
    profile_free(p);
}

/* A window longer than CLOCK_MONOTONIC's age (the time since boot) holds
 * every sample. Fixed bug: `profile_now_ns() - window` wraps around below
 * zero, so such a window selects nothing (window=3600 on a machine up for
 * less than an hour, window=100000 on one up for less than a day). A regression test: the bug is fixed. */
static void
test_window_longer_than_uptime(void)
{
    profile_t *p = profile_new();
    REQUIRE(p != NULL);
    pthread_mutex_lock(&p->lock);
    uint32_t f = frame(p, "x", 1);
    prof_thread_t t = {1, 1};
    uint64_t now = profile_now_ns();
    for (int i = 0; i < 10; i++)
        profile_record(p, &t, &f, 1, 0, 1, now);
    uint64_t counts[1];
    double uptime = (double)now * 1e-9;
    CHECK(counts_of(p, uptime * 0.5, -1, 1, counts, NULL) == 10);
    CHECK(counts_of(p, uptime + 10, -1, 1, counts, NULL) == 10);
    pthread_mutex_unlock(&p->lock);
    profile_free(p);
}

/* Every table filled to its cap, as a pathological program would (many
 * distinct functions, lines, deep stacks, threads): samples past the caps
 * are lost and counted, and profile_memory() stays within
 * profile_memory_cap(), the bound /api/sampler reports. */
static void
test_memory_within_cap_when_full(void)
{
    profile_t *p = profile_new();
    REQUIRE(p != NULL);
    pthread_mutex_lock(&p->lock);
    size_t cap = profile_memory_cap(p);
    uint64_t now = profile_now_ns();
    char name[128];
    uint32_t nstrings = 0;
    for (uint32_t i = 0;; i++) {                    /* long names until a cap */
        int len = snprintf(name, sizeof(name), "function_with_a_long_name_%u_%032u", i, i);
        if (profile_string(p, name, (uint32_t)len) == INTERN_NONE)
            break;
        nstrings++;
    }
    CHECK(nstrings > 100000);
    for (uint32_t i = 0; i < PROFILE_MAX_FRAMES; i++) {
        prof_func_t f = {i, i + 1, i + 2, (int32_t)i};
        profile_func(p, &f);
        profile_frame(p, i, (int32_t)i);
    }
    CHECK(p->funcs.count == PROFILE_MAX_FRAMES && p->frames.count == PROFILE_MAX_FRAMES);
    static uint32_t st[PROFILE_MAX_STACK];
    prof_thread_t t = {1, 1};
    uint32_t i;
    for (i = 0; p->lost == 0; i++) {                /* deep distinct stacks: the byte cap */
        for (uint32_t d = 0; d < PROFILE_MAX_STACK; d++)
            st[d] = i * 7 + d;
        profile_record(p, &t, st, PROFILE_MAX_STACK, 0, 1, now);
    }
    for (; p->stacks.count < PROFILE_MAX_STACKS && i < 4 * PROFILE_MAX_STACKS; i++) {
        st[0] = i;                                  /* short ones: the id cap */
        profile_record(p, &t, st, 1, 0, 1, now);
    }
    for (uint64_t k = 0; k < PROFILE_MAX_THREADS; k++) {   /* threads and cells */
        prof_thread_t th = {100 + k, k};
        for (uint32_t s = 0; s < 160; s++)
            profile_record_stack(p, &th, s, (int)(k & 1), 1, now);
    }
    printf("  full tables: %zu bytes (cap %zu); stacks %u, cells %u, threads %u, lost %llu\n",
           profile_memory(p), cap, p->stacks.count, p->cells.count, p->threads.count,
           (unsigned long long)p->lost);
    CHECK(p->threads.count == PROFILE_MAX_THREADS + 1);    /* + "other threads" */
    CHECK(p->cells.count == 2 * PROFILE_MAX_STACKS);
    CHECK(p->lost > 0);
    CHECK(profile_memory(p) <= cap);
    CHECK(profile_memory_cap(p) == cap);            /* a constant */
    pthread_mutex_unlock(&p->lock);
    profile_free(p);
}

int
main(void)
{
    ctest_seed_from_env();
    test_record_and_read();
    test_windows();
    test_reset();
    test_threads_full();
    test_stacks_and_cells_full();
    test_frames_full();
    test_allocation_failure();
    test_memory_constant();
    test_window_longer_than_uptime();
    test_memory_within_cap_when_full();
    return CTEST_DONE();
}

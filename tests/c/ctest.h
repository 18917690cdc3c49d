/* ctest.h - the smallest unit-test harness for holter's C modules.
 *
 * Each tests/c/test_<module>.c is a standalone program with its own main(),
 * built with AddressSanitizer and UBSan and run in a child process by
 * tests/test_c_units.py.  Its first line names what it links with:
 *
 *     ctest-sources: jsonbuf.c          (relative to src/holter/_core)
 *     ctest-cflags:  -DJSONBUF_TEST_ALLOC
 *     ctest-ldflags: -lpthread
 *
 * CHECK(cond) counts a pass or prints "file:line: CHECK failed" and counts a
 * failure, and goes on.  REQUIRE(cond) stops the program at once (exit 1),
 * for when going on would crash.  main() ends with `return CTEST_DONE();`,
 * which prints "N passed, M failed" (the driver looks for "0 failed" at
 * the end) and returns the exit status.
 *
 * ctest_rand() is a seeded xorshift64*: set CTEST_SEED in the environment
 * to replay a run; the seed is printed with every failure.
 */
#ifndef HOLTER_CTEST_H
#define HOLTER_CTEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTEST_UNUSED __attribute__((unused))

static long     ctest_passed CTEST_UNUSED;
static long     ctest_failed CTEST_UNUSED;
static uint64_t ctest_seed CTEST_UNUSED = 0x9E3779B97F4A7C15ULL;  /* as given */
static uint64_t ctest_state CTEST_UNUSED = 0x9E3779B97F4A7C15ULL; /* current */

/* Print a failure with its location and the seed in force. */
static CTEST_UNUSED void
ctest_fail_at(const char *file, int line, const char *what)
{
    printf("%s:%d: CHECK failed: %s (CTEST_SEED=%llu)\n", file, line, what,
           (unsigned long long)ctest_seed);
    fflush(stdout);
    ctest_failed++;
}

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (cond)                                                         \
            ctest_passed++;                                               \
        else                                                              \
            ctest_fail_at(__FILE__, __LINE__, #cond);                     \
    } while (0)

#define REQUIRE(cond)                                                     \
    do {                                                                  \
        if (cond) {                                                       \
            ctest_passed++;                                               \
        } else {                                                          \
            ctest_fail_at(__FILE__, __LINE__, #cond);                     \
            printf("REQUIRE failed, stopping: %ld passed, %ld failed\n",  \
                   ctest_passed, ctest_failed);                           \
            exit(1);                                                      \
        }                                                                 \
    } while (0)

/* Print s[0..n) on one line, C-escaped, so a mismatch is readable. */
static CTEST_UNUSED void
ctest_print_bytes(const char *label, const char *s, size_t n)
{
    size_t i;

    printf("  %s (%zu bytes): \"", label, n);
    if (s == NULL) {
        printf("(NULL)\"\n");
        return;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c >= 0x20 && c < 0x7F)
            putchar(c);
        else
            printf("\\x%02X", c);
    }
    printf("\"\n");
}

/* Compare got[0..got_n) with the NUL-terminated want; print both on a
 * mismatch.  got may be NULL (always a mismatch). */
static CTEST_UNUSED void
ctest_check_mem(const char *file, int line, const char *expr,
                const char *got, size_t got_n, const char *want, size_t want_n)
{
    if (got != NULL && got_n == want_n && memcmp(got, want, want_n) == 0) {
        ctest_passed++;
        return;
    }
    ctest_fail_at(file, line, expr);
    ctest_print_bytes("got ", got, got_n);
    ctest_print_bytes("want", want, want_n);
}

/* CHECK_MEM(got, got_len, want, want_len): byte-exact comparison. */
#define CHECK_MEM(got, got_n, want, want_n) \
    ctest_check_mem(__FILE__, __LINE__, #got " == " #want, \
                    (got), (got_n), (want), (want_n))

/* CHECK_STR(got, got_len, "want"): want is a string literal or C string. */
#define CHECK_STR(got, got_n, want) \
    ctest_check_mem(__FILE__, __LINE__, #got " == " #want, \
                    (got), (got_n), (want), strlen(want))

/* Seed the generator from CTEST_SEED if set, else keep the fixed default,
 * and say which seed is in use. */
static CTEST_UNUSED void
ctest_seed_from_env(void)
{
    const char *env = getenv("CTEST_SEED");

    if (env != NULL && *env)
        ctest_seed = strtoull(env, NULL, 0);
    ctest_state = ctest_seed ? ctest_seed : 1;  /* xorshift needs nonzero */
    printf("CTEST_SEED=%llu\n", (unsigned long long)ctest_seed);
}

/* Next pseudo-random 64-bit number (xorshift64*). */
static CTEST_UNUSED uint64_t
ctest_rand(void)
{
    ctest_state ^= ctest_state >> 12;
    ctest_state ^= ctest_state << 25;
    ctest_state ^= ctest_state >> 27;
    return ctest_state * 0x2545F4914F6CDD1DULL;
}

/* Uniform-ish number in [0, n); n > 0. */
static CTEST_UNUSED uint64_t
ctest_below(uint64_t n)
{
    return ctest_rand() % n;
}

/* Print the summary and give main() its exit status. */
#define CTEST_DONE()                                                      \
    (printf("%ld passed, %ld failed\n", ctest_passed, ctest_failed),      \
     fflush(stdout), ctest_failed ? 1 : 0)

#endif /* HOLTER_CTEST_H */

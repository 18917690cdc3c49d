/* ctest-sources: jsonbuf.c */
/* ctest-cflags: -DJSONBUF_TEST_ALLOC */
/* test_jsonbuf.c - unit tests for src/holter/_core/jsonbuf.c.
 *
 * Hand-written cases for structure, escapes, UTF-8, the cap, nesting depth,
 * misuse and numbers; then a randomised test that writes random nested
 * documents through jsonbuf and through a simple reference writer below
 * (its own UTF-8 decoder, its own escaping) and wants the same bytes; then
 * allocation-failure injection: jsonbuf.c is built with -DJSONBUF_TEST_ALLOC
 * so its allocations go through the hooks here, which can fail the n-th
 * one.  Run under ASan/LSan by tests/test_c_units.py.
 */
#include "jsonbuf.h"
#include "ctest.h"

#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>

#ifndef JSONBUF_TEST_ALLOC
#error "build with -DJSONBUF_TEST_ALLOC (see ctest-cflags above)"
#endif

#define R "\xEF\xBF\xBD"        /* U+FFFD REPLACEMENT CHARACTER, as UTF-8 */

/* ------------------------------------------------------------------------ */
/* Allocation hooks called by jsonbuf.c */

void *jsonbuf_test_malloc(size_t n);
void *jsonbuf_test_realloc(void *p, size_t n);
void  jsonbuf_test_free(void *p);

static long alloc_calls;    /* malloc + realloc calls since the last reset */
static long alloc_fail_at;  /* fail the call with this number; 0: none */
static long alloc_live;     /* blocks from jsonbuf not yet freed */

/* Count, and fail the alloc_fail_at-th call. */
void *
jsonbuf_test_malloc(size_t n)
{
    void *p;

    if (++alloc_calls == alloc_fail_at)
        return NULL;
    p = malloc(n);
    if (p)
        alloc_live++;
    return p;
}

/* Count, and fail the alloc_fail_at-th call (leaving p alone, as realloc
 * does). */
void *
jsonbuf_test_realloc(void *p, size_t n)
{
    if (++alloc_calls == alloc_fail_at)
        return NULL;
    if (p == NULL) {
        p = realloc(NULL, n);
        if (p)
            alloc_live++;
        return p;
    }
    return realloc(p, n);
}

/* Free and count. */
void
jsonbuf_test_free(void *p)
{
    if (p)
        alloc_live--;
    free(p);
}

/* Free a document from jsonbuf_take(), keeping alloc_live right. */
static void
release(char *doc)
{
    jsonbuf_test_free(doc);
}

/* Start counting allocations afresh; fail the fail_at-th (0: none). */
static void
alloc_reset(long fail_at)
{
    alloc_calls = 0;
    alloc_fail_at = fail_at;
}

/* ------------------------------------------------------------------------ */
/* Helpers */

/* Take the document out of b and compare it with want; check the NUL. */
static void
check_take(const char *file, int line, jsonbuf_t *b, const char *want)
{
    size_t n = 12345;
    char *s = jsonbuf_take(b, &n);

    ctest_check_mem(file, line, "jsonbuf_take(b) == want", s, n, want,
                    strlen(want));
    if (s) {
        CHECK(s[n] == '\0');
        CHECK(b->data == NULL && b->len == 0 && b->depth == 0);
    }
    release(s);
}
#define CHECK_TAKE(b, want) check_take(__FILE__, __LINE__, (b), (want))

/* Write in[0..n) as the only value of a buffer and compare with want. */
static void
check_string(const char *file, int line, const char *in, size_t n,
             const char *want)
{
    jsonbuf_t b;

    jsonbuf_init(&b, 1 << 20);
    if (jsonbuf_str(&b, in, n) != 0)
        ctest_fail_at(file, line, "jsonbuf_str() == 0");
    check_take(file, line, &b, want);
    jsonbuf_free(&b);
}
/* in must be a string literal: its length is taken with sizeof, so
 * embedded NULs count. */
#define CHECK_ESC(in, want) \
    check_string(__FILE__, __LINE__, (in), sizeof(in) - 1, (want))

/* Is b in the failed state, as the rule says? */
static int
is_failed(const jsonbuf_t *b)
{
    return b->failed && b->data == NULL && b->len == 0 && b->cap == 0;
}

/* Every call on a failed buffer is a no-op returning -1. */
static void
check_all_noops(jsonbuf_t *b)
{
    size_t n = 99;

    CHECK(jsonbuf_begin_object(b) == -1);
    CHECK(jsonbuf_end_object(b) == -1);
    CHECK(jsonbuf_begin_array(b) == -1);
    CHECK(jsonbuf_end_array(b) == -1);
    CHECK(jsonbuf_key(b, "k") == -1);
    CHECK(jsonbuf_str(b, "s", 1) == -1);
    CHECK(jsonbuf_cstr(b, "s") == -1);
    CHECK(jsonbuf_cstr(b, NULL) == -1);
    CHECK(jsonbuf_int(b, 1) == -1);
    CHECK(jsonbuf_uint(b, 1) == -1);
    CHECK(jsonbuf_double(b, 1.5, 1) == -1);
    CHECK(jsonbuf_double(b, NAN, 1) == -1);
    CHECK(jsonbuf_bool(b, 1) == -1);
    CHECK(jsonbuf_null(b) == -1);
    CHECK(jsonbuf_raw(b, "1", 1) == -1);
    CHECK(jsonbuf_take(b, &n) == NULL);
    CHECK(n == 0);
    CHECK(is_failed(b));
}

/* ------------------------------------------------------------------------ */
/* Hand-written cases */

/* Each kind of scalar as a whole document. */
static void
test_scalars(void)
{
    jsonbuf_t b;

    jsonbuf_init(&b, 1 << 20);
    CHECK(jsonbuf_int(&b, 0) == 0);
    CHECK_TAKE(&b, "0");
    CHECK(jsonbuf_int(&b, -1) == 0);
    CHECK_TAKE(&b, "-1");
    CHECK(jsonbuf_int(&b, 42) == 0);
    CHECK_TAKE(&b, "42");
    CHECK(jsonbuf_int(&b, LLONG_MAX) == 0);
    CHECK_TAKE(&b, "9223372036854775807");
    CHECK(jsonbuf_int(&b, LLONG_MIN) == 0);
    CHECK_TAKE(&b, "-9223372036854775808");
    CHECK(jsonbuf_uint(&b, 0) == 0);
    CHECK_TAKE(&b, "0");
    CHECK(jsonbuf_uint(&b, 1234567890ULL) == 0);
    CHECK_TAKE(&b, "1234567890");
    CHECK(jsonbuf_uint(&b, ULLONG_MAX) == 0);
    CHECK_TAKE(&b, "18446744073709551615");
    CHECK(jsonbuf_bool(&b, 1) == 0);
    CHECK_TAKE(&b, "true");
    CHECK(jsonbuf_bool(&b, 7) == 0);
    CHECK_TAKE(&b, "true");
    CHECK(jsonbuf_bool(&b, 0) == 0);
    CHECK_TAKE(&b, "false");
    CHECK(jsonbuf_null(&b) == 0);
    CHECK_TAKE(&b, "null");
    CHECK(jsonbuf_cstr(&b, NULL) == 0);
    CHECK_TAKE(&b, "null");
    CHECK(jsonbuf_cstr(&b, "") == 0);
    CHECK_TAKE(&b, "\"\"");
    CHECK(jsonbuf_str(&b, NULL, 0) == 0);
    CHECK_TAKE(&b, "\"\"");
    CHECK(jsonbuf_cstr(&b, "hello") == 0);
    CHECK_TAKE(&b, "\"hello\"");
    CHECK(jsonbuf_str(&b, "hello", 4) == 0);
    CHECK_TAKE(&b, "\"hell\"");
    CHECK(jsonbuf_raw(&b, "[1, 2]", 6) == 0);
    CHECK_TAKE(&b, "[1, 2]");
    jsonbuf_free(&b);
}

/* Commas and nesting: objects in arrays in objects, empty containers. */
static void
test_nesting(void)
{
    jsonbuf_t b;
    size_t n;
    char *s;

    jsonbuf_init(&b, 1 << 20);
    CHECK(jsonbuf_begin_object(&b) == 0);
    CHECK(jsonbuf_end_object(&b) == 0);
    CHECK_TAKE(&b, "{}");
    CHECK(jsonbuf_begin_array(&b) == 0);
    CHECK(jsonbuf_end_array(&b) == 0);
    CHECK_TAKE(&b, "[]");

    /* objects in arrays in objects, empty ones, raw values, commas */
    CHECK(jsonbuf_begin_object(&b) == 0);
      CHECK(jsonbuf_key(&b, "a") == 0);
      CHECK(jsonbuf_begin_array(&b) == 0);
        CHECK(jsonbuf_int(&b, 1) == 0);
        CHECK(jsonbuf_begin_object(&b) == 0);
          CHECK(jsonbuf_key(&b, "b") == 0);
          CHECK(jsonbuf_begin_array(&b) == 0);
          CHECK(jsonbuf_end_array(&b) == 0);
        CHECK(jsonbuf_end_object(&b) == 0);
        CHECK(jsonbuf_begin_object(&b) == 0);
        CHECK(jsonbuf_end_object(&b) == 0);
        CHECK(jsonbuf_raw(&b, "{\"r\":2}", 7) == 0);
      CHECK(jsonbuf_end_array(&b) == 0);
      CHECK(jsonbuf_key(&b, "c") == 0);
      CHECK(jsonbuf_begin_object(&b) == 0);
        CHECK(jsonbuf_key(&b, "d") == 0);
        CHECK(jsonbuf_begin_array(&b) == 0);
          CHECK(jsonbuf_bool(&b, 1) == 0);
          CHECK(jsonbuf_bool(&b, 0) == 0);
          CHECK(jsonbuf_null(&b) == 0);
        CHECK(jsonbuf_end_array(&b) == 0);
        CHECK(jsonbuf_key(&b, "") == 0);
        CHECK(jsonbuf_uint(&b, 3) == 0);
      CHECK(jsonbuf_end_object(&b) == 0);
      CHECK(jsonbuf_key(&b, "e") == 0);
      CHECK(jsonbuf_cstr(&b, "x") == 0);
      CHECK(jsonbuf_key(&b, "f") == 0);
      CHECK(jsonbuf_begin_array(&b) == 0);
        CHECK(jsonbuf_begin_array(&b) == 0);
        CHECK(jsonbuf_end_array(&b) == 0);
        CHECK(jsonbuf_begin_array(&b) == 0);
          CHECK(jsonbuf_begin_array(&b) == 0);
          CHECK(jsonbuf_end_array(&b) == 0);
        CHECK(jsonbuf_end_array(&b) == 0);
      CHECK(jsonbuf_end_array(&b) == 0);
    CHECK(jsonbuf_end_object(&b) == 0);
    CHECK(b.depth == 0);
    CHECK_TAKE(&b, "{\"a\":[1,{\"b\":[]},{},{\"r\":2}],"
                   "\"c\":{\"d\":[true,false,null],\"\":3},"
                   "\"e\":\"x\",\"f\":[[],[[]]]}");

    /* take() without len, and data is NUL-terminated while building */
    CHECK(jsonbuf_begin_array(&b) == 0);
    CHECK(jsonbuf_int(&b, 5) == 0);
    CHECK(b.data != NULL && strcmp(b.data, "[5") == 0 && b.len == 2);
    CHECK(jsonbuf_end_array(&b) == 0);
    s = jsonbuf_take(&b, NULL);
    CHECK(s != NULL && strcmp(s, "[5]") == 0);
    release(s);

    /* a buffer is reusable after take() */
    CHECK(jsonbuf_double(&b, 0.25, 2) == 0);
    s = jsonbuf_take(&b, &n);
    CHECK_STR(s, n, "0.25");
    release(s);
    jsonbuf_free(&b);
}

/* Every escape, in values and keys, also across internal chunks. */
static void
test_escapes(void)
{
    jsonbuf_t b;
    char in[3000], want[3000 * 3 + 3];
    size_t i, n = 0, w = 0;

    CHECK_ESC("", "\"\"");
    CHECK_ESC("\"", "\"\\\"\"");
    CHECK_ESC("\\", "\"\\\\\"");
    CHECK_ESC("\n", "\"\\n\"");
    CHECK_ESC("\r", "\"\\r\"");
    CHECK_ESC("\t", "\"\\t\"");
    CHECK_ESC("\b", "\"\\b\"");
    CHECK_ESC("\f", "\"\\f\"");
    CHECK_ESC("\0", "\"\\u0000\"");
    CHECK_ESC("\x01", "\"\\u0001\"");
    CHECK_ESC("\x0b", "\"\\u000b\"");
    CHECK_ESC("\x1b", "\"\\u001b\"");
    CHECK_ESC("\x1f", "\"\\u001f\"");
    CHECK_ESC(" ", "\" \"");
    CHECK_ESC("\x7f", "\"\x7f\"");          /* DEL needs no escape */
    CHECK_ESC("/", "\"/\"");
    CHECK_ESC("'", "\"'\"");
    CHECK_ESC("<", "\"\\u003c\"");
    CHECK_ESC(">", "\"\\u003e\"");
    CHECK_ESC("&", "\"\\u0026\"");
    CHECK_ESC("</script><!--&amp;",
              "\"\\u003c/script\\u003e\\u003c!--\\u0026amp;\"");
    CHECK_ESC("\xE2\x80\xA8", "\"\\u2028\"");
    CHECK_ESC("\xE2\x80\xA9", "\"\\u2029\"");
    CHECK_ESC("\xE2\x80\xA7", "\"\xE2\x80\xA7\"");  /* neighbours kept */
    CHECK_ESC("\xE2\x80\xAA", "\"\xE2\x80\xAA\"");
    CHECK_ESC("a\0b\"c\\d\ne", "\"a\\u0000b\\\"c\\\\d\\ne\"");

    /* keys are escaped the same way */
    jsonbuf_init(&b, 1 << 20);
    CHECK(jsonbuf_begin_object(&b) == 0);
    CHECK(jsonbuf_key(&b, "a\"b<\n\xE2\x80\xA8\xFF") == 0);
    CHECK(jsonbuf_int(&b, 1) == 0);
    CHECK(jsonbuf_end_object(&b) == 0);
    CHECK_TAKE(&b, "{\"a\\\"b\\u003c\\n\\u2028" R "\":1}");

    /* a long string: escapes and multibyte characters straddle the
     * writer's internal chunks */
    for (i = 0; n + 4 < sizeof in; i++) {
        switch (i % 4) {
        case 0: in[n++] = '<'; memcpy(want + w, "\\u003c", 6); w += 6; break;
        case 1: memcpy(in + n, "\xC3\xA9", 2); n += 2;
                memcpy(want + w, "\xC3\xA9", 2); w += 2; break;
        case 2: memcpy(in + n, "\xF0\x9F\x98\x80", 4); n += 4;
                memcpy(want + w, "\xF0\x9F\x98\x80", 4); w += 4; break;
        case 3: in[n++] = 'x'; want[w++] = 'x'; break;
        }
    }
    {
        char *s, quoted[sizeof want + 2];
        size_t len;

        quoted[0] = '"';
        memcpy(quoted + 1, want, w);
        quoted[w + 1] = '"';
        CHECK(jsonbuf_str(&b, in, n) == 0);
        s = jsonbuf_take(&b, &len);
        CHECK_MEM(s, len, quoted, w + 2);
        release(s);
    }
    jsonbuf_free(&b);
}

/* Well-formed UTF-8 of each length, at the edges of each range, is kept. */
static void
test_utf8_valid(void)
{
    CHECK_ESC("\xC3\xA9", "\"\xC3\xA9\"");                 /* é, 2 bytes */
    CHECK_ESC("\xE2\x82\xAC", "\"\xE2\x82\xAC\"");         /* €, 3 bytes */
    CHECK_ESC("\xF0\x9F\x98\x80", "\"\xF0\x9F\x98\x80\""); /* 😀, 4 bytes */
    CHECK_ESC("\xC2\x80", "\"\xC2\x80\"");                 /* U+0080 */
    CHECK_ESC("\xDF\xBF", "\"\xDF\xBF\"");                 /* U+07FF */
    CHECK_ESC("\xE0\xA0\x80", "\"\xE0\xA0\x80\"");         /* U+0800 */
    CHECK_ESC("\xED\x9F\xBF", "\"\xED\x9F\xBF\"");         /* U+D7FF */
    CHECK_ESC("\xEE\x80\x80", "\"\xEE\x80\x80\"");         /* U+E000 */
    CHECK_ESC("\xEF\xBF\xBD", "\"\xEF\xBF\xBD\"");         /* U+FFFD */
    CHECK_ESC("\xEF\xBF\xBF", "\"\xEF\xBF\xBF\"");         /* U+FFFF */
    CHECK_ESC("\xF0\x90\x80\x80", "\"\xF0\x90\x80\x80\""); /* U+10000 */
    CHECK_ESC("\xF4\x8F\xBF\xBF", "\"\xF4\x8F\xBF\xBF\""); /* U+10FFFF */
    CHECK_ESC("/home/\xC3\xA9t\xC3\xA9/caf\xC3\xA9.py",
              "\"/home/\xC3\xA9t\xC3\xA9/caf\xC3\xA9.py\"");
}

/* Each byte that is not part of a well-formed sequence becomes U+FFFD. */
static void
test_utf8_invalid(void)
{
    /* stray continuation bytes, bytes that never start a sequence */
    CHECK_ESC("\x80", "\"" R "\"");
    CHECK_ESC("\xBF", "\"" R "\"");
    CHECK_ESC("\xFE", "\"" R "\"");
    CHECK_ESC("\xFF", "\"" R "\"");
    CHECK_ESC("a\x80" "b", "\"a" R "b\"");
    /* overlong forms */
    CHECK_ESC("\xC0\x80", "\"" R R "\"");
    CHECK_ESC("\xC0\xAF", "\"" R R "\"");
    CHECK_ESC("\xC1\xBF", "\"" R R "\"");
    CHECK_ESC("\xE0\x80\x80", "\"" R R R "\"");
    CHECK_ESC("\xE0\x9F\xBF", "\"" R R R "\"");
    CHECK_ESC("\xF0\x80\x80\x80", "\"" R R R R "\"");
    CHECK_ESC("\xF0\x8F\xBF\xBF", "\"" R R R R "\"");
    /* surrogates encoded in UTF-8 (CESU-8 style pairs included) */
    CHECK_ESC("\xED\xA0\x80", "\"" R R R "\"");
    CHECK_ESC("\xED\xBF\xBF", "\"" R R R "\"");
    CHECK_ESC("\xED\xA0\xBD\xED\xB8\x80", "\"" R R R R R R "\"");
    /* above U+10FFFF */
    CHECK_ESC("\xF4\x90\x80\x80", "\"" R R R R "\"");
    CHECK_ESC("\xF5\x80\x80\x80", "\"" R R R R "\"");
    CHECK_ESC("\xF7\xBF\xBF\xBF", "\"" R R R R "\"");
    CHECK_ESC("\xF8\x88\x80\x80\x80", "\"" R R R R R "\"");
    /* truncated sequences: at the end, and followed by something else */
    CHECK_ESC("\xC3", "\"" R "\"");
    CHECK_ESC("\xE2\x82", "\"" R R "\"");
    CHECK_ESC("\xF0\x9F\x98", "\"" R R R "\"");
    CHECK_ESC("\xC3" "A", "\"" R "A\"");
    CHECK_ESC("\xE2\x82" "A", "\"" R R "A\"");
    CHECK_ESC("\xF0\x9F\x98" "A", "\"" R R R "A\"");
    CHECK_ESC("\xE2\x82\xC3\xA9", "\"" R R "\xC3\xA9\"");
    CHECK_ESC("\xF0\x9F\x98\xF0\x9F\x98\x80", "\"" R R R "\xF0\x9F\x98\x80\"");
    /* invalid bytes next to characters that are escaped */
    CHECK_ESC("\xFF<\xFF", "\"" R "\\u003c" R "\"");
}

/* The hard cap, and how the allocation grows towards it. */
static void
test_cap(void)
{
    jsonbuf_t b;
    char big[5000];
    size_t n;
    char *s;

    /* exceeding the cap fails the buffer, and everything after is a no-op */
    jsonbuf_init(&b, 10);
    CHECK(jsonbuf_begin_array(&b) == 0);
    CHECK(jsonbuf_cstr(&b, "hello") == 0);          /* ["hello" : 8 */
    CHECK(jsonbuf_cstr(&b, "world") == -1);
    CHECK(is_failed(&b));
    check_all_noops(&b);
    /* free() makes it usable again, with the same cap */
    jsonbuf_free(&b);
    CHECK(!b.failed && b.max == 10);
    CHECK(jsonbuf_begin_array(&b) == 0);
    CHECK(jsonbuf_int(&b, 1) == 0);
    CHECK(jsonbuf_end_array(&b) == 0);
    CHECK_TAKE(&b, "[1]");

    /* exactly the cap is fine; allocation is max + 1, not 4096 */
    jsonbuf_init(&b, 7);
    CHECK(jsonbuf_cstr(&b, "abcde") == 0);
    CHECK(b.len == 7 && b.cap == 8);
    CHECK_TAKE(&b, "\"abcde\"");
    jsonbuf_init(&b, 6);
    CHECK(jsonbuf_cstr(&b, "abcde") == -1);
    CHECK(is_failed(&b));
    jsonbuf_free(&b);

    /* a cap of 0 allows nothing */
    jsonbuf_init(&b, 0);
    CHECK(jsonbuf_null(&b) == -1);
    CHECK(is_failed(&b));
    jsonbuf_free(&b);

    /* an escape that would cross the cap fails too */
    jsonbuf_init(&b, 7);
    CHECK(jsonbuf_cstr(&b, "<") == -1);             /* "\u003c" : 8 */
    CHECK(is_failed(&b));
    jsonbuf_free(&b);

    /* growth: 4096, then doubling, clamped to max + 1 */
    memset(big, 'a', sizeof big);
    jsonbuf_init(&b, 5000);
    CHECK(jsonbuf_begin_array(&b) == 0);
    CHECK(b.cap == 4096);
    CHECK(jsonbuf_str(&b, big, 4000) == 0);
    CHECK(b.cap == 4096);
    CHECK(jsonbuf_str(&b, big, 100) == 0);          /* len 4105 */
    CHECK(b.cap == 5001);
    CHECK(jsonbuf_str(&b, big, 1000) == -1);         /* len 5109 */
    CHECK(is_failed(&b));
    jsonbuf_free(&b);

    jsonbuf_init(&b, 5000);
    CHECK(jsonbuf_str(&b, big, 4998) == 0);         /* len 5000 == max */
    CHECK(b.len == 5000 && b.cap == 5001);
    s = jsonbuf_take(&b, &n);
    CHECK(s != NULL && n == 5000 && s[0] == '"' && s[4999] == '"');
    release(s);

    jsonbuf_init(&b, (size_t)1 << 30);
    CHECK(jsonbuf_begin_array(&b) == 0);
    CHECK(jsonbuf_str(&b, big, 4998) == 0);         /* len 5001 */
    CHECK(b.cap == 8192);
    CHECK(jsonbuf_str(&b, big, 4998) == 0);         /* len 10002 */
    CHECK(b.cap == 16384);
    CHECK(jsonbuf_end_array(&b) == 0);
    s = jsonbuf_take(&b, &n);
    CHECK(s != NULL && n == 10003);
    release(s);

    /* a huge max is clamped, not overflowed */
    jsonbuf_init(&b, SIZE_MAX);
    CHECK(b.max == SIZE_MAX - 1);
    CHECK(jsonbuf_int(&b, 7) == 0);
    CHECK_TAKE(&b, "7");
    jsonbuf_free(&b);
}

/* Nesting up to JSONBUF_MAX_DEPTH - 1 levels, and one too many. */
static void
test_depth(void)
{
    jsonbuf_t b;
    char want[2 * JSONBUF_MAX_DEPTH * 6 + 8];
    size_t w = 0;
    int i;

    /* JSONBUF_MAX_DEPTH - 1 arrays open fine; one more fails */
    jsonbuf_init(&b, 1 << 20);
    for (i = 0; i < JSONBUF_MAX_DEPTH - 1; i++)
        CHECK(jsonbuf_begin_array(&b) == 0);
    CHECK(b.depth == JSONBUF_MAX_DEPTH - 1);
    CHECK(jsonbuf_begin_array(&b) == -1);
    CHECK(is_failed(&b));
    check_all_noops(&b);
    jsonbuf_free(&b);

    jsonbuf_init(&b, 1 << 20);
    for (i = 0; i < JSONBUF_MAX_DEPTH - 1; i++)
        CHECK(jsonbuf_begin_array(&b) == 0);
    CHECK(jsonbuf_begin_object(&b) == -1);
    CHECK(is_failed(&b));
    jsonbuf_free(&b);

    /* the deepest allowed document, objects and arrays alternating */
    jsonbuf_init(&b, 1 << 20);
    for (i = 0; i < JSONBUF_MAX_DEPTH - 1; i++) {
        if (i % 2 == 0) {
            CHECK(jsonbuf_begin_object(&b) == 0);
            CHECK(jsonbuf_key(&b, "k") == 0);
            memcpy(want + w, "{\"k\":", 5);
            w += 5;
        } else {
            CHECK(jsonbuf_begin_array(&b) == 0);
            want[w++] = '[';
        }
    }
    CHECK(jsonbuf_int(&b, 0) == 0);
    want[w++] = '0';
    for (i = JSONBUF_MAX_DEPTH - 2; i >= 0; i--) {
        if (i % 2 == 0) {
            CHECK(jsonbuf_end_object(&b) == 0);
            want[w++] = '}';
        } else {
            CHECK(jsonbuf_end_array(&b) == 0);
            want[w++] = ']';
        }
    }
    want[w] = '\0';
    CHECK_TAKE(&b, want);
    jsonbuf_free(&b);
}

/* Start a fresh buffer for a misuse case. */
static void
misuse_begin(jsonbuf_t *b)
{
    jsonbuf_init(b, 1 << 20);
}

/* The last call was misuse: the buffer must have failed, and stay so. */
static void
misuse_end(const char *file, int line, jsonbuf_t *b, int rc)
{
    if (rc != -1 || !is_failed(b))
        ctest_fail_at(file, line, "misuse fails the buffer");
    else
        ctest_passed++;
    check_all_noops(b);
    jsonbuf_free(b);
}
#define MISUSE(b, call) misuse_end(__FILE__, __LINE__, (b), (call))

/* Every kind of misuse fails the buffer, which then stays failed. */
static void
test_misuse(void)
{
    jsonbuf_t b;
    size_t n = 1;

    misuse_begin(&b);                               /* value with no key */
    jsonbuf_begin_object(&b);
    MISUSE(&b, jsonbuf_int(&b, 1));

    misuse_begin(&b);
    jsonbuf_begin_object(&b);
    MISUSE(&b, jsonbuf_begin_array(&b));

    misuse_begin(&b);                               /* key in an array */
    jsonbuf_begin_array(&b);
    MISUSE(&b, jsonbuf_key(&b, "a"));

    misuse_begin(&b);                               /* key at top level */
    MISUSE(&b, jsonbuf_key(&b, "a"));

    misuse_begin(&b);                               /* two keys in a row */
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "a");
    MISUSE(&b, jsonbuf_key(&b, "b"));

    misuse_begin(&b);                               /* key with no value */
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "a");
    MISUSE(&b, jsonbuf_end_object(&b));

    misuse_begin(&b);                               /* mismatched ends */
    jsonbuf_begin_object(&b);
    MISUSE(&b, jsonbuf_end_array(&b));

    misuse_begin(&b);
    jsonbuf_begin_array(&b);
    MISUSE(&b, jsonbuf_end_object(&b));

    misuse_begin(&b);                               /* end with none open */
    MISUSE(&b, jsonbuf_end_array(&b));

    misuse_begin(&b);
    jsonbuf_begin_array(&b);
    jsonbuf_end_array(&b);
    MISUSE(&b, jsonbuf_end_array(&b));

    misuse_begin(&b);                               /* two top-level values */
    jsonbuf_int(&b, 1);
    MISUSE(&b, jsonbuf_int(&b, 2));

    misuse_begin(&b);
    jsonbuf_begin_object(&b);
    jsonbuf_end_object(&b);
    MISUSE(&b, jsonbuf_begin_array(&b));

    misuse_begin(&b);                               /* bad arguments */
    jsonbuf_begin_object(&b);
    MISUSE(&b, jsonbuf_key(&b, NULL));

    misuse_begin(&b);
    MISUSE(&b, jsonbuf_str(&b, NULL, 1));

    misuse_begin(&b);
    MISUSE(&b, jsonbuf_raw(&b, "1", 0));

    misuse_begin(&b);
    MISUSE(&b, jsonbuf_raw(&b, NULL, 0));

    misuse_begin(&b);
    MISUSE(&b, jsonbuf_double(&b, 1.0, -1));

    misuse_begin(&b);
    MISUSE(&b, jsonbuf_double(&b, 1.0, 10));

    misuse_begin(&b);
    MISUSE(&b, jsonbuf_double(&b, NAN, 10));

    /* take() of an unfinished document: NULL, and the buffer fails (and is
     * freed: LeakSanitizer would see it otherwise) */
    jsonbuf_init(&b, 1 << 20);
    jsonbuf_begin_array(&b);
    jsonbuf_int(&b, 1);
    CHECK(jsonbuf_take(&b, &n) == NULL);
    CHECK(n == 0);
    CHECK(is_failed(&b));
    check_all_noops(&b);
    jsonbuf_free(&b);

    jsonbuf_init(&b, 1 << 20);
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "a");
    CHECK(jsonbuf_take(&b, NULL) == NULL);
    CHECK(is_failed(&b));
    jsonbuf_free(&b);

    /* take() of an empty buffer: nothing to hand over */
    jsonbuf_init(&b, 1 << 20);
    CHECK(jsonbuf_take(&b, &n) == NULL);
    CHECK(is_failed(&b));
    jsonbuf_free(&b);
}

/* Write v with d decimals as the only value and compare. */
static void
check_double(const char *file, int line, double v, int d, const char *want)
{
    jsonbuf_t b;

    jsonbuf_init(&b, 1 << 20);
    if (jsonbuf_double(&b, v, d) != 0)
        ctest_fail_at(file, line, "jsonbuf_double() == 0");
    check_take(file, line, &b, want);
    jsonbuf_free(&b);
}
#define CHECK_DOUBLE(v, d, want) \
    check_double(__FILE__, __LINE__, (v), (d), (want))

/* Fixed decimals, trimming, NaN/Inf, -0, huge values, foreign locales. */
static void
test_doubles(void)
{
    static const char *locales[] = {
        "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8",
        "ru_RU.UTF-8", "nl_NL.UTF-8", "de_DE", "fr_FR",
    };
    jsonbuf_t b;
    char *s;
    size_t n, i;

    CHECK_DOUBLE(NAN, 3, "null");
    CHECK_DOUBLE(-NAN, 3, "null");
    CHECK_DOUBLE(INFINITY, 3, "null");
    CHECK_DOUBLE(-INFINITY, 0, "null");
    CHECK_DOUBLE(1.5, 3, "1.5");
    CHECK_DOUBLE(2.0, 2, "2");
    CHECK_DOUBLE(0.1, 9, "0.1");
    CHECK_DOUBLE(1234.5678, 2, "1234.57");
    CHECK_DOUBLE(1234.5678, 0, "1235");
    CHECK_DOUBLE(-3.75, 2, "-3.75");
    CHECK_DOUBLE(-3.75, 9, "-3.75");
    CHECK_DOUBLE(0.0, 0, "0");
    CHECK_DOUBLE(0.0, 5, "0");
    CHECK_DOUBLE(-0.0, 2, "0");
    CHECK_DOUBLE(-0.001, 2, "0");
    CHECK_DOUBLE(-0.001, 3, "-0.001");
    CHECK_DOUBLE(100.0, 3, "100");
    CHECK_DOUBLE(10.10, 4, "10.1");
    CHECK_DOUBLE(0.000000001, 9, "0.000000001");
    CHECK_DOUBLE(123456789.123456789, 9, "123456789.123456791");
    CHECK_DOUBLE(1e20, 0, "100000000000000000000");
    CHECK_DOUBLE(1e20, 9, "100000000000000000000");

    /* the largest doubles fit */
    jsonbuf_init(&b, 1 << 20);
    CHECK(jsonbuf_double(&b, -DBL_MAX, 9) == 0);
    s = jsonbuf_take(&b, &n);
    CHECK(s != NULL && n == 310 && strncmp(s, "-17976931348623157", 18) == 0);
    CHECK(s != NULL && strchr(s, '.') == NULL);
    release(s);

    /* NaN inside a container is a null with the usual comma */
    CHECK(jsonbuf_begin_array(&b) == 0);
    CHECK(jsonbuf_double(&b, 1.5, 1) == 0);
    CHECK(jsonbuf_double(&b, NAN, 1) == 0);
    CHECK(jsonbuf_double(&b, 2, 1) == 0);
    CHECK(jsonbuf_end_array(&b) == 0);
    CHECK_TAKE(&b, "[1.5,null,2]");

    /* a locale whose radix point is ',' must not leak into JSON */
    for (i = 0; i < sizeof locales / sizeof *locales; i++) {
        char probe[16];

        if (setlocale(LC_NUMERIC, locales[i]) == NULL)
            continue;
        snprintf(probe, sizeof probe, "%.1f", 1.5);
        if (strcmp(probe, "1.5") == 0)
            continue;
        printf("LC_NUMERIC=%s prints 1.5 as %s\n", locales[i], probe);
        CHECK_DOUBLE(1.5, 1, "1.5");
        CHECK_DOUBLE(-1234.25, 3, "-1234.25");
        CHECK_DOUBLE(3.0, 3, "3");
        break;
    }
    if (i == sizeof locales / sizeof *locales)
        printf("note: no locale with another radix point installed; "
               "locale check skipped\n");
    setlocale(LC_NUMERIC, "C");
    jsonbuf_free(&b);
}

/* jsonbuf_free() takes NULL, repeats, and leaves b ready for reuse. */
static void
test_free_reinit(void)
{
    jsonbuf_t b;

    jsonbuf_free(NULL);
    jsonbuf_init(&b, 100);
    jsonbuf_free(&b);                               /* nothing allocated */
    CHECK(b.data == NULL && b.max == 100);
    CHECK(jsonbuf_begin_array(&b) == 0);
    CHECK(jsonbuf_null(&b) == 0);
    jsonbuf_free(&b);                               /* mid-document */
    jsonbuf_free(&b);                               /* twice */
    CHECK(b.data == NULL && b.depth == 0 && !b.failed && b.max == 100);
    CHECK(jsonbuf_null(&b) == 0);
    CHECK_TAKE(&b, "null");
    jsonbuf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Reference writer: deliberately simple and independent of jsonbuf.c */

typedef struct {
    char  *p;       /* owned, plain malloc */
    size_t len;     /* bytes used */
    size_t cap;     /* bytes allocated */
} ref_t;

/* Append n bytes (the test stops if out of memory). */
static void
ref_put(ref_t *r, const void *s, size_t n)
{
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2 + 64;
        r->p = realloc(r->p, r->cap);
        REQUIRE(r->p != NULL);
    }
    memcpy(r->p + r->len, s, n);
    r->len += n;
}

/* Append a C string. */
static void
ref_puts(ref_t *r, const char *s)
{
    ref_put(r, s, strlen(s));
}

/* Decode one character at s: by the general bit pattern, then reject what
 * is overlong, a surrogate or beyond U+10FFFF.  Returns its length, or 0
 * if the bytes at s are not one well-formed character. */
static size_t
ref_decode(const unsigned char *s, size_t n, unsigned long *cp)
{
    static const unsigned long least[5] = {0, 0, 0x80, 0x800, 0x10000};
    unsigned long v;
    size_t len, i;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2;
        v = s[0] & 0x1Fu;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3;
        v = s[0] & 0x0Fu;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4;
        v = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    if (v < least[len] || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
        return 0;
    *cp = v;
    return len;
}

/* s[0..n) as a JSON string, escaped as jsonbuf.h promises, each byte that
 * does not decode replaced by U+FFFD. */
static void
ref_string(ref_t *r, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, k;
    unsigned long cp;
    char tmp[16];

    ref_puts(r, "\"");
    while (i < n) {
        k = ref_decode(s + i, n - i, &cp);
        if (k == 0) {
            ref_puts(r, R);
            i++;
            continue;
        }
        if (cp == '"')
            ref_puts(r, "\\\"");
        else if (cp == '\\')
            ref_puts(r, "\\\\");
        else if (cp == '\n')
            ref_puts(r, "\\n");
        else if (cp == '\r')
            ref_puts(r, "\\r");
        else if (cp == '\t')
            ref_puts(r, "\\t");
        else if (cp == '\b')
            ref_puts(r, "\\b");
        else if (cp == '\f')
            ref_puts(r, "\\f");
        else if (cp < 0x20 || cp == '<' || cp == '>' || cp == '&'
                 || cp == 0x2028 || cp == 0x2029) {
            snprintf(tmp, sizeof tmp, "\\u%04lx", cp);
            ref_puts(r, tmp);
        } else {
            ref_put(r, s + i, k);
        }
        i += k;
    }
    ref_puts(r, "\"");
}

/* m / 10^k written with k decimals, trailing zeros trimmed, from m's own
 * digits. */
static void
ref_fixed(ref_t *r, long long m, int k)
{
    unsigned long long a = m < 0 ? 0ULL - (unsigned long long)m
                                 : (unsigned long long)m;
    char digits[48];
    size_t len, f;

    snprintf(digits, sizeof digits, "%0*llu", k + 1, a);
    len = strlen(digits);
    f = len;                                /* end of the fraction */
    while (f > len - (size_t)k && digits[f - 1] == '0')
        f--;
    if (m < 0)
        ref_puts(r, "-");
    ref_put(r, digits, len - (size_t)k);
    if (f > len - (size_t)k) {
        ref_puts(r, ".");
        ref_put(r, digits + len - k, f - (len - (size_t)k));
    }
}

/* ------------------------------------------------------------------------ */
/* Random documents */

static int  gen_budget;     /* values left before containers go empty */
static int  gen_deep_to;    /* force containers down to this depth */
static int  gen_failed;     /* some call has returned -1 in this document */
static int  gen_revived;    /* some call succeeded after one had failed */
static jsonbuf_t *gen_buf;  /* the buffer being written */

/* Record the result of a jsonbuf call: once one has failed, none may
 * succeed, and the buffer must look failed. */
static int
api(int rc)
{
    if (rc != 0 && rc != -1)
        gen_revived = 1;                    /* not a valid result at all */
    if (rc == -1) {
        gen_failed = 1;
        if (!is_failed(gen_buf))
            gen_revived = 1;
    } else if (gen_failed) {
        gen_revived = 1;
    }
    return rc;
}

/* Encode cp in exactly len bytes (1..4), overlong or not. */
static size_t
encode(unsigned long cp, size_t len, unsigned char *out)
{
    static const unsigned char lead[5] = {0, 0, 0xC0, 0xE0, 0xF0};
    size_t i;

    if (len == 1) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    for (i = len - 1; i > 0; i--) {
        out[i] = (unsigned char)(0x80 | (cp & 0x3F));
        cp >>= 6;
    }
    out[0] = (unsigned char)(lead[len] | cp);
    return len;
}

/* Fill out (cap bytes) with a random string; NUL only if allow_nul.
 * Mostly short; now and then long enough to cross jsonbuf's chunks and
 * allocation steps. */
static size_t
gen_string(char *out, size_t cap, int allow_nul)
{
    static const char special[] = "\"\\<>&/\n\r\t\b\f\x01\x1f\x7f";
    unsigned char *o = (unsigned char *)out;
    size_t target, n = 0, k;
    unsigned long cp;

    target = ctest_below(50) == 0 ? ctest_below(cap - 8) : ctest_below(24);
    while (n < target) {
        switch (ctest_below(8)) {
        case 0: case 1: case 2:             /* printable ASCII */
            o[n++] = (unsigned char)(0x20 + ctest_below(0x5F));
            break;
        case 3:                             /* needs escaping */
            k = ctest_below(sizeof special - (allow_nul ? 0 : 1));
            o[n++] = (unsigned char)special[k];  /* the last is the NUL */
            break;
        case 4:                             /* a valid character */
            switch (ctest_below(5)) {
            case 0: cp = 0x80 + ctest_below(0x780); break;
            case 1: cp = 0x800 + ctest_below(0xD800 - 0x800); break;
            case 2: cp = 0xE000 + ctest_below(0x2000); break;
            case 3: cp = 0x10000 + ctest_below(0x100000); break;
            default: cp = 0x2027 + ctest_below(4); break;   /* 2028/9 */
            }
            n += encode(cp, cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4, o + n);
            break;
        case 5:                             /* any high byte */
            o[n++] = (unsigned char)(0x80 + ctest_below(0x80));
            break;
        case 6: {                           /* a truncated character */
            unsigned char tmp[4];
            size_t len = 2 + ctest_below(3);

            cp = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
            encode(cp + ctest_below(0x40), len, tmp);
            k = 1 + ctest_below(len - 1);
            memcpy(o + n, tmp, k);
            n += k;
            break;
        }
        default:                            /* overlong, surrogate, too big */
            switch (ctest_below(4)) {
            case 0:
                cp = ctest_below(0x800);
                n += encode(cp, cp < 0x80 ? 2 + ctest_below(3) : 3, o + n);
                break;
            case 1:
                n += encode(0xD800 + ctest_below(0x800), 3, o + n);
                break;
            case 2:
                n += encode(0x110000 + ctest_below(0xF0000), 4, o + n);
                break;
            default:
                o[n++] = (unsigned char)(0xF5 + ctest_below(11));
                break;
            }
            break;
        }
    }
    if (!allow_nul)
        out[n] = '\0';                      /* gen_string keeps room */
    return n;
}

/* Write one random value to gen_buf and to r; nested at depth. */
static void
gen_value(ref_t *r, int depth)
{
    static const char *raws[] = {"[1,2]", "{\"x\":null}", "\"r\"", "-0.5",
                                 "{}", "[]", "0"};
    jsonbuf_t *b = gen_buf;
    char s[3100];
    char tmp[48];
    unsigned long kind;
    size_t n;
    int i, children;

    gen_budget--;
    if (depth < gen_deep_to)
        kind = 10 + ctest_below(2);
    else if (depth >= JSONBUF_MAX_DEPTH - 1)
        kind = ctest_below(10);             /* no room for a container */
    else
        kind = ctest_below(12);

    switch (kind) {
    case 0: {
        long long v;

        switch (ctest_below(4)) {
        case 0: v = LLONG_MIN + (long long)ctest_below(2); break;
        case 1: v = LLONG_MAX - (long long)ctest_below(2); break;
        case 2: v = (long long)ctest_below(2001) - 1000; break;
        default: v = (long long)ctest_rand(); break;
        }
        api(jsonbuf_int(b, v));
        snprintf(tmp, sizeof tmp, "%lld", v);
        ref_puts(r, tmp);
        break;
    }
    case 1: {
        unsigned long long v = ctest_below(3) ? ctest_rand() >> ctest_below(64)
                                              : ULLONG_MAX;
        api(jsonbuf_uint(b, v));
        snprintf(tmp, sizeof tmp, "%llu", v);
        ref_puts(r, tmp);
        break;
    }
    case 2: {
        int k = (int)ctest_below(10);
        long long m = (long long)ctest_below(2000000000001ULL) - 1000000000000LL;
        static const double p10[10] = {1e0, 1e1, 1e2, 1e3, 1e4,
                                       1e5, 1e6, 1e7, 1e8, 1e9};

        switch (ctest_below(8)) {
        case 0:
            api(jsonbuf_double(b, ctest_below(2) ? NAN : -INFINITY, k));
            ref_puts(r, "null");
            break;
        case 1:
            api(jsonbuf_double(b, -0.0, k));
            ref_puts(r, "0");
            break;
        case 2:
            m = (long long)ctest_below(2001) - 1000;
            /* fall through */
        default:
            api(jsonbuf_double(b, (double)m / p10[k], k));
            ref_fixed(r, m, k);
            break;
        }
        break;
    }
    case 3:
        i = (int)ctest_below(3);
        api(jsonbuf_bool(b, i));
        ref_puts(r, i ? "true" : "false");
        break;
    case 4:
        api(jsonbuf_null(b));
        ref_puts(r, "null");
        break;
    case 5:
        n = ctest_below(sizeof raws / sizeof *raws);
        api(jsonbuf_raw(b, raws[n], strlen(raws[n])));
        ref_puts(r, raws[n]);
        break;
    case 6:
        if (ctest_below(4) == 0) {
            api(jsonbuf_cstr(b, NULL));
            ref_puts(r, "null");
            break;
        }
        n = gen_string(s, sizeof s, 0);
        api(jsonbuf_cstr(b, s));
        ref_string(r, s, n);
        break;
    case 7: case 8: case 9:
        n = gen_string(s, sizeof s, 1);
        api(jsonbuf_str(b, s, n));
        ref_string(r, s, n);
        break;
    case 10:
        children = gen_budget > 0 ? (int)ctest_below(6) : 0;
        if (depth < gen_deep_to && children == 0)
            children = 1;
        api(jsonbuf_begin_array(b));
        ref_puts(r, "[");
        for (i = 0; i < children; i++) {
            if (i)
                ref_puts(r, ",");
            gen_value(r, depth + 1);
        }
        api(jsonbuf_end_array(b));
        ref_puts(r, "]");
        break;
    default:
        children = gen_budget > 0 ? (int)ctest_below(6) : 0;
        if (depth < gen_deep_to && children == 0)
            children = 1;
        api(jsonbuf_begin_object(b));
        ref_puts(r, "{");
        for (i = 0; i < children; i++) {
            if (i)
                ref_puts(r, ",");
            n = gen_string(s, sizeof s, 0);
            api(jsonbuf_key(b, s));
            ref_string(r, s, n);
            ref_puts(r, ":");
            gen_value(r, depth + 1);
        }
        api(jsonbuf_end_object(b));
        ref_puts(r, "}");
        break;
    }
}

/* Write one random document, drawn from the generator's current state,
 * into b (set up by the caller) and r (emptied here). */
static void
gen_document(jsonbuf_t *b, ref_t *r)
{
    r->len = 0;
    gen_buf = b;
    gen_failed = 0;
    gen_revived = 0;
    gen_budget = 1 + (int)ctest_below(ctest_below(10) == 0 ? 400 : 40);
    gen_deep_to = ctest_below(10) == 0 ? (int)ctest_below(JSONBUF_MAX_DEPTH)
                                       : 0;
    gen_value(r, 0);
}

/* Random documents, each written three ways: with room to spare (must
 * equal the reference byte for byte), with a cap a few bytes either side
 * of its size (must fail exactly when too small), and, for some, with
 * each of its allocations failing in turn (must fail cleanly, leak
 * nothing). */
static void
test_random(void)
{
    ref_t r = {NULL, 0, 0};
    jsonbuf_t b;
    uint64_t state;
    long docs = 3000, d, allocs, k, injected = 0, max_allocs = 0;
    size_t n, want_len;
    char *s, *want = NULL;

    for (d = 0; d < docs; d++) {
        state = ctest_state;

        /* 1. plenty of room */
        jsonbuf_init(&b, (size_t)1 << 26);
        alloc_reset(0);
        gen_document(&b, &r);
        allocs = alloc_calls;
        CHECK(!gen_failed && !gen_revived);
        s = jsonbuf_take(&b, &n);
        CHECK_MEM(s, n, r.p, r.len);
        if (s == NULL || n != r.len || memcmp(s, r.p, n) != 0) {
            printf("  document %ld differs\n", d);
            release(s);
            break;
        }
        CHECK(alloc_live == 1);
        release(s);
        CHECK(alloc_live == 0);
        want_len = r.len;
        if (allocs > max_allocs)
            max_allocs = allocs;

        /* 2. a cap near the size */
        for (k = -2; k <= 2; k++) {
            size_t max;

            if ((long)want_len + k < 0)
                continue;
            max = (size_t)((long)want_len + k);
            ctest_state = state;
            jsonbuf_init(&b, max);
            gen_document(&b, &r);
            CHECK(!gen_revived);
            CHECK(b.cap <= max + 1);
            s = jsonbuf_take(&b, &n);
            if (k < 0) {
                CHECK(s == NULL && gen_failed && is_failed(&b));
            } else {
                CHECK(!gen_failed);
                CHECK_MEM(s, n, r.p, r.len);
            }
            release(s);
            jsonbuf_free(&b);
            CHECK(alloc_live == 0);
        }

        /* 3. each allocation failing in turn, for a sample of documents
         * (all that need more than one) */
        if (allocs > 1 || d % 10 == 0) {
            free(want);
            want = malloc(r.len + 1);
            REQUIRE(want != NULL);
            memcpy(want, r.p, r.len);
            for (k = 1; k <= allocs + 1; k++) {
                ctest_state = state;
                jsonbuf_init(&b, (size_t)1 << 26);
                alloc_reset(k);
                gen_document(&b, &r);
                CHECK(!gen_revived);
                s = jsonbuf_take(&b, &n);
                if (k <= allocs) {
                    CHECK(s == NULL && gen_failed && is_failed(&b));
                    CHECK(alloc_live == 0);
                    injected++;
                } else {
                    CHECK(!gen_failed);
                    CHECK_MEM(s, n, want, want_len);
                }
                release(s);
                jsonbuf_free(&b);
                CHECK(alloc_live == 0);
            }
            alloc_reset(0);
        }
    }
    printf("random: %ld documents, up to %ld allocations each, "
           "%ld injected allocation failures\n", d, max_allocs, injected);
    CHECK(max_allocs >= 3);                 /* growth was exercised */
    free(want);
    free(r.p);
}

/* A deterministic document that needs several reallocations, failing
 * each allocation in turn; and a failure with a fresh buffer. */
static void
test_alloc_failure(void)
{
    jsonbuf_t b;
    char item[16];
    long k, allocs = -1;
    int i, rc, failed_at;
    size_t n;
    char *s;

    for (k = 1; k < 20; k++) {
        jsonbuf_init(&b, (size_t)1 << 20);
        alloc_reset(k);
        failed_at = -1;
        rc = jsonbuf_begin_array(&b);
        if (rc < 0)
            failed_at = 0;
        for (i = 0; i < 3000; i++) {
            snprintf(item, sizeof item, "item%06d", i);
            rc = jsonbuf_cstr(&b, item);
            if (rc < 0 && failed_at < 0)
                failed_at = i + 1;
            if (rc == 0 && failed_at >= 0)
                CHECK(!"a call succeeded after a failure");
        }
        rc = jsonbuf_end_array(&b);
        s = jsonbuf_take(&b, &n);
        if (alloc_calls >= k) {
            /* the k-th allocation failed: the rule holds, nothing leaks */
            CHECK(failed_at >= 0 && rc == -1 && s == NULL);
            CHECK(is_failed(&b));
            CHECK(alloc_live == 0);
            jsonbuf_free(&b);
        } else {
            CHECK(failed_at < 0 && rc == 0 && s != NULL);
            CHECK(n == 2 + 3000 * 13 - 1);
            CHECK(s != NULL && strncmp(s, "[\"item000000\",", 14) == 0);
            release(s);
            CHECK(alloc_live == 0);
            allocs = k - 1;
            break;
        }
    }
    /* 4096, 8192, 16384, 32768, 65536 bytes for ~39 KB */
    CHECK(allocs == 5);
    alloc_reset(0);
}

/* Run everything; exit status and last line for tests/test_c_units.py. */
int
main(void)
{
    ctest_seed_from_env();
    test_scalars();
    test_nesting();
    test_escapes();
    test_utf8_valid();
    test_utf8_invalid();
    test_cap();
    test_depth();
    test_misuse();
    test_doubles();
    test_free_reinit();
    test_alloc_failure();
    test_random();
    CHECK(alloc_live == 0);
    return CTEST_DONE();
}

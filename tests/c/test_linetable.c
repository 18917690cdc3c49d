/* ctest-sources: linetable.c */
/* test_linetable.c - unit tests for src/holter/_core/linetable.c.
 *
 * Hand-made location tables for every entry code 0-15 (CPython's
 * Objects/locations.md): short forms 0-9, one-line forms 10-12, no-column
 * 13, long form 14, no location 15, with every length 1-8 and multi-byte
 * (s)varints. Random tables checked against a model that knows the line of
 * every code unit. Every table lives in a malloc'd buffer of exactly its
 * size, so under AddressSanitizer a read past n is a crash: truncated
 * tables (every prefix of every table), continuation bytes where an entry
 * should start, overlong varints and random bytes must all give -1 or a
 * line, never a read out of bounds.
 *
 * The same decoder is checked against CPython's own co_positions() for
 * every code object of a few big stdlib modules by tests/test_sampler.py.
 */
#include "linetable.h"
#include "ctest.h"

#include <limits.h>

#define MAXT 4096

typedef struct table {
    uint8_t b[MAXT];
    size_t  n;
    int     lines[MAXT];        /* model: the line of each code unit, -1 none */
    int     units;              /* code units covered */
    int     line;               /* the model's running line */
    size_t  ends[MAXT];         /* byte offset where entry i ends */
    int     unit_entry[MAXT];   /* entry index of each code unit */
    int     nentries;
} table_t;

static void
put(table_t *t, uint8_t byte)
{
    REQUIRE(t->n < MAXT);
    t->b[t->n++] = byte;
}

/* CPython's write_varint: 6-bit chunks, low first, bit 6 = more. */
static void
put_varint(table_t *t, unsigned v)
{
    while (v >= 64) {
        put(t, (uint8_t)(64 | (v & 63)));
        v >>= 6;
    }
    put(t, (uint8_t)v);
}

static void
put_svarint(table_t *t, int v)
{
    put_varint(t, v < 0 ? ((unsigned)(-v) << 1) | 1 : (unsigned)v << 1);
}

/* Ends an entry of `len` code units whose line (in the model) is `line`. */
static void
end_entry(table_t *t, int len, int line)
{
    for (int i = 0; i < len; i++) {
        REQUIRE(t->units < MAXT);
        t->unit_entry[t->units] = t->nentries;
        t->lines[t->units++] = line;
    }
    t->ends[t->nentries++] = t->n;
}

static void
begin(table_t *t, int code, int len)
{
    REQUIRE(code >= 0 && code <= 15 && len >= 1 && len <= 8);
    put(t, (uint8_t)(0x80 | code << 3 | (len - 1)));
}

/* One entry of each kind; `delta` is the line change where the kind has one. */
static void
entry_short(table_t *t, int code, int len, uint8_t cols)       /* 0-9 */
{
    begin(t, code, len);
    put(t, cols);
    end_entry(t, len, t->line);
}

static void
entry_one_line(table_t *t, int code, int len)                   /* 10-12 */
{
    begin(t, code, len);
    put(t, 5);                  /* start column */
    put(t, 9);                  /* end column */
    t->line += code - 10;
    end_entry(t, len, t->line);
}

static void
entry_no_column(table_t *t, int len, int delta)                 /* 13 */
{
    begin(t, 13, len);
    put_svarint(t, delta);
    t->line += delta;
    end_entry(t, len, t->line);
}

static void
entry_long(table_t *t, int len, int delta, unsigned end_delta, unsigned c0, unsigned c1)
{                                                               /* 14 */
    begin(t, 14, len);
    put_svarint(t, delta);
    put_varint(t, end_delta);
    put_varint(t, c0);
    put_varint(t, c1);
    t->line += delta;
    end_entry(t, len, t->line);
}

static void
entry_none(table_t *t, int len)                                 /* 15 */
{
    begin(t, 15, len);
    end_entry(t, len, -1);
}

static void
start_table(table_t *t, int firstlineno)
{
    memset(t, 0, sizeof(*t));
    t->line = firstlineno;
}

/* linetable_line on an exact-size heap copy of t->b[0..n). */
static int
line_at(const uint8_t *bytes, size_t n, int first, int addr)
{
    uint8_t *copy = malloc(n ? n : 1);
    REQUIRE(copy != NULL);
    if (n)
        memcpy(copy, bytes, n);
    /* n == 0: point at a 0-byte view of the block; nothing may be read */
    int line = linetable_line(copy, n, first, addr);
    free(copy);
    return line;
}

/* Every code unit of t decodes to the model's line; past the end, -1. */
static int
matches_model(const table_t *t, int first)
{
    int ok = 1;
    for (int u = -2; u < t->units + 3; u++) {
        int want = u >= 0 && u < t->units ? t->lines[u] : -1;
        int got = line_at(t->b, t->n, first, u);
        if (got != want) {
            printf("  unit %d: got %d want %d\n", u, got, want);
            ok = 0;
        }
    }
    return ok;
}

static void
test_short_forms(void)
{
    table_t t;
    for (int code = 0; code <= 9; code++) {
        for (int len = 1; len <= 8; len++) {
            start_table(&t, 40);
            entry_short(&t, code, len, (uint8_t)(code * 7 + len));
            entry_short(&t, 9 - code, 9 - len, 0x7F);
            CHECK(t.n == 4);
            CHECK(matches_model(&t, 40));
            CHECK(line_at(t.b, t.n, 40, 0) == 40);
            CHECK(line_at(t.b, t.n, 40, 8) == 40);      /* last unit of the 2nd */
            CHECK(line_at(t.b, t.n, 40, 9) == -1);
        }
    }
}

static void
test_one_line_forms(void)
{
    table_t t;
    start_table(&t, 10);
    entry_one_line(&t, 10, 1);      /* +0: 10 */
    entry_one_line(&t, 11, 2);      /* +1: 11 */
    entry_one_line(&t, 12, 3);      /* +2: 13 */
    entry_one_line(&t, 12, 8);      /* +2: 15 */
    entry_one_line(&t, 10, 4);      /* +0: 15 */
    CHECK(matches_model(&t, 10));
    CHECK(line_at(t.b, t.n, 10, 0) == 10);
    CHECK(line_at(t.b, t.n, 10, 1) == 11 && line_at(t.b, t.n, 10, 2) == 11);
    CHECK(line_at(t.b, t.n, 10, 3) == 13 && line_at(t.b, t.n, 10, 5) == 13);
    CHECK(line_at(t.b, t.n, 10, 6) == 15 && line_at(t.b, t.n, 10, 17) == 15);
    CHECK(line_at(t.b, t.n, 10, 18) == -1);
}

static void
test_no_column_form(void)
{
    table_t t;
    start_table(&t, 1000);
    entry_no_column(&t, 2, 0);
    entry_no_column(&t, 3, 5);          /* 1005 */
    entry_no_column(&t, 1, -7);         /* 998 */
    entry_no_column(&t, 8, 31);         /* one byte: 62 */
    entry_no_column(&t, 1, 32);         /* two bytes: 64 */
    entry_no_column(&t, 1, -100000);    /* four bytes */
    entry_no_column(&t, 4, 100001);
    CHECK(matches_model(&t, 1000));
    CHECK(line_at(t.b, t.n, 1000, 0) == 1000);
    CHECK(line_at(t.b, t.n, 1000, 2) == 1005);
    CHECK(line_at(t.b, t.n, 1000, 5) == 998);
    CHECK(line_at(t.b, t.n, 1000, 6) == 1029);
    CHECK(line_at(t.b, t.n, 1000, 14) == 1061);
    CHECK(line_at(t.b, t.n, 1000, 15) == 1061 - 100000);
    CHECK(line_at(t.b, t.n, 1000, 16) == 1062);
    /* the bytes of +32: 0x80|13<<3|0 then svarint 64 = 0x40|0, 0x01 */
    start_table(&t, 1);
    entry_no_column(&t, 1, 32);
    CHECK(t.n == 3 && t.b[0] == 0xE8 && t.b[1] == 0x40 && t.b[2] == 0x01);
    CHECK(line_at(t.b, t.n, 1, 0) == 33);
}

static void
test_long_form(void)
{
    table_t t;
    start_table(&t, 7);
    entry_long(&t, 1, 0, 0, 0, 0);
    entry_long(&t, 2, 3, 2, 5, 70);             /* columns as multi-byte varints */
    entry_long(&t, 8, -2, 100000, 4000, 4001);
    entry_long(&t, 3, 1 << 20, 0, 1, 1);
    entry_long(&t, 1, -(1 << 20), 1, 0, 0);
    CHECK(matches_model(&t, 7));
    CHECK(line_at(t.b, t.n, 7, 0) == 7);
    CHECK(line_at(t.b, t.n, 7, 1) == 10);
    CHECK(line_at(t.b, t.n, 7, 3) == 8);
    CHECK(line_at(t.b, t.n, 7, 11) == 8 + (1 << 20));
    CHECK(line_at(t.b, t.n, 7, 14) == 8);
}

static void
test_no_location(void)
{
    table_t t;
    start_table(&t, 50);
    entry_one_line(&t, 11, 2);          /* 51 */
    entry_none(&t, 3);                  /* none; the running line stays 51 */
    entry_short(&t, 0, 1, 0);           /* 51 */
    entry_none(&t, 8);
    entry_one_line(&t, 11, 1);          /* 52 */
    CHECK(matches_model(&t, 50));
    CHECK(line_at(t.b, t.n, 50, 2) == -1 && line_at(t.b, t.n, 50, 4) == -1);
    CHECK(line_at(t.b, t.n, 50, 5) == 51);
    CHECK(line_at(t.b, t.n, 50, 6) == -1 && line_at(t.b, t.n, 50, 13) == -1);
    CHECK(line_at(t.b, t.n, 50, 14) == 52);
    CHECK(t.b[3] == (0x80 | 15 << 3 | 2));     /* the first none entry */
}

static void
test_empty_and_negative(void)
{
    uint8_t one[1] = {0x80};
    CHECK(line_at(one, 0, 1, 0) == -1);         /* empty table */
    table_t t;
    start_table(&t, 3);
    entry_short(&t, 0, 4, 0);
    CHECK(line_at(t.b, t.n, 3, -1) == -1);
    CHECK(line_at(t.b, t.n, 3, INT_MIN) == -1);
    CHECK(line_at(t.b, t.n, 3, INT_MAX) == -1);
    CHECK(line_at(t.b, t.n, 0, 0) == 0);        /* firstlineno 0 is a line */
}

/* A random valid table of up to `entries` entries starting at firstlineno;
 * `big` deltas one time in ten. */
static void
random_table(table_t *t, int firstlineno, int entries)
{
    start_table(t, firstlineno);
    for (int i = 0; i < entries && t->n + 16 < MAXT && t->units + 8 < MAXT; i++) {
        int len = 1 + (int)ctest_below(8);
        int kind = (int)ctest_below(16);
        int big = ctest_below(10) == 0;
        int delta = (int)ctest_below(big ? 200000 : 40) - (big ? 100000 : 20);
        if (kind <= 9)
            entry_short(t, kind, len, (uint8_t)ctest_below(128));
        else if (kind <= 12)
            entry_one_line(t, kind, len);
        else if (kind == 13)
            entry_no_column(t, len, delta);
        else if (kind == 14)
            entry_long(t, len, delta, (unsigned)ctest_below(big ? 1u << 24 : 5),
                       (unsigned)ctest_below(300), (unsigned)ctest_below(300));
        else
            entry_none(t, len);
    }
}

static void
test_random_tables_match_model(void)
{
    static table_t t;
    int all = 1;
    for (int round = 0; round < 300 && all; round++) {
        int firstlineno = (int)ctest_below(5000);
        random_table(&t, firstlineno, 1 + (int)ctest_below(60));
        if (!matches_model(&t, firstlineno)) {
            printf("  random table %d differs from the model\n", round);
            all = 0;
        }
    }
    CHECK(all);
}

/* Every prefix of a table: units in entries that are whole in the prefix
 * keep their line, every other unit gives -1, and nothing past the prefix
 * is read (exact-size buffers under ASan). */
static void
test_truncated_tables(void)
{
    static table_t t;
    int all = 1;
    for (int round = 0; round < 60 && all; round++) {
        int firstlineno = 1 + (int)ctest_below(300);
        random_table(&t, firstlineno, 12);
        for (size_t k = 0; k < t.n && all; k++) {
            for (int u = 0; u < t.units + 2; u++) {
                int whole = u < t.units && t.ends[t.unit_entry[u]] <= k;
                int want = whole ? t.lines[u] : -1;
                int got = line_at(t.b, k, firstlineno, u);
                if (got != want) {
                    printf("  prefix %zu of %zu, unit %d: got %d want %d\n", k, t.n, u, got, want);
                    all = 0;
                    break;
                }
            }
        }
    }
    CHECK(all);
}

static void
test_malformed(void)
{
    /* A column byte where an entry should start (high bit clear): -1 from
     * there on, the entries before it still decode. */
    const uint8_t cont[] = {0x80 | 11 << 3 | 1, 1, 2, 0x05, 0x80 | 11 << 3};
    CHECK(line_at(cont, sizeof(cont), 1, 0) == 2);
    CHECK(line_at(cont, sizeof(cont), 1, 1) == 2);
    CHECK(line_at(cont, sizeof(cont), 1, 2) == -1);
    CHECK(line_at(cont, sizeof(cont), 1, 3) == -1);
    /* A varint that never ends within the table. */
    const uint8_t open_varint[] = {0x80 | 13 << 3, 0x41, 0x41, 0x41};
    CHECK(line_at(open_varint, sizeof(open_varint), 1, 0) == -1);
    /* An overlong varint (more than 30 bits of chunks): -1, not a shift
     * past the width of unsigned. */
    const uint8_t overlong[] = {0x80 | 14 << 3, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x01,
                                0, 0, 0};
    CHECK(line_at(overlong, sizeof(overlong), 1, 0) == -1);
    /* Long form missing its last column varint. */
    const uint8_t short_long[] = {0x80 | 14 << 3, 2, 0, 1};
    CHECK(line_at(short_long, sizeof(short_long), 1, 0) == -1);
    const uint8_t whole_long[] = {0x80 | 14 << 3, 2, 0, 1, 1};
    CHECK(line_at(whole_long, sizeof(whole_long), 1, 0) == 2);
    /* One-line form with one of its two column bytes. */
    const uint8_t short_one[] = {0x80 | 12 << 3, 0};
    CHECK(line_at(short_one, sizeof(short_one), 1, 0) == -1);
    /* Short form without its column byte. */
    const uint8_t short_short[] = {0x80 | 3 << 3 | 7};
    CHECK(line_at(short_short, sizeof(short_short), 1, 0) == -1);
    /* No location needs no more bytes: fine at the very end. */
    const uint8_t none_last[] = {0x80 | 15 << 3 | 7};
    CHECK(line_at(none_last, sizeof(none_last), 1, 7) == -1);
    CHECK(line_at(none_last, sizeof(none_last), 1, 8) == -1);
}

/* A second decoder, written from locations.md with 64-bit lines and a
 * bounds check on every byte: the reference for random bytes. Sets
 * *wide if the running line ever leaves int. */
static int
reference_line(const uint8_t *t, size_t n, int first, int addr, int *wide)
{
    size_t i = 0;
    long long line = first;
    long long start = 0;
    *wide = 0;
    while (i < n) {
        uint8_t h = t[i++];
        if (!(h & 0x80))
            return -1;
        int code = (h >> 3) & 15, len = (h & 7) + 1, has = code != 15;
        int nvar = code == 14 ? 4 : code == 13 ? 1 : 0;
        size_t fixed = code <= 9 ? 1 : code <= 12 ? 2 : 0;
        for (int v = 0; v < nvar; v++) {
            unsigned long long u = 0;
            int shift = 0;
            for (;;) {
                if (i >= n || shift > 28)
                    return -1;
                uint8_t b = t[i++];
                u |= (unsigned long long)(b & 63) << shift;
                if (!(b & 64))
                    break;
                shift += 6;
            }
            if (v == 0)
                line += (u & 1) ? -(long long)(u >> 1) : (long long)(u >> 1);
        }
        if (code >= 10 && code <= 12)
            line += code - 10;
        if (i + fixed > n)
            return -1;
        i += fixed;
        if (line < INT_MIN || line > INT_MAX)
            *wide = 1;
        if (addr >= start && addr < start + len)
            return has ? (int)line : -1;
        start += len;
    }
    return -1;
}

/* Random bytes against the reference decoder; exact-size buffers, so a
 * read out of bounds is an ASan crash. Lines that would leave int are
 * skipped here (test_huge_deltas). */
static void
test_random_bytes(void)
{
    uint8_t buf[64];
    long same = 0, compared = 0;
    for (int round = 0; round < 200000; round++) {
        size_t n = (size_t)ctest_below(sizeof(buf) + 1);
        for (size_t i = 0; i < n; i++) {
            uint8_t b = (uint8_t)ctest_rand();
            if (ctest_below(3) == 0)
                b |= 0x80;              /* more entry starts than chance gives */
            buf[i] = b;
        }
        int addr = (int)ctest_below(80) - 4, first = (int)ctest_below(1000), wide;
        int want = reference_line(buf, n, first, addr, &wide);
        if (wide)
            continue;
        compared++;
        int got = line_at(buf, n, first, addr);
        if (got == want)
            same++;
        else if (compared - same <= 5)
            printf("  random bytes round %d, addr %d: got %d want %d\n", round, addr, got, want);
    }
    CHECK(compared > 100000);
    CHECK(same == compared);
}

/* Line deltas that add up past INT_MAX: a malformed table (the sampler
 * copies tables without the GIL, so it can meet garbage) must give -1 or
 * some line, with no undefined behaviour.
 * Fixed bug: `line += svarint(&c)` overflows int (UBSan: "signed integer
 * overflow: 2147483645 + 536870911"). A regression test: the bug is fixed. */
static void
test_huge_deltas(void)
{
    /* five no-column entries (code 13), each line += 2^29 - 1 */
    const uint8_t e[] = {0x80 | 13 << 3, 0x7E, 0x7F, 0x7F, 0x7F, 0x3F};
    uint8_t t[5 * sizeof(e)];
    for (size_t i = 0; i < 5; i++)
        memcpy(t + i * sizeof(e), e, sizeof(e));
    CHECK(line_at(t, sizeof(e), 1, 0) == 1 + (1 << 29) - 1);
    int line = line_at(t, sizeof(t), 1, 4);
    CHECK(line >= -1);
}

int
main(void)
{
    ctest_seed_from_env();
    test_short_forms();
    test_one_line_forms();
    test_no_column_form();
    test_long_form();
    test_no_location();
    test_empty_and_negative();
    test_random_tables_match_model();
    test_truncated_tables();
    test_malformed();
    test_random_bytes();
    test_huge_deltas();
    return CTEST_DONE();
}

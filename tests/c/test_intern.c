/* ctest-sources: intern.c */
/* ctest-ldflags: -Wl,--wrap=calloc -Wl,--wrap=realloc */
/* test_intern.c - unit tests for src/holter/_core/intern.c.
 *
 * Random keys (many repeated, some empty, some long) checked against a
 * plain model: ids dense from 0 in insertion order, stable, keys stored
 * byte for byte. The hard caps on ids and on key bytes: a put past them
 * fails and leaves the table as it was. The allocation sizes: the slot
 * array a power of two at least twice the ids, intern_memory() equal to
 * what the table holds, and no growth from looking keys up again. And
 * allocation failure, injected through the linker (--wrap calloc/realloc,
 * which intern.c uses for everything): a put that cannot allocate fails
 * cleanly and the table still answers for every key it had.
 */
#include "intern.h"
#include "ctest.h"

/* --- allocation failure injection -------------------------------------- */

void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);

static long fail_after = -1;    /* allocations to let through; -1: never fail */
static long allocations;        /* calloc/realloc calls seen */

void *
__wrap_calloc(size_t n, size_t size)
{
    allocations++;
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    return __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t size)
{
    allocations++;
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    return __real_realloc(p, size);
}

/* --- the model ----------------------------------------------------------- */

#define POOL 3000
#define MAXKEY 300

typedef struct key {
    uint8_t  b[MAXKEY];
    uint32_t len;
    uint32_t id;        /* INTERN_NONE until put */
} key_t_;

static key_t_ pool[POOL];

static void
make_pool(void)
{
    for (int i = 0; i < POOL; i++) {
        key_t_ *k = &pool[i];
        /* Distinct keys: the first two bytes are the index; the rest is
         * random, often from a tiny alphabet so that keys share bytes. */
        k->len = 2 + (uint32_t)ctest_below(i % 50 == 0 ? MAXKEY - 2 : 22);
        k->b[0] = (uint8_t)i;
        k->b[1] = (uint8_t)(i >> 8);
        for (uint32_t j = 2; j < k->len; j++)
            k->b[j] = (uint8_t)ctest_below(i % 3 == 0 ? 3 : 256);
        k->id = INTERN_NONE;
    }
    pool[7].len = 0;                    /* the empty key */
    pool[8].len = 1;                    /* a one-byte key: 0x08 */
    pool[12].len = 5;                   /* a prefix of another key ... */
    memcpy(pool[12].b, pool[11].b, 5);
    pool[11].len = 6;                   /* ... of this one */
    pool[12].b[0] = 11;                 /* same first bytes: only the length differs */
}

/* Is every key of the model in t with its id and bytes? */
static int
table_matches_model(const intern_t *t, uint32_t expect_count)
{
    int ok = t->count == expect_count;
    for (int i = 0; i < POOL; i++) {
        const key_t_ *k = &pool[i];
        uint32_t id = intern_get(t, k->b, k->len);
        if (id != k->id) {
            printf("  key %d: get %u, model %u\n", i, id, k->id);
            ok = 0;
            continue;
        }
        if (id == INTERN_NONE)
            continue;
        uint32_t len = 0;
        const void *stored = intern_key(t, id, &len);
        if (len != k->len || (len && memcmp(stored, k->b, len) != 0)) {
            printf("  key %d: stored bytes differ\n", i);
            ok = 0;
        }
    }
    return ok;
}

static size_t
expected_memory(const intern_t *t)
{
    return (size_t)t->nslots * sizeof(uint32_t) +
           (size_t)t->cap * (sizeof(uint64_t) + sizeof(size_t) + sizeof(uint32_t)) +
           t->arena_cap;
}

static int
sizes_are_sane(const intern_t *t)
{
    int ok = 1;
    ok &= t->nslots == 0 || (t->nslots & (t->nslots - 1)) == 0;     /* power of two */
    ok &= t->count == 0 || t->nslots >= 2 * t->count;                /* load <= 1/2 */
    ok &= t->cap >= t->count;
    ok &= t->arena_cap >= t->arena_len;
    ok &= t->arena_len <= t->max_bytes && t->count <= t->max_ids;
    ok &= intern_memory(t) == expected_memory(t);
    return ok;
}

static void
test_empty_table(void)
{
    intern_t t;
    intern_init(&t, 10, 100);
    CHECK(t.count == 0 && intern_memory(&t) == 0);
    CHECK(intern_get(&t, "a", 1) == INTERN_NONE);   /* no slots yet */
    intern_free(&t);
    intern_free(&t);                                 /* twice is fine */
    CHECK(t.max_ids == 10 && t.max_bytes == 100);    /* kept for reuse */
}

static void
test_random_keys_match_model(void)
{
    make_pool();
    intern_t t;
    intern_init(&t, UINT32_MAX - 1, (size_t)1 << 30);
    uint32_t next = 0;
    int ids_ok = 1, sizes_ok = 1;
    for (int op = 0; op < 200000; op++) {
        /* Zipf-ish: small indexes much more often, like hot frames. */
        int i = (int)ctest_below((uint64_t)ctest_below(POOL) + 1);
        key_t_ *k = &pool[i];
        uint32_t id = intern_put(&t, k->b, k->len);
        if (k->id == INTERN_NONE) {
            ids_ok &= id == next;               /* dense, in insertion order */
            k->id = next++;
        } else {
            ids_ok &= id == k->id;              /* stable */
        }
        if (op % 997 == 0)
            sizes_ok &= sizes_are_sane(&t);
    }
    CHECK(ids_ok);
    CHECK(sizes_ok && sizes_are_sane(&t));
    CHECK(next > 1000);
    CHECK(table_matches_model(&t, next));
    CHECK(intern_get(&t, "absent key that is long enough", 30) == INTERN_NONE);

    /* Looking up or re-putting existing keys never allocates. */
    size_t before = intern_memory(&t);
    long allocs = allocations;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < POOL; i++)
            if (pool[i].id != INTERN_NONE)
                CHECK(intern_put(&t, pool[i].b, pool[i].len) == pool[i].id);
    CHECK(intern_memory(&t) == before);
    CHECK(allocations == allocs);

    /* Memory is proportional to the keys: a few words per id and the key
     * bytes at most doubled, plus the first blocks. */
    size_t key_bytes = t.arena_len;
    CHECK(intern_memory(&t) <= 4 * (4 * (size_t)t.count + 1024) +
                                20 * (2 * (size_t)t.count + 512) + 2 * key_bytes + 4096);
    intern_free(&t);
    CHECK(intern_memory(&t) == 0 && t.count == 0);
}

static void
test_id_cap(void)
{
    intern_t t;
    intern_init(&t, 100, 1 << 20);
    uint32_t k;
    for (k = 0; k < 100; k++)
        CHECK(intern_put(&t, &k, sizeof(k)) == k);
    size_t mem = intern_memory(&t);
    uint32_t extra = 100;
    CHECK(intern_put(&t, &extra, sizeof(extra)) == INTERN_NONE);
    CHECK(intern_put(&t, &extra, sizeof(extra)) == INTERN_NONE);    /* still */
    CHECK(t.count == 100 && intern_memory(&t) == mem);
    uint32_t old = 42;
    CHECK(intern_put(&t, &old, sizeof(old)) == 42);     /* existing keys still work */
    CHECK(intern_get(&t, &extra, sizeof(extra)) == INTERN_NONE);
    intern_free(&t);

    intern_init(&t, 0, 100);                             /* a table that takes nothing */
    CHECK(intern_put(&t, "x", 1) == INTERN_NONE);
    CHECK(intern_memory(&t) == 0);
    intern_free(&t);
}

static void
test_byte_cap(void)
{
    intern_t t;
    intern_init(&t, 1000, 100);                          /* 100 bytes of keys */
    char key[40];
    memset(key, 'k', sizeof(key));
    key[0] = 'a';
    CHECK(intern_put(&t, key, 40) == 0);
    key[0] = 'b';
    CHECK(intern_put(&t, key, 40) == 1);                 /* 80 bytes */
    key[0] = 'c';
    CHECK(intern_put(&t, key, 40) == INTERN_NONE);       /* would be 120 */
    CHECK(intern_put(&t, key, 20) == 2);                 /* exactly 100: fits */
    CHECK(intern_put(&t, key, 1) == INTERN_NONE);        /* 101 */
    CHECK(intern_put(&t, "", 0) == 3);                   /* an empty key takes no bytes */
    CHECK(t.arena_len == 100 && t.count == 4);
    key[0] = 'a';
    CHECK(intern_put(&t, key, 40) == 0);                 /* existing: fine at the cap */
    CHECK(sizes_are_sane(&t));
    intern_free(&t);
}

/* Many distinct keys: the slots grow and rehash again and again; every id
 * still resolves and the sizes follow the rules. */
static void
test_growth(void)
{
    intern_t t;
    intern_init(&t, 1u << 20, (size_t)1 << 26);
    int ok = 1;
    uint32_t n = 300000;
    size_t bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key[2] = {i * 0x9E3779B97F4A7C15ULL, i};
        ok &= intern_put(&t, key, 8 + (i % 9)) == i;
        bytes += 8 + (i % 9);
    }
    CHECK(ok);
    CHECK(sizes_are_sane(&t));
    CHECK(t.nslots >= 2 * n && t.nslots <= 4 * n + 1024);
    CHECK(t.arena_len == bytes && t.arena_cap < 2 * bytes + 4096);
    for (uint32_t i = 0; i < n; i += 7) {
        uint64_t key[2] = {i * 0x9E3779B97F4A7C15ULL, i};
        uint32_t len;
        ok &= intern_get(&t, key, 8 + (i % 9)) == i;
        ok &= intern_key(&t, i, &len) != NULL && len == 8 + (i % 9);
    }
    CHECK(ok);
    intern_free(&t);
}

/* Every allocation a put makes, failed in turn: the put returns
 * INTERN_NONE, the table still answers for what it had, and once memory
 * is back the same key goes in with the next id. */
static void
test_allocation_failure(void)
{
    int ok = 1, failed_puts = 0;
    for (long k = 0; k < 40; k++) {
        intern_t t;
        intern_init(&t, 1u << 20, (size_t)1 << 24);
        uint32_t n = 0, i;
        fail_after = k;
        for (i = 0; i < 5000; i++) {
            uint64_t key[3] = {i, i * 31, ~(uint64_t)i};
            uint32_t id = intern_put(&t, key, (uint32_t)sizeof(key));
            if (id == INTERN_NONE)
                break;
            ok &= id == n;
            n++;
        }
        fail_after = -1;
        ok &= t.count == n;
        for (uint32_t j = 0; j < n; j++) {
            uint64_t key[3] = {j, j * 31, ~(uint64_t)j};
            ok &= intern_get(&t, key, (uint32_t)sizeof(key)) == j;
        }
        if (i < 5000) {
            failed_puts++;
            uint64_t key[3] = {i, i * 31, ~(uint64_t)i};
            ok &= intern_put(&t, key, (uint32_t)sizeof(key)) == n;   /* works again */
        }
        ok &= sizes_are_sane(&t);
        intern_free(&t);
    }
    fail_after = -1;
    CHECK(ok);
    CHECK(failed_puts >= 20);           /* the injection reached intern.c */
}

/* The empty key as the very first key: nothing allocated yet, so the copy
 * goes to a NULL arena with length 0.
 * Fixed bug: intern_put() calls memcpy(NULL, key, 0), undefined behaviour
 * (UBSan: "null pointer passed as argument 1"). A regression test: the bug is fixed. */
static void
test_empty_key_first(void)
{
    intern_t t;
    intern_init(&t, 10, 100);
    CHECK(intern_put(&t, "", 0) == 0);
    CHECK(intern_put(&t, "", 0) == 0);
    CHECK(intern_put(&t, "x", 1) == 1);
    uint32_t len = 99;
    intern_key(&t, 0, &len);
    CHECK(len == 0);
    intern_free(&t);
}

int
main(void)
{
    ctest_seed_from_env();
    test_empty_table();
    test_random_keys_match_model();
    test_id_cap();
    test_byte_cap();
    test_growth();
    test_allocation_failure();
    test_empty_key_first();
    return CTEST_DONE();
}

/* intern.c - byte strings to dense ids. See intern.h. */
#include "intern.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a, 64 bits: keys are short (a frame, a stack of ids). */
static uint64_t
hash_bytes(const void *key, uint32_t len)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ULL;
    for (uint32_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void
intern_init(intern_t *t, uint32_t max_ids, size_t max_bytes)
{
    memset(t, 0, sizeof(*t));
    t->max_ids = max_ids;
    t->max_bytes = max_bytes;
}

void
intern_free(intern_t *t)
{
    free(t->slots);
    free(t->hashes);
    free(t->offsets);
    free(t->lens);
    free(t->arena);
    intern_init(t, t->max_ids, t->max_bytes);
}

static uint32_t
find(const intern_t *t, const void *key, uint32_t len, uint64_t h, uint32_t *slot)
{
    uint32_t mask = t->nslots - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        uint32_t s = t->slots[i];
        if (s == 0) {
            *slot = i;
            return INTERN_NONE;
        }
        uint32_t id = s - 1;
        if (t->hashes[id] == h && t->lens[id] == len &&
            (len == 0 || memcmp(t->arena + t->offsets[id], key, len) == 0))
            return id;
    }
}

uint32_t
intern_get(const intern_t *t, const void *key, uint32_t len)
{
    if (t->nslots == 0)
        return INTERN_NONE;
    uint32_t slot;
    return find(t, key, len, hash_bytes(key, len), &slot);
}

/* Doubles the slot array and re-inserts every id. */
static int
grow_slots(intern_t *t)
{
    uint32_t n = t->nslots ? t->nslots * 2 : 1024;
    uint32_t *slots = calloc(n, sizeof(*slots));
    if (slots == NULL)
        return -1;
    for (uint32_t id = 0; id < t->count; id++) {
        uint32_t i = (uint32_t)t->hashes[id] & (n - 1);
        while (slots[i] != 0)
            i = (i + 1) & (n - 1);
        slots[i] = id + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
    return 0;
}

static int
grow_ids(intern_t *t)
{
    uint32_t n = t->cap ? t->cap * 2 : 512;
    uint64_t *h = realloc(t->hashes, n * sizeof(*h));
    if (h == NULL)
        return -1;
    t->hashes = h;
    size_t *o = realloc(t->offsets, n * sizeof(*o));
    if (o == NULL)
        return -1;
    t->offsets = o;
    uint32_t *l = realloc(t->lens, n * sizeof(*l));
    if (l == NULL)
        return -1;
    t->lens = l;
    t->cap = n;
    return 0;
}

static int
grow_arena(intern_t *t, size_t need)
{
    size_t n = t->arena_cap ? t->arena_cap : 4096;
    while (n < need)
        n *= 2;
    char *a = realloc(t->arena, n);
    if (a == NULL)
        return -1;
    t->arena = a;
    t->arena_cap = n;
    return 0;
}

uint32_t
intern_put(intern_t *t, const void *key, uint32_t len)
{
    uint64_t h = hash_bytes(key, len);
    uint32_t slot;
    if (t->nslots != 0) {
        uint32_t id = find(t, key, len, h, &slot);
        if (id != INTERN_NONE)
            return id;
    }
    if (t->count >= t->max_ids || t->arena_len + len > t->max_bytes)
        return INTERN_NONE;
    if ((t->count + 1) * 2 > t->nslots && grow_slots(t) < 0)
        return INTERN_NONE;
    if (t->count == t->cap && grow_ids(t) < 0)
        return INTERN_NONE;
    if (t->arena_len + len > t->arena_cap && grow_arena(t, t->arena_len + len) < 0)
        return INTERN_NONE;
    find(t, key, len, h, &slot);    /* the slots may have moved */
    uint32_t id = t->count++;
    if (len > 0)
        memcpy(t->arena + t->arena_len, key, len);
    t->offsets[id] = t->arena_len;
    t->lens[id] = len;
    t->hashes[id] = h;
    t->arena_len += len;
    t->slots[slot] = id + 1;
    return id;
}

const void *
intern_key(const intern_t *t, uint32_t id, uint32_t *len)
{
    *len = t->lens[id];
    return t->arena + t->offsets[id];
}

size_t
intern_memory(const intern_t *t)
{
    return (size_t)t->nslots * sizeof(uint32_t) +
           (size_t)t->cap * (sizeof(uint64_t) + sizeof(size_t) + sizeof(uint32_t)) +
           t->arena_cap;
}

/* intern.h - byte strings to dense ids: the sampler's frames and stacks.
 *
 * Keys are copied into an arena; ids are 0, 1, 2... in insertion order and
 * never change, so callers keep per-id arrays beside the table. Memory grows
 * with distinct keys, never with lookups, and stops at a hard cap: past it,
 * intern_put fails and the caller counts the loss. Plain C, one writer at a
 * time; readers need the writer's lock (profile.c holds it).
 */
#ifndef HOLTER_INTERN_H
#define HOLTER_INTERN_H

#include <stddef.h>
#include <stdint.h>

#define INTERN_NONE UINT32_MAX

typedef struct intern {
    uint32_t *slots;      /* owned: open addressing, id + 1, 0 = empty */
    uint32_t  nslots;     /* power of two, at least twice count */
    uint64_t *hashes;     /* owned: per id */
    size_t   *offsets;    /* owned: per id, start of the key in arena */
    uint32_t *lens;       /* owned: per id */
    uint32_t  count;      /* ids handed out */
    uint32_t  cap;        /* ids allocated in the per-id arrays */
    uint32_t  max_ids;    /* hard cap on count */
    char     *arena;      /* owned: the keys, back to back */
    size_t    arena_len;  /* bytes used */
    size_t    arena_cap;  /* bytes allocated */
    size_t    max_bytes;  /* hard cap on arena_len */
} intern_t;

/* Initialises an empty table. No allocation until the first put. */
void intern_init(intern_t *t, uint32_t max_ids, size_t max_bytes);

/* Frees everything; t can be initialised again. */
void intern_free(intern_t *t);

/* The id of key[0..len), adding it if new. INTERN_NONE if it is new and the
 * table is full or memory is out (the table is unchanged then). */
uint32_t intern_put(intern_t *t, const void *key, uint32_t len);

/* The id of key, or INTERN_NONE if absent. */
uint32_t intern_get(const intern_t *t, const void *key, uint32_t len);

/* The key of id (not NUL-terminated), its length in *len. */
const void *intern_key(const intern_t *t, uint32_t id, uint32_t *len);

/* Bytes allocated, for the memory report. */
size_t intern_memory(const intern_t *t);

#endif /* HOLTER_INTERN_H */

/* profile.c - the sampler's aggregate: interned frames and stacks, counts.
 * See profile.h. */
#define _POSIX_C_SOURCE 200809L
#include "profile.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STRINGS_MAX_BYTES (32u << 20)

static void
init_tables(profile_t *p)
{
    intern_init(&p->strings, 1u << 20, STRINGS_MAX_BYTES);
    intern_init(&p->funcs, PROFILE_MAX_FRAMES, (size_t)PROFILE_MAX_FRAMES * sizeof(prof_func_t));
    intern_init(&p->frames, PROFILE_MAX_FRAMES, (size_t)PROFILE_MAX_FRAMES * sizeof(prof_frame_t));
    intern_init(&p->stacks, PROFILE_MAX_STACKS, (size_t)PROFILE_MAX_STACKS * 64 * sizeof(uint32_t));
    /* One more than real threads may use: room for "other threads". */
    intern_init(&p->threads, PROFILE_MAX_THREADS + 1, (PROFILE_MAX_THREADS + 1) * sizeof(prof_thread_t));
    intern_init(&p->cells, PROFILE_MAX_STACKS * 2, (size_t)PROFILE_MAX_STACKS * 2 * sizeof(prof_cell_t));
}

uint64_t
profile_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

profile_t *
profile_new(void)
{
    profile_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->ring = calloc(PROFILE_RING, sizeof(prof_sample_t));
    if (p->ring == NULL || pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p->ring);
        free(p);
        return NULL;
    }
    init_tables(p);
    p->reset_ns = profile_now_ns();
    return p;
}

static void
free_tables(profile_t *p)
{
    intern_free(&p->strings);
    intern_free(&p->funcs);
    intern_free(&p->frames);
    intern_free(&p->stacks);
    intern_free(&p->threads);
    intern_free(&p->cells);
    free(p->cell_counts);
    p->cell_counts = NULL;
    p->cell_cap = 0;
}

void
profile_free(profile_t *p)
{
    if (p == NULL)
        return;
    free_tables(p);
    free(p->ring);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void
profile_reset_locked(profile_t *p)
{
    free_tables(p);
    init_tables(p);
    p->ring_pos = 0;
    p->recorded = 0;
    p->lost = 0;
    p->reset_ns = profile_now_ns();
}

void
profile_reset(profile_t *p)
{
    pthread_mutex_lock(&p->lock);
    profile_reset_locked(p);
    pthread_mutex_unlock(&p->lock);
}

uint32_t
profile_string(profile_t *p, const char *s, uint32_t len)
{
    return intern_put(&p->strings, s, len);
}

uint32_t
profile_func(profile_t *p, const prof_func_t *f)
{
    return intern_put(&p->funcs, f, sizeof(*f));
}

uint32_t
profile_frame(profile_t *p, uint32_t func, int32_t line)
{
    prof_frame_t f = {func, line};
    return intern_put(&p->frames, &f, sizeof(f));
}

int
profile_record(profile_t *p, const prof_thread_t *thread, const uint32_t *frames,
               uint32_t n, int idle, uint32_t weight, uint64_t t_ns)
{
    p->last_stack = intern_put(&p->stacks, frames, n * (uint32_t)sizeof(uint32_t));
    if (p->last_stack == INTERN_NONE) {
        p->lost++;
        return -1;
    }
    return profile_record_stack(p, thread, p->last_stack, idle, weight, t_ns);
}

uint32_t
profile_last_stack(const profile_t *p)
{
    return p->last_stack;
}

int
profile_record_stack(profile_t *p, const prof_thread_t *thread, uint32_t stack,
                     int idle, uint32_t weight, uint64_t t_ns)
{
    static const prof_thread_t other = {0, 0};      /* "other threads" */
    uint32_t tid = intern_get(&p->threads, thread, sizeof(*thread));
    if (tid == INTERN_NONE)
        tid = intern_put(&p->threads, p->threads.count < PROFILE_MAX_THREADS ? thread : &other,
                         sizeof(*thread));
    /* Room for one more count first, so that a failure leaves no cell
     * without its counter. */
    if (p->cells.count >= p->cell_cap) {
        uint32_t ncap = p->cell_cap ? p->cell_cap * 2 : 1024;
        uint64_t *nc = realloc(p->cell_counts, ncap * sizeof(uint64_t));
        if (nc == NULL) {
            p->lost += weight;
            return -1;
        }
        memset(nc + p->cell_cap, 0, (ncap - p->cell_cap) * sizeof(uint64_t));
        p->cell_counts = nc;
        p->cell_cap = ncap;
    }
    prof_cell_t key = {stack, (uint16_t)tid, (uint16_t)(idle & (PROF_IDLE | PROF_GIL))};
    uint32_t cell = tid == INTERN_NONE ? INTERN_NONE : intern_put(&p->cells, &key, sizeof(key));
    if (cell == INTERN_NONE) {
        p->lost += weight;
        return -1;
    }
    p->cell_counts[cell] += weight;
    for (uint32_t i = 0; i < weight; i++) {
        p->ring[p->ring_pos % PROFILE_RING] = (prof_sample_t){
            t_ns, stack, (uint16_t)tid, (uint8_t)((idle & PROF_IDLE) != 0), (uint8_t)((idle & PROF_GIL) != 0)};
        p->ring_pos++;
    }
    p->recorded += weight;
    return 0;
}

uint64_t
profile_stack_counts(const profile_t *p, double window_s, int thread, int with_idle,
                     uint64_t *counts, uint64_t *idle)
{
    uint32_t nstacks = p->stacks.count;
    memset(counts, 0, nstacks * sizeof(uint64_t));
    if (idle != NULL)
        memset(idle, 0, nstacks * sizeof(uint64_t));
    uint64_t total = 0;
    if (window_s <= 0) {
        for (uint32_t c = 0; c < p->cells.count; c++) {
            uint32_t len;
            const prof_cell_t *k = intern_key(&p->cells, c, &len);
            int is_idle = k->idle & PROF_IDLE;
            if ((thread >= 0 && k->thread != thread) || (is_idle && !with_idle))
                continue;
            counts[k->stack] += p->cell_counts[c];
            if (idle != NULL && is_idle)
                idle[k->stack] += p->cell_counts[c];
            total += p->cell_counts[c];
        }
        return total;
    }
    uint64_t now = profile_now_ns(), span = (uint64_t)(window_s * 1e9);
    uint64_t since = now > span ? now - span : 0;
    uint64_t kept = p->ring_pos < PROFILE_RING ? p->ring_pos : PROFILE_RING;
    for (uint64_t i = 0; i < kept; i++) {
        const prof_sample_t *s = &p->ring[(p->ring_pos - 1 - i) % PROFILE_RING];
        if (s->t_ns < since)
            break;
        if ((thread >= 0 && s->thread != thread) || (s->idle && !with_idle))
            continue;
        counts[s->stack]++;
        if (idle != NULL && s->idle)
            idle[s->stack]++;
        total++;
    }
    return total;
}

int
profile_thread_index(const profile_t *p, uint64_t id)
{
    /* The newest thread with that id: the C library reuses the ids of
     * threads that ended. */
    for (uint32_t i = p->threads.count; i-- > 0;)
        if (profile_thread_at(p, i)->id == id)
            return (int)i;
    return -1;
}

const uint32_t *
profile_stack_frames(const profile_t *p, uint32_t stack, uint32_t *n)
{
    uint32_t len;
    const uint32_t *f = intern_key(&p->stacks, stack, &len);
    *n = len / (uint32_t)sizeof(uint32_t);
    return f;
}

const prof_frame_t *
profile_frame_at(const profile_t *p, uint32_t frame)
{
    uint32_t len;
    return intern_key(&p->frames, frame, &len);
}

const prof_func_t *
profile_func_at(const profile_t *p, uint32_t func)
{
    uint32_t len;
    return intern_key(&p->funcs, func, &len);
}

const char *
profile_string_at(const profile_t *p, uint32_t id, uint32_t *len)
{
    return intern_key(&p->strings, id, len);
}

const prof_thread_t *
profile_thread_at(const profile_t *p, uint32_t thread)
{
    uint32_t len;
    return intern_key(&p->threads, thread, &len);
}

/* A full table: per-id arrays, slots (at most 4x the ids, power of two),
 * and an arena that doubles, so up to twice its byte cap. */
static size_t
table_cap(const intern_t *t)
{
    return (size_t)t->max_ids * (sizeof(uint64_t) + sizeof(size_t) + sizeof(uint32_t) +
                                 4 * sizeof(uint32_t)) + 2 * t->max_bytes;
}

size_t
profile_memory_cap(const profile_t *p)
{
    return table_cap(&p->strings) + table_cap(&p->funcs) + table_cap(&p->frames) +
           table_cap(&p->stacks) + table_cap(&p->threads) + table_cap(&p->cells) +
           (size_t)p->cells.max_ids * 2 * sizeof(uint64_t) + PROFILE_RING * sizeof(prof_sample_t);
}

size_t
profile_memory(const profile_t *p)
{
    return intern_memory(&p->strings) + intern_memory(&p->funcs) + intern_memory(&p->frames) +
           intern_memory(&p->stacks) + intern_memory(&p->threads) + intern_memory(&p->cells) +
           (size_t)p->cell_cap * sizeof(uint64_t) + PROFILE_RING * sizeof(prof_sample_t);
}

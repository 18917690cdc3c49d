/* profile.h - the sampler's aggregate: interned frames and stacks, counts.
 *
 * Memory grows with distinct functions, frames and stacks, never with the
 * number of samples: each sample adds one to a count, and one 16-byte entry
 * to a fixed ring that serves time windows ("last 10 s"). Every table has a
 * hard cap (PROFILE_MAX_*); a sample that would pass one is counted as lost.
 * Plain C. The sampler thread writes and the HTTP threads read, both under
 * `lock`.
 */
#ifndef HOLTER_PROFILE_H
#define HOLTER_PROFILE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "intern.h"

#define PROFILE_MAX_STACK   256         /* frames kept per stack (innermost) */
#define PROFILE_MAX_STACKS  (1u << 18)  /* distinct stacks */
#define PROFILE_MAX_FRAMES  (1u << 18)  /* distinct (function, line) */
#define PROFILE_MAX_THREADS 4096        /* distinct threads */
#define PROFILE_RING        (1u << 20)  /* recent samples kept for windows */

typedef struct prof_func {
    uint32_t name;          /* string id: qualified name */
    uint32_t file;          /* string id: co_filename */
    uint32_t module;        /* string id: module name derived from the file */
    int32_t  firstlineno;   /* co_firstlineno */
} prof_func_t;

typedef struct prof_frame {
    uint32_t func;          /* func id */
    int32_t  line;          /* -1 if unknown */
} prof_frame_t;

typedef struct prof_thread {
    uint64_t id;            /* threading.get_ident() */
    uint64_t native_id;     /* kernel tid */
} prof_thread_t;

/* One count in the cells table: a stack, on a thread, idle or not. */
typedef struct prof_cell {
    uint32_t stack;         /* stack id */
    uint16_t thread;        /* thread id in the threads table */
    uint16_t idle;          /* PROF_* flags */
} prof_cell_t;

typedef struct prof_sample {
    uint64_t t_ns;          /* CLOCK_MONOTONIC */
    uint32_t stack;         /* stack id */
    uint16_t thread;        /* thread id in the threads table */
    uint8_t  idle;          /* 1: the thread used no CPU since the last round */
    uint8_t  gil;           /* 1: it held the GIL (0 also where that cannot be known) */
} prof_sample_t;

typedef struct profile {
    pthread_mutex_t lock;       /* guards everything below */
    intern_t strings;           /* UTF-8 names and paths */
    intern_t funcs;             /* key: prof_func_t */
    intern_t frames;            /* key: prof_frame_t */
    intern_t stacks;            /* key: frame ids, root first */
    intern_t threads;           /* key: prof_thread_t */
    intern_t cells;             /* key: prof_cell_t */
    uint64_t *cell_counts;      /* owned: per cell id */
    uint32_t cell_cap;          /* entries in cell_counts */
    prof_sample_t *ring;        /* owned: PROFILE_RING entries */
    uint64_t ring_pos;          /* samples ever written to the ring */
    uint64_t recorded;          /* thread samples counted since reset */
    uint64_t lost;              /* thread samples lost to a full table */
    uint64_t reset_ns;          /* CLOCK_MONOTONIC of the last reset */
    uint32_t last_stack;        /* stack id of the last profile_record() */
} profile_t;

/* Allocates an empty profile; NULL if out of memory. */
profile_t *profile_new(void);

/* Frees it. NULL is fine. */
void profile_free(profile_t *p);

/* Empties every table (ids start again). Takes the lock; the _locked
 * variant wants it held. */
void profile_reset(profile_t *p);
void profile_reset_locked(profile_t *p);

/* Monotonic nanoseconds. */
uint64_t profile_now_ns(void);

/* Writers: call with p->lock held. Each returns INTERN_NONE when full. */
uint32_t profile_string(profile_t *p, const char *s, uint32_t len);
uint32_t profile_func(profile_t *p, const prof_func_t *f);
uint32_t profile_frame(profile_t *p, uint32_t func, int32_t line);

/* Sample flags, passed as `idle`: */
#define PROF_IDLE 1             /* the thread used no CPU since the last round */
#define PROF_GIL  2             /* the thread held the GIL (where it can be known) */

/* Counts `weight` samples of a thread whose stack is frames[0..n), root
 * first; `idle` holds PROF_* flags. Returns 0, or -1 (counted in p->lost) if a table is full. Lock
 * held. A thread past PROFILE_MAX_THREADS is counted as thread {0, 0},
 * "other threads", so a thread-per-request server keeps being profiled. */
int profile_record(profile_t *p, const prof_thread_t *thread, const uint32_t *frames,
                   uint32_t n, int idle, uint32_t weight, uint64_t t_ns);

/* The stack id profile_record() used last; INTERN_NONE if it failed. */
uint32_t profile_last_stack(const profile_t *p);

/* Counts one more sample of an already interned stack (the sampler's
 * shortcut for a thread that has not run since its last sample). */
int profile_record_stack(profile_t *p, const prof_thread_t *thread, uint32_t stack,
                         int idle, uint32_t weight, uint64_t t_ns);

/* Readers: call with p->lock held. */

/* Counts per stack id over the selection: the last `window_s` seconds (0:
 * since reset), one thread index or -1 for all, and idle samples kept or
 * not. `counts` and `idle` (may be NULL) have p->stacks.count entries and
 * are filled (not added to). Returns the total. */
uint64_t profile_stack_counts(const profile_t *p, double window_s, int thread, int with_idle,
                              uint64_t *counts, uint64_t *idle);

/* The index of the newest thread with id `id` (threading.get_ident()), or
 * -1. */
int profile_thread_index(const profile_t *p, uint64_t id);

/* Accessors for ids handed out by the writers. */
const uint32_t *profile_stack_frames(const profile_t *p, uint32_t stack, uint32_t *n);
const prof_frame_t *profile_frame_at(const profile_t *p, uint32_t frame);
const prof_func_t *profile_func_at(const profile_t *p, uint32_t func);
const char *profile_string_at(const profile_t *p, uint32_t id, uint32_t *len);
const prof_thread_t *profile_thread_at(const profile_t *p, uint32_t thread);

/* Bytes allocated by the tables and the ring. */
size_t profile_memory(const profile_t *p);

/* The most profile_memory() can reach with every table full. */
size_t profile_memory_cap(const profile_t *p);

#endif /* HOLTER_PROFILE_H */

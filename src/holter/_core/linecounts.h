/* linecounts.h - exact per-line hit counters and recent-activity rings.
 *
 * One entry per traced source file, holding a hit counter per line and a
 * ring of the file's last LC_RECENT line events. Plain C, no Python.h.
 *
 * Concurrency: the hooks are the only writers and run with the GIL held, so
 * there is one writer at a time and counts are exact. The HTTP thread reads
 * concurrently. Counters and the ring are read and written with relaxed
 * atomics (plain moves on x86-64: free on the hot path, no torn values).
 * `lock` guards what can move: the files array and each file's hits array,
 * which a writer may grow; the hot path takes it only to grow.
 */
#ifndef HOLTER_LINECOUNTS_H
#define HOLTER_LINECOUNTS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define LC_RECENT 1024          /* line events kept per file (a power of 2) */
#define LC_LEVELS 11            /* recency levels: windows of 2^0 .. 2^10 events */
#define LC_MAX_LINE (1u << 22)  /* line numbers above this are dropped */

typedef struct lc_file {
    uint32_t id;                /* index in linecounts_t.files, used in URLs */
    char    *path;              /* owned, NUL-terminated, bytes as the OS gave them */
    char    *source;            /* owned, UTF-8 text, NULL if unavailable */
    size_t   source_len;        /* bytes in source */
    uint32_t nlines;            /* lines in source (0 without source) */
    uint64_t *hits;             /* owned, `cap` counters indexed by line number */
    uint32_t cap;               /* entries in hits; grows under lock */
    uint64_t events;            /* line events so far; ring head is events % LC_RECENT */
    uint32_t recent[LC_RECENT]; /* ring of the last line numbers hit */
} lc_file_t;

typedef struct linecounts {
    pthread_mutex_t lock;       /* guards files/nfiles/filescap and every hits array's address */
    lc_file_t **files;          /* owned array of owned entries, never shrinks */
    uint32_t nfiles;            /* entries in use */
    uint32_t filescap;          /* entries allocated */
    uint32_t max_files;         /* hard cap: add fails beyond it */
    uint64_t dropped;           /* events not counted (line too large, no memory) */
} linecounts_t;

/* One line's recent activity, as computed by linecounts_recent(). */
typedef struct lc_recent_line {
    uint32_t line;
    float    level[LC_LEVELS];  /* normalised to [0, 1]; level 0 = most recent */
} lc_recent_line_t;

/* Allocates an empty table. Returns NULL if out of memory. */
linecounts_t *linecounts_new(uint32_t max_files);

/* Frees the table and all its files. NULL is fine. No reader may be active. */
void linecounts_free(linecounts_t *t);

/* Adds a file. `source` (may be NULL) is copied. Returns the new entry, or
 * NULL if out of memory or the table is full. */
lc_file_t *linecounts_add(linecounts_t *t, const char *path,
                          const char *source, size_t source_len);

/* The entry for `id`, or NULL. Entries never move or die while t lives. */
lc_file_t *linecounts_get(linecounts_t *t, uint32_t id);

/* Slow path of linecounts_hit: grows f->hits to hold `line` and counts it.
 * Returns -1 (and counts a drop) if the line is too large or memory is out. */
int linecounts_hit_grow(linecounts_t *t, lc_file_t *f, uint32_t line);

/* Counts one execution of `line` in `f`. The hot path: two stores. */
static inline int
linecounts_hit(linecounts_t *t, lc_file_t *f, uint32_t line)
{
    if (line >= f->cap)
        return linecounts_hit_grow(t, f, line);
    uint64_t *h = &f->hits[line];
    __atomic_store_n(h, __atomic_load_n(h, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
    uint64_t ev = f->events;
    __atomic_store_n(&f->recent[ev & (LC_RECENT - 1)], line, __ATOMIC_RELAXED);
    __atomic_store_n(&f->events, ev + 1, __ATOMIC_RELAXED);
    return 0;
}

/* Line events so far in f (any thread may call). */
static inline uint64_t
linecounts_events(const lc_file_t *f)
{
    return __atomic_load_n(&f->events, __ATOMIC_RELAXED);
}

/* Copies f's counters into `out` (entries [0, n) of the line index) under
 * the lock. `*n` is in: capacity of out; out: entries written (the file's
 * counter capacity, clipped). Returns the sum of all hits. */
uint64_t linecounts_copy_hits(linecounts_t *t, lc_file_t *f, uint64_t *out, uint32_t *n);

/* Sum of f's counters, read under the lock. */
uint64_t linecounts_sum_hits(linecounts_t *t, lc_file_t *f);

/* Computes heartrate's recency bars from a copy of f's ring: for each level
 * c the window is the last 2^c events, ratio(line) = hits in window /
 * min(2^c, kept) * (c+1) / LC_LEVELS, then every value is divided by the
 * largest. Fills out[0..k) sorted by line and returns k (<= LC_RECENT). */
uint32_t linecounts_recent(const lc_file_t *f, lc_recent_line_t *out);

/* Sum of events over all files, and the file count: a cheap version stamp
 * for the file list. */
uint64_t linecounts_total_events(linecounts_t *t, uint32_t *nfiles);

/* Re-creates the lock in a forked child, where it may have been held by a
 * thread that no longer exists. */
void linecounts_after_fork_child(linecounts_t *t);

#endif /* HOLTER_LINECOUNTS_H */

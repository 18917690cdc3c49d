/* linecounts.c - exact per-line hit counters and recent-activity rings.
 *
 * See linecounts.h for the concurrency rules. The workload: a handful to a
 * few thousand files, millions of hits a second from the hooks, a few reads
 * a second from the HTTP thread.
 */
#define _POSIX_C_SOURCE 200809L  /* strdup */
#include "linecounts.h"

#include <stdlib.h>
#include <string.h>

/* Allocates an empty table. Returns NULL if out of memory. */
linecounts_t *
linecounts_new(uint32_t max_files)
{
    linecounts_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return NULL;
    }
    t->max_files = max_files;
    return t;
}

/* Frees the table and all its files. NULL is fine. */
void
linecounts_free(linecounts_t *t)
{
    if (t == NULL)
        return;
    for (uint32_t i = 0; i < t->nfiles; i++) {
        lc_file_t *f = t->files[i];
        free(f->path);
        free(f->source);
        free(f->hits);
        free(f);
    }
    free(t->files);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* Lines as the compiler counts them: "\n", "\r\n" and a lone "\r" each
 * end one, and a last line needs no terminator. */
static uint32_t
count_lines(const char *s, size_t n)
{
    uint32_t lines = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n')))
            lines++;
    return lines + (n > 0 && s[n - 1] != '\n' && s[n - 1] != '\r');
}

/* Adds a file; copies path and source. Returns NULL if out of memory or the
 * table is full, leaving the table as it was. */
lc_file_t *
linecounts_add(linecounts_t *t, const char *path, const char *source, size_t source_len)
{
    lc_file_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->path = strdup(path);
    if (source != NULL) {
        f->source = malloc(source_len + 1);
        if (f->source != NULL) {
            memcpy(f->source, source, source_len);
            f->source[source_len] = '\0';
            f->source_len = source_len;
            f->nlines = count_lines(source, source_len);
        }
    }
    f->cap = f->nlines + 2;             /* line numbers start at 1 */
    f->hits = calloc(f->cap, sizeof(uint64_t));
    if (f->path == NULL || (source != NULL && f->source == NULL) || f->hits == NULL)
        goto fail;

    pthread_mutex_lock(&t->lock);
    if (t->nfiles >= t->max_files) {
        pthread_mutex_unlock(&t->lock);
        goto fail;
    }
    if (t->nfiles == t->filescap) {
        uint32_t ncap = t->filescap ? t->filescap * 2 : 16;
        lc_file_t **nf = realloc(t->files, ncap * sizeof(*nf));
        if (nf == NULL) {
            pthread_mutex_unlock(&t->lock);
            goto fail;
        }
        t->files = nf;
        t->filescap = ncap;
    }
    f->id = t->nfiles;
    t->files[t->nfiles] = f;
    __atomic_store_n(&t->nfiles, t->nfiles + 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&t->lock);
    return f;

fail:
    free(f->path);
    free(f->source);
    free(f->hits);
    free(f);
    return NULL;
}

/* The entry for `id`, or NULL if there is none. */
lc_file_t *
linecounts_get(linecounts_t *t, uint32_t id)
{
    lc_file_t *f = NULL;
    pthread_mutex_lock(&t->lock);
    if (id < t->nfiles)
        f = t->files[id];
    pthread_mutex_unlock(&t->lock);
    return f;
}

/* Grows f->hits to hold `line` (doubling, at least line+1) and counts the
 * hit. Returns -1 and counts a drop if the line is too large or memory is
 * out; the counters are unchanged then. */
int
linecounts_hit_grow(linecounts_t *t, lc_file_t *f, uint32_t line)
{
    if (line >= LC_MAX_LINE) {
        t->dropped++;
        return -1;
    }
    uint32_t ncap = f->cap * 2;
    if (ncap <= line)
        ncap = line + 1;
    if (ncap > LC_MAX_LINE)
        ncap = LC_MAX_LINE;
    pthread_mutex_lock(&t->lock);
    uint64_t *nh = realloc(f->hits, (size_t)ncap * sizeof(uint64_t));
    if (nh == NULL) {
        pthread_mutex_unlock(&t->lock);
        t->dropped++;
        return -1;
    }
    memset(nh + f->cap, 0, (size_t)(ncap - f->cap) * sizeof(uint64_t));
    f->hits = nh;
    __atomic_store_n(&f->cap, ncap, __ATOMIC_RELAXED);   /* read unlocked by routes.c */
    pthread_mutex_unlock(&t->lock);
    return linecounts_hit(t, f, line);
}

/* Copies f's counters into out[0..*n) under the lock; returns their sum. */
uint64_t
linecounts_copy_hits(linecounts_t *t, lc_file_t *f, uint64_t *out, uint32_t *n)
{
    uint64_t sum = 0;
    pthread_mutex_lock(&t->lock);
    uint32_t k = f->cap < *n ? f->cap : *n;
    for (uint32_t i = 0; i < k; i++) {
        out[i] = __atomic_load_n(&f->hits[i], __ATOMIC_RELAXED);
        sum += out[i];
    }
    pthread_mutex_unlock(&t->lock);
    *n = k;
    return sum;
}

/* Sum of f's counters, read under the lock. */
uint64_t
linecounts_sum_hits(linecounts_t *t, lc_file_t *f)
{
    uint64_t sum = 0;
    pthread_mutex_lock(&t->lock);
    for (uint32_t i = 0; i < f->cap; i++)
        sum += __atomic_load_n(&f->hits[i], __ATOMIC_RELAXED);
    pthread_mutex_unlock(&t->lock);
    return sum;
}

static int
cmp_recent_line(const void *a, const void *b)
{
    uint32_t x = ((const lc_recent_line_t *)a)->line;
    uint32_t y = ((const lc_recent_line_t *)b)->line;
    return (x > y) - (x < y);
}

/* Heartrate's recency bars over a copy of f's ring; see linecounts.h. */
uint32_t
linecounts_recent(const lc_file_t *f, lc_recent_line_t *out)
{
    uint32_t ring[LC_RECENT];               /* ring[0] is the newest event */
    uint64_t events = linecounts_events(f);
    uint32_t kept = events < LC_RECENT ? (uint32_t)events : LC_RECENT;
    for (uint32_t i = 0; i < kept; i++)
        ring[i] = __atomic_load_n(&f->recent[(events - 1 - i) & (LC_RECENT - 1)],
                                  __ATOMIC_RELAXED);

    /* The distinct lines, sorted, become the rows of out. */
    for (uint32_t i = 0; i < kept; i++)
        out[i].line = ring[i];
    qsort(out, kept, sizeof(*out), cmp_recent_line);
    uint32_t k = 0;
    for (uint32_t i = 0; i < kept; i++)
        if (k == 0 || out[k - 1].line != out[i].line)
            out[k++].line = out[i].line;
    for (uint32_t i = 0; i < k; i++)
        memset(out[i].level, 0, sizeof(out[i].level));

    /* One pass from newest to oldest. After n events, every level whose
     * window min(2^c, kept) equals n takes the running counts. */
    uint32_t counts[LC_RECENT] = {0};       /* per row of out */
    uint32_t seen[LC_RECENT];               /* rows with a nonzero count */
    uint32_t nseen = 0;
    int c = 0;
    float maxv = 0.0f;
    for (uint32_t i = 0; i < kept; i++) {
        lc_recent_line_t key = { .line = ring[i] };
        lc_recent_line_t *row = bsearch(&key, out, k, sizeof(*out), cmp_recent_line);
        uint32_t r = (uint32_t)(row - out);
        if (counts[r]++ == 0)
            seen[nseen++] = r;
        uint32_t n = i + 1;
        while (c < LC_LEVELS && ((1u << c) == n || (n == kept && (1u << c) > kept))) {
            float scale = (float)(c + 1) / (float)LC_LEVELS / (float)n;
            for (uint32_t s = 0; s < nseen; s++) {
                float v = (float)counts[seen[s]] * scale;
                out[seen[s]].level[c] = v;
                if (v > maxv)
                    maxv = v;
            }
            c++;
        }
    }
    if (maxv > 0.0f)
        for (uint32_t i = 0; i < k; i++)
            for (int l = 0; l < LC_LEVELS; l++)
                out[i].level[l] /= maxv;
    return k;
}

/* Sum of events over all files (a version stamp for the file list). */
uint64_t
linecounts_total_events(linecounts_t *t, uint32_t *nfiles)
{
    uint64_t sum = 0;
    pthread_mutex_lock(&t->lock);
    for (uint32_t i = 0; i < t->nfiles; i++)
        sum += linecounts_events(t->files[i]);
    *nfiles = t->nfiles;
    pthread_mutex_unlock(&t->lock);
    return sum;
}

/* Re-creates the lock in a forked child. */
void
linecounts_after_fork_child(linecounts_t *t)
{
    pthread_mutex_init(&t->lock, NULL);
}

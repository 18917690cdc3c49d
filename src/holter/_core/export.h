/* export.h - the sampler's profile in the formats people and tools read.
 *
 * Each function takes the profile's lock, builds one malloc'd buffer and
 * returns it (NULL if out of memory or too large). Formats are documented
 * in docs/http-api.md; the flame tree is read by static/flame.js. Plain C.
 */
#ifndef HOLTER_EXPORT_H
#define HOLTER_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "profile.h"

typedef struct export_query {
    double      window_s;    /* seconds back from now; 0: since reset */
    int         has_thread;  /* keep only thread_id */
    uint64_t    thread_id;   /* threading.get_ident() of that thread */
    int         with_idle;   /* keep idle samples (wall mode) */
    uint64_t    min;         /* flame: fold nodes with fewer samples; 0: total/5000 */
    int         limit;       /* top: rows */
    const char *file;        /* lines: the file */
    double      interval_s;  /* the sampling interval (weights, granularity) */
    double      elapsed_s;   /* seconds since start or reset */
    const char *mode;        /* "wall" or "cpu" */
    int         gil_known;   /* this CPython tells who holds the GIL (3.13+) */
} export_query_t;

enum export_format {
    EXPORT_FLAME, EXPORT_TOP, EXPORT_THREADS, EXPORT_LINES,
    EXPORT_FOLDED, EXPORT_SPEEDSCOPE, EXPORT_PPROF, EXPORT_LIVEPROFILER, EXPORT_NYLAS,
};

/* Parses a format name ("flame", "folded", ...); -1 if unknown. */
int export_format_from_name(const char *name);

/* The content type of a format's output. */
const char *export_content_type(int format);

/* Builds the export. NULL: out of memory, too large, or no profile. */
char *export_profile(profile_t *p, int format, const export_query_t *q, size_t *len);

/* The number of samples recorded: a version stamp for ETags. */
uint64_t export_version(profile_t *p);

#endif /* HOLTER_EXPORT_H */

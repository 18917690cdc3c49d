/* jsonbuf.h - a small streaming JSON writer with a hard size cap.
 *
 * Every HTTP route of the server builds its answer with one of these: a few
 * hundred bytes for /status, up to some megabytes for a flame graph.  Plain
 * C, no Python.h: it runs on the server thread.
 *
 * Modelled on curl's dynbuf.  The one failure rule: on any failure
 * (allocation failure, cap exceeded, nesting too deep, misuse such as a
 * value without a key inside an object) the buffer is freed and marked
 * failed; every later call is a no-op returning -1, and jsonbuf_take()
 * returns NULL.  So a caller can write a whole document and check once, at
 * the end:
 *
 *     jsonbuf_t b;
 *     jsonbuf_init(&b, 1 << 20);
 *     jsonbuf_begin_object(&b);
 *     jsonbuf_key(&b, "file");  jsonbuf_cstr(&b, path);
 *     jsonbuf_key(&b, "hits");  jsonbuf_uint(&b, hits);
 *     jsonbuf_end_object(&b);
 *     char *json = jsonbuf_take(&b, &len);    NULL: answer 500
 *
 * Commas are automatic.  Strings are escaped and their UTF-8 validated, so
 * the output is always valid UTF-8 JSON whatever bytes come in (file paths
 * on Linux can be any bytes); '<', '>' and '&' are escaped too, so a
 * response can never be sniffed as HTML.
 *
 * A buffer holds exactly one top-level value; writing a second one is
 * misuse.  At most JSONBUF_MAX_DEPTH - 1 containers can be open at once.
 */
#ifndef HOLTER_JSONBUF_H
#define HOLTER_JSONBUF_H

#include <stddef.h>
#include <stdint.h>

#define JSONBUF_MAX_DEPTH 32

typedef struct jsonbuf {
    char  *data;      /* owned, NUL-terminated while not failed */
    size_t len;       /* bytes used, excluding the NUL */
    size_t cap;       /* bytes allocated */
    size_t max;       /* hard cap on len */
    int    failed;    /* sticky: set on the first failure */
    int    depth;     /* current nesting depth: open containers */
    unsigned char count[JSONBUF_MAX_DEPTH]; /* per level: 0 = nothing written
                                               yet, 1 = something (comma
                                               needed), 2 = key just written
                                               (value follows, no comma) */
    uint32_t objects; /* bit d set: level d is an object (it takes keys) */
} jsonbuf_t;

/* All return 0 on success, -1 on failure (see the rule above). */
void   jsonbuf_init(jsonbuf_t *b, size_t max);     /* no allocation yet */
void   jsonbuf_free(jsonbuf_t *b);                 /* NULL-safe, leaves b re-initialisable */
int    jsonbuf_begin_object(jsonbuf_t *b);
int    jsonbuf_end_object(jsonbuf_t *b);
int    jsonbuf_begin_array(jsonbuf_t *b);
int    jsonbuf_end_array(jsonbuf_t *b);
int    jsonbuf_key(jsonbuf_t *b, const char *key);           /* NUL-terminated, escaped like a string */
int    jsonbuf_str(jsonbuf_t *b, const char *s, size_t n);   /* a JSON string value, any bytes */
int    jsonbuf_cstr(jsonbuf_t *b, const char *s);            /* NUL-terminated; NULL writes null */
int    jsonbuf_int(jsonbuf_t *b, long long v);
int    jsonbuf_uint(jsonbuf_t *b, unsigned long long v);
int    jsonbuf_double(jsonbuf_t *b, double v, int decimals); /* fixed decimals (0..9), trailing zeros trimmed; NaN/Inf -> null */
int    jsonbuf_bool(jsonbuf_t *b, int v);
int    jsonbuf_null(jsonbuf_t *b);
int    jsonbuf_raw(jsonbuf_t *b, const char *s, size_t n);   /* trusted, already-valid JSON value (comma logic applies) */
char  *jsonbuf_take(jsonbuf_t *b, size_t *len);             /* malloc'd, NUL-terminated; b is reset; NULL if failed or unfinished */

#endif /* HOLTER_JSONBUF_H */

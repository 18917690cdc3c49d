/* routes.h - what each URL answers: JSON built from the C tables.
 *
 * Runs on the HTTP threads: no Python calls, no GIL. The formats are
 * documented in docs/http-api.md and read by static/app.js.
 */
#ifndef HOLTER_ROUTES_H
#define HOLTER_ROUTES_H

#include <stddef.h>

typedef struct reply {
    int         status;        /* HTTP status */
    char       *body;          /* owned (malloc'd), or NULL */
    const char *static_body;   /* borrowed (an asset or a literal), used if body is NULL */
    size_t      len;           /* bytes in the body */
    const char *content_type;  /* borrowed literal or asset field */
    char        etag[96];      /* quoted strong ETag, or "" for none */
} reply_t;

/* Looks up a query parameter; NULL if absent. */
typedef const char *(*routes_param_fn)(void *ctx, const char *key);

/* Fills `r` for `method` ("GET", "HEAD" or "POST") on `path`, with query
 * parameters from param(ctx, key). `if_none_match` may be NULL. An unchanged
 * resource gets status 304 and no body, decided before any body is built.
 * `action` is the X-Holter-Action header (NULL if absent): the one POST
 * route wants it, so that no plain form on another site can trigger it. */
void routes_dispatch(const char *method, const char *path, routes_param_fn param, void *ctx,
                     const char *if_none_match, const char *action, reply_t *r);

/* Sets the reply to a JSON error {"error": msg} with `status`. */
void routes_error(reply_t *r, int status, const char *msg);

/* Sets the boot stamp that prefixes every ETag, so a new process on the same
 * port never matches an old ETag. */
void routes_set_boot(unsigned long long stamp);

#endif /* HOLTER_ROUTES_H */

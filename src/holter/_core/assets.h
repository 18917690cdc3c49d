/* assets.h - the UI's static files, held in memory for the server.
 *
 * The Python side reads src/holter/static/ once at start and hands each
 * file over, so the HTTP thread never touches the filesystem. Plain C.
 * Written before the server starts (and when it is stopped); read by the
 * HTTP thread without a lock, since the table does not change while it runs.
 */
#ifndef HOLTER_ASSETS_H
#define HOLTER_ASSETS_H

#include <stddef.h>

#define ASSETS_MAX 64                 /* files in the table */
#define ASSETS_MAX_BYTES (8u << 20)   /* bytes per file */

typedef struct asset {
    char  *name;          /* owned: flat file name, e.g. "app.js" */
    char  *data;          /* owned: file contents */
    size_t len;           /* bytes in data */
    char  *content_type;  /* owned: e.g. "text/javascript; charset=utf-8" */
} asset_t;

/* Adds or replaces `name`. Returns 0, or -1 if the table is full, the file
 * too large or memory is out (the table is unchanged then). */
int assets_put(const char *name, const void *data, size_t len, const char *content_type);

/* The asset called `name`, or NULL. */
const asset_t *assets_get(const char *name);

/* Frees every asset. */
void assets_clear(void);

#endif /* HOLTER_ASSETS_H */

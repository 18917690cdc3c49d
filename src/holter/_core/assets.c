/* assets.c - the UI's static files, held in memory for the server. */
#define _POSIX_C_SOURCE 200809L  /* strdup */
#include "assets.h"

#include <stdlib.h>
#include <string.h>

static asset_t table[ASSETS_MAX];
static size_t nassets;

static void
asset_free(asset_t *a)
{
    free(a->name);
    free(a->data);
    free(a->content_type);
    memset(a, 0, sizeof(*a));
}

int
assets_put(const char *name, const void *data, size_t len, const char *content_type)
{
    if (len > ASSETS_MAX_BYTES)
        return -1;
    asset_t a = {
        .name = strdup(name),
        .data = malloc(len ? len : 1),
        .len = len,
        .content_type = strdup(content_type),
    };
    if (a.name == NULL || a.data == NULL || a.content_type == NULL) {
        asset_free(&a);
        return -1;
    }
    memcpy(a.data, data, len);
    for (size_t i = 0; i < nassets; i++) {
        if (strcmp(table[i].name, name) == 0) {
            asset_free(&table[i]);
            table[i] = a;
            return 0;
        }
    }
    if (nassets == ASSETS_MAX) {
        asset_free(&a);
        return -1;
    }
    table[nassets++] = a;
    return 0;
}

const asset_t *
assets_get(const char *name)
{
    for (size_t i = 0; i < nassets; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

void
assets_clear(void)
{
    for (size_t i = 0; i < nassets; i++)
        asset_free(&table[i]);
    nassets = 0;
}

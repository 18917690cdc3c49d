/* routes.c - what each URL answers: JSON built from the C tables.
 *
 * Paths are matched exactly; files are named by numeric id, so there is no
 * path to traverse. The page polls these several times a second, so every
 * JSON route first compares a cheap version stamp with If-None-Match and
 * answers 304 before building anything.
 */
#include "core.h"          /* first: Python.h sets the feature macros */
#include "routes.h"

#include "assets.h"
#include "export.h"
#include "jsonbuf.h"
#include "sampler.h"
#include "threadstacks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JSON_TYPE "application/json; charset=utf-8"
#define JSON_MAX (64u << 20)          /* largest JSON body we build */
#define STACKS_FRESH_S 0.5            /* stacks older than this are refreshed... */
#define STACKS_WAIT_S 0.3             /* ...waiting at most this long */

static unsigned long long boot_stamp;

void
routes_set_boot(unsigned long long stamp)
{
    boot_stamp = stamp;
}

void
routes_error(reply_t *r, int status, const char *msg)
{
    jsonbuf_t b;
    jsonbuf_init(&b, 4096);
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "error");
    jsonbuf_cstr(&b, msg);
    jsonbuf_end_object(&b);
    free(r->body);
    r->body = jsonbuf_take(&b, &r->len);
    r->static_body = r->body ? NULL : "{}";
    if (r->body == NULL)
        r->len = 2;
    r->status = status;
    r->content_type = JSON_TYPE;
    r->etag[0] = '\0';
}

/* Hands a finished jsonbuf to the reply (500 if it failed). */
static void
reply_json(reply_t *r, jsonbuf_t *b)
{
    r->body = jsonbuf_take(b, &r->len);
    if (r->body == NULL) {
        routes_error(r, 500, "response too large or out of memory");
        return;
    }
    r->status = 200;
    r->content_type = JSON_TYPE;
}

/* Sets r->etag from a version string; returns 1 (and makes r a 304) if the
 * client already has it. */
static int
not_modified(reply_t *r, const char *if_none_match, const char *fmt, uint64_t a, uint64_t b)
{
    char version[64];
    snprintf(version, sizeof(version), fmt, a, b);
    snprintf(r->etag, sizeof(r->etag), "\"%llx-%s\"", boot_stamp, version);
    if (if_none_match != NULL && strstr(if_none_match, r->etag) != NULL) {
        r->status = 304;
        return 1;
    }
    return 0;
}

static void
route_status(reply_t *r)
{
    uint32_t nfiles;
    uint64_t events = linecounts_total_events(core.counts, &nfiles);
    jsonbuf_t b;
    jsonbuf_init(&b, 4096);
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "holter");      jsonbuf_cstr(&b, HOLTER_VERSION);
    jsonbuf_key(&b, "python");      jsonbuf_cstr(&b, PY_VERSION);
    jsonbuf_key(&b, "pid");         jsonbuf_int(&b, getpid());
    jsonbuf_key(&b, "hook");        jsonbuf_cstr(&b, hook_name);
    jsonbuf_key(&b, "tracing");     jsonbuf_bool(&b, __atomic_load_n(&core.hooked, __ATOMIC_RELAXED));
    jsonbuf_key(&b, "files");       jsonbuf_uint(&b, nfiles);
    jsonbuf_key(&b, "line_events"); jsonbuf_uint(&b, events);
    jsonbuf_key(&b, "hook_errors"); jsonbuf_uint(&b, __atomic_load_n(&core.hook_errors, __ATOMIC_RELAXED));
    jsonbuf_key(&b, "dropped");     jsonbuf_uint(&b, __atomic_load_n(&core.counts->dropped, __ATOMIC_RELAXED));
    jsonbuf_key(&b, "uptime_s");    jsonbuf_double(&b, core_now() - core.started_at, 3);
    jsonbuf_end_object(&b);
    reply_json(r, &b);
}

static const char *
base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int
cmp_file_path(const void *a, const void *b)
{
    return strcmp((*(lc_file_t *const *)a)->path, (*(lc_file_t *const *)b)->path);
}

static void
route_files(reply_t *r, const char *inm)
{
    uint32_t n;
    uint64_t events = linecounts_total_events(core.counts, &n);
    if (not_modified(r, inm, "f%" PRIu64 "-%" PRIu64, n, events))
        return;
    lc_file_t **files = malloc((n ? n : 1) * sizeof(*files));
    if (files == NULL) {
        routes_error(r, 500, "out of memory");
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        files[i] = linecounts_get(core.counts, i);
    qsort(files, n, sizeof(*files), cmp_file_path);

    jsonbuf_t b;
    jsonbuf_init(&b, JSON_MAX);
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "files");
    jsonbuf_begin_array(&b);
    for (uint32_t i = 0; i < n; i++) {
        lc_file_t *f = files[i];
        jsonbuf_begin_object(&b);
        jsonbuf_key(&b, "id");         jsonbuf_uint(&b, f->id);
        jsonbuf_key(&b, "path");       jsonbuf_cstr(&b, f->path);
        jsonbuf_key(&b, "name");       jsonbuf_cstr(&b, base_name(f->path));
        jsonbuf_key(&b, "lines");      jsonbuf_uint(&b, f->nlines);
        jsonbuf_key(&b, "hits");       jsonbuf_uint(&b, linecounts_sum_hits(core.counts, f));
        jsonbuf_key(&b, "has_source"); jsonbuf_bool(&b, f->source != NULL);
        jsonbuf_end_object(&b);
    }
    jsonbuf_end_array(&b);
    jsonbuf_end_object(&b);
    free(files);
    reply_json(r, &b);
}

static void
route_source(reply_t *r, const char *inm, lc_file_t *f)
{
    if (not_modified(r, inm, "s%" PRIu64 "-%" PRIu64, f->id, 0))
        return;
    jsonbuf_t b;
    jsonbuf_init(&b, JSON_MAX);
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "id");     jsonbuf_uint(&b, f->id);
    jsonbuf_key(&b, "path");   jsonbuf_cstr(&b, f->path);
    jsonbuf_key(&b, "source");
    if (f->source != NULL)
        jsonbuf_str(&b, f->source, f->source_len);
    else
        jsonbuf_null(&b);
    jsonbuf_end_object(&b);
    reply_json(r, &b);
}

static void
route_lines(reply_t *r, const char *inm, lc_file_t *f)
{
    uint64_t events = linecounts_events(f);
    if (not_modified(r, inm, "l%" PRIu64 "-%" PRIu64, f->id, events))
        return;
    /* f->cap may grow meanwhile; linecounts_copy_hits clips to n. */
    uint32_t n = __atomic_load_n(&f->cap, __ATOMIC_RELAXED) + 64;
    uint64_t *hits = malloc((size_t)n * sizeof(uint64_t));
    lc_recent_line_t *recent = malloc(LC_RECENT * sizeof(*recent));
    if (hits == NULL || recent == NULL) {
        free(hits);
        free(recent);
        routes_error(r, 500, "out of memory");
        return;
    }
    linecounts_copy_hits(core.counts, f, hits, &n);
    uint32_t nrecent = linecounts_recent(f, recent);

    jsonbuf_t b;
    jsonbuf_init(&b, JSON_MAX);
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "id");     jsonbuf_uint(&b, f->id);
    jsonbuf_key(&b, "events"); jsonbuf_uint(&b, events);
    jsonbuf_key(&b, "hits");
    jsonbuf_begin_array(&b);
    for (uint32_t line = 0; line < n; line++) {
        if (hits[line] == 0)
            continue;
        jsonbuf_begin_array(&b);
        jsonbuf_uint(&b, line);
        jsonbuf_uint(&b, hits[line]);
        jsonbuf_end_array(&b);
    }
    jsonbuf_end_array(&b);
    jsonbuf_key(&b, "recent");
    jsonbuf_begin_array(&b);
    for (uint32_t i = 0; i < nrecent; i++) {
        jsonbuf_begin_array(&b);
        jsonbuf_uint(&b, recent[i].line);
        jsonbuf_begin_array(&b);
        for (int l = 0; l < LC_LEVELS; l++)
            jsonbuf_double(&b, recent[i].level[l], 3);
        jsonbuf_end_array(&b);
        jsonbuf_end_array(&b);
    }
    jsonbuf_end_array(&b);
    jsonbuf_end_object(&b);
    free(hits);
    free(recent);
    reply_json(r, &b);
}

static void
route_stacks(reply_t *r, const char *inm)
{
    /* The client's generation, if its ETag is ours, saves the copy. */
    uint64_t known = UINT64_MAX;
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "\"%llx-g", boot_stamp);
    const char *p = inm ? strstr(inm, prefix) : NULL;
    if (p != NULL)
        known = strtoull(p + strlen(prefix), NULL, 10);

    char *threads = NULL;
    size_t len = 0;
    uint64_t gen = 0;
    double age = 0;
    int rc = threadstacks_read(known, &threads, &len, &gen, &age, STACKS_FRESH_S, STACKS_WAIT_S);
    if (rc < 0) {
        threads = strdup("[]");
        len = 2;
        if (threads == NULL) {
            routes_error(r, 500, "out of memory");
            return;
        }
    }
    snprintf(r->etag, sizeof(r->etag), "\"%llx-g%" PRIu64 "\"", boot_stamp, gen);
    if (rc == 1) {
        r->status = 304;
        return;
    }
    jsonbuf_t b;
    jsonbuf_init(&b, JSON_MAX);
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "generation"); jsonbuf_uint(&b, gen);
    jsonbuf_key(&b, "age_s");      jsonbuf_double(&b, age, 3);
    jsonbuf_key(&b, "threads");    jsonbuf_raw(&b, threads, len);
    jsonbuf_end_object(&b);
    free(threads);
    reply_json(r, &b);
}

static void
route_asset(reply_t *r, const char *name)
{
    const asset_t *a = assets_get(name);
    if (a == NULL) {
        routes_error(r, 404, "not found");
        return;
    }
    r->status = 200;
    r->static_body = a->data;
    r->len = a->len;
    r->content_type = a->content_type;
}

/* Parses "<id>/<rest>" after "/api/files/": the id must be all digits. */
static lc_file_t *
parse_file(const char *s, const char **rest)
{
    char *end;
    if (*s < '0' || *s > '9' || strlen(s) > 24)
        return NULL;
    unsigned long long id = strtoull(s, &end, 10);
    if (*end != '/' || id > UINT32_MAX)
        return NULL;
    *rest = end + 1;
    return linecounts_get(core.counts, (uint32_t)id);
}

/* --- the sampler's routes ----------------------------------------------- */

static const char *
mode_name(int mode)
{
    return mode == SAMPLER_CPU ? "cpu" : "wall";
}

static void
route_sampler(reply_t *r)
{
    sampler_health_t h;
    sampler_health(&h);
    jsonbuf_t b;
    jsonbuf_init(&b, 4096);
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "running");        jsonbuf_bool(&b, h.running);
    jsonbuf_key(&b, "mode");           jsonbuf_cstr(&b, mode_name(h.mode));
    jsonbuf_key(&b, "interval_s");     jsonbuf_double(&b, h.interval_s, 6);
    jsonbuf_key(&b, "target_hz");      jsonbuf_double(&b, h.interval_s > 0 ? 1.0 / h.interval_s : 0, 1);
    jsonbuf_key(&b, "achieved_hz");    jsonbuf_double(&b, h.elapsed_s > 0 ? (double)h.rounds / h.elapsed_s : 0, 1);
    jsonbuf_key(&b, "samples");        jsonbuf_uint(&b, h.rounds);
    jsonbuf_key(&b, "thread_samples"); jsonbuf_uint(&b, h.thread_samples);
    jsonbuf_key(&b, "dropped");        jsonbuf_uint(&b, h.missed + h.lost);
    jsonbuf_key(&b, "missed");         jsonbuf_uint(&b, h.missed);
    jsonbuf_key(&b, "lost");           jsonbuf_uint(&b, h.lost);
    jsonbuf_key(&b, "torn");           jsonbuf_uint(&b, h.torn);
    jsonbuf_key(&b, "threads");        jsonbuf_uint(&b, h.threads);
    jsonbuf_key(&b, "unique_stacks");  jsonbuf_uint(&b, h.unique_stacks);
    jsonbuf_key(&b, "unique_frames");  jsonbuf_uint(&b, h.unique_frames);
    jsonbuf_key(&b, "memory_bytes");   jsonbuf_uint(&b, h.memory_bytes);
    jsonbuf_key(&b, "memory_cap_bytes"); jsonbuf_uint(&b, h.memory_cap_bytes);
    jsonbuf_key(&b, "elapsed_s");      jsonbuf_double(&b, h.elapsed_s, 3);
    jsonbuf_key(&b, "gil_known");      jsonbuf_bool(&b, h.gil_known);
    jsonbuf_end_object(&b);
    reply_json(r, &b);
}

/* Reads the common query parameters of the profile routes. */
static void
profile_query(routes_param_fn param, void *ctx, export_query_t *q, sampler_health_t *h)
{
    const char *v;
    memset(q, 0, sizeof(*q));
    q->with_idle = 1;
    if ((v = param(ctx, "window")) != NULL)
        q->window_s = strtod(v, NULL);
    if (!(q->window_s >= 0 && q->window_s < 1e9))
        q->window_s = 0;        /* NaN, negative, absurd: everything */
    if ((v = param(ctx, "thread")) != NULL && *v != '\0') {
        q->has_thread = 1;
        q->thread_id = strtoull(v, NULL, 10);
    }
    if ((v = param(ctx, "idle")) != NULL)
        q->with_idle = strcmp(v, "0") != 0;
    if ((v = param(ctx, "min")) != NULL)
        q->min = strtoull(v, NULL, 10);
    if ((v = param(ctx, "limit")) != NULL)
        q->limit = atoi(v);
    q->file = param(ctx, "file");
    sampler_health(h);
    q->interval_s = h->interval_s;
    q->elapsed_s = h->elapsed_s;
    q->mode = mode_name(h->mode);
    q->gil_known = h->gil_known;
}

static void
route_profile(reply_t *r, int format, routes_param_fn param, void *ctx, const char *inm)
{
    profile_t *p = sampler_profile();
    if (p == NULL) {
        routes_error(r, 404, "the sampler has not run: start it with holter.start()");
        return;
    }
    export_query_t q;
    sampler_health_t h;
    profile_query(param, ctx, &q, &h);
    const char *reset = param(ctx, "reset");
    int resetting = reset != NULL && (strcmp(reset, "1") == 0 || strcmp(reset, "true") == 0);
    /* A window moves on even without new samples: its start is part of the
     * version. */
    uint64_t window_start = q.window_s > 0 ? (uint64_t)(core_now() - q.window_s) : 0;
    if (!resetting && not_modified(r, inm, "p%" PRIu64 "-%" PRIu64, export_version(p), window_start))
        return;
    size_t len = 0;
    char *body = export_profile(p, format, &q, &len);
    if (body == NULL) {
        routes_error(r, 500, "profile too large or out of memory");
        return;
    }
    if (resetting) {
        sampler_reset();
        r->etag[0] = '\0';
    }
    r->status = 200;
    r->body = body;
    r->len = len;
    r->content_type = export_content_type(format);
}

static void
route_reset(reply_t *r, const char *action)
{
    if (action == NULL || strcmp(action, "reset") != 0) {
        routes_error(r, 403, "POST needs the header X-Holter-Action: reset");
        return;
    }
    sampler_reset();
    r->static_body = "{\"reset\":true}";
    r->len = strlen(r->static_body);
    r->status = 200;
    r->content_type = JSON_TYPE;
}

/* The profile routes: /api/profile[/<format>]. */
static int
profile_format(const char *path)
{
    if (strcmp(path, "/api/profile") == 0)
        return EXPORT_FLAME;
    if (strncmp(path, "/api/profile/", 13) != 0)
        return -1;
    int f = export_format_from_name(path + 13);
    return f == EXPORT_FLAME ? -1 : f;  /* "flame" is /api/profile itself */
}

void
routes_dispatch(const char *method, const char *path, routes_param_fn param, void *ctx,
                const char *inm, const char *action, reply_t *r)
{
    const char *rest;
    int format;
    if (strcmp(method, "POST") == 0) {
        if (strcmp(path, "/api/profile/reset") == 0)
            route_reset(r, action);
        else
            routes_error(r, 405, "only GET and HEAD here");
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        routes_error(r, 405, "only GET and HEAD");
    } else if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
        route_asset(r, "index.html");
    } else if (strncmp(path, "/static/", 8) == 0 && strchr(path + 8, '/') == NULL) {
        route_asset(r, path + 8);
    } else if (strcmp(path, "/api/status") == 0) {
        route_status(r);
    } else if (strcmp(path, "/api/files") == 0) {
        route_files(r, inm);
    } else if (strcmp(path, "/api/stacks") == 0) {
        route_stacks(r, inm);
    } else if (strcmp(path, "/api/sampler") == 0) {
        route_sampler(r);
    } else if ((format = profile_format(path)) >= 0) {
        route_profile(r, format, param, ctx, inm);
    } else if (strncmp(path, "/api/files/", 11) == 0) {
        lc_file_t *f = parse_file(path + 11, &rest);
        if (f != NULL && strcmp(rest, "source") == 0)
            route_source(r, inm, f);
        else if (f != NULL && strcmp(rest, "lines") == 0)
            route_lines(r, inm, f);
        else
            routes_error(r, 404, "no such file");
    } else {
        routes_error(r, 404, "not found");
    }
}

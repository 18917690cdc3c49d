/* export.c - the sampler's profile in the formats people and tools read.
 *
 * Every export starts from the same selection: samples per stack over a
 * window, a thread, idle or not (profile_stack_counts). The flame tree
 * merges stacks by function along each path; folded, speedscope and pprof
 * keep lines; liveprofiler and nylas name frames `co_name(module)` as the
 * originals did, merging what those names cannot tell apart.
 */
#define _POSIX_C_SOURCE 200809L
#include "export.h"

#include "jsonbuf.h"
#include "sampler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HOLTER_VERSION
#  define HOLTER_VERSION "dev"
#endif

#define EXPORT_MAX (256u << 20)   /* largest export we build */

/* --- a growable byte buffer for text and protobuf ----------------------- */

typedef struct sbuf {
    char  *data;
    size_t len, cap;
    int    failed;
} sbuf_t;

static void
sb_put(sbuf_t *b, const void *p, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *nd = ncap <= EXPORT_MAX ? realloc(b->data, ncap) : NULL;
        if (nd == NULL) {
            b->failed = 1;
            return;
        }
        b->data = nd;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void
sb_str(sbuf_t *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static char *
sb_take(sbuf_t *b, size_t *len)
{
    if (b->failed || b->data == NULL) {
        free(b->data);
        if (!b->failed) {           /* empty but fine */
            *len = 0;
            return calloc(1, 1);
        }
        return NULL;
    }
    *len = b->len;
    return b->data;
}

/* --- selection ----------------------------------------------------------- */

typedef struct selection {
    uint64_t *counts;       /* per stack id */
    uint64_t *idle;         /* per stack id */
    uint64_t  total;
    uint32_t  nstacks;
} selection_t;

static int
select_samples(profile_t *p, const export_query_t *q, selection_t *sel)
{
    sel->nstacks = p->stacks.count;
    sel->counts = calloc(sel->nstacks + 1, sizeof(uint64_t));
    sel->idle = calloc(sel->nstacks + 1, sizeof(uint64_t));
    if (sel->counts == NULL || sel->idle == NULL) {
        free(sel->counts);
        free(sel->idle);
        return -1;
    }
    int thread = -1;
    if (q->has_thread) {
        thread = profile_thread_index(p, q->thread_id);
        if (thread < 0) {           /* an unknown thread: nothing selected */
            sel->total = 0;
            return 0;
        }
    }
    sel->total = profile_stack_counts(p, q->window_s, thread, q->with_idle, sel->counts, sel->idle);
    return 0;
}

static void
free_selection(selection_t *sel)
{
    free(sel->counts);
    free(sel->idle);
}

static const char *
str_at(profile_t *p, uint32_t id, uint32_t *len)
{
    return profile_string_at(p, id, len);
}

/* Writes a profile string as a JSON string value. */
static void
json_pstr(jsonbuf_t *b, profile_t *p, uint32_t id)
{
    uint32_t len;
    const char *s = str_at(p, id, &len);
    jsonbuf_str(b, s, len);
}

/* The function's co_name: the last dotted part of its qualified name. */
static void
short_name(profile_t *p, const prof_func_t *f, const char **s, uint32_t *len)
{
    const char *q = str_at(p, f->name, len);
    const char *dot = NULL;
    for (uint32_t i = 0; i < *len; i++)
        if (q[i] == '.')
            dot = q + i;
    if (dot != NULL) {
        *len -= (uint32_t)(dot + 1 - q);
        q = dot + 1;
    }
    *s = q;
}

/* --- flame tree ---------------------------------------------------------- */

typedef struct fnode {
    uint32_t func;          /* INTERN_NONE for the root */
    uint32_t first_child;   /* INTERN_NONE if none */
    uint32_t next_sibling;
    uint64_t value, self, idle;
} fnode_t;

typedef struct ftree {
    fnode_t *nodes;
    uint32_t n, cap;
    intern_t index;         /* key {parent, func} -> node id */
} ftree_t;

static uint32_t
ftree_child(ftree_t *t, uint32_t parent, uint32_t func)
{
    uint32_t key[2] = {parent, func};
    uint32_t before = t->index.count;
    uint32_t id = intern_put(&t->index, key, sizeof(key));
    if (id == INTERN_NONE)
        return INTERN_NONE;
    if (id < before)
        return id + 1;      /* node 0 is the root */
    if (t->n == t->cap) {
        uint32_t ncap = t->cap * 2;
        fnode_t *nn = realloc(t->nodes, ncap * sizeof(fnode_t));
        if (nn == NULL)
            return INTERN_NONE;
        t->nodes = nn;
        t->cap = ncap;
    }
    uint32_t node = t->n++;
    t->nodes[node] = (fnode_t){func, INTERN_NONE, t->nodes[parent].first_child, 0, 0, 0};
    t->nodes[parent].first_child = node;
    return node;
}

static profile_t *sort_profile;     /* for cmp_nodes: set under the profile lock */
static const fnode_t *sort_nodes;

static int
cmp_nodes(const void *a, const void *b)
{
    const prof_func_t *x = profile_func_at(sort_profile, sort_nodes[*(const uint32_t *)a].func);
    const prof_func_t *y = profile_func_at(sort_profile, sort_nodes[*(const uint32_t *)b].func);
    uint32_t xl, yl;
    const char *xs = str_at(sort_profile, x->name, &xl), *ys = str_at(sort_profile, y->name, &yl);
    int c = memcmp(xs, ys, xl < yl ? xl : yl);
    return c != 0 ? c : (xl > yl) - (xl < yl);
}

/* The index of profile string `id` in the output's strings array, adding
 * it on first use. */
static int64_t
local_string(jsonbuf_t *strings, int64_t *map, uint32_t *nlocal, profile_t *p, uint32_t id)
{
    if (map[id] < 0) {
        map[id] = (*nlocal)++;
        json_pstr(strings, p, id);
    }
    return map[id];
}

/* Writes the tree in pre-order, without recursion (stacks can be hundreds
 * deep): each row is [parent, name, file, line, value, self, idle], names
 * and files as indexes into "strings"; children sorted by name; nodes below
 * `min` samples folded into their parent's self. Read by static/flame.js. */
static void
write_flat_tree(jsonbuf_t *b, jsonbuf_t *strings, profile_t *p, ftree_t *t, uint64_t min)
{
    int64_t *map = malloc(((size_t)p->strings.count + 1) * sizeof(int64_t));
    uint32_t *stack = malloc(((size_t)t->n + 1) * sizeof(uint32_t));   /* nodes to visit */
    int64_t *row_of = malloc(((size_t)t->n + 1) * sizeof(int64_t));    /* node -> row */
    uint32_t *kids = malloc(((size_t)t->n + 1) * sizeof(uint32_t));
    if (map == NULL || stack == NULL || row_of == NULL || kids == NULL) {
        jsonbuf_null(b);        /* fails the document: answered as out of memory */
        jsonbuf_begin_object(b);
        free(map); free(stack); free(row_of); free(kids);
        return;
    }
    for (uint32_t i = 0; i < p->strings.count; i++)
        map[i] = -1;
    uint32_t nlocal = 0, rows = 0, sp = 0;
    jsonbuf_str(strings, "all", 3);
    nlocal = 1;
    jsonbuf_begin_array(b);
    stack[sp++] = 0;
    row_of[0] = -1;             /* the root's parent row */
    while (sp > 0) {
        uint32_t node = stack[--sp];
        fnode_t *n = &t->nodes[node];
        uint64_t folded = 0;
        uint32_t nk = 0;
        for (uint32_t c = n->first_child; c != INTERN_NONE; c = t->nodes[c].next_sibling) {
            if (t->nodes[c].value < min)
                folded += t->nodes[c].value;
            else
                kids[nk++] = c;
        }
        int64_t parent_row = row_of[node];
        int64_t my_row = rows++;
        jsonbuf_begin_array(b);
        jsonbuf_int(b, parent_row);
        if (n->func == INTERN_NONE) {
            jsonbuf_int(b, 0);
            jsonbuf_int(b, -1);
            jsonbuf_int(b, 0);
        } else {
            const prof_func_t *f = profile_func_at(p, n->func);
            jsonbuf_int(b, local_string(strings, map, &nlocal, p, f->name));
            jsonbuf_int(b, local_string(strings, map, &nlocal, p, f->file));
            jsonbuf_int(b, f->firstlineno);
        }
        jsonbuf_uint(b, n->value);
        jsonbuf_uint(b, n->self + folded);
        jsonbuf_uint(b, n->idle);
        jsonbuf_end_array(b);
        sort_profile = p;
        sort_nodes = t->nodes;
        qsort(kids, nk, sizeof(uint32_t), cmp_nodes);
        for (uint32_t i = nk; i-- > 0;) {   /* first child popped first */
            row_of[kids[i]] = my_row;
            stack[sp++] = kids[i];
        }
    }
    jsonbuf_end_array(b);
    free(map);
    free(stack);
    free(row_of);
    free(kids);
}

static char *
export_flame(profile_t *p, const export_query_t *q, const selection_t *sel, size_t *len)
{
    ftree_t t = {0};
    intern_init(&t.index, UINT32_MAX - 1, (size_t)1 << 31);
    t.cap = 1024;
    t.nodes = malloc(t.cap * sizeof(fnode_t));
    if (t.nodes == NULL)
        return NULL;
    t.nodes[0] = (fnode_t){INTERN_NONE, INTERN_NONE, INTERN_NONE, 0, 0, 0};
    t.n = 1;
    for (uint32_t s = 0; s < sel->nstacks; s++) {
        uint64_t c = sel->counts[s];
        if (c == 0)
            continue;
        uint32_t n;
        const uint32_t *frames = profile_stack_frames(p, s, &n);
        uint32_t node = 0;
        t.nodes[0].value += c;
        t.nodes[0].idle += sel->idle[s];
        for (uint32_t i = 0; i < n; i++) {
            uint32_t child = ftree_child(&t, node, profile_frame_at(p, frames[i])->func);
            if (child == INTERN_NONE)
                break;
            node = child;
            t.nodes[node].value += c;
            t.nodes[node].idle += sel->idle[s];
        }
        t.nodes[node].self += c;
    }
    uint64_t min = q->min ? q->min : sel->total / 5000;
    jsonbuf_t b, strings;
    jsonbuf_init(&b, EXPORT_MAX);
    jsonbuf_init(&strings, EXPORT_MAX);
    jsonbuf_begin_array(&strings);
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "mode");      jsonbuf_cstr(&b, q->mode);
    jsonbuf_key(&b, "window_s");  jsonbuf_double(&b, q->window_s, 3);
    jsonbuf_key(&b, "total");     jsonbuf_uint(&b, sel->total);
    jsonbuf_key(&b, "elapsed_s"); jsonbuf_double(&b, q->elapsed_s, 3);
    jsonbuf_key(&b, "nodes");
    write_flat_tree(&b, &strings, p, &t, min);
    jsonbuf_end_array(&strings);
    size_t slen = 0;
    char *sjson = jsonbuf_take(&strings, &slen);
    jsonbuf_key(&b, "strings");
    if (sjson != NULL)
        jsonbuf_raw(&b, sjson, slen);
    else
        jsonbuf_null(&b);
    jsonbuf_end_object(&b);
    free(sjson);
    free(t.nodes);
    intern_free(&t.index);
    return jsonbuf_take(&b, len);
}

/* --- top functions, threads, lines --------------------------------------- */

typedef struct top_row {
    uint32_t func;
    uint64_t self, total;
} top_row_t;

static int
cmp_top(const void *a, const void *b)
{
    const top_row_t *x = a, *y = b;
    if (x->self != y->self)
        return x->self < y->self ? 1 : -1;
    if (x->total != y->total)
        return x->total < y->total ? 1 : -1;
    return (x->func > y->func) - (x->func < y->func);
}

static char *
export_top(profile_t *p, const export_query_t *q, const selection_t *sel, size_t *len)
{
    uint32_t nf = p->funcs.count;
    top_row_t *rows = calloc(nf + 1, sizeof(top_row_t));
    uint32_t *seen = calloc(nf + 1, sizeof(uint32_t));     /* last stack counted + 1 */
    if (rows == NULL || seen == NULL) {
        free(rows);
        free(seen);
        return NULL;
    }
    for (uint32_t f = 0; f < nf; f++)
        rows[f].func = f;
    for (uint32_t s = 0; s < sel->nstacks; s++) {
        if (sel->counts[s] == 0)
            continue;
        uint32_t n;
        const uint32_t *frames = profile_stack_frames(p, s, &n);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t f = profile_frame_at(p, frames[i])->func;
            if (seen[f] != s + 1) {     /* recursion counts once per stack */
                seen[f] = s + 1;
                rows[f].total += sel->counts[s];
            }
            if (i + 1 == n)
                rows[f].self += sel->counts[s];
        }
    }
    qsort(rows, nf, sizeof(top_row_t), cmp_top);
    jsonbuf_t b;
    jsonbuf_init(&b, EXPORT_MAX);
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "total");
    jsonbuf_uint(&b, sel->total);
    jsonbuf_key(&b, "functions");
    jsonbuf_begin_array(&b);
    int limit = q->limit > 0 ? q->limit : 200;
    for (uint32_t i = 0; i < nf && (int)i < limit && rows[i].total > 0; i++) {
        const prof_func_t *f = profile_func_at(p, rows[i].func);
        jsonbuf_begin_object(&b);
        jsonbuf_key(&b, "name");  json_pstr(&b, p, f->name);
        jsonbuf_key(&b, "file");  json_pstr(&b, p, f->file);
        jsonbuf_key(&b, "line");  jsonbuf_int(&b, f->firstlineno);
        jsonbuf_key(&b, "self");  jsonbuf_uint(&b, rows[i].self);
        jsonbuf_key(&b, "total"); jsonbuf_uint(&b, rows[i].total);
        jsonbuf_end_object(&b);
    }
    jsonbuf_end_array(&b);
    jsonbuf_end_object(&b);
    free(rows);
    free(seen);
    return jsonbuf_take(&b, len);
}

static char *
export_threads(profile_t *p, const export_query_t *q, size_t *len)
{
    uint32_t nt = p->threads.count;
    uint64_t *counts = calloc(p->stacks.count + 1, sizeof(uint64_t));
    if (counts == NULL)
        return NULL;
    jsonbuf_t b;
    jsonbuf_init(&b, EXPORT_MAX);
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "threads");
    jsonbuf_begin_array(&b);
    for (uint32_t t = 0; t < nt; t++) {
        uint64_t n = profile_stack_counts(p, q->window_s, (int)t, q->with_idle, counts, NULL);
        if (n == 0)
            continue;
        uint64_t gil = 0;       /* since reset: cells keep the GIL flag */
        for (uint32_t c = 0; c < p->cells.count; c++) {
            uint32_t kl;
            const prof_cell_t *k = intern_key(&p->cells, c, &kl);
            if (k->thread == t && (k->idle & PROF_GIL))
                gil += p->cell_counts[c];
        }
        const prof_thread_t *th = profile_thread_at(p, t);
        char name[64];
        sampler_thread_name(th->id, name, sizeof(name));
        jsonbuf_begin_object(&b);
        jsonbuf_key(&b, "id");        jsonbuf_uint(&b, th->id);
        jsonbuf_key(&b, "native_id"); jsonbuf_uint(&b, th->native_id);
        jsonbuf_key(&b, "name");      jsonbuf_cstr(&b, name);
        jsonbuf_key(&b, "samples");   jsonbuf_uint(&b, n);
        jsonbuf_key(&b, "gil_samples");
        if (q->gil_known)
            jsonbuf_uint(&b, gil);
        else
            jsonbuf_null(&b);
        jsonbuf_end_object(&b);
    }
    jsonbuf_end_array(&b);
    jsonbuf_end_object(&b);
    free(counts);
    return jsonbuf_take(&b, len);
}

static char *
export_lines(profile_t *p, const export_query_t *q, const selection_t *sel, size_t *len)
{
    const char *file = q->file ? q->file : "";
    uint32_t file_id = intern_get(&p->strings, file, (uint32_t)strlen(file));
    uint32_t nfr = p->frames.count;
    uint64_t *per_frame = calloc(nfr + 1, sizeof(uint64_t));
    uint32_t *seen = calloc(nfr + 1, sizeof(uint32_t));
    if (per_frame == NULL || seen == NULL) {
        free(per_frame);
        free(seen);
        return NULL;
    }
    for (uint32_t s = 0; file_id != INTERN_NONE && s < sel->nstacks; s++) {
        if (sel->counts[s] == 0)
            continue;
        uint32_t n;
        const uint32_t *frames = profile_stack_frames(p, s, &n);
        for (uint32_t i = 0; i < n; i++) {
            if (seen[frames[i]] == s + 1)
                continue;                       /* a line once per stack */
            seen[frames[i]] = s + 1;
            if (profile_func_at(p, profile_frame_at(p, frames[i])->func)->file == file_id)
                per_frame[frames[i]] += sel->counts[s];
        }
    }
    /* Frames of one line in different functions (nested defs) add up. */
    int32_t maxline = 0;
    for (uint32_t f = 0; f < nfr; f++)
        if (per_frame[f] && profile_frame_at(p, f)->line > maxline)
            maxline = profile_frame_at(p, f)->line;
    uint64_t *per_line = calloc((size_t)maxline + 1, sizeof(uint64_t));
    if (per_line == NULL) {
        free(per_frame);
        free(seen);
        return NULL;
    }
    for (uint32_t f = 0; f < nfr; f++)
        if (per_frame[f] && profile_frame_at(p, f)->line > 0)
            per_line[profile_frame_at(p, f)->line] += per_frame[f];
    jsonbuf_t b;
    jsonbuf_init(&b, EXPORT_MAX);
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "path");
    jsonbuf_cstr(&b, file);
    jsonbuf_key(&b, "total");
    jsonbuf_uint(&b, sel->total);
    jsonbuf_key(&b, "lines");
    jsonbuf_begin_array(&b);
    for (int32_t line = 1; line <= maxline; line++) {
        if (per_line[line] == 0)
            continue;
        jsonbuf_begin_array(&b);
        jsonbuf_int(&b, line);
        jsonbuf_uint(&b, per_line[line]);
        jsonbuf_end_array(&b);
    }
    jsonbuf_end_array(&b);
    jsonbuf_end_object(&b);
    free(per_frame);
    free(seen);
    free(per_line);
    return jsonbuf_take(&b, len);
}

/* --- folded, liveprofiler, nylas ------------------------------------------ */

/* Appends one frame as `qualname (file:line)`: the folded format's frames. */
static void
fold_frame(sbuf_t *b, profile_t *p, uint32_t frame)
{
    const prof_frame_t *fr = profile_frame_at(p, frame);
    const prof_func_t *f = profile_func_at(p, fr->func);
    uint32_t nl, fl;
    const char *name = str_at(p, f->name, &nl), *file = str_at(p, f->file, &fl);
    char tail[32];
    /* ';' separates frames and ' ' ends the stack: keep them out of names. */
    for (uint32_t i = 0; i < nl; i++)
        sb_put(b, name[i] == ';' ? ":" : &name[i], 1);
    sb_str(b, " (");
    for (uint32_t i = 0; i < fl; i++)
        sb_put(b, file[i] == ';' ? ":" : &file[i], 1);
    snprintf(tail, sizeof(tail), ":%d)", fr->line);
    sb_str(b, tail);
}

static char *
export_folded(profile_t *p, const selection_t *sel, size_t *len)
{
    sbuf_t b = {0};
    for (uint32_t s = 0; s < sel->nstacks; s++) {
        if (sel->counts[s] == 0)
            continue;
        uint32_t n;
        const uint32_t *frames = profile_stack_frames(p, s, &n);
        for (uint32_t i = 0; i < n; i++) {
            if (i > 0)
                sb_put(&b, ";", 1);
            fold_frame(&b, p, frames[i]);
        }
        char count[32];
        snprintf(count, sizeof(count), " %llu\n", (unsigned long long)sel->counts[s]);
        sb_str(&b, count);
    }
    return sb_take(&b, len);
}

typedef struct lp_row {
    uint32_t key;           /* id in the keys table */
    uint64_t count;
} lp_row_t;

static int
cmp_lp(const void *a, const void *b)
{
    const lp_row_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return (x->key > y->key) - (x->key < y->key);
}

/* Stacks named as liveprofiler_sampler names them, `co_name(module);...`
 * root first, merged by that name and sorted by count. */
static int
liveprofiler_rows(profile_t *p, const selection_t *sel, intern_t *keys, lp_row_t **rows,
                  uint32_t *nrows)
{
    intern_init(keys, UINT32_MAX - 1, EXPORT_MAX);
    uint64_t *counts = calloc(sel->nstacks + 1, sizeof(uint64_t));
    if (counts == NULL)
        return -1;
    sbuf_t line = {0};
    for (uint32_t s = 0; s < sel->nstacks; s++) {
        if (sel->counts[s] == 0)
            continue;
        uint32_t n;
        const uint32_t *frames = profile_stack_frames(p, s, &n);
        line.len = 0;
        for (uint32_t i = 0; i < n; i++) {
            const prof_func_t *f = profile_func_at(p, profile_frame_at(p, frames[i])->func);
            const char *name;
            uint32_t nl, ml;
            short_name(p, f, &name, &nl);
            const char *module = str_at(p, f->module, &ml);
            if (i > 0)
                sb_put(&line, ";", 1);
            sb_put(&line, name, nl);
            sb_put(&line, "(", 1);
            sb_put(&line, module, ml);
            sb_put(&line, ")", 1);
        }
        if (line.failed)
            break;
        uint32_t k = intern_put(keys, line.data ? line.data : "", (uint32_t)line.len);
        if (k != INTERN_NONE && k <= sel->nstacks)
            counts[k] += sel->counts[s];
    }
    free(line.data);
    *nrows = keys->count;
    *rows = calloc(*nrows + 1, sizeof(lp_row_t));
    if (*rows == NULL || line.failed) {
        free(counts);
        free(*rows);
        intern_free(keys);
        return -1;
    }
    for (uint32_t k = 0; k < *nrows; k++)
        (*rows)[k] = (lp_row_t){k, counts[k]};
    free(counts);
    qsort(*rows, *nrows, sizeof(lp_row_t), cmp_lp);
    return 0;
}

static char *
export_liveprofiler(profile_t *p, const export_query_t *q, const selection_t *sel, size_t *len)
{
    intern_t keys;
    lp_row_t *rows;
    uint32_t nrows;
    if (liveprofiler_rows(p, sel, &keys, &rows, &nrows) < 0)
        return NULL;
    jsonbuf_t b;
    jsonbuf_init(&b, EXPORT_MAX);
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "elapsed");     jsonbuf_double(&b, q->elapsed_s, 4);
    jsonbuf_key(&b, "granularity"); jsonbuf_double(&b, q->interval_s, 6);
    jsonbuf_key(&b, "stacks");
    jsonbuf_begin_array(&b);
    for (uint32_t i = 0; i < nrows; i++) {
        uint32_t kl;
        const char *k = intern_key(&keys, rows[i].key, &kl);
        jsonbuf_begin_object(&b);
        jsonbuf_key(&b, "count"); jsonbuf_uint(&b, rows[i].count);
        jsonbuf_key(&b, "frame"); jsonbuf_str(&b, k, kl);
        jsonbuf_end_object(&b);
    }
    jsonbuf_end_array(&b);
    jsonbuf_end_object(&b);
    free(rows);
    intern_free(&keys);
    return jsonbuf_take(&b, len);
}

static char *
export_nylas(profile_t *p, const export_query_t *q, const selection_t *sel, size_t *len)
{
    intern_t keys;
    lp_row_t *rows;
    uint32_t nrows;
    if (liveprofiler_rows(p, sel, &keys, &rows, &nrows) < 0)
        return NULL;
    sbuf_t b = {0};
    char head[96];
    snprintf(head, sizeof(head), "elapsed %.4f\ngranularity %.6f\n", q->elapsed_s, q->interval_s);
    sb_str(&b, head);
    for (uint32_t i = 0; i < nrows; i++) {
        uint32_t kl;
        const char *k = intern_key(&keys, rows[i].key, &kl);
        char count[32];
        sb_put(&b, k, kl);
        snprintf(count, sizeof(count), " %llu\n", (unsigned long long)rows[i].count);
        sb_str(&b, count);
    }
    free(rows);
    intern_free(&keys);
    return sb_take(&b, len);
}

/* --- speedscope ------------------------------------------------------------ */

static char *
export_speedscope(profile_t *p, const export_query_t *q, size_t *len)
{
    uint32_t nstacks = p->stacks.count;
    uint64_t *counts = calloc(nstacks + 1, sizeof(uint64_t));
    if (counts == NULL)
        return NULL;
    jsonbuf_t b;
    jsonbuf_init(&b, EXPORT_MAX);
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "$schema");  jsonbuf_cstr(&b, "https://www.speedscope.app/file-format-schema.json");
    jsonbuf_key(&b, "exporter"); jsonbuf_cstr(&b, "holter " HOLTER_VERSION);
    jsonbuf_key(&b, "name");     jsonbuf_cstr(&b, "holter profile");
    jsonbuf_key(&b, "activeProfileIndex"); jsonbuf_int(&b, 0);
    jsonbuf_key(&b, "shared");
    jsonbuf_begin_object(&b);
    jsonbuf_key(&b, "frames");
    jsonbuf_begin_array(&b);
    for (uint32_t fr = 0; fr < p->frames.count; fr++) {
        const prof_frame_t *f = profile_frame_at(p, fr);
        const prof_func_t *fn = profile_func_at(p, f->func);
        jsonbuf_begin_object(&b);
        jsonbuf_key(&b, "name"); json_pstr(&b, p, fn->name);
        jsonbuf_key(&b, "file"); json_pstr(&b, p, fn->file);
        jsonbuf_key(&b, "line"); jsonbuf_int(&b, f->line);
        jsonbuf_end_object(&b);
    }
    jsonbuf_end_array(&b);
    jsonbuf_end_object(&b);
    jsonbuf_key(&b, "profiles");
    jsonbuf_begin_array(&b);
    for (uint32_t t = 0; t < p->threads.count; t++) {
        const prof_thread_t *th = profile_thread_at(p, t);
        if (q->has_thread && th->id != q->thread_id)
            continue;
        uint64_t total = profile_stack_counts(p, q->window_s, (int)t, q->with_idle, counts, NULL);
        if (total == 0)
            continue;
        char name[64];
        sampler_thread_name(th->id, name, sizeof(name));
        jsonbuf_begin_object(&b);
        jsonbuf_key(&b, "type");       jsonbuf_cstr(&b, "sampled");
        jsonbuf_key(&b, "name");       jsonbuf_cstr(&b, name);
        jsonbuf_key(&b, "unit");       jsonbuf_cstr(&b, "seconds");
        jsonbuf_key(&b, "startValue"); jsonbuf_int(&b, 0);
        jsonbuf_key(&b, "endValue");   jsonbuf_double(&b, (double)total * q->interval_s, 6);
        jsonbuf_key(&b, "samples");
        jsonbuf_begin_array(&b);
        for (uint32_t s = 0; s < nstacks; s++) {
            if (counts[s] == 0)
                continue;
            uint32_t n;
            const uint32_t *frames = profile_stack_frames(p, s, &n);
            jsonbuf_begin_array(&b);
            for (uint32_t i = 0; i < n; i++)
                jsonbuf_uint(&b, frames[i]);
            jsonbuf_end_array(&b);
        }
        jsonbuf_end_array(&b);
        jsonbuf_key(&b, "weights");
        jsonbuf_begin_array(&b);
        for (uint32_t s = 0; s < nstacks; s++)
            if (counts[s] != 0)
                jsonbuf_double(&b, (double)counts[s] * q->interval_s, 6);
        jsonbuf_end_array(&b);
        jsonbuf_end_object(&b);
    }
    jsonbuf_end_array(&b);
    jsonbuf_end_object(&b);
    free(counts);
    return jsonbuf_take(&b, len);
}

/* --- pprof (profile.proto) ------------------------------------------------- */

static void
pb_varint(sbuf_t *b, uint64_t v)
{
    unsigned char out[10];
    int n = 0;
    do {
        out[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            out[n] |= 0x80;
        n++;
    } while (v);
    sb_put(b, out, (size_t)n);
}

static void
pb_tag(sbuf_t *b, int field, int wire)
{
    pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

static void
pb_uint(sbuf_t *b, int field, uint64_t v)
{
    pb_tag(b, field, 0);
    pb_varint(b, v);
}

static void
pb_bytes(sbuf_t *b, int field, const void *data, size_t n)
{
    pb_tag(b, field, 2);
    pb_varint(b, n);
    sb_put(b, data, n);
}

/* Appends a finished sub-message and empties it for reuse. */
static void
pb_message(sbuf_t *b, int field, sbuf_t *sub)
{
    pb_bytes(b, field, sub->data ? sub->data : "", sub->len);
    if (sub->failed)
        b->failed = 1;
    sub->len = 0;
}

/* Fixed strings first in the string table; profile strings follow. */
enum { S_EMPTY, S_SAMPLES, S_COUNT, S_TIME, S_NANOS, S_FIXED };

static char *
export_pprof(profile_t *p, const export_query_t *q, const selection_t *sel, size_t *len)
{
    sbuf_t b = {0}, m = {0}, sub = {0};
    /* sample_type: samples/count, wall|cpu/nanoseconds */
    pb_uint(&m, 1, S_SAMPLES);
    pb_uint(&m, 2, S_COUNT);
    pb_message(&b, 1, &m);
    pb_uint(&m, 1, S_TIME);
    pb_uint(&m, 2, S_NANOS);
    pb_message(&b, 1, &m);
    uint64_t period = (uint64_t)(q->interval_s * 1e9);
    for (uint32_t s = 0; s < sel->nstacks; s++) {
        if (sel->counts[s] == 0)
            continue;
        uint32_t n;
        const uint32_t *frames = profile_stack_frames(p, s, &n);
        for (uint32_t i = n; i-- > 0;)              /* leaf first */
            pb_varint(&sub, (uint64_t)frames[i] + 1);
        pb_message(&m, 1, &sub);                    /* packed location_id */
        pb_varint(&sub, sel->counts[s]);
        pb_varint(&sub, sel->counts[s] * period);
        pb_message(&m, 2, &sub);                    /* packed value */
        pb_message(&b, 2, &m);
    }
    for (uint32_t fr = 0; fr < p->frames.count; fr++) {
        const prof_frame_t *f = profile_frame_at(p, fr);
        pb_uint(&m, 1, (uint64_t)fr + 1);           /* Location.id */
        pb_uint(&sub, 1, (uint64_t)f->func + 1);    /* Line.function_id */
        pb_uint(&sub, 2, (uint64_t)(f->line > 0 ? f->line : 0));
        pb_message(&m, 4, &sub);
        pb_message(&b, 4, &m);
    }
    for (uint32_t fn = 0; fn < p->funcs.count; fn++) {
        const prof_func_t *f = profile_func_at(p, fn);
        pb_uint(&m, 1, (uint64_t)fn + 1);
        pb_uint(&m, 2, (uint64_t)f->name + S_FIXED);
        /* No system_name: pprof takes a name equal to it for C++ and strips
         * the <...> of <module>, <lambda>, <genexpr>. */
        pb_uint(&m, 4, (uint64_t)f->file + S_FIXED);
        pb_uint(&m, 5, (uint64_t)(f->firstlineno > 0 ? f->firstlineno : 0));
        pb_message(&b, 5, &m);
    }
    const char *fixed[S_FIXED] = {"", "samples", "count", q->mode, "nanoseconds"};
    for (int i = 0; i < S_FIXED; i++)
        pb_bytes(&b, 6, fixed[i], strlen(fixed[i]));
    for (uint32_t i = 0; i < p->strings.count; i++) {
        uint32_t sl;
        const char *str = str_at(p, i, &sl);
        pb_bytes(&b, 6, str, sl);
    }
    pb_uint(&b, 10, (uint64_t)(q->elapsed_s * 1e9));   /* duration_nanos */
    pb_uint(&m, 1, S_TIME);
    pb_uint(&m, 2, S_NANOS);
    pb_message(&b, 11, &m);                             /* period_type */
    pb_uint(&b, 12, period);                            /* period */
    free(m.data);
    free(sub.data);
    return sb_take(&b, len);
}

/* --- entry points ----------------------------------------------------------- */

static const char *const format_names[] = {
    [EXPORT_FLAME] = "flame", [EXPORT_TOP] = "top", [EXPORT_THREADS] = "threads",
    [EXPORT_LINES] = "lines", [EXPORT_FOLDED] = "folded", [EXPORT_SPEEDSCOPE] = "speedscope",
    [EXPORT_PPROF] = "pprof", [EXPORT_LIVEPROFILER] = "liveprofiler", [EXPORT_NYLAS] = "nylas",
};

int
export_format_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(format_names) / sizeof(*format_names); i++)
        if (strcmp(name, format_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *
export_content_type(int format)
{
    switch (format) {
    case EXPORT_FOLDED:
    case EXPORT_NYLAS:
        return "text/plain; charset=utf-8";
    case EXPORT_PPROF:
        return "application/octet-stream";
    default:
        return "application/json; charset=utf-8";
    }
}

uint64_t
export_version(profile_t *p)
{
    pthread_mutex_lock(&p->lock);
    uint64_t v = p->recorded;
    pthread_mutex_unlock(&p->lock);
    return v;
}

char *
export_profile(profile_t *p, int format, const export_query_t *q, size_t *len)
{
    if (p == NULL)
        return NULL;
    pthread_mutex_lock(&p->lock);
    char *out = NULL;
    if (format == EXPORT_THREADS) {
        out = export_threads(p, q, len);
    } else if (format == EXPORT_SPEEDSCOPE) {
        out = export_speedscope(p, q, len);
    } else {
        selection_t sel;
        if (select_samples(p, q, &sel) == 0) {
            switch (format) {
            case EXPORT_FLAME:        out = export_flame(p, q, &sel, len); break;
            case EXPORT_TOP:          out = export_top(p, q, &sel, len); break;
            case EXPORT_LINES:        out = export_lines(p, q, &sel, len); break;
            case EXPORT_FOLDED:       out = export_folded(p, &sel, len); break;
            case EXPORT_PPROF:        out = export_pprof(p, q, &sel, len); break;
            case EXPORT_LIVEPROFILER: out = export_liveprofiler(p, q, &sel, len); break;
            case EXPORT_NYLAS:        out = export_nylas(p, q, &sel, len); break;
            default: break;
            }
            free_selection(&sel);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return out;
}

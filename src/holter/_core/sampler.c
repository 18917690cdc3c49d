/* sampler.c - a native thread that samples every Python thread's stack.
 *
 * One round: walk the interpreter's thread list; for each thread copy its
 * state and its chain of _PyInterpreterFrame, each frame's code object
 * (validated by type, and checked against a cache keyed by address with a
 * fingerprint of its fields), and turn instruction offsets into lines with
 * the code's location table. A round runs under the profile's lock, since
 * the code cache hands out the profile's function ids.
 *
 * Workload: 100 Hz to 10 kHz, a handful to a few hundred threads, stacks a
 * few to a few hundred deep. Reads cost one system call each; code objects
 * are read once and then only fingerprinted.
 */
#define _GNU_SOURCE
#include "sampler.h"

#include "linetable.h"
#include "safemem.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DEPTH 1024          /* a longer chain is taken as torn */
#define MAX_THREADS_ROUND 4096  /* threads read per round */
#define CODE_CACHE 8192         /* direct-mapped entries, power of two */
#define MAX_STR 1024            /* characters kept of a name or path */
#define MAX_LINETABLE (1u << 20)
#define HDR_MAX 1024            /* bytes of any struct header we copy */
#define MAX_PREFIXES 64
#define IDLE_FRACTION 0.01      /* less CPU than this share of the interval: idle */
#define FRAME_OWNER_GENERATOR 1 /* FRAME_OWNED_BY_GENERATOR, the same 3.11-3.13 */
#define MAX_TID (1u << 22)      /* Linux's largest pid_max */
#define MAX_WEIGHT 64           /* CPU mode: samples one round may credit a thread */
#define TABLE_BUDGET (32u << 20) /* bytes of cached line tables; beyond, the cache restarts */

typedef struct code_entry {
    uintptr_t code;             /* the code object's address; 0 = empty */
    uintptr_t filename;         /* fingerprint: field values when cached */
    uintptr_t qualname;
    uintptr_t linetable;
    int32_t   firstlineno;
    uint32_t  func;             /* profile function id */
    uint8_t  *table;            /* owned copy of co_linetable's bytes */
    uint32_t  table_len;
} code_entry_t;

/* What the last round saw of a thread. A thread whose CPU clock has not
 * moved since cannot have changed its stack: its last stack is counted
 * again without reading a frame (most threads of a server are idle). */
typedef struct thread_memo {
    uintptr_t ts;               /* thread state address; 0 = empty */
    uint64_t  native_id;        /* kernel tid */
    uint64_t  cpu_ns;           /* its CPU time at the last round */
    uint64_t  credit_ns;        /* CPU mode: CPU time not yet turned into samples */
    uint32_t  stack;            /* its last stack id, INTERN_NONE if none */
} thread_memo_t;

static struct {
    pthread_mutex_t ctl;        /* guards start/stop */
    pthread_t  thread;
    int        running;
    int        paused;          /* stopped by sampler_pause(), settings kept */
    volatile int stopping;
    py_layout_t l;
    double     interval;
    int        mode;
    profile_t *profile;         /* owned; survives stop, for reading */
    code_entry_t *cache;        /* owned, CODE_CACHE entries; under profile lock */
    thread_memo_t memo[MAX_THREADS_ROUND]; /* per thread state, open addressing */
    char      *main_file;       /* owned */
    char      *prefixes[MAX_PREFIXES]; /* owned: sys.path entries, longest first */
    int        nprefixes;
    /* health, written by the sampler thread, read racily by status */
    uint64_t   started_ns, rounds, missed, torn, thread_samples;
    uint64_t   stopped_ns;      /* when the thread stopped; 0 while it runs */
    size_t     table_bytes;     /* bytes of line tables in the code cache */
    uint32_t   threads_last;
} s = { .ctl = PTHREAD_MUTEX_INITIALIZER };

/* --- reading strings and code objects -------------------------------- */

/* Copies a compact str object at addr as UTF-8 into out (NUL-terminated,
 * at most MAX_STR characters). Returns the length, or -1. */
static int
read_str(uintptr_t addr, char *out, size_t outcap)
{
    unsigned char hdr[HDR_MAX];
    if (s.l.str_compact_data > sizeof(hdr) || safemem_read(hdr, addr, s.l.str_compact_data) < 0)
        return -1;
    if (*(uintptr_t *)(hdr + s.l.ob_type) != s.l.unicode_type)
        return -1;
    int64_t length = *(int64_t *)(hdr + s.l.str_length);
    uint32_t state = *(uint32_t *)(hdr + s.l.str_state);
    unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
    if (!compact || length < 0 || (kind != 1 && kind != 2 && kind != 4))
        return -1;
    if (length > MAX_STR)
        length = MAX_STR;
    uint8_t raw[MAX_STR * 4];
    size_t data = ascii ? s.l.str_ascii_data : s.l.str_compact_data;
    if (length > 0 && safemem_read(raw, addr + data, (size_t)length * kind) < 0)
        return -1;
    size_t o = 0;
    for (int64_t i = 0; i < length && o + 4 < outcap; i++) {
        uint32_t c = kind == 1 ? raw[i] : kind == 2 ? ((uint16_t *)raw)[i] : ((uint32_t *)raw)[i];
        if (c >= 0xD800 && c < 0xE000)
            c = 0xFFFD;         /* a lone surrogate: not valid UTF-8 */
        if (c < 0x80) {
            out[o++] = (char)c;
        } else if (c < 0x800) {
            out[o++] = (char)(0xC0 | (c >> 6));
            out[o++] = (char)(0x80 | (c & 63));
        } else if (c < 0x10000) {
            out[o++] = (char)(0xE0 | (c >> 12));
            out[o++] = (char)(0x80 | ((c >> 6) & 63));
            out[o++] = (char)(0x80 | (c & 63));
        } else {
            out[o++] = (char)(0xF0 | (c >> 18));
            out[o++] = (char)(0x80 | ((c >> 12) & 63));
            out[o++] = (char)(0x80 | ((c >> 6) & 63));
            out[o++] = (char)(0x80 | (c & 63));
        }
    }
    out[o] = '\0';
    return (int)o;
}

/* The module name for a file, as __name__ would be: "__main__" for the main
 * script, else the path below the longest sys.path entry, dotted. */
static int
module_name(const char *file, char *out, size_t outcap)
{
    if (s.main_file != NULL && strcmp(file, s.main_file) == 0)
        return snprintf(out, outcap, "__main__");
    size_t flen = strlen(file);
    if (flen > 9 && strncmp(file, "<frozen ", 8) == 0 && file[flen - 1] == '>')
        return snprintf(out, outcap, "%.*s", (int)(flen - 9), file + 8);   /* <frozen mod> */
    const char *rel = NULL;
    for (int i = 0; i < s.nprefixes && rel == NULL; i++) {
        size_t n = strlen(s.prefixes[i]);
        if (n > 0 && strncmp(file, s.prefixes[i], n) == 0 && file[n] == '/')
            rel = file + n + 1;
    }
    if (rel == NULL) {
        const char *slash = strrchr(file, '/');
        /* Not under sys.path: the file's base name. */
        rel = slash ? slash + 1 : file;
    }
    size_t n = strlen(rel);
    if (n > 3 && strcmp(rel + n - 3, ".py") == 0)
        n -= 3;
    if (n > 9 && strncmp(rel + n - 9, "/__init__", 9) == 0)
        n -= 9;
    if (n >= outcap)
        n = outcap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = rel[i] == '/' ? '.' : rel[i];
    out[n] = '\0';
    return (int)n;
}

/* Empties the code cache (its function ids stay valid in the profile). */
static void
drop_tables(void)
{
    for (int i = 0; i < CODE_CACHE; i++) {
        free(s.cache[i].table);
        s.cache[i] = (code_entry_t){0};
    }
    s.table_bytes = 0;
}

/* Reads what a code object is (names, location table) into e and interns
 * its function in the profile. Returns 0 or -1. Profile lock held. */
static int
fill_code_entry(code_entry_t *e, uintptr_t code, const unsigned char *hdr)
{
    char file[MAX_STR * 4 + 8], name[MAX_STR * 4 + 8], module[MAX_STR * 4 + 8];
    uintptr_t fn = *(uintptr_t *)(hdr + s.l.co_filename);
    uintptr_t qn = *(uintptr_t *)(hdr + s.l.co_qualname);
    uintptr_t lt = *(uintptr_t *)(hdr + s.l.co_linetable);
    int flen = read_str(fn, file, sizeof(file));
    int nlen = read_str(qn, name, sizeof(name));
    if (flen < 0 || nlen < 0)
        return -1;
    unsigned char bh[HDR_MAX];
    if (s.l.bytes_sval > sizeof(bh) || safemem_read(bh, lt, s.l.bytes_sval) < 0 ||
        *(uintptr_t *)(bh + s.l.ob_type) != s.l.bytes_type)
        return -1;
    int64_t tlen = *(int64_t *)(bh + s.l.bytes_size);
    if (tlen < 0 || tlen > MAX_LINETABLE)
        return -1;
    if (s.table_bytes + (size_t)tlen > TABLE_BUDGET)
        drop_tables();          /* bounded: the cache fills again as frames come */
    uint8_t *table = malloc(tlen ? (size_t)tlen : 1);
    if (table == NULL || (tlen > 0 && safemem_read(table, lt + s.l.bytes_sval, (size_t)tlen) < 0)) {
        free(table);
        return -1;
    }
    int mlen = module_name(file, module, sizeof(module));
    prof_func_t f = {
        .name = profile_string(s.profile, name, (uint32_t)nlen),
        .file = profile_string(s.profile, file, (uint32_t)flen),
        .module = profile_string(s.profile, module, (uint32_t)(mlen < 0 ? 0 : mlen)),
        .firstlineno = *(int32_t *)(hdr + s.l.co_firstlineno),
    };
    uint32_t func = f.name == INTERN_NONE || f.file == INTERN_NONE || f.module == INTERN_NONE
        ? INTERN_NONE : profile_func(s.profile, &f);
    if (func == INTERN_NONE) {
        free(table);
        return -1;
    }
    s.table_bytes -= e->table_len;
    free(e->table);
    *e = (code_entry_t){code, fn, qn, lt, f.firstlineno, func, table, (uint32_t)tlen};
    s.table_bytes += (size_t)tlen;
    return 0;
}

/* The cache entry for the code object at `code`, read and validated now.
 * NULL if it is not a readable code object. Profile lock held. */
static code_entry_t *
code_entry(uintptr_t code)
{
    unsigned char hdr[HDR_MAX];
    if (s.l.co_size > sizeof(hdr) || safemem_read(hdr, code, s.l.co_size) < 0 ||
        *(uintptr_t *)(hdr + s.l.ob_type) != s.l.code_type)
        return NULL;
    code_entry_t *e = &s.cache[(code >> 4) & (CODE_CACHE - 1)];
    if (e->code == code && e->filename == *(uintptr_t *)(hdr + s.l.co_filename) &&
        e->qualname == *(uintptr_t *)(hdr + s.l.co_qualname) &&
        e->linetable == *(uintptr_t *)(hdr + s.l.co_linetable) &&
        e->firstlineno == *(int32_t *)(hdr + s.l.co_firstlineno))
        return e;
    return fill_code_entry(e, code, hdr) == 0 ? e : NULL;
}

/* --- one thread ------------------------------------------------------- */

/* CPU time of a kernel thread, or -1 if it is gone. */
static int64_t
thread_cpu_ns(uint64_t native_id)
{
    if (native_id == 0 || native_id > INT32_MAX)
        return -1;              /* not a tid: clock ids near 0 mean "this thread" */
    /* glibc's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED): no pthread_t needed,
     * and a dead tid gives EINVAL instead of undefined behaviour. */
    clockid_t cid = (clockid_t)((~(clockid_t)native_id << 3) | 6);
    struct timespec t;
    if (clock_gettime(cid, &t) != 0)
        return -1;
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The memo of thread state `ts` (a new, empty one if unseen). */
static thread_memo_t *
memo_for(uintptr_t ts, uint64_t native_id)
{
    uint32_t i = (uint32_t)((ts >> 4) * 2654435761u) & (MAX_THREADS_ROUND - 1);
    for (uint32_t probe = 0; probe < MAX_THREADS_ROUND; probe++, i = (i + 1) & (MAX_THREADS_ROUND - 1)) {
        thread_memo_t *m = &s.memo[i];
        if (m->ts == ts && m->native_id == native_id)
            return m;
        if (m->ts == 0 || probe == MAX_THREADS_ROUND - 1 || m->ts == ts) {
            *m = (thread_memo_t){ts, native_id, 0, 0, INTERN_NONE};
            return m;
        }
    }
    return &s.memo[0];          /* not reached */
}

enum { WALK_OK, WALK_MOVED, WALK_BAD };
#define WALK_ATTEMPTS 3         /* reads of a stack that moved under us */

/* The thread's innermost frame: from the copy of its state on the first
 * attempt, read again on later ones. 0 if it has none (or on a bad read). */
static uintptr_t
current_frame(uintptr_t ts, const unsigned char *tb, int attempt)
{
    uintptr_t frame = attempt == 0 ? *(uintptr_t *)(tb + s.l.ts_frame)
                                   : safemem_word(ts + s.l.ts_frame);
    if (s.l.ts_frame_in_cframe)
        frame = frame ? safemem_word(frame + s.l.cframe_current_frame) : 0;
    return frame;
}

/* Reads the chain of frames from `frame` into frames[0..*n), innermost
 * first, as frame ids. WALK_MOVED if the thread moved while we read (the
 * chain broke where it cannot: worth reading again), WALK_BAD if it cannot
 * be read. Profile lock held. */
static int
walk_frames(uintptr_t frame, uint32_t *frames, uint32_t *n)
{
    unsigned char fb[HDR_MAX];
    int last_owner = -1;
    *n = 0;
    for (int depth = 0; frame != 0; depth++) {
        if (depth >= MAX_DEPTH || s.l.fr_size > sizeof(fb) || safemem_read(fb, frame, s.l.fr_size) < 0)
            return WALK_BAD;
        uintptr_t code = *(uintptr_t *)(fb + s.l.fr_code);
        uintptr_t instr = *(uintptr_t *)(fb + s.l.fr_instr);
        int owner = *(char *)(fb + s.l.fr_owner);
        last_owner = owner;
        frame = *(uintptr_t *)(fb + s.l.fr_previous);
        if (owner == FRAME_OWNER_GENERATOR && frame == 0)
            return WALK_MOVED;  /* a running generator always has a caller: it just yielded */
        if (*n >= PROFILE_MAX_STACK)
            return WALK_OK;     /* the innermost frames are kept; the rest omitted */
        if (owner == s.l.fr_owner_cstack)
            continue;           /* a C-stack shim frame, not Python code */
        code_entry_t *e = code_entry(code);
        if (e == NULL)
            continue;           /* not a code object (3.13 f_executable may not be) */
        intptr_t units = ((intptr_t)instr - (intptr_t)(code + s.l.co_code_adaptive)) / 2;
        int line = units >= 0 ? linetable_line(e->table, e->table_len, e->firstlineno, (int)units) : -1;
        uint32_t f = profile_frame(s.profile, e->func, line);
        if (f == INTERN_NONE)
            return WALK_BAD;
        frames[(*n)++] = f;
    }
    /* From 3.12 every chain ends at the entry frame of the outermost
     * evaluation: ending anywhere else means the thread moved mid-read. */
    if (s.l.fr_owner_cstack >= 0 && last_owner != s.l.fr_owner_cstack)
        return WALK_MOVED;
    return WALK_OK;
}

/* Samples one thread state at `ts`. Sets *next to the next thread state.
 * Returns 1 if a stack was recorded, 0 if none (no frames, idle in CPU
 * mode), -1 if torn. Profile lock held. */
static int
sample_thread(uintptr_t ts, uintptr_t *next, uint64_t now_ns, uintptr_t gil_holder)
{
    unsigned char tb[HDR_MAX];
    if (s.l.ts_size > sizeof(tb) || safemem_read(tb, ts, s.l.ts_size) < 0)
        return -1;
    *next = *(uintptr_t *)(tb + s.l.ts_next);
    prof_thread_t th = {
        .id = *(unsigned long *)(tb + s.l.ts_thread_id),
        .native_id = *(unsigned long *)(tb + s.l.ts_native_thread_id),
    };
    if (th.id == 0 || th.native_id == 0)
        return 0;               /* created, not yet running: 3.12+ makes the state first */
    if (th.native_id > MAX_TID)
        return -1;              /* not a live thread state: freed under us */
    thread_memo_t *m = memo_for(ts, th.native_id);
    int64_t cpu = thread_cpu_ns(th.native_id);
    int known = cpu >= 0 && m->cpu_ns != 0 && (uint64_t)cpu >= m->cpu_ns;
    uint64_t used = known ? (uint64_t)cpu - m->cpu_ns : 0;
    int still = known && used == 0 && m->stack != INTERN_NONE;
    int idle = known && (double)used < IDLE_FRACTION * s.interval * 1e9;
    m->cpu_ns = cpu >= 0 ? (uint64_t)cpu : 0;
    uint32_t weight = 1;
    if (s.mode == SAMPLER_CPU) {
        /* One sample per interval of CPU the thread used, whenever it used
         * it: short bursts and GIL waits are weighed, not rounded up. */
        uint64_t step = (uint64_t)(s.interval * 1e9) + 1;
        m->credit_ns += used;
        uint64_t w = m->credit_ns / step;
        m->credit_ns -= w * step;
        weight = (uint32_t)(w < MAX_WEIGHT ? w : MAX_WEIGHT);
        if (weight == 0)
            return 0;
        idle = 0;
    }
    int flags = (idle ? PROF_IDLE : 0) | (gil_holder == ts ? PROF_GIL : 0);
    if (still)                  /* has not run since: same stack */
        return profile_record_stack(s.profile, &th, m->stack, PROF_IDLE, weight, now_ns) == 0 ? 1 : -1;

    uint32_t frames[PROFILE_MAX_STACK];     /* innermost first */
    uint32_t n = 0;
    m->stack = INTERN_NONE;
    int rc = WALK_MOVED;
    for (int attempt = 0; attempt < WALK_ATTEMPTS && rc == WALK_MOVED; attempt++) {
        uintptr_t frame = current_frame(ts, tb, attempt);
        if (frame == 0)
            return 0;
        rc = walk_frames(frame, frames, &n);
    }
    if (rc != WALK_OK)
        return -1;
    if (n == 0)
        return 0;
    for (uint32_t i = 0; i < n / 2; i++) {  /* root first */
        uint32_t t = frames[i];
        frames[i] = frames[n - 1 - i];
        frames[n - 1 - i] = t;
    }
    if (profile_record(s.profile, &th, frames, n, flags, weight, now_ns) < 0)
        return -1;
    m->stack = profile_last_stack(s.profile);
    return 1;
}

static void
sample_round(void)
{
    uint64_t now = profile_now_ns();
    pthread_mutex_lock(&s.profile->lock);
    uintptr_t ts = safemem_word(s.l.interp + s.l.interp_threads_head);
    uintptr_t gil_holder = 0;   /* the thread state holding the GIL, if known */
    if (s.l.gil_known) {
        int locked = 0;
        if (safemem_read(&locked, s.l.interp + s.l.gil_locked, sizeof(locked)) == 0 && locked == 1)
            gil_holder = safemem_word(s.l.interp + s.l.gil_holder);
    }
    uint32_t threads = 0;
    while (ts != 0 && threads < MAX_THREADS_ROUND) {
        uintptr_t next = 0;
        int rc = sample_thread(ts, &next, now, gil_holder);
        if (rc < 0) {
            s.torn++;
            if (next == 0)
                break;          /* could not even read the thread state */
        } else {
            s.thread_samples += (uint64_t)rc;
        }
        threads++;
        ts = next;
    }
    pthread_mutex_unlock(&s.profile->lock);
    s.threads_last = threads;
    s.rounds++;
}

static void *
sampler_main(void *arg)
{
    uint64_t step = (uint64_t)(s.interval * 1e9);
    if (step == 0)
        step = 1;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!s.stopping) {
        sample_round();
        uint64_t at = (uint64_t)next.tv_sec * 1000000000ull + (uint64_t)next.tv_nsec + step;
        uint64_t now = profile_now_ns();
        if (now > at + step) {  /* late by more than a round: skip ahead */
            s.missed += (now - at) / step;
            at = now;
        }
        next.tv_sec = (time_t)(at / 1000000000ull);
        next.tv_nsec = (long)(at % 1000000000ull);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
    }
    return NULL;
}

/* --- thread names ----------------------------------------------------- */

#define NAMES 1024

static struct {
    pthread_mutex_t lock;
    uint64_t id[NAMES];         /* 0 = empty */
    char     name[NAMES][64];
} names = { .lock = PTHREAD_MUTEX_INITIALIZER };

void
sampler_name_thread(uint64_t id, const char *name)
{
    pthread_mutex_lock(&names.lock);
    uint32_t i = (uint32_t)(id * 2654435761u) & (NAMES - 1);
    for (uint32_t probe = 0; probe < NAMES; probe++, i = (i + 1) & (NAMES - 1)) {
        if (names.id[i] == id || names.id[i] == 0 || probe == NAMES - 1) {
            names.id[i] = id;
            snprintf(names.name[i], sizeof(names.name[i]), "%s", name);
            break;
        }
    }
    pthread_mutex_unlock(&names.lock);
}

void
sampler_thread_name(uint64_t id, char *out, size_t outcap)
{
    if (id == 0) {              /* profile.c's "other threads": the table was full */
        snprintf(out, outcap, "other threads");
        return;
    }
    snprintf(out, outcap, "Thread-%llu", (unsigned long long)id);
    pthread_mutex_lock(&names.lock);
    uint32_t i = (uint32_t)(id * 2654435761u) & (NAMES - 1);
    for (uint32_t probe = 0; probe < NAMES && names.id[i] != 0; probe++, i = (i + 1) & (NAMES - 1)) {
        if (names.id[i] == id) {
            snprintf(out, outcap, "%s", names.name[i]);
            break;
        }
    }
    pthread_mutex_unlock(&names.lock);
}

/* --- control ------------------------------------------------------------ */

static void
clear_cache(void)
{
    if (s.cache == NULL)
        return;
    drop_tables();
    memset(s.memo, 0, sizeof(s.memo));     /* their stack ids are gone too */
}

static int
cmp_len_desc(const void *a, const void *b)
{
    size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);
    return (x < y) - (x > y);
}

static void
set_names(const char *main_file, const char *const *prefixes, int nprefixes)
{
    free(s.main_file);
    s.main_file = main_file ? strdup(main_file) : NULL;
    for (int i = 0; i < s.nprefixes; i++)
        free(s.prefixes[i]);
    s.nprefixes = 0;
    for (int i = 0; i < nprefixes && s.nprefixes < MAX_PREFIXES; i++)
        if ((s.prefixes[s.nprefixes] = strdup(prefixes[i])) != NULL)
            s.nprefixes++;
    qsort(s.prefixes, (size_t)s.nprefixes, sizeof(char *), cmp_len_desc);
}

/* Starts the thread with every signal blocked (Ctrl-C belongs to the
 * program). ctl held. Returns 0 or an errno. */
static int
spawn(void)
{
    s.stopping = 0;
    s.stopped_ns = 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s.thread, NULL, sampler_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    s.running = rc == 0;
    return rc;
}

int
sampler_start(const py_layout_t *layout, double interval_s, int mode,
              const char *main_file, const char *const *prefixes, int nprefixes,
              char *err, size_t errlen)
{
    pthread_mutex_lock(&s.ctl);
    if (s.running) {
        pthread_mutex_unlock(&s.ctl);
        snprintf(err, errlen, "the sampler is already running");
        return -1;
    }
    if (!layout->ok) {
        pthread_mutex_unlock(&s.ctl);
        snprintf(err, errlen, "cannot read this interpreter's frames: %s", layout->why);
        return -1;
    }
    if (safemem_init() < 0) {
        pthread_mutex_unlock(&s.ctl);
        snprintf(err, errlen, "process_vm_readv is not allowed here: %s", strerror(errno));
        return -1;
    }
    if (s.profile == NULL && (s.profile = profile_new()) == NULL) {
        pthread_mutex_unlock(&s.ctl);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (s.cache == NULL && (s.cache = calloc(CODE_CACHE, sizeof(code_entry_t))) == NULL) {
        pthread_mutex_unlock(&s.ctl);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_lock(&s.profile->lock);
    s.l = *layout;
    s.interval = interval_s;
    s.mode = mode;
    set_names(main_file, prefixes, nprefixes);
    pthread_mutex_unlock(&s.profile->lock);
    s.started_ns = profile_now_ns();
    s.rounds = s.missed = s.torn = s.thread_samples = 0;
    int rc = spawn();
    pthread_mutex_unlock(&s.ctl);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the sampler thread: %s", strerror(rc));
        return -1;
    }
    return 0;
}

/* Stops and joins the thread. ctl held. */
static void
join_thread(void)
{
    s.stopping = 1;
    pthread_join(s.thread, NULL);   /* it never waits for the GIL: no deadlock */
    s.running = 0;
    s.stopped_ns = profile_now_ns();
}

void
sampler_stop(void)
{
    pthread_mutex_lock(&s.ctl);
    if (s.running)
        join_thread();
    s.paused = 0;
    pthread_mutex_unlock(&s.ctl);
}

int
sampler_running(void)
{
    return s.running;
}

int
sampler_pause(void)
{
    pthread_mutex_lock(&s.ctl);
    int was = s.running;
    if (was) {
        join_thread();
        s.paused = 1;
    }
    pthread_mutex_unlock(&s.ctl);
    return was;
}

int
sampler_resume(void)
{
    pthread_mutex_lock(&s.ctl);
    int rc = 0;
    if (s.paused && !s.running)
        rc = spawn();
    s.paused = 0;
    pthread_mutex_unlock(&s.ctl);
    return rc == 0 ? 0 : -1;
}

void
sampler_reset(void)
{
    if (s.profile == NULL)
        return;
    profile_t *p = s.profile;
    pthread_mutex_lock(&p->lock);
    profile_reset_locked(p);
    clear_cache();                      /* its function ids are gone with the tables */
    s.started_ns = profile_now_ns();
    if (s.stopped_ns)
        s.stopped_ns = s.started_ns;    /* stopped: nothing elapses */
    s.rounds = s.missed = s.torn = s.thread_samples = 0;
    pthread_mutex_unlock(&p->lock);
}

profile_t *
sampler_profile(void)
{
    return s.profile;
}

void
sampler_health(sampler_health_t *h)
{
    memset(h, 0, sizeof(*h));
    h->running = s.running;
    h->mode = s.mode;
    h->interval_s = s.interval;
    uint64_t end = s.stopped_ns ? s.stopped_ns : profile_now_ns();   /* stopped: frozen */
    h->elapsed_s = s.started_ns && end > s.started_ns ? (double)(end - s.started_ns) * 1e-9 : 0;
    h->rounds = s.rounds;
    h->thread_samples = s.thread_samples;
    h->missed = s.missed;
    h->torn = s.torn;
    h->threads = s.threads_last;
    h->gil_known = s.l.gil_known;
    if (s.profile != NULL) {
        pthread_mutex_lock(&s.profile->lock);
        h->lost = s.profile->lost;
        h->unique_stacks = s.profile->stacks.count;
        h->unique_frames = s.profile->frames.count;
        h->memory_bytes = profile_memory(s.profile) + CODE_CACHE * sizeof(code_entry_t) +
                          s.table_bytes;
        h->memory_cap_bytes = profile_memory_cap(s.profile) +
                              CODE_CACHE * sizeof(code_entry_t) + TABLE_BUDGET + MAX_LINETABLE;
        pthread_mutex_unlock(&s.profile->lock);
    }
}

void
sampler_after_fork_child(void)
{
    pthread_mutex_init(&s.ctl, NULL);
    pthread_mutex_init(&names.lock, NULL);
    if (s.profile != NULL)
        pthread_mutex_init(&s.profile->lock, NULL);
    s.running = 0;
    s.paused = 0;
    s.stopping = 0;
}

/* core.h - the state shared by the hooks, the stack snapshots and the server.
 *
 * There is one tracer per process, and the hooks and native threads need it
 * without a module object at hand, so the state is one global, `core`.
 * Fields are grouped by who writes them; see each comment.
 */
#ifndef HOLTER_CORE_H
#define HOLTER_CORE_H

#include "pyver.h"

#include <stdint.h>

#include "linecounts.h"

#ifndef HOLTER_VERSION          /* setup.py passes pyproject.toml's version */
#  define HOLTER_VERSION "dev"
#endif

/* What the hooks remember about a code object, kept in its co_extra slot.
 * Created on the code's first event; freed with the code object. */
typedef struct code_rec {
    struct code_rec *prev, *next; /* in core.traced while file != NULL */
    PyObject   *code;             /* borrowed: this record dies with the code */
    lc_file_t  *file;             /* traced file, or NULL: not traced */
    uint32_t    generation;       /* core.generation when decided */
    int         lines_on;         /* 3.12+: LINE events enabled for this code */
} code_rec_t;

typedef struct core_state {
    /* Written with the GIL held, by trace()/stop() and the hooks. */
    linecounts_t *counts;         /* owned; lives until the process ends */
    Py_ssize_t   extra_index;     /* co_extra slot for code_rec_t, -1 before init */
    uint32_t     generation;      /* bumped by each start: old decisions are stale */
    PyObject    *resolver;        /* owned: callable(filename) -> file id or -1 */
    int          hooked;          /* a hook is installed */
    int          floor;           /* hook delivers events but counts nothing (bench) */
    uint64_t     hook_errors;     /* failures swallowed by hooks: never raised */
    code_rec_t   traced;          /* head of the list of traced code records */
    double       started_at;      /* monotonic seconds at first start */
} core_state;

extern core_state core;

/* Monotonic clock in seconds. */
double core_now(void);

/* Walking the thread list is safe only while no other thread can run, i.e.
 * while no Python code runs on ours. Allocation can start a GC pass whose
 * finalizers run Python code (and may switch threads), so walks pause the
 * collector: core_gc_pause() returns whether it was enabled, for
 * core_gc_resume(). */
static inline int core_gc_pause(void) { return PyGC_Disable(); }
static inline void core_gc_resume(int was_enabled) { if (was_enabled) PyGC_Enable(); }

/* --- coderec.c: deciding whether a code object is traced --------------- */

/* Prepares the co_extra slot. Returns -1 with an exception set on failure. */
int coderec_init(void);

/* The record for `code`, deciding it (by calling core.resolver) if it has
 * none or a stale one. GIL held. Never raises: on failure it counts a hook
 * error, clears the exception and returns NULL (treat as untraced). */
code_rec_t *coderec_lookup(PyObject *code);

/* The record for `code` if decided in this generation, else NULL. Never
 * calls Python code: safe for the stack snapshot. */
code_rec_t *coderec_peek(PyObject *code);

/* --- hook_trace.c (3.11) / hook_monitoring.c (3.12+) ------------------- */

/* The hook's name, reported by status: "settrace" or "sys.monitoring". */
extern const char hook_name[];

/* Installs the hook on every thread, present and future. GIL held.
 * Returns -1 with an exception set on failure. */
int hook_install(void);

/* Removes the hook from every thread. GIL held. Returns -1 with an exception
 * set on failure; the hook is off either way. */
int hook_uninstall(void);

#endif /* HOLTER_CORE_H */

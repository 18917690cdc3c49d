/* threadstacks.c - live stacks of every thread, snapshotted with the GIL.
 *
 * See threadstacks.h. The snapshot is written as JSON directly while the GIL
 * is held (a few microseconds for ordinary programs; bounded by
 * THREADSTACKS_MAX_THREADS x THREADSTACKS_MAX_FRAMES). Its format is
 * documented in docs/http-api.md (GET /api/stacks) and read by
 * static/app.js.
 */
#include "core.h"          /* first: Python.h sets the feature macros */
#include "threadstacks.h"

#include "jsonbuf.h"
#include "sampler.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SNAPSHOT_MAX_BYTES (16u << 20)  /* a snapshot larger than this is dropped */
#define WANTED_FOR_S 5.0                /* keep snapshotting this long after a request */

static struct {
    pthread_mutex_t lock;     /* guards every field below */
    pthread_cond_t  wake;     /* the snapshot thread waits here */
    pthread_cond_t  fresh;    /* readers wait here for a new snapshot */
    pthread_t       thread;
    int             running;  /* thread started and not joined */
    int             stopping; /* asks the thread to exit */
    double          interval; /* seconds between snapshots while wanted */
    double          wanted_until; /* core_now() deadline set by readers */
    char           *json;     /* owned: latest threads array, NULL before the first */
    size_t          len;      /* bytes in json */
    uint64_t        generation; /* bumped when the JSON differs from the last */
    double          taken_at; /* core_now() of the latest snapshot */
    int             sync_ready; /* lock and conds set up by init_sync() */
} ts;

/* Writes a Python str as a JSON string; str with lone surrogates (odd file
 * names) goes through surrogateescape and jsonbuf replaces the bad bytes. */
static void
write_pystr(jsonbuf_t *b, PyObject *s)
{
    Py_ssize_t n;
    const char *u = s != NULL && PyUnicode_Check(s) ? PyUnicode_AsUTF8AndSize(s, &n) : NULL;
    if (u != NULL) {
        jsonbuf_str(b, u, (size_t)n);
        return;
    }
    PyErr_Clear();
    PyObject *bytes = s != NULL && PyUnicode_Check(s)
        ? PyUnicode_AsEncodedString(s, "utf-8", "surrogateescape") : NULL;   /* owned */
    if (bytes == NULL) {
        PyErr_Clear();
        jsonbuf_cstr(b, "?");
        return;
    }
    jsonbuf_str(b, PyBytes_AS_STRING(bytes), (size_t)PyBytes_GET_SIZE(bytes));
    Py_DECREF(bytes);
}

static void
write_frame(jsonbuf_t *b, PyFrameObject *f)
{
    PyCodeObject *co = PyFrame_GetCode(f);                       /* owned */
    code_rec_t *rec = coderec_peek((PyObject *)co);
    jsonbuf_begin_object(b);
    jsonbuf_key(b, "file_id");
    if (rec != NULL && rec->file != NULL)
        jsonbuf_uint(b, rec->file->id);
    else
        jsonbuf_null(b);
    jsonbuf_key(b, "path");
    write_pystr(b, co->co_filename);
    jsonbuf_key(b, "line");
    jsonbuf_int(b, PyFrame_GetLineNumber(f));
    jsonbuf_key(b, "qualname");
    write_pystr(b, co->co_qualname);
    jsonbuf_key(b, "pos");
    int lasti = PyFrame_GetLasti(f);
    int sl = -1, sc = -1, el = -1, ec = -1;
    if (lasti >= 0)
        PyCode_Addr2Location(co, lasti, &sl, &sc, &el, &ec);
    if (sl > 0 && sc >= 0 && el >= sl && ec >= 0) {
        jsonbuf_begin_array(b);
        jsonbuf_int(b, sl);
        jsonbuf_int(b, sc);
        jsonbuf_int(b, el);
        jsonbuf_int(b, ec);
        jsonbuf_end_array(b);
    } else {
        jsonbuf_null(b);
    }
    jsonbuf_end_object(b);
    Py_DECREF(co);
}

/* The thread's name from threading._active, read from instance dicts so
 * that no Python code (properties, __getattr__) can run. */
static void
write_thread_name(jsonbuf_t *b, PyObject *active, unsigned long ident)
{
    PyObject *key = PyLong_FromUnsignedLong(ident);              /* owned */
    PyObject *thread = key != NULL && active != NULL && PyDict_Check(active)
        ? PyDict_GetItemWithError(active, key) : NULL;           /* borrowed */
    Py_XDECREF(key);
    PyObject *dict = thread != NULL ? PyObject_GenericGetDict(thread, NULL) : NULL; /* owned */
    PyObject *name = dict != NULL ? PyDict_GetItemString(dict, "_name") : NULL;   /* borrowed */
    PyErr_Clear();
    if (name != NULL && PyUnicode_Check(name)) {
        write_pystr(b, name);
        const char *utf8 = PyUnicode_AsUTF8(name);
        if (utf8 != NULL)
            sampler_name_thread(ident, utf8);     /* the sampler cannot read names itself */
        else
            PyErr_Clear();
    } else {
        char buf[40];
        snprintf(buf, sizeof(buf), "Thread-%lu", ident);
        jsonbuf_cstr(b, buf);
    }
    Py_XDECREF(dict);
}

static void
write_thread(jsonbuf_t *b, PyThreadState *t, PyObject *active)
{
    PyFrameObject *kept[THREADSTACKS_MAX_FRAMES];  /* owned refs, innermost first */
    int nkept = 0;
    long omitted = 0;
    PyFrameObject *f = PyThreadState_GetFrame(t);                /* owned */
    while (f != NULL) {
        PyFrameObject *back = PyFrame_GetBack(f);                /* owned */
        if (nkept < THREADSTACKS_MAX_FRAMES) {
            kept[nkept++] = f;
        } else {
            omitted++;
            Py_DECREF(f);
        }
        f = back;
    }
    jsonbuf_begin_object(b);
    jsonbuf_key(b, "id");
    jsonbuf_uint(b, t->thread_id);
    jsonbuf_key(b, "native_id");
    jsonbuf_uint(b, t->native_thread_id);
    jsonbuf_key(b, "name");
    write_thread_name(b, active, t->thread_id);
    jsonbuf_key(b, "omitted");      /* outermost frames left out */
    jsonbuf_int(b, omitted);
    jsonbuf_key(b, "frames");
    jsonbuf_begin_array(b);
    for (int i = nkept - 1; i >= 0; i--) {
        write_frame(b, kept[i]);
        Py_DECREF(kept[i]);
    }
    jsonbuf_end_array(b);
    jsonbuf_end_object(b);
}

/* Walks every thread with the GIL held and returns the threads array as
 * malloc'd JSON (oldest thread first), or NULL. */
static char *
snapshot_json(size_t *len)
{
    if (holter_is_finalizing())
        return NULL;
    PyGILState_STATE g = PyGILState_Ensure();
    int gc_was = core_gc_pause();       /* no Python code may run during the walk */
    PyThreadState *self = PyThreadState_Get();
    PyThreadState *threads[THREADSTACKS_MAX_THREADS];
    int n = 0;
    PyInterpreterState *interp = PyInterpreterState_Get();
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp);
         t != NULL && n < THREADSTACKS_MAX_THREADS; t = PyThreadState_Next(t))
        if (t != self)                  /* our own, frameless thread state */
            threads[n++] = t;

    PyObject *modname = PyUnicode_FromString("threading");             /* owned */
    PyObject *threading = modname ? PyImport_GetModule(modname) : NULL;  /* owned */
    PyObject *active = threading ? PyObject_GetAttrString(threading, "_active") : NULL;
    PyErr_Clear();              /* no threading module: names are made up */

    jsonbuf_t b;
    jsonbuf_init(&b, SNAPSHOT_MAX_BYTES);
    jsonbuf_begin_array(&b);
    for (int i = n - 1; i >= 0; i--)    /* the list is newest first */
        write_thread(&b, threads[i], active);
    jsonbuf_end_array(&b);

    Py_XDECREF(active);
    Py_XDECREF(threading);
    Py_XDECREF(modname);
    PyErr_Clear();
    core_gc_resume(gc_was);
    PyGILState_Release(g);
    return jsonbuf_take(&b, len);
}

/* An absolute CLOCK_MONOTONIC time `s` seconds from now, for timed waits. */
static struct timespec
deadline_in(double s)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long ns = t.tv_nsec + (long)(s * 1e9);
    t.tv_sec += ns / 1000000000L;
    t.tv_nsec = ns % 1000000000L;
    return t;
}

/* (Re)creates the lock and the condition variables, timed on the monotonic
 * clock so that wall-clock jumps cannot stretch a wait. */
static void
init_sync(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&ts.lock, NULL);
    pthread_cond_init(&ts.wake, &attr);
    pthread_cond_init(&ts.fresh, &attr);
    pthread_condattr_destroy(&attr);
    ts.sync_ready = 1;
}

static void *
snapshot_main(void *arg)
{
    pthread_mutex_lock(&ts.lock);
    while (!ts.stopping) {
        if (core_now() > ts.wanted_until) {
            pthread_cond_wait(&ts.wake, &ts.lock);
            continue;
        }
        pthread_mutex_unlock(&ts.lock);
        size_t len = 0;
        char *json = snapshot_json(&len);
        pthread_mutex_lock(&ts.lock);
        if (json != NULL) {
            if (ts.json == NULL || ts.len != len || memcmp(ts.json, json, len) != 0) {
                free(ts.json);
                ts.json = json;
                ts.len = len;
                ts.generation++;
            } else {
                free(json);
            }
            ts.taken_at = core_now();
            pthread_cond_broadcast(&ts.fresh);
        }
        if (ts.stopping)
            break;
        struct timespec until = deadline_in(ts.interval);
        pthread_cond_timedwait(&ts.wake, &ts.lock, &until);
    }
    pthread_mutex_unlock(&ts.lock);
    return NULL;
}

int
threadstacks_start(double interval_s)
{
    if (!ts.sync_ready)         /* first start: no other thread uses ts yet */
        init_sync();
    pthread_mutex_lock(&ts.lock);
    if (ts.running) {
        ts.interval = interval_s;
        pthread_mutex_unlock(&ts.lock);
        return 0;
    }
    ts.interval = interval_s;
    ts.stopping = 0;
    /* Signals (Ctrl-C above all) must reach the program's own threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&ts.thread, NULL, snapshot_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err == 0)
        ts.running = 1;
    pthread_mutex_unlock(&ts.lock);
    if (err != 0) {
        errno = err;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return 0;
}

void
threadstacks_stop(void)
{
    pthread_mutex_lock(&ts.lock);
    if (!ts.running) {
        pthread_mutex_unlock(&ts.lock);
        return;
    }
    ts.stopping = 1;
    pthread_cond_broadcast(&ts.wake);
    pthread_mutex_unlock(&ts.lock);
    Py_BEGIN_ALLOW_THREADS      /* the thread may be waiting for the GIL */
    pthread_join(ts.thread, NULL);
    Py_END_ALLOW_THREADS
    pthread_mutex_lock(&ts.lock);
    ts.running = 0;
    ts.stopping = 0;
    pthread_cond_broadcast(&ts.fresh);
    pthread_mutex_unlock(&ts.lock);
}

int
threadstacks_read(uint64_t known, char **json, size_t *len,
                  uint64_t *generation, double *age_s, double fresh_s, double wait_s)
{
    pthread_mutex_lock(&ts.lock);
    double now = core_now();
    ts.wanted_until = now + WANTED_FOR_S;
    if (ts.running && (ts.json == NULL || now - ts.taken_at > fresh_s)) {
        double asked = now;
        pthread_cond_signal(&ts.wake);
        struct timespec until = deadline_in(wait_s);
        while (ts.running && ts.taken_at < asked &&
               pthread_cond_timedwait(&ts.fresh, &ts.lock, &until) == 0)
            ;
    }
    if (ts.json == NULL) {
        pthread_mutex_unlock(&ts.lock);
        return -1;
    }
    *generation = ts.generation;
    *age_s = core_now() - ts.taken_at;
    if (ts.generation == known) {
        pthread_mutex_unlock(&ts.lock);
        return 1;
    }
    *json = malloc(ts.len + 1);
    if (*json == NULL) {
        pthread_mutex_unlock(&ts.lock);
        return -1;
    }
    memcpy(*json, ts.json, ts.len + 1);
    *len = ts.len;
    pthread_mutex_unlock(&ts.lock);
    return 0;
}

void
threadstacks_after_fork_child(void)
{
    init_sync();
    ts.running = 0;
    ts.stopping = 0;
}

/* module.c - holter._core: PyInit, the method table and fork handling.
 *
 * Glue only: each function checks its arguments and calls the module that
 * does the work. Types are in src/holter/_core.pyi.
 */
#include "core.h"

#include "assets.h"
#include "export.h"
#include "http.h"
#include "pylayout.h"
#include "routes.h"
#include "sampler.h"
#include "threadstacks.h"

#include <pthread.h>
#include <time.h>

#define MAX_FILES 100000        /* traced files; beyond this, files are not traced */
#define STACKS_INTERVAL_S 0.1   /* stack snapshots per second while watched: 10 */

core_state core = { .extra_index = -1 };

static PyObject *registered;    /* owned dict: path (bytes) -> file id, for register_file */

/* Our threads stopped across a fork; see suspend_for_fork(). */
static struct {
    int       suspended;        /* our threads are stopped for a fork */
    int       serving;          /* ...among them the server's */
    int       sampling;         /* ...and the sampler */
    PyObject *caller;           /* owned frame that called os.fork(), or NULL */
    int       caller_lasti;     /* its instruction at the call */
} fork_state;

double
core_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* --- fork ------------------------------------------------------------- */

static void
before_fork(void)
{
    if (core.counts != NULL)
        pthread_mutex_lock(&core.counts->lock);     /* no reader mid-copy in the child */
    if (sampler_profile() != NULL)
        pthread_mutex_lock(&sampler_profile()->lock);   /* no round half-recorded */
}

static void
after_fork_parent(void)
{
    if (core.counts != NULL)
        pthread_mutex_unlock(&core.counts->lock);
    if (sampler_profile() != NULL)
        pthread_mutex_unlock(&sampler_profile()->lock);
}

/* The child has only the forking thread: our native threads are gone. The
 * hook keeps counting in the child; serving stays with the parent. */
static void
after_fork_child(void)
{
    /* No restart in the child. Its reference to the fork's caller is
     * dropped by resume_after_fork(), called from Python once the child's
     * interpreter is sane again. */
    fork_state.suspended = 0;
    if (core.counts != NULL)
        linecounts_after_fork_child(core.counts);
    threadstacks_after_fork_child();
    http_after_fork_child();
    sampler_after_fork_child();
}

/* Creates the tables once per process. */
static int
ensure_init(void)
{
    static int forks_hooked;
    if (core.counts == NULL) {
        core.counts = linecounts_new(MAX_FILES);
        if (core.counts == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        core.started_at = core_now();
    }
    if (!forks_hooked) {
        if (pthread_atfork(before_fork, after_fork_parent, after_fork_child) != 0) {
            PyErr_SetString(PyExc_RuntimeError, "holter: pthread_atfork failed");
            return -1;
        }
        forks_hooked = 1;
    }
    return coderec_init();
}

/* --- tracing ---------------------------------------------------------- */

static PyObject *
start_tracing(PyObject *mod, PyObject *args)
{
    PyObject *resolver;
    int floor = 0;
    if (!PyArg_ParseTuple(args, "O|p:start_tracing", &resolver, &floor))
        return NULL;
    if (!PyCallable_Check(resolver)) {
        PyErr_SetString(PyExc_TypeError, "resolver must be callable");
        return NULL;
    }
    if (core.hooked) {
        PyErr_SetString(PyExc_RuntimeError, "holter is already tracing; call holter.stop() first");
        return NULL;
    }
    if (ensure_init() < 0)
        return NULL;
    Py_XSETREF(core.resolver, Py_NewRef(resolver));
    core.floor = floor;
    core.generation++;          /* decisions of an earlier session are stale */
    core.hooked = 1;            /* before install: the 3.11 installer checks it */
    if (hook_install() < 0) {
        core.hooked = 0;
        Py_CLEAR(core.resolver);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
stop_tracing(PyObject *mod, PyObject *unused)
{
    if (!core.hooked)
        Py_RETURN_NONE;
    core.hooked = 0;
    int rc = hook_uninstall();
    Py_CLEAR(core.resolver);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
register_file(PyObject *mod, PyObject *args)
{
    const char *path;
    Py_buffer source = {0};
    PyObject *source_obj;
    if (!PyArg_ParseTuple(args, "yO:register_file", &path, &source_obj))
        return NULL;
    if (ensure_init() < 0)
        return NULL;
    /* Get-or-add in C, where no other thread can run in between. */
    if (registered == NULL && (registered = PyDict_New()) == NULL)
        return NULL;
    PyObject *key = PyBytes_FromString(path);                     /* owned */
    if (key == NULL)
        return NULL;
    PyObject *known = PyDict_GetItemWithError(registered, key);   /* borrowed */
    if (known != NULL || PyErr_Occurred()) {
        Py_DECREF(key);
        return Py_XNewRef(known);
    }
    if (source_obj != Py_None && PyObject_GetBuffer(source_obj, &source, PyBUF_SIMPLE) < 0) {
        Py_DECREF(key);
        return NULL;
    }
    lc_file_t *f = linecounts_add(core.counts, path,
                                  source_obj != Py_None ? source.buf : NULL,
                                  source_obj != Py_None ? (size_t)source.len : 0);
    if (source_obj != Py_None)
        PyBuffer_Release(&source);
    if (f == NULL) {
        Py_DECREF(key);
        return PyLong_FromLong(-1);     /* table full or no memory: not traced */
    }
    PyObject *id = PyLong_FromUnsignedLong(f->id);
    if (id == NULL || PyDict_SetItem(registered, key, id) < 0)
        Py_CLEAR(id);
    Py_DECREF(key);
    return id;
}

static PyObject *
file_id(PyObject *mod, PyObject *arg)
{
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "path must be bytes");
        return NULL;
    }
    PyObject *id = registered ? PyDict_GetItemWithError(registered, arg) : NULL;  /* borrowed */
    if (id == NULL && PyErr_Occurred())
        return NULL;
    return Py_NewRef(id != NULL ? id : Py_None);
}

static PyObject *
line_counts(PyObject *mod, PyObject *arg)
{
    long id = PyLong_AsLong(arg);
    if (id == -1 && PyErr_Occurred())
        return NULL;
    lc_file_t *f = core.counts && id >= 0 ? linecounts_get(core.counts, (uint32_t)id) : NULL;
    if (f == NULL) {
        PyErr_Format(PyExc_KeyError, "no traced file with id %ld", id);
        return NULL;
    }
    uint32_t n = __atomic_load_n(&f->cap, __ATOMIC_RELAXED) + 64;
    uint64_t *hits = PyMem_RawMalloc((size_t)n * sizeof(uint64_t));
    if (hits == NULL)
        return PyErr_NoMemory();
    linecounts_copy_hits(core.counts, f, hits, &n);
    PyObject *d = PyDict_New();                                  /* owned */
    for (uint32_t line = 0; d != NULL && line < n; line++) {
        if (hits[line] == 0)
            continue;
        PyObject *k = PyLong_FromUnsignedLong(line);
        PyObject *v = PyLong_FromUnsignedLongLong(hits[line]);
        if (k == NULL || v == NULL || PyDict_SetItem(d, k, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
    PyMem_RawFree(hits);
    return d;
}

/* --- serving ---------------------------------------------------------- */

static PyObject *
serve(PyObject *mod, PyObject *args)
{
    const char *host, *token;
    int port;
    if (!PyArg_ParseTuple(args, "siz:serve", &host, &port, &token))
        return NULL;
    if (port < 0 || port > 65535) {
        PyErr_SetString(PyExc_ValueError, "port must be in 0..65535");
        return NULL;
    }
    if (ensure_init() < 0 || threadstacks_start(STACKS_INTERVAL_S) < 0)
        return NULL;
    char err[256];
    int bound = http_start(host, port, token, err, sizeof(err));
    if (bound < 0) {
        threadstacks_stop();
        PyErr_SetString(PyExc_OSError, err);
        return NULL;
    }
    return PyLong_FromLong(bound);
}

static PyObject *
stop_serving(PyObject *mod, PyObject *unused)
{
    fork_state.serving = 0;     /* not to be resumed after a fork either */
    Py_BEGIN_ALLOW_THREADS      /* joining the daemon's threads can take a moment */
    http_stop();
    Py_END_ALLOW_THREADS
    threadstacks_stop();
    Py_RETURN_NONE;
}

/* --- our threads across os.fork() ----------------------------------------
 * From 3.12 os.fork() warns when the process has other OS threads, ours
 * included. If the program's own thread is the only one, ours are stopped
 * before the fork and restarted by a pending call once os.fork() has
 * returned: on 3.13 its check comes after the at-fork hooks, and a pending
 * call can run inside them, so the call re-arms itself while the frame that
 * called os.fork() still stands at that call. */


static int
still_in_fork(void)
{
    if (fork_state.caller == NULL)
        return 0;
    for (PyFrameObject *f = PyEval_GetFrame(); f != NULL; ) {     /* borrowed */
        if ((PyObject *)f == fork_state.caller)
            return PyFrame_GetLasti(f) == fork_state.caller_lasti;
        PyFrameObject *back = PyFrame_GetBack(f);                 /* owned */
        Py_XDECREF(back);       /* kept alive by the frame chain itself */
        f = back;
    }
    return 0;                   /* the caller has returned */
}

static int
resume_pending(void *unused)
{
    if (!fork_state.suspended)
        return 0;               /* stopped for good meanwhile */
    if (still_in_fork()) {
        if (Py_AddPendingCall(resume_pending, NULL) == 0)
            return 0;           /* look again at the next opportunity */
    }
    fork_state.suspended = 0;
    Py_CLEAR(fork_state.caller);
    char err[256];
    if (fork_state.serving &&
        (http_resume(err, sizeof(err)) < 0 || threadstacks_start(STACKS_INTERVAL_S) < 0)) {
        PyErr_Clear();          /* never raise into the program */
        core.hook_errors++;
    }
    if (fork_state.sampling && sampler_resume() < 0)
        core.hook_errors++;
    return 0;
}

/* Called from the Python before-fork hook, itself called by os.fork(): the
 * hook's caller is the frame that called os.fork(). */
static PyObject *
suspend_for_fork(PyObject *mod, PyObject *unused)
{
    if (!HOLTER_FORK_COUNTS_THREADS || fork_state.suspended)
        Py_RETURN_FALSE;
    int serving, sampling;
    Py_BEGIN_ALLOW_THREADS
    serving = http_suspend();
    sampling = sampler_pause();
    Py_END_ALLOW_THREADS
    if (!serving && !sampling)
        Py_RETURN_FALSE;
    if (serving)
        threadstacks_stop();
    fork_state.suspended = 1;
    fork_state.serving = serving;
    fork_state.sampling = sampling;
    PyFrameObject *hook = PyEval_GetFrame();                       /* borrowed */
    PyFrameObject *caller = hook ? PyFrame_GetBack(hook) : NULL;   /* owned */
    fork_state.caller = (PyObject *)caller;
    fork_state.caller_lasti = caller ? PyFrame_GetLasti(caller) : -1;
    Py_RETURN_TRUE;
}

static PyObject *
resume_after_fork(PyObject *mod, PyObject *unused)
{
    if (!fork_state.suspended)
        Py_CLEAR(fork_state.caller);    /* the child, or nothing was stopped */
    else if (Py_AddPendingCall(resume_pending, NULL) < 0) {
        Py_CLEAR(fork_state.caller);    /* queue full: restart now, warning or not */
        resume_pending(NULL);
    }
    Py_RETURN_NONE;
}

static PyObject *
add_asset(PyObject *mod, PyObject *args)
{
    const char *name, *ctype;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "sy*s:add_asset", &name, &data, &ctype))
        return NULL;
    int rc = assets_put(name, data.buf, (size_t)data.len, ctype);
    PyBuffer_Release(&data);
    if (rc < 0) {
        PyErr_Format(PyExc_ValueError, "cannot hold asset %s (too large or too many)", name);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
status(PyObject *mod, PyObject *unused)
{
    uint32_t nfiles = 0;
    uint64_t events = core.counts ? linecounts_total_events(core.counts, &nfiles) : 0;
    return Py_BuildValue(
        "{s:s, s:O, s:I, s:K, s:K, s:K}",
        "hook", hook_name,
        "tracing", core.hooked ? Py_True : Py_False,
        "files", (unsigned int)nfiles,
        "line_events", (unsigned long long)events,
        "hook_errors", (unsigned long long)core.hook_errors,
        "dropped", (unsigned long long)(core.counts ? core.counts->dropped : 0));
}

/* --- the sampler --------------------------------------------------------- */

static PyObject *
start_sampler(PyObject *mod, PyObject *args)
{
    double interval;
    const char *mode, *main_file;
    PyObject *prefixes;
    if (!PyArg_ParseTuple(args, "dszO!:start_sampler", &interval, &mode, &main_file,
                          &PyList_Type, &prefixes))
        return NULL;
    if (!(interval >= 1e-5 && interval <= 60)) {
        PyErr_SetString(PyExc_ValueError, "interval must be between 0.00001 and 60 seconds");
        return NULL;
    }
    int m = strcmp(mode, "wall") == 0 ? SAMPLER_WALL : strcmp(mode, "cpu") == 0 ? SAMPLER_CPU : -1;
    if (m < 0) {
        PyErr_SetString(PyExc_ValueError, "mode must be 'wall' or 'cpu'");
        return NULL;
    }
    if (ensure_init() < 0)
        return NULL;
    py_layout_t layout;
    pylayout_init(&layout);
    const char *pre[64];
    int npre = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(prefixes) && npre < 64; i++) {
        PyObject *item = PyList_GET_ITEM(prefixes, i);
        const char *sv = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : NULL;
        if (sv == NULL)
            PyErr_Clear();
        else
            pre[npre++] = sv;
    }
    char err[256];
    if (sampler_start(&layout, interval, m, main_file, pre, npre, err, sizeof(err)) < 0) {
        PyErr_SetString(PyExc_RuntimeError, err);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
stop_sampler(PyObject *mod, PyObject *unused)
{
    fork_state.sampling = 0;    /* not to be resumed after a fork either */
    Py_BEGIN_ALLOW_THREADS      /* joining waits at most one round */
    sampler_stop();
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *
sampler_is_running(PyObject *mod, PyObject *unused)
{
    return PyBool_FromLong(sampler_running() || (fork_state.suspended && fork_state.sampling));
}

static PyObject *
reset_sampler(PyObject *mod, PyObject *unused)
{
    Py_BEGIN_ALLOW_THREADS
    sampler_reset();
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *
name_threads(PyObject *mod, PyObject *names)
{
    if (!PyDict_Check(names)) {
        PyErr_SetString(PyExc_TypeError, "expected {thread id: name}");
        return NULL;
    }
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(names, &pos, &k, &v)) {
        unsigned long long id = PyLong_AsUnsignedLongLong(k);
        const char *name = PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
        if ((id == (unsigned long long)-1 && PyErr_Occurred()) || name == NULL) {
            PyErr_Clear();
            continue;
        }
        sampler_name_thread(id, name);
    }
    Py_RETURN_NONE;
}

/* Query parameters handed from Python to routes_dispatch(). */
typedef struct {
    const char *keys[16];
    const char *values[16];
    int n;
} params_t;

static const char *
dict_param(void *ctx, const char *key)
{
    params_t *p = ctx;
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->keys[i], key) == 0)
            return p->values[i];
    return NULL;
}

/* route(path, params, if_none_match) -> (status, content_type, etag, body):
 * what the native server would answer, for apps that mount the page. */
static PyObject *
route(PyObject *mod, PyObject *args)
{
    const char *path, *inm;
    PyObject *dict;
    if (!PyArg_ParseTuple(args, "sO!z:route", &path, &PyDict_Type, &dict, &inm))
        return NULL;
    if (ensure_init() < 0)
        return NULL;
    params_t params = {.n = 0};
    const char *method = "GET";
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(dict, &pos, &k, &v) && params.n < 16) {
        const char *ks = PyUnicode_Check(k) ? PyUnicode_AsUTF8(k) : NULL;
        const char *vs = PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
        if (ks == NULL || vs == NULL)
            return NULL;
        if (strcmp(ks, "_method") == 0) {
            method = vs;
            continue;
        }
        params.keys[params.n] = ks;
        params.values[params.n++] = vs;
    }
    /* The caller checked X-Holter-Action before asking for a POST. */
    const char *action = strcmp(method, "POST") == 0 ? "reset" : NULL;
    reply_t r = {0};
    Py_BEGIN_ALLOW_THREADS      /* stacks may wait for the snapshot thread */
    routes_dispatch(method, path, dict_param, &params, inm, action, &r);
    Py_END_ALLOW_THREADS
    const char *body = r.body ? r.body : r.static_body;
    PyObject *res = Py_BuildValue("(iszy#)", r.status, r.content_type ? r.content_type : "",
                                  r.etag[0] ? r.etag : NULL, r.status == 304 ? "" : (body ? body : ""),
                                  (Py_ssize_t)(r.status == 304 || body == NULL ? 0 : r.len));
    free(r.body);
    return res;
}

static PyMethodDef methods[] = {
    {"start_tracing", start_tracing, METH_VARARGS,
     "start_tracing(resolver, floor=False): install the hook on every thread."},
    {"stop_tracing", stop_tracing, METH_NOARGS, "Remove the hook from every thread."},
    {"register_file", register_file, METH_VARARGS,
     "register_file(path: bytes, source: bytes | None) -> id (the existing one if\n"
     "the path is known), or -1 if the table is full."},
    {"file_id", file_id, METH_O, "file_id(path: bytes) -> id, or None if not traced."},
    {"line_counts", line_counts, METH_O, "line_counts(id) -> {line: hits}."},
    {"serve", serve, METH_VARARGS,
     "serve(host, port, token | None) -> bound port. Starts the native server."},
    {"stop_serving", stop_serving, METH_NOARGS, "Stop the server and the stack snapshots."},
    {"add_asset", add_asset, METH_VARARGS, "add_asset(name, data, content_type)."},
    {"suspend_for_fork", suspend_for_fork, METH_NOARGS,
     "Before os.fork() of a single-threaded program (3.12+): stop our threads.\n"
     "Returns whether they were stopped."},
    {"resume_after_fork", resume_after_fork, METH_NOARGS,
     "After os.fork(): in the parent, restart them once the fork has returned;\n"
     "in the child, forget them."},
    {"status", status, METH_NOARGS, "Counters: hook, tracing, files, events, errors."},
    {"start_sampler", start_sampler, METH_VARARGS,
     "start_sampler(interval, mode, main_file, sys_path): sample every thread."},
    {"stop_sampler", stop_sampler, METH_NOARGS, "Stop sampling; the profile stays."},
    {"reset_sampler", reset_sampler, METH_NOARGS, "Clear the profile."},
    {"sampler_running", sampler_is_running, METH_NOARGS,
     "Does the sampler run in this process? (False in a forked child.)"},
    {"name_threads", name_threads, METH_O, "name_threads({id: name}) for exports."},
    {"route", route, METH_VARARGS,
     "route(path, params, if_none_match) -> (status, content_type, etag, body)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "holter._core", "holter's C core.", -1, methods,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL)
        return NULL;
    if (PyModule_AddStringConstant(m, "hook_name", hook_name) < 0 ||
        PyModule_AddStringConstant(m, "__version__", HOLTER_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

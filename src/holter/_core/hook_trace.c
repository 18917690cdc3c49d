/* hook_trace.c - the 3.11 hook: a C trace function on every thread.
 *
 * 3.11 has no sys.monitoring, so the cheapest exact hook is a C function set
 * with _PyEval_SetTrace (the building block of 3.12's
 * PyEval_SetTraceAllThreads). On a call event it decides the code object
 * once (cached in co_extra) and clears f_trace_lines on frames of untraced
 * files, so those frames send no line events at all. Line events in traced
 * files are the hot path.
 *
 * Threads alive at install get the function directly. Threads started later
 * by `threading` get it through threading.settrace(): the installer below is
 * a C callable that, on the new thread's first call event, swaps itself for
 * the C trace function (one Python-level trace call per thread, then none).
 */
#include "core.h"

#if !HOLTER_HAS_MONITORING

const char hook_name[] = "settrace";

#define MAX_THREADS 4096      /* threads beyond this, alive at install, are not traced */

static PyObject *prev_thread_hook;    /* owned: threading's trace hook before us */
static PyObject *installer_fn;        /* owned: the callable given to threading.settrace */

/* Counts a line of a traced file. */
static int
tracefunc(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    if (what != PyTrace_LINE && what != PyTrace_CALL)
        return 0;
    PyObject *code = holter_frame_code(frame);            /* borrowed */
    code_rec_t *rec = holter_code_extra_fast(code, core.extra_index);
    if (rec == NULL || rec->generation != core.generation)
        rec = coderec_lookup(code);                       /* first event: decide */
    if (rec == NULL || rec->file == NULL) {
        holter_frame_no_line_events(frame);
        return 0;
    }
    if (what == PyTrace_LINE) {
        int line = PyFrame_GetLineNumber(frame);
        if (line >= 0)
            linecounts_hit(core.counts, rec->file, (uint32_t)line);
    }
    return 0;
}

/* The benchmark floor: the same events and the same per-frame filtering,
 * nothing counted. */
static int
tracefunc_floor(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    if (what == PyTrace_CALL) {
        code_rec_t *rec = coderec_lookup(holter_frame_code(frame));
        if (rec == NULL || rec->file == NULL)
            holter_frame_no_line_events(frame);
    }
    return 0;
}

static Py_tracefunc
active_tracefunc(void)
{
    return core.floor ? tracefunc_floor : tracefunc;
}

/* threading's trace hook, called as a Python trace function (frame, event,
 * arg) on a new thread's first event: installs the C function instead. */
static PyObject *
installer(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (core.hooked)
        PyEval_SetTrace(active_tracefunc(), NULL);
    Py_RETURN_NONE;
}

static PyMethodDef installer_def = {
    "_holter_thread_installer", (PyCFunction)(void (*)(void))installer, METH_FASTCALL, NULL};

/* threading.settrace(fn); stores the previous hook in *prev if prev != NULL. */
static int
set_thread_hook(PyObject *fn, PyObject **prev)
{
    PyObject *threading = PyImport_ImportModule("threading");
    if (threading == NULL)
        return -1;
    if (prev != NULL) {
        /* threading.gettrace() exists from 3.10. */
        *prev = PyObject_CallMethod(threading, "gettrace", NULL);
        if (*prev == NULL) {
            Py_DECREF(threading);
            return -1;
        }
    }
    PyObject *res = PyObject_CallMethod(threading, "settrace", "O", fn);
    Py_DECREF(threading);
    if (res == NULL)
        return -1;
    Py_DECREF(res);
    return 0;
}

/* Is `ts` still in the interpreter's thread list? Setting a trace function
 * may run Python code (audit hooks, a finalizer of the old trace object),
 * during which another thread may exit: each thread state is checked before
 * it is touched. */
static int
still_alive(PyInterpreterState *interp, PyThreadState *ts)
{
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp); t != NULL;
         t = PyThreadState_Next(t))
        if (t == ts)
            return 1;
    return 0;
}

/* Calls _PyEval_SetTrace(ts, fn) on every thread state whose trace
 * function `keep(ts)` accepts. Returns -1 if any call failed (exception
 * cleared, so that every thread is visited). */
static int
set_trace_everywhere(Py_tracefunc fn, int (*keep)(PyThreadState *))
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    PyThreadState *threads[MAX_THREADS];
    int n = 0, failed = 0;
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp); t != NULL && n < MAX_THREADS;
         t = PyThreadState_Next(t))
        threads[n++] = t;
    for (int i = 0; i < n; i++) {
        if (!still_alive(interp, threads[i]) || !keep(threads[i]))
            continue;
        if (holter_set_trace_for(threads[i], fn, NULL) < 0) {
            PyErr_Clear();
            failed = 1;
        }
    }
    return failed ? -1 : 0;
}

static int
any_thread(PyThreadState *ts)
{
    return 1;
}

/* Leaves another tool's trace function alone. */
static int
traced_by_us(PyThreadState *ts)
{
    return ts->c_tracefunc == tracefunc || ts->c_tracefunc == tracefunc_floor;
}

int
hook_install(void)
{
    if (installer_fn == NULL) {
        installer_fn = PyCFunction_New(&installer_def, NULL);
        if (installer_fn == NULL)
            return -1;
    }
    Py_CLEAR(prev_thread_hook);
    if (set_thread_hook(installer_fn, &prev_thread_hook) < 0)
        return -1;
    if (set_trace_everywhere(active_tracefunc(), any_thread) < 0) {
        hook_uninstall();
        PyErr_SetString(PyExc_RuntimeError, "holter: could not set the trace hook on every thread");
        return -1;
    }
    return 0;
}

int
hook_uninstall(void)
{
    int failed = set_trace_everywhere(NULL, traced_by_us) < 0;
    if (set_thread_hook(prev_thread_hook != NULL ? prev_thread_hook : Py_None, NULL) < 0) {
        PyErr_Clear();
        failed = 1;
    }
    Py_CLEAR(prev_thread_hook);
    if (failed)
        PyErr_SetString(PyExc_RuntimeError, "holter: could not remove the trace hook everywhere");
    return failed ? -1 : 0;
}

#endif /* !HOLTER_HAS_MONITORING */

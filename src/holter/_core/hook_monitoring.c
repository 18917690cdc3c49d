/* hook_monitoring.c - the 3.12+ hook: sys.monitoring with C callbacks.
 *
 * Globally only PY_START and PY_RESUME are on. Their callback decides the
 * code object once and returns DISABLE, so untraced code never calls us
 * again. Code in traced files gets local LINE events, whose callback is the
 * hot path: one co_extra load and two stores. Monitoring is interpreter-wide,
 * so every thread, present and future, is covered.
 *
 * Like _lsprof, the callbacks never raise into the program: a failure is
 * counted in core.hook_errors and the event is let through.
 */
#include "core.h"

#if HOLTER_HAS_MONITORING

const char hook_name[] = "sys.monitoring";

/* Tool ids we try, in order: 3 and 4 are unassigned by PEP 669. */
static const int tool_candidates[] = {4, 3, 5};

static struct {
    int       tool;               /* our tool id, -1 when not installed */
    int       started_before;     /* a previous session left DISABLEd events */
    PyObject *monitoring;         /* owned: the sys.monitoring namespace */
    PyObject *disable;            /* owned: sys.monitoring.DISABLE */
    PyObject *set_local_events;   /* owned: sys.monitoring.set_local_events */
    PyObject *line_event;         /* owned: int, events.LINE */
} mon = { .tool = -1 };

/* Turns LINE events on or off for one code object. */
static int
set_lines(PyObject *code, int on)
{
    /* set_local_events(tool_id, code, event_set) */
    PyObject *args[3] = {PyLong_FromLong(mon.tool), code,
                         on ? Py_NewRef(mon.line_event) : PyLong_FromLong(0)};
    PyObject *res = NULL;
    if (args[0] != NULL && args[2] != NULL)
        res = PyObject_Vectorcall(mon.set_local_events, args, 3, NULL);
    Py_XDECREF(args[0]);
    Py_XDECREF(args[2]);
    if (res == NULL)
        return -1;
    Py_DECREF(res);
    return 0;
}

/* Decides `code` and, if traced, turns its LINE events on. Never raises. */
static void
arm_code(PyObject *code)
{
    code_rec_t *rec = coderec_lookup(code);
    if (rec == NULL || rec->file == NULL || rec->lines_on)
        return;
    if (set_lines(code, 1) < 0) {
        PyErr_Clear();
        core.hook_errors++;
        return;
    }
    rec->lines_on = 1;
}

/* PY_START / PY_RESUME (code, instruction_offset): decide once, then DISABLE. */
static PyObject *
on_start(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs >= 1 && PyCode_Check(args[0]))
        arm_code(args[0]);
    return Py_NewRef(mon.disable);
}

/* LINE (code, line_number): the hot path. */
static PyObject *
on_line(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 2 || !PyCode_Check(args[0]))   /* only a caller other than CPython */
        Py_RETURN_NONE;
    code_rec_t *rec = holter_code_extra_fast(args[0], core.extra_index);
    if (rec == NULL || rec->file == NULL || rec->generation != core.generation)
        return Py_NewRef(mon.disable);          /* not ours (any more) */
    long line = holter_small_long(args[1]);
    if (line < 0) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    linecounts_hit(core.counts, rec->file, (uint32_t)line);
    Py_RETURN_NONE;
}

/* LINE for the benchmark floor: the same events, nothing counted. */
static PyObject *
on_line_floor(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_RETURN_NONE;
}

static PyMethodDef on_start_def = {"_on_start", (PyCFunction)(void (*)(void))on_start, METH_FASTCALL, NULL};
static PyMethodDef on_line_def = {"_on_line", (PyCFunction)(void (*)(void))on_line, METH_FASTCALL, NULL};
static PyMethodDef on_line_floor_def = {"_on_line_floor", (PyCFunction)(void (*)(void))on_line_floor, METH_FASTCALL, NULL};

/* Calls sys.monitoring.<name>(*fmt args); returns a new ref or NULL. */
#define MON_CALL(name, ...) PyObject_CallMethod(mon.monitoring, name, __VA_ARGS__)

static int
register_cb(int event_bit, PyMethodDef *def)
{
    PyObject *fn = PyCFunction_New(def, NULL);                  /* owned */
    if (fn == NULL)
        return -1;
    PyObject *res = MON_CALL("register_callback", "iiO", mon.tool, event_bit, fn);
    Py_DECREF(fn);
    if (res == NULL)
        return -1;
    Py_DECREF(res);
    return 0;
}

static long
event_bit(const char *name)
{
    PyObject *events = PyObject_GetAttrString(mon.monitoring, "events");
    if (events == NULL)
        return -1;
    PyObject *v = PyObject_GetAttrString(events, name);
    Py_DECREF(events);
    if (v == NULL)
        return -1;
    long bit = PyLong_AsLong(v);
    Py_DECREF(v);
    return bit;
}

static int
load_monitoring(void)
{
    if (mon.monitoring != NULL)
        return 0;
    PyObject *sys = PyImport_ImportModule("sys");
    if (sys == NULL)
        return -1;
    mon.monitoring = PyObject_GetAttrString(sys, "monitoring");
    Py_DECREF(sys);
    if (mon.monitoring == NULL)
        return -1;
    mon.disable = PyObject_GetAttrString(mon.monitoring, "DISABLE");
    mon.set_local_events = PyObject_GetAttrString(mon.monitoring, "set_local_events");
    long line = event_bit("LINE");
    if (mon.disable == NULL || mon.set_local_events == NULL || line < 0)
        return -1;
    mon.line_event = PyLong_FromLong(line);
    return mon.line_event == NULL ? -1 : 0;
}

static int
claim_tool_id(void)
{
    for (size_t i = 0; i < sizeof(tool_candidates) / sizeof(*tool_candidates); i++) {
        PyObject *res = MON_CALL("use_tool_id", "is", tool_candidates[i], "holter");
        if (res != NULL) {
            Py_DECREF(res);
            mon.tool = tool_candidates[i];
            return 0;
        }
        if (!PyErr_ExceptionMatches(PyExc_ValueError))
            return -1;
        PyErr_Clear();           /* taken by another tool: try the next */
    }
    PyErr_SetString(PyExc_RuntimeError,
                    "holter: every sys.monitoring tool id it may use is taken");
    return -1;
}

/* Frames already running when tracing starts never fire PY_START: arm
 * their code objects now, on every thread. The walk collects them first,
 * since deciding runs Python code (the resolver), during which another
 * thread could exit and free the thread state the walk stands on. */
static void
arm_running_frames(void)
{
    PyObject *codes = PyList_New(0);                             /* owned */
    if (codes == NULL) {
        PyErr_Clear();
        core.hook_errors++;
        return;
    }
    int gc_was = core_gc_pause();
    PyInterpreterState *interp = PyInterpreterState_Get();
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts != NULL;
         ts = PyThreadState_Next(ts)) {
        PyFrameObject *f = PyThreadState_GetFrame(ts);          /* owned */
        while (f != NULL) {
            PyCodeObject *co = PyFrame_GetCode(f);               /* owned */
            if (PyList_Append(codes, (PyObject *)co) < 0)
                PyErr_Clear();
            Py_DECREF(co);
            PyFrameObject *back = PyFrame_GetBack(f);            /* owned */
            Py_DECREF(f);
            f = back;
        }
    }
    core_gc_resume(gc_was);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(codes); i++)
        arm_code(PyList_GET_ITEM(codes, i));
    Py_DECREF(codes);
}

int
hook_install(void)
{
    if (load_monitoring() < 0 || claim_tool_id() < 0)
        return -1;
    long start = event_bit("PY_START"), resume = event_bit("PY_RESUME");
    long line = PyLong_AsLong(mon.line_event);
    if (start < 0 || resume < 0)
        goto fail;
    if (register_cb((int)start, &on_start_def) < 0 ||
        register_cb((int)resume, &on_start_def) < 0 ||
        register_cb((int)line, core.floor ? &on_line_floor_def : &on_line_def) < 0)
        goto fail;
    if (mon.started_before) {
        /* Our last session DISABLEd PY_START at every code it saw. */
        PyObject *res = MON_CALL("restart_events", NULL);
        if (res == NULL)
            goto fail;
        Py_DECREF(res);
    }
    PyObject *res = MON_CALL("set_events", "il", mon.tool, start | resume);
    if (res == NULL)
        goto fail;
    Py_DECREF(res);
    mon.started_before = 1;
    arm_running_frames();
    return 0;

fail:
    {
        PyObject *exc = PyErr_GetRaisedException();   /* report the first error */
        hook_uninstall();
        PyErr_Clear();
        PyErr_SetRaisedException(exc);
    }
    return -1;
}

/* Calls a sys.monitoring function for cleanup; a failure is remembered in
 * *failed and cleared, so the rest of the cleanup still runs. */
static void
cleanup_call(PyObject *res, int *failed)
{
    if (res == NULL) {
        PyErr_Clear();
        *failed = 1;
    }
    Py_XDECREF(res);
}

int
hook_uninstall(void)
{
    if (mon.tool < 0)
        return 0;
    int failed = 0;
    cleanup_call(MON_CALL("set_events", "ii", mon.tool, 0), &failed);
    for (code_rec_t *rec = core.traced.next; rec != NULL; rec = rec->next) {
        if (!rec->lines_on)
            continue;
        if (set_lines(rec->code, 0) < 0) {
            PyErr_Clear();
            failed = 1;
        }
        rec->lines_on = 0;
    }
    const char *events[] = {"PY_START", "PY_RESUME", "LINE"};
    for (size_t i = 0; i < sizeof(events) / sizeof(*events); i++) {
        long bit = event_bit(events[i]);
        if (bit < 0) {
            PyErr_Clear();
            failed = 1;
            continue;
        }
        cleanup_call(MON_CALL("register_callback", "ilO", mon.tool, bit, Py_None), &failed);
    }
    cleanup_call(MON_CALL("free_tool_id", "i", mon.tool), &failed);
    mon.tool = -1;
    if (failed && !PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "holter: sys.monitoring refused part of the cleanup");
    return failed ? -1 : 0;
}

#endif /* HOLTER_HAS_MONITORING */

/* pyver.h - everything that differs between CPython 3.11, 3.12 and 3.13.
 *
 * This is the only file that tests PY_VERSION_HEX. The rest of the core asks
 * HOLTER_HAS_MONITORING and calls the shims below.
 *
 *   3.11   C trace function (PyEval_SetTrace) per thread; frame objects carry
 *          f_trace_lines, which we clear for frames of untraced files.
 *   3.12+  sys.monitoring with C callbacks: interpreter-wide, and events can
 *          be disabled per code object, so untraced code costs nothing.
 */
#ifndef HOLTER_PYVER_H
#define HOLTER_PYVER_H

#define PY_SSIZE_T_CLEAN         /* Py_ssize_t lengths for "#" formats */
#include <Python.h>

#if PY_VERSION_HEX < 0x030B0000
#  error "holter needs CPython 3.11 or newer"
#endif

#if PY_VERSION_HEX >= 0x030C0000
#  define HOLTER_HAS_MONITORING 1
#else
#  define HOLTER_HAS_MONITORING 0
#endif

/* Code-object extra slots: renamed to PyUnstable_* in 3.12. */
#if PY_VERSION_HEX >= 0x030C0000
#  define holter_request_code_extra_index(freefn) PyUnstable_Eval_RequestCodeExtraIndex(freefn)
#  define holter_code_get_extra(code, idx, out)    PyUnstable_Code_GetExtra((code), (idx), (out))
#  define holter_code_set_extra(code, idx, val)    PyUnstable_Code_SetExtra((code), (idx), (val))
#else
#  define holter_request_code_extra_index(freefn) _PyEval_RequestCodeExtraIndex(freefn)
#  define holter_code_get_extra(code, idx, out)    _PyCode_GetExtra((code), (idx), (out))
#  define holter_code_set_extra(code, idx, val)    _PyCode_SetExtra((code), (idx), (val))
#endif

/* The hot path reads co_extra itself rather than calling GetExtra through
 * the PLT. The holder's layout is private to Objects/codeobject.c and the
 * same from 3.7 to 3.13 (Pyston-lite mirrors it too); writes still go
 * through holter_code_set_extra. */
typedef struct {
    Py_ssize_t ce_size;           /* slots in ce_extras */
    void      *ce_extras[1];      /* one per requested index */
} holter_code_extra_t;

static inline void *
holter_code_extra_fast(PyObject *code, Py_ssize_t index)
{
    holter_code_extra_t *e = (holter_code_extra_t *)((PyCodeObject *)code)->co_extra;
    return e != NULL && index < e->ce_size ? e->ce_extras[index] : NULL;
}

/* From 3.12, os.fork() warns (DeprecationWarning) if the process has more
 * than one OS thread, ours included. */
#define HOLTER_FORK_COUNTS_THREADS (PY_VERSION_HEX >= 0x030C0000)

/* Is the interpreter shutting down? Public from 3.13, underscored before. */
#if PY_VERSION_HEX >= 0x030D0000
#  define holter_is_finalizing() Py_IsFinalizing()
#else
#  define holter_is_finalizing() _Py_IsFinalizing()
#endif

#if HOLTER_HAS_MONITORING
/* A LINE event's line number: always a small int, read without a call. */
static inline long
holter_small_long(PyObject *o)
{
    if (PyLong_CheckExact(o) && PyUnstable_Long_IsCompact((PyLongObject *)o))
        return (long)PyUnstable_Long_CompactValue((PyLongObject *)o);
    return PyLong_AsLong(o);
}
#endif

#if !HOLTER_HAS_MONITORING
/* 3.11: the struct behind PyFrameObject is internal; we need two fields of
 * it: f_trace_lines, to stop line events for frames of untraced files, and
 * the code object, without the reference PyFrame_GetCode would add. */
#  ifndef Py_BUILD_CORE
#    define Py_BUILD_CORE 1
#  endif
#  include "internal/pycore_frame.h"
#  undef Py_BUILD_CORE
static inline void holter_frame_no_line_events(PyFrameObject *f) { f->f_trace_lines = 0; }
/* The frame's code object, borrowed (PyFrame_GetCode would add a ref). */
static inline PyObject *holter_frame_code(PyFrameObject *f) { return (PyObject *)f->f_frame->f_code; }

/* 3.11 has no PyEval_SetTraceAllThreads; its building block is exported. */
#  define holter_set_trace_for(tstate, fn, obj) _PyEval_SetTrace((tstate), (fn), (obj))
#endif

#endif /* HOLTER_PYVER_H */

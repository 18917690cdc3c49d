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

/* Is the interpreter shutting down? Public from 3.13, underscored before. */
#if PY_VERSION_HEX >= 0x030D0000
#  define holter_is_finalizing() Py_IsFinalizing()
#else
#  define holter_is_finalizing() _Py_IsFinalizing()
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

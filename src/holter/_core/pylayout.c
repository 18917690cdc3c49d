/* pylayout.c - fills py_layout_t for the CPython we are built against.
 *
 * 3.13+: everything comes from _PyRuntime.debug_offsets, the table CPython
 * keeps for out-of-process debuggers and profilers (checked by its cookie).
 * 3.11/3.12: offsetof() on the structures of the exact version's headers;
 * the one field those headers cannot give us safely (the interpreter's
 * thread list head) is checked against PyInterpreterState_ThreadHead().
 */
#include "core.h"
#include "pylayout.h"

#include <string.h>

#define Py_BUILD_CORE 1
#if PY_VERSION_HEX >= 0x030D0000
#  include "internal/pycore_runtime.h"
#  define OWNER_CSTACK 3          /* FRAME_OWNED_BY_CSTACK, pycore_frame.h */
#else
#  include "internal/pycore_frame.h"
#endif
#undef Py_BUILD_CORE

/* How far into PyInterpreterState to look for threads.head on 3.11/3.12,
 * whose pycore_interp.h cannot be included next to Python.h. */
#define INTERP_SCAN_BYTES 512

static void
fail(py_layout_t *l, const char *why)
{
    l->ok = 0;
    snprintf(l->why, sizeof(l->why), "%s", why);
}

/* Fields that are public C API on every version. */
static void
fill_public(py_layout_t *l)
{
    l->code_type = (uintptr_t)&PyCode_Type;
    l->unicode_type = (uintptr_t)&PyUnicode_Type;
    l->bytes_type = (uintptr_t)&PyBytes_Type;
    l->ob_type = offsetof(PyObject, ob_type);
    l->bytes_size = offsetof(PyVarObject, ob_size);
    l->bytes_sval = offsetof(PyBytesObject, ob_sval);
    l->str_length = offsetof(PyASCIIObject, length);
    l->str_state = offsetof(PyASCIIObject, hash) + sizeof(Py_hash_t);
    l->str_ascii_data = sizeof(PyASCIIObject);
    l->str_compact_data = sizeof(PyCompactUnicodeObject);
}

#if PY_VERSION_HEX >= 0x030D0000

static void
fill_version(py_layout_t *l)
{
    const _Py_DebugOffsets *d = &_PyRuntime.debug_offsets;
    if (memcmp(d->cookie, _Py_Debug_Cookie, sizeof(d->cookie)) != 0) {
        fail(l, "_Py_DebugOffsets cookie not found");
        return;
    }
    if (d->free_threaded) {
        fail(l, "free-threaded builds are not supported yet");
        return;
    }
    l->interp_threads_head = d->interpreter_state.threads_head;
    l->gil_known = 1;               /* the main interpreter's own GIL, inside it */
    l->gil_locked = d->interpreter_state.gil_runtime_state_locked;
    l->gil_holder = d->interpreter_state.gil_runtime_state_holder;
    l->ts_size = d->thread_state.size;
    l->ts_next = d->thread_state.next;
    l->ts_thread_id = d->thread_state.thread_id;
    l->ts_native_thread_id = d->thread_state.native_thread_id;
    l->ts_frame = d->thread_state.current_frame;
    l->ts_frame_in_cframe = 0;
    l->fr_size = d->interpreter_frame.size;
    l->fr_previous = d->interpreter_frame.previous;
    l->fr_code = d->interpreter_frame.executable;
    l->fr_instr = d->interpreter_frame.instr_ptr;
    l->fr_owner = d->interpreter_frame.owner;
    l->fr_owner_cstack = OWNER_CSTACK;
    l->co_size = d->code_object.size;
    l->co_filename = d->code_object.filename;
    l->co_qualname = d->code_object.qualname;
    l->co_linetable = d->code_object.linetable;
    l->co_firstlineno = d->code_object.firstlineno;
    l->co_code_adaptive = d->code_object.co_code_adaptive;
    l->str_length = d->unicode_object.length;
    l->str_state = d->unicode_object.state;
    l->str_ascii_data = d->unicode_object.asciiobject_size;
    l->bytes_size = d->bytes_object.ob_size;
    l->bytes_sval = d->bytes_object.ob_sval;
}

#else   /* 3.11, 3.12 */

static void
fill_version(py_layout_t *l)
{
    l->interp_threads_head = 0;     /* found by find_threads_head() */
    l->ts_size = sizeof(PyThreadState);
    l->ts_next = offsetof(PyThreadState, next);
    l->ts_thread_id = offsetof(PyThreadState, thread_id);
    l->ts_native_thread_id = offsetof(PyThreadState, native_thread_id);
    l->ts_frame = offsetof(PyThreadState, cframe);
    l->ts_frame_in_cframe = 1;
    l->cframe_current_frame = offsetof(_PyCFrame, current_frame);
    l->fr_size = sizeof(_PyInterpreterFrame);
    l->fr_previous = offsetof(_PyInterpreterFrame, previous);
    l->fr_code = offsetof(_PyInterpreterFrame, f_code);
    l->fr_instr = offsetof(_PyInterpreterFrame, prev_instr);
    l->fr_owner = offsetof(_PyInterpreterFrame, owner);
#  if PY_VERSION_HEX >= 0x030C0000
    l->fr_owner_cstack = FRAME_OWNED_BY_CSTACK;
#  else
    l->fr_owner_cstack = -1;
#  endif
    l->co_size = sizeof(PyCodeObject);
    l->co_filename = offsetof(PyCodeObject, co_filename);
    l->co_qualname = offsetof(PyCodeObject, co_qualname);
    l->co_linetable = offsetof(PyCodeObject, co_linetable);
    l->co_firstlineno = offsetof(PyCodeObject, co_firstlineno);
    l->co_code_adaptive = offsetof(PyCodeObject, co_code_adaptive);
}

#endif

/* 3.11/3.12: finds threads.head by its value, which must appear exactly
 * once near the start of the interpreter state (it is the third field of
 * `threads`, itself early in the struct). */
static int
find_threads_head(py_layout_t *l, PyInterpreterState *interp, PyThreadState *head)
{
    int found = 0;
    for (size_t off = 0; off + sizeof(void *) <= INTERP_SCAN_BYTES; off += sizeof(void *)) {
        if (*(PyThreadState **)((char *)interp + off) == head) {
            if (found++ == 0)
                l->interp_threads_head = off;
        }
    }
    return found == 1 ? 0 : -1;
}

void
pylayout_init(py_layout_t *l)
{
    memset(l, 0, sizeof(*l));
    l->ok = 1;
    fill_public(l);
    fill_version(l);
    if (!l->ok)
        return;
    PyInterpreterState *interp = PyInterpreterState_Main();
    l->interp = (uintptr_t)interp;
    PyThreadState *head = PyInterpreterState_ThreadHead(interp);
    if (l->interp_threads_head == 0 && find_threads_head(l, interp, head) < 0) {
        fail(l, "cannot find the interpreter's thread list");
        return;
    }
    PyThreadState *at = *(PyThreadState **)((char *)interp + l->interp_threads_head);
    if (at != head)
        fail(l, "the interpreter's thread list is not where expected");
}

/* pylayout.h - where CPython keeps threads, frames and code, by version.
 *
 * The sampler reads these structures from a native thread without the GIL,
 * through fault-tolerant copies (safemem.h), so it needs their offsets as
 * plain numbers. pylayout.c fills them once, with the GIL: on 3.13 from the
 * interpreter's own _Py_DebugOffsets, on 3.11/3.12 from the internal
 * headers of the exact version we are built against. This struct and
 * pylayout.c are the only places the sampler learns about versions; the
 * reader (framewalk.c) is plain C.
 */
#ifndef HOLTER_PYLAYOUT_H
#define HOLTER_PYLAYOUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct py_layout {
    int       ok;                   /* 1 if every field below could be filled */
    char      why[160];             /* if not ok: the reason, for status */

    /* Addresses in this process. */
    uintptr_t interp;               /* the main interpreter state (never freed) */
    uintptr_t code_type;            /* &PyCode_Type: validates code objects */
    uintptr_t unicode_type;         /* &PyUnicode_Type */
    uintptr_t bytes_type;           /* &PyBytes_Type */

    /* PyInterpreterState */
    size_t interp_threads_head;     /* PyThreadState *threads.head */
    int    gil_known;               /* the fields below are filled (3.13+) */
    size_t gil_locked;              /* int: the GIL is taken */
    size_t gil_holder;              /* PyThreadState *: who took it last */

    /* PyThreadState */
    size_t ts_size;                 /* bytes to copy to reach every field below */
    size_t ts_next;
    size_t ts_thread_id;            /* unsigned long: pthread_t of the thread */
    size_t ts_native_thread_id;     /* unsigned long: the kernel's tid */
    size_t ts_frame;                /* current frame, or the cframe holding it */
    int    ts_frame_in_cframe;      /* 3.11/3.12: tstate->cframe->current_frame */
    size_t cframe_current_frame;    /* offset of current_frame in _PyCFrame */

    /* _PyInterpreterFrame */
    size_t fr_size;                 /* bytes to copy */
    size_t fr_previous;
    size_t fr_code;                 /* f_code (3.11/3.12) or f_executable (3.13) */
    size_t fr_instr;                /* prev_instr (3.11/3.12) or instr_ptr (3.13) */
    size_t fr_owner;                /* char */
    int    fr_owner_cstack;         /* owner of C-stack shim frames; -1: none (3.11) */

    /* PyCodeObject */
    size_t co_size;                 /* bytes to copy to reach every field below */
    size_t co_filename;
    size_t co_qualname;
    size_t co_linetable;
    size_t co_firstlineno;          /* int */
    size_t co_code_adaptive;        /* the bytecode, inline in the object */

    /* PyObject, PyBytesObject, PyASCIIObject / PyCompactUnicodeObject */
    size_t ob_type;
    size_t bytes_size;              /* ob_size */
    size_t bytes_sval;
    size_t str_length;
    size_t str_state;               /* bitfield: kind bits 2-4, compact 5, ascii 6 */
    size_t str_ascii_data;          /* data of a compact ASCII string */
    size_t str_compact_data;        /* data of a compact non-ASCII string */
} py_layout_t;

/* Fills `l` for this interpreter. Call with the GIL held. Never fails
 * outright: l->ok says whether the sampler can use it, l->why why not. */
void pylayout_init(py_layout_t *l);

#endif /* HOLTER_PYLAYOUT_H */

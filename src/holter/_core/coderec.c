/* coderec.c - per-code-object decisions: is this code in a traced file?
 *
 * The answer is cached in the code object's co_extra slot, so the hooks pay
 * one pointer load per event. Deciding calls the Python resolver (the user's
 * `files` filter, and reading the file's source) once per code object per
 * tracing session; that runs inside the hook, where CPython suspends
 * tracing, so it is never traced itself.
 */
#include "core.h"

/* Takes rec off core.traced, if it is on it. */
static void
unlink_traced(code_rec_t *rec)
{
    if (rec->prev == NULL)
        return;
    rec->prev->next = rec->next;
    if (rec->next != NULL)
        rec->next->prev = rec->prev;
    rec->prev = rec->next = NULL;
}

/* Called by CPython when a code object dies. GIL held. */
static void
coderec_free(void *p)
{
    code_rec_t *rec = p;
    if (rec == NULL)
        return;
    unlink_traced(rec);
    PyMem_RawFree(rec);
}

/* Prepares the co_extra slot (once per process). */
int
coderec_init(void)
{
    if (core.extra_index >= 0)
        return 0;
    Py_ssize_t idx = holter_request_code_extra_index(coderec_free);
    if (idx < 0) {
        PyErr_SetString(PyExc_RuntimeError, "holter: no free code-object extra slot");
        return -1;
    }
    core.extra_index = idx;
    return 0;
}

/* Asks core.resolver about the code's file. Returns the file or NULL (not
 * traced, or failure: counted, exception cleared). */
static lc_file_t *
resolve_file(PyObject *code)
{
    PyObject *filename = ((PyCodeObject *)code)->co_filename;   /* borrowed */
    if (core.resolver == NULL || filename == NULL)
        return NULL;
    PyObject *res = PyObject_CallOneArg(core.resolver, filename);  /* owned */
    if (res == NULL) {
        PyErr_Clear();          /* the user's filter failed: not their program's problem */
        core.hook_errors++;
        return NULL;
    }
    long id = PyLong_AsLong(res);
    Py_DECREF(res);
    if (id == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        core.hook_errors++;
        return NULL;
    }
    return id < 0 ? NULL : linecounts_get(core.counts, (uint32_t)id);
}

code_rec_t *
coderec_peek(PyObject *code)
{
    void *extra = NULL;
    if (core.extra_index < 0 || holter_code_get_extra(code, core.extra_index, &extra) < 0) {
        PyErr_Clear();
        return NULL;
    }
    code_rec_t *rec = extra;
    return rec != NULL && rec->generation == core.generation ? rec : NULL;
}

code_rec_t *
coderec_lookup(PyObject *code)
{
    void *extra = NULL;
    if (holter_code_get_extra(code, core.extra_index, &extra) < 0) {
        PyErr_Clear();
        core.hook_errors++;
        return NULL;
    }
    code_rec_t *rec = extra;
    if (rec != NULL && rec->generation == core.generation)
        return rec;

    if (rec == NULL) {
        rec = PyMem_RawCalloc(1, sizeof(*rec));
        if (rec == NULL) {
            core.hook_errors++;
            return NULL;
        }
        rec->code = code;
        if (holter_code_set_extra(code, core.extra_index, rec) < 0) {
            PyErr_Clear();
            PyMem_RawFree(rec);
            core.hook_errors++;
            return NULL;
        }
    }
    unlink_traced(rec);
    rec->generation = core.generation;
    rec->lines_on = 0;
    rec->file = resolve_file(code);
    if (rec->file != NULL) {      /* push on core.traced */
        rec->prev = &core.traced;
        rec->next = core.traced.next;
        if (rec->next != NULL)
            rec->next->prev = rec;
        core.traced.next = rec;
    }
    return rec;
}

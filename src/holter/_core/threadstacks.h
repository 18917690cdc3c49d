/* threadstacks.h - live stacks of every thread, for the stacks panel.
 *
 * A native thread takes the GIL about ten times a second, walks every
 * thread's frames with the C API (no Python code runs) and leaves a JSON
 * snapshot behind. It works only while someone has asked for stacks in the
 * last few seconds, so an unwatched program pays nothing. The HTTP thread
 * never touches the GIL: it copies the latest snapshot.
 */
#ifndef HOLTER_THREADSTACKS_H
#define HOLTER_THREADSTACKS_H

#include <stddef.h>
#include <stdint.h>

#define THREADSTACKS_MAX_THREADS 1024  /* threads shown; the rest are counted */
#define THREADSTACKS_MAX_FRAMES  256   /* innermost frames kept per thread */

/* Starts the snapshot thread. GIL held. Returns -1 with an exception set. */
int threadstacks_start(double interval_s);

/* Stops and joins the snapshot thread. GIL held; released while joining,
 * since the thread may be waiting for it. */
void threadstacks_stop(void);

/* For the HTTP thread (no GIL). Marks stacks as wanted; if the latest
 * snapshot is older than `fresh_s`, waits up to `wait_s` for a new one.
 * Returns 1 if the latest generation equals `known` (nothing copied), 0 with
 * a malloc'd copy of its threads array (JSON) in *json, or -1 if there is
 * no snapshot (or no memory). *generation and *age_s are set unless -1. */
int threadstacks_read(uint64_t known, char **json, size_t *len,
                      uint64_t *generation, double *age_s,
                      double fresh_s, double wait_s);

/* In a forked child: the thread is gone; forget it and reset the locks. */
void threadstacks_after_fork_child(void);

#endif /* HOLTER_THREADSTACKS_H */

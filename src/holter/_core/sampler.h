/* sampler.h - a native thread that samples every Python thread's stack.
 *
 * It never takes the GIL: interpreter, thread, frame and code structures
 * are copied with safemem (process_vm_readv on our own pid), validated (a
 * code object must have PyCode_Type, chains must end), and a sample that
 * fails is dropped and counted, never a crash. Results go to a profile_t.
 * Plain C apart from sampler_start's caller (module.c) filling the layout.
 */
#ifndef HOLTER_SAMPLER_H
#define HOLTER_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "profile.h"
#include "pylayout.h"

enum sampler_mode { SAMPLER_WALL = 0, SAMPLER_CPU = 1 };

typedef struct sampler_health {
    int      running;
    int      mode;
    double   interval_s;
    double   elapsed_s;        /* since start or reset */
    uint64_t rounds;           /* sampling rounds since start or reset */
    uint64_t thread_samples;   /* stacks recorded */
    uint64_t missed;           /* rounds skipped because the sampler was late */
    uint64_t torn;             /* stacks dropped: unreadable or inconsistent */
    uint64_t lost;             /* stacks dropped: a table was full */
    uint32_t threads;          /* threads seen in the last round */
    uint32_t unique_stacks;
    uint32_t unique_frames;
    size_t   memory_bytes;
    size_t   memory_cap_bytes; /* the most memory_bytes can reach */
    int      gil_known;        /* samples carry who held the GIL (3.13+) */
} sampler_health_t;

/* Starts sampling every `interval_s` seconds. `layout` must be ok and is
 * copied; `main_file` (may be NULL) is the file of __main__, and
 * `prefixes[0..nprefixes)` the sys.path entries, to name modules. Returns
 * 0, or -1 with a reason in err. */
int sampler_start(const py_layout_t *layout, double interval_s, int mode,
                  const char *main_file, const char *const *prefixes, int nprefixes,
                  char *err, size_t errlen);

/* Stops and joins the thread; the profile stays readable. */
void sampler_stop(void);

/* Is the sampling thread running in this process? (Never in a forked
 * child, however it was forked: pthread_atfork clears it.) */
int sampler_running(void);

/* Stops the thread but keeps its settings, for sampler_resume(). Returns 1
 * if it was running. */
int sampler_pause(void);

/* Restarts a thread stopped by sampler_pause(). Returns 0 or -1. */
int sampler_resume(void);

/* Clears the profile (keeps sampling). */
void sampler_reset(void);

/* The profile, for readers (lock it), or NULL before the first start. */
profile_t *sampler_profile(void);

/* Fills *h. */
void sampler_health(sampler_health_t *h);

/* Remembers a thread's name for exports (the sampler cannot read names
 * without the GIL; the stack snapshots and Python tell it). */
void sampler_name_thread(uint64_t id, const char *name);

/* The remembered name of thread `id` into out, or "Thread-<id>". */
void sampler_thread_name(uint64_t id, char *out, size_t outcap);

/* In a forked child: the thread is gone; forget it and reset the lock. */
void sampler_after_fork_child(void);

#endif /* HOLTER_SAMPLER_H */

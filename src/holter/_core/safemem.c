/* safemem.c - reading this process's memory without risking a crash. */
#define _GNU_SOURCE             /* process_vm_readv */
#include "safemem.h"

#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_SEGMENTS 64         /* per call: well under IOV_MAX */

static pid_t self_pid;          /* cached: reset after fork by safemem_init() */

int
safemem_init(void)
{
    self_pid = getpid();
    uintptr_t probe = (uintptr_t)&self_pid, out = 0;
    return safemem_read(&out, (uintptr_t)&probe, sizeof(probe)) == 0 && out == probe ? 0 : -1;
}

int
safemem_read(void *dst, uintptr_t src, size_t n)
{
    if (src == 0)
        return -1;
    struct iovec local = {dst, n}, remote = {(void *)src, n};
    ssize_t got = process_vm_readv(self_pid, &local, 1, &remote, 1, 0);
    return got == (ssize_t)n ? 0 : -1;
}

int
safemem_readv(void *const *dst, const uintptr_t *src, const size_t *len, int n)
{
    struct iovec local[MAX_SEGMENTS], remote[MAX_SEGMENTS];
    if (n > MAX_SEGMENTS)
        n = MAX_SEGMENTS;
    size_t want = 0;
    int k = 0;
    for (; k < n && src[k] != 0; k++) {
        local[k] = (struct iovec){dst[k], len[k]};
        remote[k] = (struct iovec){(void *)src[k], len[k]};
        want += len[k];
    }
    if (k == 0)
        return 0;
    ssize_t got = process_vm_readv(self_pid, local, (unsigned long)k, remote, (unsigned long)k, 0);
    if (got < 0)
        return 0;
    /* A short read stops at the first bad segment: count the whole ones. */
    int whole = 0;
    for (size_t used = 0; whole < k && used + len[whole] <= (size_t)got; whole++)
        used += len[whole];
    (void)want;
    return whole;
}

uintptr_t
safemem_word(uintptr_t src)
{
    uintptr_t w = 0;
    return safemem_read(&w, src, sizeof(w)) == 0 ? w : 0;
}

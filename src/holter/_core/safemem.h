/* safemem.h - reading this process's memory without risking a crash.
 *
 * The sampler reads interpreter structures that other threads change and
 * free under it. Every read goes through process_vm_readv() on our own pid,
 * which answers EFAULT for an unmapped address instead of faulting, and is
 * all-or-nothing per segment for our purposes. Plain C.
 */
#ifndef HOLTER_SAFEMEM_H
#define HOLTER_SAFEMEM_H

#include <stddef.h>
#include <stdint.h>

/* Probes once whether process_vm_readv works here (seccomp or an old kernel
 * may forbid it). Returns 0, or -1 with errno set. */
int safemem_init(void);

/* Copies n bytes at address src into dst. Returns 0, or -1 if any byte
 * could not be read (dst contents are then undefined). */
int safemem_read(void *dst, uintptr_t src, size_t n);

/* Copies up to n segments in one system call: seg i is len[i] bytes from
 * src[i] into dst[i]. Returns how many leading segments were read whole. */
int safemem_readv(void *const *dst, const uintptr_t *src, const size_t *len, int n);

/* Reads one pointer-sized word; 0 on failure (NULL is never valid here). */
uintptr_t safemem_word(uintptr_t src);

#endif /* HOLTER_SAFEMEM_H */

/* linetable.h - line numbers from a code object's location table.
 *
 * The sampler knows a frame's instruction, not its line: it decodes
 * co_linetable (the 3.11+ format of CPython's Objects/locations.md) from a
 * copy it read itself. Plain C.
 */
#ifndef HOLTER_LINETABLE_H
#define HOLTER_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

/* The line of the instruction at code-unit index `addr`, given the table's
 * bytes and co_firstlineno; -1 if the table says none or does not cover
 * addr (including a malformed table: never reads past n). */
int linetable_line(const uint8_t *table, size_t n, int firstlineno, int addr);

#endif /* HOLTER_LINETABLE_H */

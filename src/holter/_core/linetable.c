/* linetable.c - line numbers from a 3.11+ location table.
 *
 * Each entry starts with a byte 1cccclll: code c, length l+1 code units.
 *   c 0-9   short form: same line, one byte of columns
 *   c 10-12 one-line form: line += c - 10, two bytes of columns
 *   c 13    no columns: line += svarint
 *   c 14    long form: line += svarint, then end line, start and end
 *           column as varints
 *   c 15    no location
 * Varints are little-endian 6-bit chunks, bit 6 set on all but the last;
 * an svarint keeps its sign in bit 0.
 */
#include "linetable.h"

typedef struct {
    const uint8_t *p, *end;
    int bad;
} cursor_t;

static unsigned
varint(cursor_t *c)
{
    unsigned v = 0, shift = 0;
    for (;;) {
        if (c->p >= c->end || shift > 28) {
            c->bad = 1;
            return 0;
        }
        uint8_t b = *c->p++;
        v |= (unsigned)(b & 63) << shift;
        if (!(b & 64))
            return v;
        shift += 6;
    }
}

static int
svarint(cursor_t *c)
{
    unsigned u = varint(c);
    return (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
}

int
linetable_line(const uint8_t *table, size_t n, int firstlineno, int addr)
{
    cursor_t c = {table, table + n, 0};
    long long line = firstlineno;      /* wide: crafted deltas cannot overflow */
    long long start = 0;
    while (c.p < c.end) {
        uint8_t first = *c.p++;
        if (!(first & 0x80))
            return -1;                          /* not an entry start: malformed */
        int code = (first >> 3) & 15;
        int len = (first & 7) + 1;
        long long this_line = line;
        int has_line = 1;
        if (code == 15) {
            has_line = 0;
        } else if (code == 14) {
            line += svarint(&c);
            this_line = line;
            varint(&c);
            varint(&c);
            varint(&c);
        } else if (code == 13) {
            line += svarint(&c);
            this_line = line;
        } else if (code >= 10) {
            line += code - 10;
            this_line = line;
            c.p += 2;
        } else {
            c.p += 1;
        }
        if (c.bad || c.p > c.end)
            return -1;
        if (addr >= start && addr < start + len)
            return has_line && this_line >= INT32_MIN && this_line <= INT32_MAX ? (int)this_line : -1;
        start += len;
    }
    return -1;
}

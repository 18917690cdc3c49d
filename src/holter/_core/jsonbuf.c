/* jsonbuf.c - a small streaming JSON writer with a hard size cap.
 *
 * See jsonbuf.h for the failure rule and an example.  The workload is the
 * HTTP server building one response at a time on its own thread: many small
 * writes (keys, numbers, file paths) into one buffer that grows by doubling,
 * from 4 KiB up to the caller's cap.  Plain C, no Python.h.
 *
 * Allocation goes through JSONBUF_MALLOC / JSONBUF_REALLOC / JSONBUF_FREE so
 * that tests/c/test_jsonbuf.c can make the n-th allocation fail: built with
 * -DJSONBUF_TEST_ALLOC, they call hooks the test defines.  The memory handed
 * out by jsonbuf_take() must still be plain malloc memory, so the hooks pass
 * through to malloc/realloc/free.
 */
#include "jsonbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef JSONBUF_TEST_ALLOC
/* Defined by tests/c/test_jsonbuf.c. */
void *jsonbuf_test_malloc(size_t n);
void *jsonbuf_test_realloc(void *p, size_t n);
void  jsonbuf_test_free(void *p);
#define JSONBUF_MALLOC(n)     jsonbuf_test_malloc(n)
#define JSONBUF_REALLOC(p, n) jsonbuf_test_realloc((p), (n))
#define JSONBUF_FREE(p)       jsonbuf_test_free(p)
#endif

#ifndef JSONBUF_MALLOC
#define JSONBUF_MALLOC(n)     malloc(n)
#endif
#ifndef JSONBUF_REALLOC
#define JSONBUF_REALLOC(p, n) realloc((p), (n))
#endif
#ifndef JSONBUF_FREE
#define JSONBUF_FREE(p)       free(p)
#endif

#define JSONBUF_MIN_CAP 4096    /* first allocation, unless max is smaller */

/* The object bitmask has one bit per level. */
_Static_assert(JSONBUF_MAX_DEPTH <= 32, "objects bitmask is 32 bits");

static const char hexdigits[] = "0123456789abcdef";

/* ------------------------------------------------------------------------ */
/* Storage */

/* Apply the failure rule: free the data, mark the buffer failed.  Always
 * returns -1 so callers can `return fail(b);`. */
static int
fail(jsonbuf_t *b)
{
    JSONBUF_FREE(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 1;
    return -1;
}

/* Set up an empty buffer whose output may not exceed max bytes (excluding
 * the NUL).  Allocates nothing, so it cannot fail; a max of 0 makes every
 * write fail. */
void
jsonbuf_init(jsonbuf_t *b, size_t max)
{
    memset(b, 0, sizeof *b);
    if (max > SIZE_MAX - 1)
        max = SIZE_MAX - 1;     /* keep max + 1 (room for the NUL) finite */
    b->max = max;
}

/* Free the data, if any, and reset b to the state jsonbuf_init() left it in,
 * with the same cap, so it can be written again.  NULL is fine; so is a
 * failed buffer, and calling it twice. */
void
jsonbuf_free(jsonbuf_t *b)
{
    if (b == NULL)
        return;
    JSONBUF_FREE(b->data);
    jsonbuf_init(b, b->max);
}

/* Make room for n more bytes plus the NUL, doubling the allocation (never
 * beyond max + 1).  On failure (cap exceeded, out of memory) the buffer
 * fails and -1 is returned. */
static int
reserve(jsonbuf_t *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (b->failed)
        return -1;
    if (n > b->max - b->len)
        return fail(b);
    need = b->len + n + 1;                  /* <= max + 1: no overflow */
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : JSONBUF_MIN_CAP;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    p = b->data ? JSONBUF_REALLOC(b->data, cap) : JSONBUF_MALLOC(cap);
    if (p == NULL)
        return fail(b);                     /* frees the old block */
    b->data = p;
    b->cap = cap;
    return 0;
}

/* Append n bytes verbatim and keep the data NUL-terminated.  Fails like
 * reserve(). */
static int
append(jsonbuf_t *b, const char *s, size_t n)
{
    if (reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Structure: commas, keys, nesting */

/* Is the innermost open container an object? */
static int
in_object(const jsonbuf_t *b)
{
    return (int)((b->objects >> b->depth) & 1u);
}

/* Called before every value: check a value may go here (after a key in an
 * object; anywhere in an array; once at top level) and write the comma.
 * Misuse fails the buffer. */
static int
before_value(jsonbuf_t *b)
{
    int d = b->depth;

    if (b->failed)
        return -1;
    if (in_object(b)) {
        if (b->count[d] != 2)
            return fail(b);                 /* a value needs a key first */
    } else if (b->count[d] == 1) {
        if (d == 0)
            return fail(b);                 /* one top-level value only */
        if (append(b, ",", 1) < 0)
            return -1;
    }
    b->count[d] = 1;
    return 0;
}

/* Open an object or an array.  Fails on misuse and when a
 * JSONBUF_MAX_DEPTH-th level would be opened. */
static int
begin(jsonbuf_t *b, char open, int object)
{
    if (before_value(b) < 0)
        return -1;
    if (b->depth + 1 >= JSONBUF_MAX_DEPTH)
        return fail(b);
    if (append(b, &open, 1) < 0)
        return -1;
    b->depth++;
    b->count[b->depth] = 0;
    if (object)
        b->objects |= 1u << b->depth;
    else
        b->objects &= ~(1u << b->depth);
    return 0;
}

/* Close the innermost container, which must be of the given kind and not be
 * waiting for the value of a key.  Misuse fails the buffer. */
static int
end(jsonbuf_t *b, char close, int object)
{
    if (b->failed)
        return -1;
    if (b->depth == 0 || in_object(b) != object || b->count[b->depth] == 2)
        return fail(b);
    if (append(b, &close, 1) < 0)
        return -1;
    b->depth--;
    return 0;
}

/* Write '{'.  Fails on misuse or when nested too deep. */
int
jsonbuf_begin_object(jsonbuf_t *b)
{
    return begin(b, '{', 1);
}

/* Write '}'.  Fails if the innermost container is not an object or a key is
 * still waiting for its value. */
int
jsonbuf_end_object(jsonbuf_t *b)
{
    return end(b, '}', 1);
}

/* Write '['.  Fails on misuse or when nested too deep. */
int
jsonbuf_begin_array(jsonbuf_t *b)
{
    return begin(b, '[', 0);
}

/* Write ']'.  Fails if the innermost container is not an array. */
int
jsonbuf_end_array(jsonbuf_t *b)
{
    return end(b, ']', 0);
}

/* ------------------------------------------------------------------------ */
/* Strings */

/* Length of the well-formed UTF-8 sequence of 2 to 4 bytes at s (n bytes
 * available), or 0 if the bytes there are not one: a stray continuation
 * byte, an overlong form, a surrogate, a code point above U+10FFFF, or a
 * truncated sequence.  Table 3-7 of the Unicode Standard. */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len, i;

    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;                      /* overlong below U+0800 */
        else if (c == 0xED)
            hi = 0x9F;                      /* surrogates D800..DFFF */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;                      /* overlong below U+10000 */
        else if (c == 0xF4)
            hi = 0x8F;                      /* above U+10FFFF */
    } else {
        return 0;                           /* 80..C1, F5..FF */
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* Write s[0..n) as a quoted JSON string: escape '"', '\\', control
 * characters, U+2028/U+2029 (line separators to JavaScript) and '<', '>',
 * '&' (so a response is never sniffed as HTML); replace each byte that is
 * not part of well-formed UTF-8 with U+FFFD.  Works through a small stack
 * buffer so big strings need no worst-case reservation.  Fails like
 * append(). */
static int
write_string(jsonbuf_t *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    char tmp[256];
    size_t t = 0, i = 0, k;

    tmp[t++] = '"';
    while (i < n) {
        unsigned char c = s[i];

        if (t > sizeof tmp - 8) {           /* room for the longest escape */
            if (append(b, tmp, t) < 0)
                return -1;
            t = 0;
        }
        if (c >= 0x80) {
            k = utf8_seq_len(s + i, n - i);
            if (k == 0) {
                memcpy(tmp + t, "\xEF\xBF\xBD", 3);     /* U+FFFD */
                t += 3;
                i++;
            } else if (k == 3 && c == 0xE2 && s[i + 1] == 0x80
                       && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
                memcpy(tmp + t, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
                t += 6;
                i += 3;
            } else {
                memcpy(tmp + t, s + i, k);
                t += k;
                i += k;
            }
            continue;
        }
        switch (c) {
        case '"':  tmp[t++] = '\\'; tmp[t++] = '"';  break;
        case '\\': tmp[t++] = '\\'; tmp[t++] = '\\'; break;
        case '\n': tmp[t++] = '\\'; tmp[t++] = 'n';  break;
        case '\r': tmp[t++] = '\\'; tmp[t++] = 'r';  break;
        case '\t': tmp[t++] = '\\'; tmp[t++] = 't';  break;
        case '\b': tmp[t++] = '\\'; tmp[t++] = 'b';  break;
        case '\f': tmp[t++] = '\\'; tmp[t++] = 'f';  break;
        default:
            if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                memcpy(tmp + t, "\\u00", 4);
                tmp[t + 4] = hexdigits[c >> 4];
                tmp[t + 5] = hexdigits[c & 0xF];
                t += 6;
            } else {
                tmp[t++] = (char)c;
            }
        }
        i++;
    }
    tmp[t++] = '"';
    return append(b, tmp, t);
}

/* Write an object key: a NUL-terminated string, escaped like a string
 * value, then ':'.  Fails if key is NULL, if the innermost container is not
 * an object, or if the previous key has no value yet. */
int
jsonbuf_key(jsonbuf_t *b, const char *key)
{
    int d = b->depth;

    if (b->failed)
        return -1;
    if (key == NULL || !in_object(b) || b->count[d] == 2)
        return fail(b);
    if (b->count[d] == 1 && append(b, ",", 1) < 0)
        return -1;
    if (write_string(b, key, strlen(key)) < 0 || append(b, ":", 1) < 0)
        return -1;
    b->count[d] = 2;
    return 0;
}

/* Write s[0..n) (any bytes, NULs included) as a JSON string value.  s may
 * be NULL only when n is 0. */
int
jsonbuf_str(jsonbuf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return -1;
    if (s == NULL && n > 0)
        return fail(b);
    if (before_value(b) < 0)
        return -1;
    return write_string(b, s, n);
}

/* Write a NUL-terminated string value; NULL writes null. */
int
jsonbuf_cstr(jsonbuf_t *b, const char *s)
{
    if (s == NULL)
        return jsonbuf_null(b);
    return jsonbuf_str(b, s, strlen(s));
}

/* ------------------------------------------------------------------------ */
/* Numbers and literals */

/* Write v in decimal ending just before end; return where it starts.  By
 * hand, so no locale can get in. */
static char *
format_uint(char *end, unsigned long long v)
{
    do {
        *--end = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    return end;
}

/* Write a signed integer value. */
int
jsonbuf_int(jsonbuf_t *b, long long v)
{
    char tmp[24], *end = tmp + sizeof tmp, *p;
    unsigned long long mag;

    if (before_value(b) < 0)
        return -1;
    /* 0 - x in unsigned arithmetic: no overflow for LLONG_MIN */
    mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    p = format_uint(end, mag);
    if (v < 0)
        *--p = '-';
    return append(b, p, (size_t)(end - p));
}

/* Write an unsigned integer value. */
int
jsonbuf_uint(jsonbuf_t *b, unsigned long long v)
{
    char tmp[24], *end = tmp + sizeof tmp, *p;

    if (before_value(b) < 0)
        return -1;
    p = format_uint(end, v);
    return append(b, p, (size_t)(end - p));
}

/* Write v rounded to `decimals` places (0..9) with trailing zeros (and a
 * bare '.') trimmed: 2.50 -> 2.5, 3.00 -> 3, -0.00 -> 0.  NaN and the
 * infinities have no JSON form and are written as null.  decimals outside
 * 0..9 is misuse and fails the buffer. */
int
jsonbuf_double(jsonbuf_t *b, double v, int decimals)
{
    /* DBL_MAX has 309 integer digits; the radix point may be multibyte */
    char tmp[352], out[352];
    const char *p = tmp;
    size_t o = 0;
    int n;

    if (b->failed)
        return -1;
    if (decimals < 0 || decimals > 9)
        return fail(b);
    if (!isfinite(v))
        return jsonbuf_null(b);
    n = snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return fail(b);
    /* %f never groups thousands, but its radix point is LC_NUMERIC's (',' in
     * much of Europe, a multibyte character in some locales): copy the
     * digits and spell the radix point '.' whatever it was. */
    if (*p == '-')
        out[o++] = *p++;
    while (*p >= '0' && *p <= '9')
        out[o++] = *p++;
    if (*p) {
        while (*p && !(*p >= '0' && *p <= '9'))
            p++;
        out[o++] = '.';
        while (*p >= '0' && *p <= '9')
            out[o++] = *p++;
        while (out[o - 1] == '0')
            o--;
        if (out[o - 1] == '.')
            o--;
    }
    if (o == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';                       /* -0 and tiny negatives */
        o = 1;
    }
    if (before_value(b) < 0)
        return -1;
    return append(b, out, o);
}

/* Write true (v != 0) or false. */
int
jsonbuf_bool(jsonbuf_t *b, int v)
{
    if (before_value(b) < 0)
        return -1;
    return v ? append(b, "true", 4) : append(b, "false", 5);
}

/* Write null. */
int
jsonbuf_null(jsonbuf_t *b)
{
    if (before_value(b) < 0)
        return -1;
    return append(b, "null", 4);
}

/* Write s[0..n), which the caller guarantees is one complete, valid JSON
 * value (a number it formatted, a document built earlier), with the usual
 * comma.  It is not checked; an empty or NULL s is misuse. */
int
jsonbuf_raw(jsonbuf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return -1;
    if (s == NULL || n == 0)
        return fail(b);
    if (before_value(b) < 0)
        return -1;
    return append(b, s, n);
}

/* ------------------------------------------------------------------------ */
/* Result */

/* Hand over the finished document: malloc'd, NUL-terminated, for the caller
 * to free(); its length (excluding the NUL) goes to *len if len is not
 * NULL.  b is reset as by jsonbuf_init() with the same cap.  Returns NULL
 * (and 0 in *len) if the buffer has failed, or if the document is
 * unfinished (a container still open, or nothing written): that is misuse,
 * so the buffer fails.  A failed buffer stays failed until jsonbuf_free()
 * or jsonbuf_init(). */
char *
jsonbuf_take(jsonbuf_t *b, size_t *len)
{
    char *data;

    if (len)
        *len = 0;
    if (b->failed)
        return NULL;
    if (b->depth != 0 || b->count[0] == 0) {
        fail(b);
        return NULL;
    }
    data = b->data;
    if (len)
        *len = b->len;
    jsonbuf_init(b, b->max);
    return data;
}

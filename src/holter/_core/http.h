/* http.h - the libmicrohttpd daemon: native threads, access control.
 *
 * The daemon runs on its own small pool of native threads. They never run
 * Python code and never take the GIL: requests are answered from C tables
 * (routes.c). Plain C.
 */
#ifndef HOLTER_HTTP_H
#define HOLTER_HTTP_H

#include <stddef.h>

/* Binds host:port (port 0 picks a free one) and starts serving. `token`
 * (NULL or "" for none) is then required on every request. Returns the bound
 * port, or -1 with a message in err (e.g. "port 9999 is in use"). */
int http_start(const char *host, int port, const char *token, char *err, size_t errlen);

/* Stops serving and joins the daemon's threads. Safe if not started. */
void http_stop(void);

/* Stops the daemon's threads but keeps the listening socket (connections
 * wait in its backlog). Returns 1 if it was serving, 0 if not. */
int http_suspend(void);

/* Restarts the threads after http_suspend(). Returns 0, or -1 with a
 * message in err; then the socket is closed. */
int http_resume(char *err, size_t errlen);

/* In a forked child: the daemon's threads are gone. Forgets the daemon and
 * closes the child's copy of the listening socket, so the port stays the
 * parent's. */
void http_after_fork_child(void);

#endif /* HOLTER_HTTP_H */

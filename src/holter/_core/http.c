/* http.c - the libmicrohttpd daemon: native threads, access control.
 *
 * We bind the listening socket ourselves (so errors are clear, port 0 works
 * and the socket is close-on-exec) and hand it to libmicrohttpd, which does
 * all HTTP parsing. Its internal threads are started with every signal
 * blocked, so Ctrl-C always reaches the program.
 *
 * Access control, checked before any route:
 *   - a token, if set, from ?token=, X-Holter-Token or the holter_token
 *     cookie, compared in constant time;
 *   - without a token (loopback only), a Host header naming a loopback
 *     address, which defeats DNS rebinding.
 */
#define _GNU_SOURCE             /* accept4-style flags, strcasecmp */
#include "http.h"

#include "routes.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define POOL_THREADS 4          /* a slow /api/stacks wait must not stall the rest */
#define MAX_CONNECTIONS 64      /* hostile clients get refused beyond this */
#define CONNECTION_TIMEOUT_S 10 /* idle or slow (slowloris) connections are dropped */
#define CONNECTION_MEMORY (64u << 10) /* per-connection request buffer */
#define TOKEN_MAX 256

static struct {
    struct MHD_Daemon *daemon;  /* NULL when not serving */
    int   suspended;            /* threads stopped by http_suspend(), socket kept */
    unsigned int flags;         /* the daemon's flags, for http_resume() */
    int   listen_fd;            /* while serving or suspended */
    int   port;                 /* bound port */
    char  token[TOKEN_MAX + 1]; /* "" for none; constant while serving */
} http = { .listen_fd = -1 };

static const char DENIED_PAGE[] =
    "<!doctype html><meta charset=utf-8><title>holter: 403</title>"
    "<body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">"
    "<h1>holter: access denied</h1><p>This page needs the URL that holter printed "
    "when it started, with its <code>?token=</code>, and it must be opened through "
    "the address holter listens on.</p></body>\n";

static const char SECURITY_CSP[] =
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/* Compares without an early exit, so timing does not leak the token. */
static int
token_equal(const char *given, const char *want)
{
    size_t n = strlen(want), m = strlen(given);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(want[i] ^ (i < m ? given[i] : 0));
    return diff == 0;
}

/* Is `host` (a Host header) one of our loopback names, with our port or
 * no port? */
static int
host_is_loopback(const char *host)
{
    static const char *names[] = {"127.0.0.1", "localhost", "[::1]"};
    if (host == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        size_t n = strlen(names[i]);
        if (strncasecmp(host, names[i], n) != 0)
            continue;
        const char *rest = host + n;
        if (*rest == '\0')
            return 1;
        char want[16];
        snprintf(want, sizeof(want), ":%d", http.port);
        if (strcmp(rest, want) == 0)
            return 1;
    }
    return 0;
}

/* Returns NULL if the request may proceed, else the reason to refuse it.
 * *set_cookie is set when a valid ?token= should become a cookie. */
static const char *
access_denied(struct MHD_Connection *c, int *set_cookie)
{
    *set_cookie = 0;
    if (http.token[0] == '\0') {
        const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
        return host_is_loopback(host) ? NULL : "Host header is not a loopback address";
    }
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    if (q != NULL && token_equal(q, http.token)) {
        *set_cookie = 1;
        return NULL;
    }
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Holter-Token");
    if (h != NULL && token_equal(h, http.token))
        return NULL;
    const char *k = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "holter_token");
    if (k != NULL && token_equal(k, http.token))
        return NULL;
    return "missing or wrong token";
}

static void
add_common_headers(struct MHD_Response *resp, const reply_t *r)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");  /* the URL may hold a token */
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Content-Security-Policy", SECURITY_CSP);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    if (r->etag[0] != '\0')
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
    if (r->status != 304 && r->content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
}

static enum MHD_Result
send_reply(struct MHD_Connection *c, reply_t *r, int set_cookie)
{
    struct MHD_Response *resp;
    if (r->status == 304) {
        free(r->body);
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else if (r->body != NULL) {
        resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
        if (resp == NULL)
            free(r->body);
    } else {
        resp = MHD_create_response_from_buffer(r->len, (void *)r->static_body,
                                               MHD_RESPMEM_PERSISTENT);
    }
    if (resp == NULL)
        return MHD_NO;          /* closes the connection */
    add_common_headers(resp, r);
    if (set_cookie) {
        char cookie[TOKEN_MAX + 64];
        snprintf(cookie, sizeof(cookie), "holter_token=%s; Path=/; HttpOnly; SameSite=Strict",
                 http.token);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    }
    enum MHD_Result ret = MHD_queue_response(c, (unsigned int)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static const char *
query_param(void *ctx, const char *key)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

/* libmicrohttpd's access handler: called once per request here, since we
 * answer at the first call and read no request bodies. */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size,
           void **req_cls)
{
    reply_t r = {0};
    int set_cookie = 0;
    const char *denied = access_denied(c, &set_cookie);
    if (denied != NULL && strcmp(url, "/") == 0) {
        /* A person opening the page: say what to do, in HTML. */
        r.status = 403;
        r.static_body = DENIED_PAGE;
        r.len = sizeof(DENIED_PAGE) - 1;
        r.content_type = "text/html; charset=utf-8";
    } else if (denied != NULL) {
        routes_error(&r, 403, denied);
    } else {
        const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_IF_NONE_MATCH);
        const char *action = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Holter-Action");
        routes_dispatch(method, url, query_param, c, inm, action, &r);
    }
    return send_reply(c, &r, set_cookie);
}

/* libmicrohttpd's own log lines would land on the program's stderr: the
 * program's output must not change, so they are dropped. */
static void
quiet_logger(void *cls, const char *fmt, va_list ap)
{
}

/* Binds and listens on host:port; returns the fd or -1 with err filled. */
static int
bind_listen(const char *host, int port, int *family, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve host %s: %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0) {
            *family = ai->ai_family;
            break;
        }
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        if (saved == EADDRINUSE)
            snprintf(err, errlen, "port %d on %s is in use (pass port=0 to pick a free one)",
                     port, host);
        else
            snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(saved));
    }
    return fd;
}

static int
bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

/* Starts the daemon's threads on http.listen_fd. */
static int
start_daemon(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);   /* inherited by the daemon's threads */
    http.daemon = MHD_start_daemon(
        http.flags, 0, NULL, NULL, on_request, NULL,
        MHD_OPTION_LISTEN_SOCKET, http.listen_fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)POOL_THREADS,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_EXTERNAL_LOGGER, quiet_logger, NULL,
        MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return http.daemon != NULL ? 0 : -1;
}

int
http_start(const char *host, int port, const char *token, char *err, size_t errlen)
{
    if (http.daemon != NULL || http.suspended) {
        snprintf(err, errlen, "already serving on port %d", http.port);
        return -1;
    }
    if (token != NULL && strlen(token) > TOKEN_MAX) {
        snprintf(err, errlen, "token longer than %d characters", TOKEN_MAX);
        return -1;
    }
    int family = AF_INET;
    int fd = bind_listen(host, port, &family, err, errlen);
    if (fd < 0)
        return -1;
    snprintf(http.token, sizeof(http.token), "%s", token ? token : "");
    http.port = bound_port(fd);
    routes_set_boot((unsigned long long)getpid() << 32 ^ (unsigned long long)time(NULL));

    /* ITC: lets http_suspend() take the listening socket back. */
    http.flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (family == AF_INET6)
        http.flags |= MHD_USE_IPv6;
    http.listen_fd = fd;
    if (start_daemon() < 0) {
        close(fd);
        http.listen_fd = -1;
        snprintf(err, errlen, "libmicrohttpd could not start");
        return -1;
    }
    return http.port;
}

void
http_stop(void)
{
    if (http.suspended) {
        close(http.listen_fd);
        http.suspended = 0;
    } else if (http.daemon != NULL) {
        MHD_stop_daemon(http.daemon);   /* joins its threads, closes the socket */
    }
    http.daemon = NULL;
    http.listen_fd = -1;
}

int
http_suspend(void)
{
    if (http.daemon == NULL)
        return 0;
    MHD_quiesce_daemon(http.daemon);    /* the socket is ours again */
    MHD_stop_daemon(http.daemon);
    http.daemon = NULL;
    http.suspended = 1;
    return 1;
}

int
http_resume(char *err, size_t errlen)
{
    if (!http.suspended)
        return 0;
    http.suspended = 0;
    if (start_daemon() < 0) {
        close(http.listen_fd);
        http.listen_fd = -1;
        snprintf(err, errlen, "libmicrohttpd could not restart");
        return -1;
    }
    return 0;
}

void
http_after_fork_child(void)
{
    /* The daemon's threads did not survive the fork (stopping it would wait
     * forever), and the port stays the parent's. */
    if (http.listen_fd >= 0)
        close(http.listen_fd);
    http.daemon = NULL;
    http.suspended = 0;
    http.listen_fd = -1;
}

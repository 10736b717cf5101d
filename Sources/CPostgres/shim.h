#ifndef PIPELINE_CPOSTGRES_SHIM_H
#define PIPELINE_CPOSTGRES_SHIM_H
#include <libpq-fe.h>
#include <poll.h>

/// Waits until the connection's socket is readable or `timeout_ms` passes; 1 when readable,
/// 0 on timeout, -1 on error (poll(2) through a function Swift can call without Glibc's macros).
static inline int pipeline_pq_wait_readable(PGconn *conn, int timeout_ms) {
    int fd = PQsocket(conn);
    if (fd < 0) return -1;
    struct pollfd p = { .fd = fd, .events = POLLIN, .revents = 0 };
    return poll(&p, 1, timeout_ms);
}
#endif

/* sockets: AF_UNIX and loopback sockets.
 *   sockets          AF_UNIX: a socketpair across fork with SCM_RIGHTS both
 *                    ways (a file the child opened, a pipe end the parent
 *                    gives), SCM_CREDENTIALS and SO_PEERCRED against the
 *                    child's pid, a path name in the current directory
 *                    (stat sees a socket; listen/connect/accept between
 *                    parent and child; getsockname/getpeername), the
 *                    abstract namespace, datagrams to a bound path,
 *                    seqpacket records cut short (MSG_TRUNC), MSG_PEEK,
 *                    MSG_WAITALL across several writes, shutdown(SHUT_WR)
 *                    as end-of-file, EPIPE with MSG_NOSIGNAL and SIGPIPE
 *                    without, and the errors of connect and bind.
 *   sockets inet     TCP and UDP on 127.0.0.1: an ephemeral port, a child
 *                    client, nonblocking connect (EINPROGRESS, then SO_ERROR),
 *                    ECONNREFUSED (blocking and through SO_ERROR), SO_REUSEADDR,
 *                    EADDRINUSE, UDP with the sender's address, a reset by
 *                    closing with unread data (ECONNRESET).
 * Everything printed is deterministic: no pids, ports or inode numbers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(x) do { if (!(x)) { \
    printf("FAIL line %d: %s (errno %d)\n", __LINE__, #x, errno); \
    fflush(stdout); exit(1); } } while (0)

static const char *errname(int e)
{
    static char buf[32];
    switch (e) {
    case 0: return "0";
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EADDRINUSE: return "EADDRINUSE";
    case EPROTOTYPE: return "EPROTOTYPE";
    case EISCONN: return "EISCONN";
    case ENOTCONN: return "ENOTCONN";
    case EINPROGRESS: return "EINPROGRESS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOTSOCK: return "ENOTSOCK";
    }
    snprintf(buf, sizeof buf, "errno %d", e);
    return buf;
}

/* The errno of a call that should fail (or "0" when it did not). */
#define ERR(call) ((call) < 0 ? errname(errno) : "0")

static void flush_fork_safe(void) { fflush(stdout); }

static pid_t xfork(void)
{
    flush_fork_safe();
    pid_t p = fork();
    CHECK(p >= 0);
    return p;
}

static int reap(pid_t p)
{
    int st;
    CHECK(waitpid(p, &st, 0) == p);
    return st;
}

/* Send one byte with fds (SCM_RIGHTS) on a socket. */
static void send_fds(int s, const int *fds, int n)
{
    char byte = 'F';
    struct iovec iov = { &byte, 1 };
    union { char buf[CMSG_SPACE(sizeof(int) * 4)]; struct cmsghdr align; } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = CMSG_SPACE(sizeof(int) * n) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    CHECK(sendmsg(s, &m, 0) == 1);
}

/* Receive one byte and up to 4 fds; returns how many fds came. */
static int recv_fds(int s, int *fds)
{
    char byte;
    struct iovec iov = { &byte, 1 };
    union { char buf[CMSG_SPACE(sizeof(int) * 4)]; struct cmsghdr align; } u;
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    CHECK(recvmsg(s, &m, MSG_CMSG_CLOEXEC) == 1);
    int n = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(fds, CMSG_DATA(c), sizeof(int) * n);
        }
    }
    return n;
}

static void pass_fds(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t child = xfork();
    if (child == 0) {
        close(sv[0]);
        /* The child opens a file and sends it; then takes a pipe end and writes into it. */
        int f = open("passed.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
        CHECK(f >= 0);
        CHECK(write(f, "written by the child\n", 21) == 21);
        CHECK(lseek(f, 11, SEEK_SET) == 11);
        send_fds(sv[1], &f, 1);
        close(f);
        int got[4];
        CHECK(recv_fds(sv[1], got) == 1);
        int flags = fcntl(got[0], F_GETFD);
        CHECK(write(got[0], "pipe end from the parent works\n", 31) == 31);
        printf("child: received a pipe end, FD_CLOEXEC %s\n", flags & FD_CLOEXEC ? "set" : "clear");
        exit(0);
    }
    close(sv[1]);
    int got[4];
    CHECK(recv_fds(sv[0], got) == 1);
    char buf[64] = { 0 };
    /* The offset is shared with the child's description: reading goes on from 11. */
    CHECK(read(got[0], buf, sizeof buf - 1) == 10);
    printf("parent: received a file, read from its offset: %s", buf);
    close(got[0]);
    send_fds(sv[0], &p[1], 1);
    close(p[1]);
    int st = reap(child);
    memset(buf, 0, sizeof buf);
    CHECK(read(p[0], buf, sizeof buf - 1) == 31);
    printf("parent: %s", buf);
    close(p[0]);
    printf("child exit %d\n", WEXITSTATUS(st));
    close(sv[0]);
    unlink("passed.txt");
}

static void credentials(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    int on = 1;
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0);
    pid_t child = xfork();
    if (child == 0) {
        CHECK(write(sv[1], "cred", 4) == 4);
        exit(0);
    }
    reap(child);
    char data[8];
    struct iovec iov = { data, sizeof data };
    union { char buf[CMSG_SPACE(sizeof(struct ucred))]; struct cmsghdr align; } u;
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    CHECK(recvmsg(sv[0], &m, 0) == 4);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    CHECK(c && c->cmsg_type == SCM_CREDENTIALS);
    struct ucred uc;
    memcpy(&uc, CMSG_DATA(c), sizeof uc);
    printf("SCM_CREDENTIALS: pid is the child's: %s, uid is ours: %s\n", uc.pid == child ? "yes" : "no", uc.uid == getuid() ? "yes" : "no");
    struct ucred pc;
    socklen_t len = sizeof pc;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &pc, &len) == 0);
    printf("SO_PEERCRED: pid is ours (socketpair): %s, len %u\n", pc.pid == getpid() ? "yes" : "no", (unsigned)len);
    close(sv[0]);
    close(sv[1]);
}

static socklen_t unix_addr(struct sockaddr_un *a, const char *name, int abstract)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (abstract) {
        memcpy(a->sun_path + 1, name, strlen(name));
        return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
    }
    strcpy(a->sun_path, name);
    return offsetof(struct sockaddr_un, sun_path) + strlen(name) + 1;
}

static void named(int abstract)
{
    const char *label = abstract ? "abstract" : "path";
    struct sockaddr_un a;
    char name[64];
    /* A fixed-width pid: the address length is then the same natively (host pids) and under tslinux (small pids), so traces compare. */
    snprintf(name, sizeof name, abstract ? "tslinux-sockets-%010d" : "srv.sock", (int)getpid());
    socklen_t alen = unix_addr(&a, name, abstract);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(s >= 0);
    int c0 = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("%s: connect before bind: %s\n", label, ERR(connect(c0, (struct sockaddr *)&a, alen)));
    close(c0);
    CHECK(bind(s, (struct sockaddr *)&a, alen) == 0);
    if (!abstract) {
        struct stat st;
        CHECK(stat(name, &st) == 0);
        printf("path: stat says socket: %s\n", S_ISSOCK(st.st_mode) ? "yes" : "no");
    }
    int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("%s: second bind: %s\n", label, ERR(bind(s2, (struct sockaddr *)&a, alen)));
    close(s2);
    int c1 = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("%s: connect before listen: %s\n", label, ERR(connect(c1, (struct sockaddr *)&a, alen)));
    close(c1);
    CHECK(listen(s, 4) == 0);
    pid_t child = xfork();
    if (child == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(connect(c, (struct sockaddr *)&a, alen) == 0);
        CHECK(write(c, "hello ", 6) == 6);
        usleep(20000);
        CHECK(write(c, "server", 6) == 6);
        char buf[16] = { 0 };
        CHECK(read(c, buf, sizeof buf - 1) == 5);
        /* Printed after the reply, so after the parent's lines. */
        struct sockaddr_un peer;
        socklen_t plen = sizeof peer;
        CHECK(getpeername(c, (struct sockaddr *)&peer, &plen) == 0);
        printf("%s: client's peer name matches: %s\n", label, plen == alen && memcmp(&peer, &a, alen) == 0 ? "yes" : "no");
        printf("%s: client got %s\n", label, buf);
        CHECK(read(c, buf, sizeof buf) == 0);
        exit(0);
    }
    struct sockaddr_un from;
    socklen_t flen = sizeof from;
    int conn = accept4(s, (struct sockaddr *)&from, &flen, SOCK_CLOEXEC);
    CHECK(conn >= 0);
    printf("%s: accepted, the client is unnamed: addrlen %u\n", label, (unsigned)flen);
    char buf[16] = { 0 };
    CHECK(recv(conn, buf, 12, MSG_WAITALL) == 12);
    printf("%s: server got %s (MSG_WAITALL)\n", label, buf);
    struct ucred pc;
    socklen_t len = sizeof pc;
    CHECK(getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &pc, &len) == 0);
    printf("%s: SO_PEERCRED is the child: %s\n", label, pc.pid == child ? "yes" : "no");
    CHECK(write(conn, "reply", 5) == 5);
    CHECK(shutdown(conn, SHUT_WR) == 0);
    reap(child);
    close(conn);
    close(s);
    if (!abstract) {
        int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
        printf("path: connect after close: %s\n", ERR(connect(c2, (struct sockaddr *)&a, alen)));
        close(c2);
        CHECK(unlink(name) == 0);
        int c3 = socket(AF_UNIX, SOCK_STREAM, 0);
        printf("path: connect after unlink: %s\n", ERR(connect(c3, (struct sockaddr *)&a, alen)));
        close(c3);
    }
}

static void datagrams(void)
{
    struct sockaddr_un a;
    socklen_t alen = unix_addr(&a, "dgram.sock", 0);
    int r = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(bind(r, (struct sockaddr *)&a, alen) == 0);
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(sendto(s, "one", 3, 0, (struct sockaddr *)&a, alen) == 3);
    CHECK(sendto(s, "two!", 4, 0, (struct sockaddr *)&a, alen) == 4);
    int st = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("dgram: stream connect to a datagram socket: %s\n", ERR(connect(st, (struct sockaddr *)&a, alen)));
    close(st);
    char buf[16] = { 0 };
    struct sockaddr_un from;
    socklen_t flen = sizeof from;
    CHECK(recvfrom(r, buf, sizeof buf, MSG_PEEK, (struct sockaddr *)&from, &flen) == 3);
    printf("dgram: peeked %s, sender unnamed: addrlen %u\n", buf, (unsigned)flen);
    CHECK(recv(r, buf, sizeof buf, 0) == 3);
    memset(buf, 0, sizeof buf);
    printf("dgram: cut to 2 with MSG_TRUNC returns %zd (%s)\n", recv(r, buf, 2, MSG_TRUNC), buf);
    printf("dgram: send without an address: %s\n", ERR(send(s, "x", 1, 0)));
    close(s);
    close(r);
    unlink("dgram.sock");

    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    CHECK(send(sv[0], "record-one", 10, 0) == 10);
    CHECK(send(sv[0], "r2", 2, 0) == 2);
    char small[4];
    struct iovec iov = { small, sizeof small };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n = recvmsg(sv[1], &m, 0);
    printf("seqpacket: %zd bytes, MSG_TRUNC %s; next record %zd bytes\n", n, m.msg_flags & MSG_TRUNC ? "set" : "clear", recv(sv[1], small, sizeof small, 0));
    close(sv[0]);
    printf("seqpacket: after the peer closed: %zd\n", recv(sv[1], small, sizeof small, 0));
    close(sv[1]);
}

static void broken(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    close(sv[1]);
    printf("EPIPE with MSG_NOSIGNAL: %s\n", ERR(send(sv[0], "x", 1, MSG_NOSIGNAL)));
    pid_t child = xfork();
    if (child == 0) {
        send(sv[0], "x", 1, 0);
        exit(0);
    }
    int st = reap(child);
    printf("send without it: %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE ? "killed by SIGPIPE" : "not killed");
    close(sv[0]);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[0], "unread", 6) == 6);
    close(sv[1]);
    char b[4];
    printf("peer closed with unread data: read gives %s\n", ERR(read(sv[0], b, sizeof b)));
    close(sv[0]);
    printf("not a socket: %s\n", ERR(shutdown(0, SHUT_RD)));
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    printf("nonblocking read of an empty socket: %s\n", ERR(read(sv[0], b, sizeof b)));
    close(sv[0]);
    close(sv[1]);
}

/* ---- inet ------------------------------------------------------------------------------------ */

static struct sockaddr_in loopback(unsigned short port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static unsigned short port_of(int s)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0);
    return ntohs(a.sin_port);
}

static void tcp(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    CHECK(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0);
    struct sockaddr_in a = loopback(0);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    unsigned short port = port_of(s);
    printf("tcp: ephemeral port in 32768-60999: %s\n", port >= 32768 && port <= 60999 ? "yes" : "no");
    a = loopback(port);
    int s2 = socket(AF_INET, SOCK_STREAM, 0);
    printf("tcp: second bind without SO_REUSEADDR: %s\n", ERR(bind(s2, (struct sockaddr *)&a, sizeof a)));
    close(s2);
    int early = socket(AF_INET, SOCK_STREAM, 0);
    printf("tcp: connect before listen: %s\n", ERR(connect(early, (struct sockaddr *)&a, sizeof a)));
    close(early);
    CHECK(listen(s, 8) == 0);
    pid_t child = xfork();
    if (child == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
        int nd = 1;
        CHECK(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &nd, sizeof nd) == 0);
        char big[100000];
        memset(big, 'z', sizeof big);
        size_t done = 0;
        while (done < sizeof big) {
            ssize_t w = write(c, big + done, sizeof big - done);
            CHECK(w > 0);
            done += w;
        }
        CHECK(shutdown(c, SHUT_WR) == 0);
        char buf[8] = { 0 };
        CHECK(read(c, buf, sizeof buf - 1) == 2);
        printf("tcp: client got %s\n", buf);
        exit(0);
    }
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    int conn = accept(s, (struct sockaddr *)&from, &flen);
    CHECK(conn >= 0);
    printf("tcp: peer is 127.0.0.1: %s, addrlen %u\n", from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) ? "yes" : "no", (unsigned)flen);
    size_t total = 0;
    char buf[4096];
    ssize_t n;
    while ((n = read(conn, buf, sizeof buf)) > 0) total += n;
    printf("tcp: server read %zu bytes to EOF\n", total);
    CHECK(write(conn, "ok", 2) == 2);
    reap(child);
    close(conn);

    /* Nonblocking connect: EINPROGRESS, writable, SO_ERROR 0. */
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    printf("tcp: nonblocking connect: %s\n", r < 0 ? errname(errno) : "0");
    struct pollfd pfd = { c, POLLOUT, 0 };
    CHECK(poll(&pfd, 1, 5000) == 1);
    int err = -1;
    socklen_t elen = sizeof err;
    CHECK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &elen) == 0);
    printf("tcp: then POLLOUT %s, SO_ERROR %s\n", pfd.revents & POLLOUT ? "set" : "clear", errname(err));
    int conn2 = accept(s, NULL, NULL);
    CHECK(conn2 >= 0);
    /* Closing with unread data resets the connection. */
    CHECK(write(c, "lost", 4) == 4);
    usleep(20000);
    close(conn2);
    usleep(20000);
    pfd.events = POLLIN;
    poll(&pfd, 1, 5000);
    printf("tcp: after a reset: %s\n", ERR(read(c, buf, sizeof buf)));
    close(c);
    close(s);

    /* Nobody listens any more: refused, blocking and through SO_ERROR. */
    c = socket(AF_INET, SOCK_STREAM, 0);
    printf("tcp: connect to a closed port: %s\n", ERR(connect(c, (struct sockaddr *)&a, sizeof a)));
    close(c);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    r = connect(c, (struct sockaddr *)&a, sizeof a);
    pfd.fd = c;
    pfd.events = POLLOUT;
    CHECK(poll(&pfd, 1, 5000) == 1);
    elen = sizeof err;
    CHECK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &elen) == 0);
    printf("tcp: nonblocking: %s, then POLLERR %s, SO_ERROR %s\n", r < 0 ? errname(errno) : "0", pfd.revents & POLLERR ? "set" : "clear", errname(err));
    close(c);
}

static void udp(void)
{
    int r = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = loopback(0);
    CHECK(bind(r, (struct sockaddr *)&a, sizeof a) == 0);
    a = loopback(port_of(r));
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(sendto(s, "datagram", 8, 0, (struct sockaddr *)&a, sizeof a) == 8);
    char buf[16] = { 0 };
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    CHECK(recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen) == 8);
    printf("udp: got %s from the sender's port: %s\n", buf, ntohs(from.sin_port) == port_of(s) ? "yes" : "no");
    CHECK(connect(s, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(send(s, "again", 5, 0) == 5);
    memset(buf, 0, sizeof buf);
    CHECK(recv(r, buf, 3, MSG_TRUNC) == 5);
    printf("udp: connected send, cut: %s\n", buf);
    close(r);
    send(s, "nobody", 6, 0);
    usleep(20000);
    printf("udp: after the port closed: %s\n", ERR(recv(s, buf, sizeof buf, MSG_DONTWAIT)));
    close(s);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "inet") == 0) {
        tcp();
        udp();
        return 0;
    }
    pass_fds();
    credentials();
    named(0);
    named(1);
    datagrams();
    broken();
    return 0;
}

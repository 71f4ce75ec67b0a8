/* Processes and descriptors: pidfds, process groups and sessions, errno names, epoll,
   eventfd and poll, and the probe orphan that measures who adopts orphans. */
#include "pt_system.h"

int pt_pidfd_open(pid_t pid) {
    long r = syscall(SYS_pidfd_open, pid, 0);
    return r < 0 ? -errno : (int)r;
}

pid_t pt_getpgid(pid_t pid) { pid_t r = getpgid(pid); return r < 0 ? -errno : r; }
pid_t pt_getsid(pid_t pid) { pid_t r = getsid(pid); return r < 0 ? -errno : r; }

const char *pt_errno_name(int err) { return strerrorname_np(err); }

int pt_epoll_create(void) { int r = epoll_create1(EPOLL_CLOEXEC); return r < 0 ? -errno : r; }
int pt_epoll_add(int epfd, int fd, int et) {
    struct epoll_event ev = { .events = EPOLLIN | EPOLLHUP | (et ? EPOLLET : 0), .data.fd = fd };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}
int pt_epoll_del(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0; }
int pt_epoll_wait(int epfd, int *fds, int *hup, int max, int timeout_ms) {
    struct epoll_event evs[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) { fds[i] = evs[i].data.fd; hup[i] = (evs[i].events & EPOLLHUP) != 0; }
    return n;
}
int pt_eventfd(void) { int r = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); return r < 0 ? -errno : r; }
int pt_poll_hup(int fd) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) ? 1 : 0;
}

int pt_orphan_adopter(int timeout_ms) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -errno;
    pid_t p = fork();
    if (p < 0) {
        int e = errno;
        close(fds[0]); close(fds[1]);
        return -e;
    }
    if (p == 0) {
        pid_t me = getpid();
        pid_t q = fork();
        if (q == 0) {
            struct timespec ts = {0, 200000};
            for (int i = 0; i < timeout_ms * 5 && getppid() == me; i++) nanosleep(&ts, NULL);
            int32_t a = (int32_t)getppid();
            if (a != me) (void)!write(fds[1], &a, sizeof a);
            _exit(0);
        }
        _exit(q < 0 ? 1 : 0);
    }
    close(fds[1]);
    int st;
    while (waitpid(p, &st, __WALL) < 0 && errno == EINTR) {}
    struct pollfd pfd = { fds[0], POLLIN, 0 };
    int32_t a = 0;
    int r = -ETIMEDOUT;
    while (poll(&pfd, 1, timeout_ms) < 0 && errno == EINTR) {}
    if ((pfd.revents & POLLIN) && read(fds[0], &a, sizeof a) == (ssize_t)sizeof a && a > 0) r = a;
    close(fds[0]);
    return r;
}

/* tracefs instances: removal in a detached process, and parking for the next recording. */
#include "pt_system.h"

void pt_rmdir_detached(const char *path) {
    /* Disabling every event in one write before rmdir shortens the removal, but the write
       itself waits (docs/states.md): do it in the detached process too. */
    static const char suffix[] = "/events/enable";
    char enable[4096];
    size_t len = strlen(path);
    int ok = len + sizeof suffix <= sizeof enable;
    if (ok) { memcpy(enable, path, len); memcpy(enable + len, suffix, sizeof suffix); }
    pid_t p = fork();
    if (p < 0) { rmdir(path); return; }
    if (p == 0) {
        if (fork() == 0) {
            /* First, hold none of the caller's files: not the channel to the front (which
               waits for its end), nor the trace, nor the standard streams (a pipe reader,
               record -o - | …, must see its end when proctrace exits, not when the removal
               does). */
            syscall(SYS_close_range, 3U, ~0U, 0U);
            int null = open("/dev/null", O_RDWR | O_CLOEXEC);
            if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); }
            setsid();
            if (ok) {
                int fd = open(enable, O_WRONLY | O_CLOEXEC);
                if (fd >= 0) { (void)!write(fd, "0", 1); close(fd); }
            }
            rmdir(path);
        }
        _exit(0);
    }
    int st;
    while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
}

/* One write (or, with an empty text, an open with `flags`, e.g. O_TRUNC) to a file of an
   instance; 0 or -1. */
static int park_write(int dir, const char *file, const char *text, int flags) {
    int fd = openat(dir, file, O_WRONLY | O_CLOEXEC | flags);
    if (fd < 0) return -1;
    ssize_t n = text[0] ? write(fd, text, strlen(text)) : 0;
    close(fd);
    return n < 0 ? -1 : 0;
}

/* Empties a parked instance's ring buffers (which zeroes their overrun counters) and leaves
   its trace clock `mono`: when the clock is something else, writing `trace_clock` is the
   reset (the kernel resets the buffers after any clock change, with the same grace period as
   truncating `trace`, under trace_types_lock). A claimer then finds the clock it needs and
   skips the calibration markers, which cost its start 0.2-16 ms (migrating to each CPU).
   0 or 1 (an exit status). */
static int park_reset_buffers(int dir) {
    char clock[256];
    int fd = openat(dir, "trace_clock", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, clock, sizeof clock - 1) : -1;
    if (fd >= 0) close(fd);
    clock[n > 0 ? n : 0] = 0;
    if (n > 0 && strstr(clock, "[mono]") == NULL && park_write(dir, "trace_clock", "mono", 0) == 0) return 0;
    return park_write(dir, "trace", "", O_TRUNC) == 0 ? 0 : 1;
}

static void park_sleep_ms(int ms) {
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

/* Whether an instance name is of the pooled form: `proctrace-pool-…`, or with a test's tag
   first, `proctrace-tagT-pool-…` (InstanceOwner.name). */
static int park_pooled_name(const char *name) {
    if (strncmp(name, "proctrace-", 10) != 0) return 0;
    name += 10;
    if (strncmp(name, "tag", 3) == 0) {
        const char *dash = strchr(name, '-');
        if (!dash) return 0;
        name = dash + 1;
    }
    return strncmp(name, "pool-", 5) == 0;
}

/* Whether a recording uses a pooled instance other than `self` now (its directory's flock is
   held exclusively: by a recording, or by a parker resetting it). Raw getdents64: no malloc
   in a child forked from a threaded process. */
static int park_pool_busy(const char *path) {
    char dir[4096], other[4096];
    const char *slash = strrchr(path, '/');
    if (!slash || (size_t)(slash - path) >= sizeof dir) return 0;
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = 0;
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return 0;
    char buf[8192];
    int busy = 0;
    long n;
    while (!busy && (n = syscall(SYS_getdents64, d, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n && !busy;) {
            struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *e = (void *)(buf + off);
            off += e->reclen;
            if (!park_pooled_name(e->name) || strcmp(e->name, slash + 1) == 0) continue;
            if ((size_t)snprintf(other, sizeof other, "%s/%s", dir, e->name) >= sizeof other) continue;
            int u = open(other, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (u < 0) continue;
            if (flock(u, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) busy = 1;
            close(u);
        }
    }
    close(d);
    return busy;
}

/* The parker's work, in a detached process that holds the instance directory open as `dirfd`
   with its exclusive flock ("in use") and none of the recorder's other files: resets the
   instance, holds it parked until a recording claims it or the grace time is over, then
   removes it unless claimed (see pt_park_detached). */
static void park_run(const char *path, int dirfd, int grace_ms, int poll_ms) __attribute__((noreturn));
static void park_run(const char *path, int dirfd, int grace_ms, int poll_ms) {
    /* "Resetting": a recording that starts now waits for this one rather than making
       an instance (its mkdir would wait for the reset's grace period anyway). */
    int resetting = openat(dirfd, "options", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (resetting >= 0) flock(resetting, LOCK_EX);
    /* As fresh: nothing recorded, no event on, no pid list (removing it waits for a
       grace period under event_mutex; a claimer's first write of a new one does
       not), empty buffers whose overrun counters start at 0 again. */
    int ok = park_write(dirfd, "tracing_on", "0", 0) == 0
        && park_write(dirfd, "events/enable", "0", 0) == 0;
    /* The two resets wait for grace periods, the list's under event_mutex, the
       buffers' under none of the tracing locks: side by side they share them (a
       recording starting back to back waits for the whole reset). */
    pid_t buffers = ok ? fork() : -1;
    if (buffers == 0) _exit(park_reset_buffers(dirfd));
    ok = ok && park_write(dirfd, "set_event_pid", "", O_TRUNC) == 0;
    int bst = 1;
    if (buffers > 0) { while (waitpid(buffers, &bst, 0) < 0 && errno == EINTR) {} }
    else if (ok) bst = park_reset_buffers(dirfd);
    ok = ok && WIFEXITED(bst) && WEXITSTATUS(bst) == 0;
    int parked = ok ? openat(dirfd, "per_cpu", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (parked < 0 || flock(parked, LOCK_EX) != 0) {
        park_write(dirfd, "events/enable", "0", 0);
        rmdir(path);
        _exit(0);
    }
    if (resetting >= 0) close(resetting);
    close(dirfd);   /* claimable from now on */
    /* After the grace time, the removal waits while another recording runs (up to
       `busy_ms` more): it holds the kernel's tracing locks for ~0.05 s, which would
       hold up that recording's reader (and, through it, its ptrace loop). */
    const int busy_ms = 10000;
    /* Real time, not the sum of the sleeps: on a busy machine each sleep overruns. */
    struct timespec t0, tn;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long waited = 0; waited < grace_ms + busy_ms;) {
        park_sleep_ms(poll_ms);
        clock_gettime(CLOCK_MONOTONIC, &tn);
        waited = (tn.tv_sec - t0.tv_sec) * 1000L + (tn.tv_nsec - t0.tv_nsec) / 1000000L;
        int u = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (u < 0) _exit(0);
        /* A recording holds it exclusively: claimed, no longer ours. Still parked a
           moment, while the claimer checks that it is. */
        if (flock(u, LOCK_SH | LOCK_NB) != 0) { park_sleep_ms(poll_ms); _exit(0); }
        close(u);
        if (waited >= grace_ms && !park_pool_busy(path)) break;
    }
    /* Removed once its flock is ours. Refused, either a claimer holds it exclusively
       (it is the claimer's now) or an observer holds a shared flock for a moment
       (another parker's busy check, a test): then again, for up to 10 s, rather than
       leaving it behind for a sweep. */
    int u = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (u >= 0) {
        if (flock(u, LOCK_EX | LOCK_NB) == 0) { rmdir(path); break; }
        if (flock(u, LOCK_SH | LOCK_NB) != 0) { park_sleep_ms(poll_ms); break; }
        flock(u, LOCK_UN);
        clock_gettime(CLOCK_MONOTONIC, &tn);
        if ((tn.tv_sec - t0.tv_sec) * 1000L + (tn.tv_nsec - t0.tv_nsec) / 1000000L > 10000) break;
        park_sleep_ms(1);
    }
    _exit(0);
}

int pt_park_detached(const char *path, int dirfd, int grace_ms, int poll_ms) {
    if (dirfd < 3 || poll_ms <= 0) return -EINVAL;
    pid_t p = fork();
    if (p < 0) return -errno;
    if (p == 0) {
        if (fork() == 0) {
            /* Hold none of the caller's files but the instance (see pt_rmdir_detached). */
            if (dirfd > 3) syscall(SYS_close_range, 3U, (unsigned)dirfd - 1, 0U);
            syscall(SYS_close_range, (unsigned)dirfd + 1, ~0U, 0U);
            int null = open("/dev/null", O_RDWR | O_CLOEXEC);
            if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); }
            setsid();
            park_run(path, dirfd, grace_ms, poll_ms);
        }
        _exit(0);
    }
    int st;
    while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
    return 0;
}

int pt_warden_start(const char *path, int dirfd) {
    static const char enable_suffix[] = "/events/enable", on_suffix[] = "/tracing_on", cpus_suffix[] = "/per_cpu";
    char enable[4096], on[4096], cpus[4096];
    size_t len = strlen(path);
    if (len + sizeof enable_suffix > sizeof enable) return -ENAMETOOLONG;
    memcpy(enable, path, len); memcpy(enable + len, enable_suffix, sizeof enable_suffix);
    memcpy(on, path, len); memcpy(on + len, on_suffix, sizeof on_suffix);
    memcpy(cpus, path, len); memcpy(cpus + len, cpus_suffix, sizeof cpus_suffix);
    /* The pipe's end comes as soon as the recorder's exit closes that file, which may be
       before it closes the instance's (and lets go of its flock): the warden acts once the
       recorder's pidfd says the whole process is gone. Without pidfds, at the pipe's end. */
    int self = (int)syscall(SYS_pidfd_open, getpid(), 0U);
    int fds[2], ready[2];
    if (pipe2(fds, O_CLOEXEC) != 0) { int e = errno; if (self >= 0) close(self); return -e; }
    if (pipe2(ready, O_CLOEXEC) != 0) { int e = errno; close(fds[0]); close(fds[1]); if (self >= 0) close(self); return -e; }
    pid_t p = fork();
    if (p < 0) {
        int e = errno;
        close(fds[0]); close(fds[1]); close(ready[0]); close(ready[1]);
        if (self >= 0) close(self);
        return -e;
    }
    if (p == 0) {
        if (fork() == 0) {
            /* Only the pipe's read end (fd 3), the pidfd (fd 4) and the instance directory
               with its "in use" flock (fd 5, a pooled instance's): a write end held here
               would never let the pipe reach its end, and the instance's own files, inherited
               here, would make its removal fail (EBUSY) for as long as they stay open. */
            int r = fcntl(fds[0], F_DUPFD, 100), d = self >= 0 ? fcntl(self, F_DUPFD, 100) : -1;
            int k = dirfd >= 0 ? fcntl(dirfd, F_DUPFD, 100) : -1;
            int w = fcntl(ready[1], F_DUPFD, 100);
            if (r < 0 || w < 0 || dup2(r, 3) < 0) _exit(1);
            if (d >= 0 && dup2(d, 4) < 0) d = -1;
            if (d < 0) { int z = open("/dev/null", O_RDONLY | O_CLOEXEC); if (z >= 0 && z != 4) { dup2(z, 4); close(z); } }
            if (k >= 0 && dup2(k, 5) < 0) k = -1;
            syscall(SYS_close_range, 6U, (unsigned)w - 1, 0U);
            syscall(SYS_close_range, (unsigned)w + 1, ~0U, 0U);
            if (k < 0) close(5);
            /* Tell the caller the instance's files are closed here. */
            (void)!write(w, "r", 1);
            close(w);
            int null = open("/dev/null", O_RDWR | O_CLOEXEC);
            if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); if (null > 4) close(null); }
            setsid();   /* out of the terminal's job: its Ctrl-C and Ctrl-Z are not ours */
            struct pollfd watch[2] = { { 3, POLLIN, 0 }, { d >= 0 ? 4 : -1, POLLIN, 0 } };
            for (;;) {
                if (poll(watch, 2, -1) < 0) { if (errno == EINTR) continue; _exit(1); }
                if (watch[0].revents) {
                    char m[1 + 2 * sizeof(int)];
                    ssize_t n;
                    while ((n = read(3, m, sizeof m)) < 0 && errno == EINTR) {}
                    /* Told to park it (pt_warden_park): this process becomes its parker, the
                       "in use" flock it shares with the recorder kept without a gap. */
                    if (n == (ssize_t)sizeof m && m[0] == 'p' && k >= 0) {
                        int grace, every;
                        memcpy(&grace, m + 1, sizeof grace);
                        memcpy(&every, m + 1 + sizeof grace, sizeof every);
                        close(3);
                        close(4);
                        park_run(path, 5, grace, every > 0 ? every : 10);
                    }
                    if (n >= 1) _exit(0);   /* dismissed: the recorder handed the instance on */
                    if (watch[1].fd < 0) break;
                    watch[0].fd = -1;       /* its end: now wait for the whole process */
                }
                if (watch[1].revents) break;
            }
            /* The recorder is gone and did not hand it on. Holding its "in use" flock (fd 5),
               this warden alone has it now. Otherwise it is left alone if someone holds it: a
               parker it forked just before (the directory's flock, then per_cpu's), or a
               recording that claimed it from that parker. */
            int dir = k >= 0 ? 5 : open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dir < 0 || (k < 0 && flock(dir, LOCK_EX | LOCK_NB) != 0)) _exit(0);
            int u = open(cpus, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (u >= 0 && flock(u, LOCK_EX | LOCK_NB) != 0) _exit(0);
            int fd = open(enable, O_WRONLY | O_CLOEXEC);
            if (fd >= 0) { (void)!write(fd, "0", 1); close(fd); }
            fd = open(on, O_WRONLY | O_CLOEXEC);
            if (fd >= 0) { (void)!write(fd, "0", 1); close(fd); }
            if (u >= 0) close(u);
            rmdir(path);
            _exit(0);
        }
        _exit(0);
    }
    close(fds[0]);
    close(ready[1]);
    if (self >= 0) close(self);
    int st;
    while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
    /* Until the warden has closed what it inherited (a byte, or the end if it died first). */
    char c;
    while (read(ready[0], &c, 1) < 0 && errno == EINTR) {}
    close(ready[0]);
    return fds[1];
}

int pt_warden_park(int fd, int grace_ms, int poll_ms) {
    if (fd < 0 || poll_ms <= 0) return -EINVAL;
    char m[1 + 2 * sizeof(int)];
    m[0] = 'p';
    memcpy(m + 1, &grace_ms, sizeof grace_ms);
    memcpy(m + 1 + sizeof grace_ms, &poll_ms, sizeof poll_ms);
    /* A warden that died leaves a pipe with no reader: EPIPE, and a SIGPIPE held back here
       and taken off again (the caller then parks the instance another way). */
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t n;
    while ((n = write(fd, m, sizeof m)) < 0 && errno == EINTR) {}
    int e = n == (ssize_t)sizeof m ? 0 : (n < 0 ? errno : EIO);
    if (e == EPIPE) {
        struct timespec zero = { 0, 0 };
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {}
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) return -e;
    close(fd);
    return 0;
}

void pt_warden_dismiss(int fd) {
    if (fd < 0) return;
    ssize_t n;
    while ((n = write(fd, "d", 1)) < 0 && errno == EINTR) {}
    close(fd);
}

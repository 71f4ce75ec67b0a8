#ifndef _GNU_SOURCE
#error "CProcTrace needs _GNU_SOURCE (set in Package.swift cSettings)"
#endif
#include "cproctrace.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <elf.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <link.h>
#include <stdint.h>

#if defined(__x86_64__)
#define PT_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define PT_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "proctrace supports x86_64 and aarch64"
#endif

_Static_assert(PT_CLONE_THREAD == CLONE_THREAD && PT_CLONE_PARENT == CLONE_PARENT && PT_CLONE_VFORK == CLONE_VFORK &&
               PT_CLONE_NEWPID == CLONE_NEWPID,
               "PT_CLONE_* are the kernel's CLONE_*");
_Static_assert(PT_EVENT_FORK == PTRACE_EVENT_FORK && PT_EVENT_VFORK == PTRACE_EVENT_VFORK &&
               PT_EVENT_CLONE == PTRACE_EVENT_CLONE && PT_EVENT_EXEC == PTRACE_EVENT_EXEC &&
               PT_EVENT_VFORK_DONE == PTRACE_EVENT_VFORK_DONE && PT_EVENT_EXIT == PTRACE_EVENT_EXIT &&
               PT_EVENT_SECCOMP == PTRACE_EVENT_SECCOMP && PT_EVENT_STOP == PTRACE_EVENT_STOP,
               "PT_EVENT_* are the kernel's PTRACE_EVENT_*");

int pt_wall(void) { return __WALL; }
int pt_wnothread(void) { return __WNOTHREAD; }
int pt_wclone(void) { return __WCLONE; }
int pt_is_sig_ign(uint64_t handler) { return handler == (uint64_t)(uintptr_t)SIG_IGN; }
int pt_wifexited(int s) { return WIFEXITED(s); }
int pt_wexitstatus(int s) { return WEXITSTATUS(s); }
int pt_wifsignaled(int s) { return WIFSIGNALED(s); }
int pt_wtermsig(int s) { return WTERMSIG(s); }
int pt_wcoredump(int s) { return WCOREDUMP(s); }
int pt_wifstopped(int s) { return WIFSTOPPED(s); }
int pt_wstopsig(int s) { return WSTOPSIG(s); }

long pt_default_options(int exitkill) {
    long o = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |
             PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD;
    if (exitkill) o |= PTRACE_O_EXITKILL;
    return o;
}

long pt_nr_wait4(void) { return SYS_wait4; }
long pt_nr_waitid(void) { return SYS_waitid; }
long pt_nr_rt_sigreturn(void) { return SYS_rt_sigreturn; }

/* wait4 options that make a wait report more than reaps (stops, continues) or leave the child
   (WNOWAIT): such a wait stays on ptrace when the others are read from the scheduler's ring. */
#define PT_WAIT4_PTRACE_OPTIONS (WUNTRACED | WCONTINUED | WNOWAIT)
unsigned int pt_wait4_ptrace_options(void) { return PT_WAIT4_PTRACE_OPTIONS; }

static int install_filter(int exec_too, int ring_waits) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PT_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        /* wait4: with `ring_waits`, only the calls whose options (args[2], its low word: the
           kernel reads an int) hold one of PT_WAIT4_PTRACE_OPTIONS stop; the others are read
           from the syscall tracepoints (docs/recorder.md). Without it, the jump below is
           turned into "always stop". */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_wait4, 0, 4),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PT_WAIT4_PTRACE_OPTIONS, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | PT_SC_WAIT4),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_waitid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | PT_SC_WAITID),
        /* execve/execveat: a stop at entry for the path and argv tried; the exit is watched only
           for a failure (a success is told by PTRACE_EVENT_EXEC and then runs on). */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | PT_SC_EXECVE),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execveat, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | PT_SC_EXECVEAT),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_setsid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | PT_SC_SETSID),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_setpgid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | PT_SC_SETPGID),
        /* unshare/setns: a stop at entry only, so that the children of a process whose pid
           namespace for children may have changed get theirs read from /proc (all others are
           born in their creator's). */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | PT_SC_NAMESPACE),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_setns, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | PT_SC_NAMESPACE),
        /* rt_sigaction, but only for SIGCHLD: it decides whether children are auto-reaped. */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigaction, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SIGCHLD, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | PT_SC_SIGCHLD_ACTION),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = (unsigned short)(sizeof(f) / sizeof(f[0])), .filter = f };
    if (!ring_waits) {
        /* Every wait4 stops: the options test always jumps to the stop. */
        f[6] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
    }
    if (!exec_too) {
        /* Without the exec stops: a process left running after a planned detach
           (--until-root-exits) must still be able to exec (SECCOMP_RET_TRACE with no tracer
           fails the call with ENOSYS). Both exec stops become ALLOW, and so do the namespace
           calls' (the recorder then reads every child's namespace from /proc). */
        for (unsigned i = 0; i < prog.len; i++) {
            if (f[i].code != (BPF_RET | BPF_K)) continue;
            unsigned k = f[i].k;
            if (k == (SECCOMP_RET_TRACE | PT_SC_EXECVE) || k == (SECCOMP_RET_TRACE | PT_SC_EXECVEAT) || k == (SECCOMP_RET_TRACE | PT_SC_NAMESPACE))
                f[i] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        }
    }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0) return 0;
    if (errno != EACCES) return -1;
    /* Without CAP_SYS_ADMIN a filter needs no_new_privs. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

pid_t pt_spawn_traced(const char *file, char *const argv[], long options, int use_seccomp, int stdout_fd, int *errfd, int *gofd) {
    int go[2], err[2];
    if (pipe2(go, O_CLOEXEC) != 0) return -errno;
    if (pipe2(err, O_CLOEXEC) != 0) { int e = errno; close(go[0]); close(go[1]); return -e; }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(go[0]); close(go[1]); close(err[0]); close(err[1]);
        return -e;
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls from here to execvp. */
        char c;
        close(go[1]);
        close(err[0]);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        while (read(go[0], &c, 1) < 0 && errno == EINTR) {}
        close(go[0]);
        int e = 0;
        if (stdout_fd >= 0 && dup2(stdout_fd, 1) < 0) e = errno;
        if (e == 0 && use_seccomp && install_filter(use_seccomp & 2, c == 2) != 0) e = errno;
        if (e == 0) {
            execvp(file, argv);
            e = errno;
        }
        ssize_t w;
        do { w = write(err[1], &e, sizeof e); } while (w < 0 && errno == EINTR);
        _exit(e == ENOENT ? 127 : 126);
    }
    close(go[0]);
    close(err[1]);
    long r = ptrace(PTRACE_SEIZE, pid, 0, (void *)options);
    int seize_errno = r == 0 ? 0 : errno;
    /* Release the child either way; if the seize failed it must not install a filter with no tracer. */
    if (seize_errno != 0) {
        int st;
        kill(pid, SIGKILL);
        close(go[1]);
        waitpid(pid, &st, 0);
        close(err[0]);
        return -seize_errno;
    }
    *errfd = err[0];
    *gofd = go[1];
    return pid;
}

void pt_spawn_release(int gofd) { pt_spawn_release_waits(gofd, 0); }

void pt_spawn_release_waits(int gofd, int ring_waits) {
    char c = ring_waits ? 2 : 1;
    ssize_t w;
    do { w = write(gofd, &c, 1); } while (w < 0 && errno == EINTR);
    close(gofd);
}

static long pt_ptrace(int request, pid_t tid, unsigned long addr, unsigned long data) {
    errno = 0;
    long r = ptrace((enum __ptrace_request)request, tid, (void *)addr, (void *)data);
    if (r == -1 && errno != 0) return -errno;
    return r;
}
long pt_seize(pid_t tid, long options) { return pt_ptrace(PTRACE_SEIZE, tid, 0, (unsigned long)options); }
long pt_cont(pid_t tid, int sig) { return pt_ptrace(PTRACE_CONT, tid, 0, (unsigned long)sig); }
long pt_syscall(pid_t tid, int sig) { return pt_ptrace(PTRACE_SYSCALL, tid, 0, (unsigned long)sig); }
long pt_listen(pid_t tid) { return pt_ptrace(PTRACE_LISTEN, tid, 0, 0); }
long pt_interrupt(pid_t tid) { return pt_ptrace(PTRACE_INTERRUPT, tid, 0, 0); }
long pt_detach(pid_t tid, int sig) { return pt_ptrace(PTRACE_DETACH, tid, 0, (unsigned long)sig); }
long pt_geteventmsg(pid_t tid, unsigned long *msg) {
    return pt_ptrace(PTRACE_GETEVENTMSG, tid, 0, (unsigned long)msg);
}

pid_t pt_waitpid(pid_t pid, int *status, int flags) {
    for (;;) {
        pid_t r = waitpid(pid, status, flags);
        if (r >= 0) return r;
        if (errno != EINTR) return -errno;
    }
}

/* The registers proctrace reads at a stop (PTRACE_GETREGSET, NT_PRSTATUS): the syscall
   number, its first argument and the stack pointer. Returns 0 or -errno. */
static int read_regs(pid_t tid, uint64_t *nr, uint64_t *arg0, uint64_t *sp) {
    struct user_regs_struct regs;
    struct iovec iov = { &regs, sizeof regs };
    if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) != 0) return -errno;
#if defined(__x86_64__)
    *nr = regs.orig_rax; *arg0 = regs.rdi; *sp = regs.rsp;
#else
    *nr = regs.regs[8]; *arg0 = regs.regs[0]; *sp = regs.sp;
#endif
    return 0;
}

int pt_clone_flags(pid_t tid, uint64_t *flags) {
    uint64_t nr, a0, sp;
    int r = read_regs(tid, &nr, &a0, &sp);
    if (r != 0) return r;
    switch (nr) {
#ifdef SYS_fork
    case SYS_fork: *flags = SIGCHLD; return 0;
#endif
#ifdef SYS_vfork
    case SYS_vfork: *flags = CLONE_VM | CLONE_VFORK | SIGCHLD; return 0;
#endif
    case SYS_clone: *flags = a0; return 0;
#ifdef SYS_clone3
    case SYS_clone3: {
        uint64_t f = 0;
        long n = pt_read_mem(tid, a0, &f, sizeof f);
        if (n != (long)sizeof f) return n < 0 ? (int)n : -EIO;
        *flags = f;
        return 0;
    }
#endif
    default: return -ENOSYS;
    }
}

int pt_syscall_info(pid_t tid, int *op, uint64_t *nr, uint64_t args[6], int64_t *rval, int *is_error, uint64_t *sp) {
    struct __ptrace_syscall_info info;
    memset(&info, 0, sizeof info);
    long r = ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof info, &info);
    if (r < 0) return -errno;
    *op = info.op;
    *sp = info.stack_pointer;
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
        *nr = info.entry.nr;
        for (int i = 0; i < 6; i++) args[i] = info.entry.args[i];
    } else if (info.op == PTRACE_SYSCALL_INFO_SECCOMP) {
        *nr = info.seccomp.nr;
        for (int i = 0; i < 6; i++) args[i] = info.seccomp.args[i];
        *rval = info.seccomp.ret_data;
    } else if (info.op == PTRACE_SYSCALL_INFO_EXIT) {
        *rval = info.exit.rval;
        *is_error = info.exit.is_error;
    }
    return 0;
}

long pt_read_mem(pid_t tid, uint64_t addr, void *buf, unsigned long len) {
    struct iovec local = { buf, len };
    struct iovec remote = { (void *)(uintptr_t)addr, len };
    ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    return n < 0 ? -errno : n;
}

int pt_getsiginfo(pid_t tid, int *signo, int *code, int *pid, int *status) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) != 0) return -errno;
    *signo = si.si_signo;
    *code = si.si_code;
    *pid = si.si_pid;
    *status = si.si_status;
    return 0;
}

int pt_read_waitid_info(pid_t tid, uint64_t addr, int *pid, int *code, int *status) {
    siginfo_t si;
    long n = pt_read_mem(tid, addr, &si, sizeof si);
    if (n != (long)sizeof si) return n < 0 ? (int)n : -EIO;
    *pid = si.si_pid;
    *code = si.si_code;
    *status = si.si_status;
    return 0;
}

int pt_pidfd_open(pid_t pid) {
    long r = syscall(SYS_pidfd_open, pid, 0);
    return r < 0 ? -errno : (int)r;
}

pid_t pt_getpgid(pid_t pid) { pid_t r = getpgid(pid); return r < 0 ? -errno : r; }
pid_t pt_getsid(pid_t pid) { pid_t r = getsid(pid); return r < 0 ? -errno : r; }

const char *pt_errno_name(int err) { return strerrorname_np(err); }

static void ctl_signal_set(sigset_t *set);

int pt_thread_start(void *(*fn)(void *), void *arg, unsigned long *thread) {
    /* A new thread inherits its creator's mask: started from the ptrace thread once the
       steering signals are unblocked there (a helper started when first needed), it must
       still block them, as every thread but the ptrace thread does (pt_control_block). */
    sigset_t set, old;
    ctl_signal_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    pthread_t t;
    int r = pthread_create(&t, NULL, fn, arg);
    if (r == 0) *thread = (unsigned long)t;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return r;
}
int pt_thread_join(unsigned long thread) { return pthread_join((pthread_t)thread, NULL); }

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

static void park_sleep_ms(int ms) {
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
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
            if (strncmp(e->name, "proctrace-pool-", 15) != 0 || strcmp(e->name, slash + 1) == 0) continue;
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
            if (buffers == 0) _exit(park_write(dirfd, "trace", "", O_TRUNC) == 0 ? 0 : 1);
            ok = ok && park_write(dirfd, "set_event_pid", "", O_TRUNC) == 0;
            int bst = 1;
            if (buffers > 0) { while (waitpid(buffers, &bst, 0) < 0 && errno == EINTR) {} }
            else if (ok) bst = park_write(dirfd, "trace", "", O_TRUNC) == 0 ? 0 : 1;
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
            int u = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (u >= 0 && flock(u, LOCK_EX | LOCK_NB) == 0) rmdir(path);
            else park_sleep_ms(poll_ms);
        }
        _exit(0);
    }
    int st;
    while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
    return 0;
}

int pt_stack_pointer(pid_t tid, uint64_t *sp) {
    uint64_t nr, a0;
    return read_regs(tid, &nr, &a0, sp);
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

int pt_interrupted_call(pid_t tid, int64_t *nr, int64_t *ret, uint64_t *sp) {
    struct user_regs_struct regs;
    struct iovec iov = { &regs, sizeof regs };
    if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) != 0) return -errno;
#if defined(__x86_64__)
    *nr = (int64_t)regs.orig_rax; *ret = (int64_t)regs.rax; *sp = regs.rsp;
#else
    *nr = (int64_t)regs.regs[8]; *ret = (int64_t)regs.regs[0]; *sp = regs.sp;
#endif
    return 0;
}

/* ---- Signals that steer a recording (see cproctrace.h) ---- */

static volatile sig_atomic_t ctl_interrupts;
static volatile sig_atomic_t ctl_terminate;
static volatile sig_atomic_t ctl_stop;
static volatile sig_atomic_t ctl_pending;
/* Set by pt_loop_kick (another thread) before it signals the ptrace thread. */
static volatile sig_atomic_t ctl_kick;
static volatile pid_t ctl_tracer_tid;
static const int ctl_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU, SIGALRM };
#define CTL_NSIG ((int)(sizeof ctl_signals / sizeof ctl_signals[0]))
/* Sent to the ptrace thread by a handler that ran elsewhere: only interrupts its waitpid. */
#define CTL_WAKE_SIG (SIGRTMIN + 3)

static pid_t pt_gettid(void) { return (pid_t)syscall(SYS_gettid); }

static void ctl_wake_handler(int sig) { (void)sig; }

static void ctl_handler(int sig) {
    int saved = errno;
    switch (sig) {
    case SIGINT: ctl_interrupts = ctl_interrupts + 1; break;
    case SIGTERM: case SIGHUP: if (ctl_terminate == 0) ctl_terminate = sig; break;
    case SIGALRM: break;   /* pt_control_alarm: only wakes the loop */
    default: ctl_stop = sig; break;
    }
    ctl_pending = 1;
    pid_t tracer = ctl_tracer_tid;
    if (tracer > 0 && (pid_t)syscall(SYS_gettid) != tracer)
        syscall(SYS_tgkill, getpid(), tracer, CTL_WAKE_SIG);
    errno = saved;
}

static void ctl_signal_set(sigset_t *set) {
    sigemptyset(set);
    for (int i = 0; i < CTL_NSIG; i++) sigaddset(set, ctl_signals[i]);
    sigaddset(set, CTL_WAKE_SIG);
}

void pt_control_block(void) {
    sigset_t set;
    ctl_signal_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void pt_control_install(void) {
    ctl_tracer_tid = pt_gettid();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ctl_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;   /* no SA_RESTART: the ptrace thread's waitpid must return EINTR */
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < CTL_NSIG; i++) {
        /* A signal ignored by whoever started proctrace (nohup, a script's background job)
           stays ignored, as in a shell. */
        struct sigaction old;
        if (sigaction(ctl_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN && ctl_signals[i] != SIGALRM) continue;
        sigaction(ctl_signals[i], &sa, NULL);
        sigaddset(&set, ctl_signals[i]);
    }
    sa.sa_handler = ctl_wake_handler;
    sigaction(CTL_WAKE_SIG, &sa, NULL);
    sigaddset(&set, CTL_WAKE_SIG);
    signal(SIGQUIT, SIG_IGN);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void pt_control_uninstall(void) {
    ctl_tracer_tid = 0;
    pt_control_alarm(0);
    for (int i = 0; i < CTL_NSIG; i++) signal(ctl_signals[i], SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
}

int pt_control_interrupts(void) { return ctl_interrupts; }
int pt_control_terminate(void) { return ctl_terminate; }
int pt_control_take_stop(void) { int s = ctl_stop; ctl_stop = 0; return s; }

void pt_control_alarm(long ms) {
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = ms / 1000;
    it.it_value.tv_usec = (ms % 1000) * 1000;
    setitimer(ITIMER_REAL, &it, NULL);
}

void pt_control_stop_self(int sig) {
    struct sigaction dfl, old;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, &old);
    /* The whole process stops here (every thread), and goes on when continued. */
    kill(getpid(), sig);
    sigaction(sig, &old, NULL);
}

void pt_loop_kick(void) {
    pid_t tracer = ctl_tracer_tid;
    if (tracer <= 0) return;
    ctl_kick = 1;
    syscall(SYS_tgkill, getpid(), tracer, CTL_WAKE_SIG);
}

pid_t pt_waitpid_control(pid_t pid, int *status, int flags) {
    for (;;) {
        if (ctl_pending) { ctl_pending = 0; return -EINTR; }
        if (ctl_kick) { ctl_kick = 0; return -EAGAIN; }
        pid_t r = waitpid(pid, status, flags);
        if (r >= 0) return r;
        if (errno != EINTR) return -errno;
    }
}

/* ---- The front: the process the shell waits on (see cproctrace.h) ---- */

static int front_fd = -1;         /* the tracer's end of the channel to the front */
static pid_t front_tracer;        /* in the front: the tracer */

/* Messages from the tracer: 'S' sig: stop with sig (the job stopped); 'X' code: exit now
   with code (the recording ended; the tracer stays behind). End of file without 'X': the
   tracer is done; its own status is relayed. */
enum { FRONT_STOP = 'S', FRONT_EXIT = 'X' };

static void front_forward(int sig, siginfo_t *info, void *ctx) {
    (void)ctx;
    /* A terminal signals the whole foreground group, tracer included (SI_KERNEL): only what
       was sent to the front alone (kill, a supervisor, timeout(1)) is passed on. */
    if (info->si_code != SI_KERNEL && front_tracer > 0) kill(front_tracer, sig);
}

static void front_stop_self(int sig) {
    struct sigaction dfl, old;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, &old);
    kill(getpid(), sig);   /* stops here until continued (fg, bg) */
    sigaction(sig, &old, NULL);
}

static void front_relay(int status) __attribute__((noreturn));
static void front_relay(int status) {
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        signal(sig, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        kill(getpid(), sig);
        _exit(128 + sig);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

static void front_run(int fd) __attribute__((noreturn));
static void front_run(int fd) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = front_forward;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    const int forwarded[] = { SIGINT, SIGTERM, SIGHUP };
    for (int i = 0; i < 3; i++) {
        struct sigaction old;
        /* Ignored when proctrace started (nohup): stays ignored, as in the tracer. */
        if (sigaction(forwarded[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(forwarded[i], &sa, NULL);
    }
    /* The terminal's job-control stops: the tracer stops first, once it has seen the
       workload stop, and then tells the front to (FRONT_STOP). */
    signal(SIGTSTP, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    unsigned char msg[2];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, msg + have, sizeof msg - have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        have += (size_t)n;
        if (have < sizeof msg) continue;
        have = 0;
        if (msg[0] == FRONT_STOP) front_stop_self(msg[1]);
        else if (msg[0] == FRONT_EXIT) _exit(msg[1]);
    }
    int st;
    while (waitpid(front_tracer, &st, 0) < 0) {
        if (errno != EINTR) _exit(2);
    }
    front_relay(st);
}

/* The Swift runtime caches each thread's id in thread-local storage for its futex locks
   (priority-inheritance futexes hold their owner's tid): the runtime's own locks
   (`ulock_get_tid`: metadata instantiation, once-initialisation) and Synchronization's Mutex
   (`_swift_stdlib_gettid`). A forked child inherits its thread's caches, holding the parent's
   tid. A lock the child's thread then takes records the parent as owner, so a second thread of
   the child that contends for it waits on the parent, and the unlock, no longer the owner's,
   fails with EPERM and retries forever: a tracer spinning in two threads, its recording never
   ending (seen once, a spawn loop recorded beside others on a loaded machine). The caches are
   forgotten (zeroed, so that the next lock asks the kernel) in the child: the words that hold
   the stale tid in the TLS of the executable and of the Swift libraries. At that point the
   child has one thread and has run no Swift code since the fork. Other thread-local values
   there are pointers, mostly null; one whose upper half happens to equal the tid has a
   non-zero lower half: a word is zeroed only when the other word of its 8-byte pair is the
   stale tid too or 0 (two caches side by side, or a cache beside padding or an unused one). */
struct pt_tid_caches { int32_t stale; int forget; int found; };

static int pt_tid_caches_in(struct dl_phdr_info *info, size_t size, void *data) {
    struct pt_tid_caches *c = data;
    if (size < offsetof(struct dl_phdr_info, dlpi_tls_data) + sizeof info->dlpi_tls_data) return 0;
    if (info->dlpi_tls_data == NULL) return 0;
    /* The executable (no name), or a Swift library: never libc's own thread-local data. */
    if (info->dlpi_name[0] != '\0' && strstr(info->dlpi_name, "swift") == NULL) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_TLS) continue;
        unsigned char *block = info->dlpi_tls_data;
        for (size_t at = 0; at + 2 * sizeof(int32_t) <= ph->p_memsz; at += 2 * sizeof(int32_t)) {
            int32_t pair[2];
            memcpy(pair, block + at, sizeof pair);
            int ok = (pair[0] == c->stale || pair[0] == 0) && (pair[1] == c->stale || pair[1] == 0);
            for (int k = 0; k < 2; k++) {
                if (!ok || pair[k] != c->stale) continue;
                c->found++;
                if (c->forget) memset(block + at + (size_t)k * sizeof(int32_t), 0, sizeof(int32_t));
            }
        }
    }
    return 0;
}

int pt_tid_caches(pid_t stale, int forget) {
    struct pt_tid_caches c = { (int32_t)stale, forget, 0 };
    dl_iterate_phdr(pt_tid_caches_in, &c);
    return c.found;
}

int pt_fork_tid_caches(int *before, int *after) {
    pid_t caller = (pid_t)syscall(SYS_gettid);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -errno;
    pid_t pid = fork();
    if (pid < 0) { int e = errno; close(fds[0]); close(fds[1]); return -e; }
    if (pid == 0) {
        int counts[2];
        counts[0] = pt_tid_caches(caller, 1);
        counts[1] = pt_tid_caches(caller, 0);
        _exit(write(fds[1], counts, sizeof counts) == (ssize_t)sizeof counts ? 0 : 1);
    }
    close(fds[1]);
    int counts[2];
    ssize_t n;
    do { n = read(fds[0], counts, sizeof counts); } while (n < 0 && errno == EINTR);
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (n != (ssize_t)sizeof counts) return -EIO;
    *before = counts[0];
    *after = counts[1];
    return 0;
}

static int front_tid_caches = -1;

int pt_front_tid_caches(void) { return front_tid_caches; }

int pt_front_split(void) {
    if (getpid() == 1) return 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -errno;
    pid_t front = getpid();
    pid_t caller = (pid_t)syscall(SYS_gettid);
    pid_t pid = fork();
    if (pid < 0) { int e = errno; close(fds[0]); close(fds[1]); return -e; }
    if (pid > 0) {
        close(fds[1]);
        front_tracer = pid;
        front_run(fds[0]);
    }
    close(fds[0]);
    front_tid_caches = pt_tid_caches(caller, 1);
    /* The tracer dies with the front (a SIGKILL to the pid the shell knows ends the
       recording as it always did), until it is told to stay behind. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != front) raise(SIGKILL);
    front_fd = fds[1];
    return 1;
}

static void front_send(unsigned char kind, int value) {
    if (front_fd < 0) return;
    unsigned char msg[2] = { kind, (unsigned char)value };
    ssize_t w;
    do { w = write(front_fd, msg, sizeof msg); } while (w < 0 && errno == EINTR);
}

void pt_front_stop(int sig) { front_send(FRONT_STOP, sig); }

void pt_front_leave(int code) {
    if (front_fd < 0) return;
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    front_send(FRONT_EXIT, code);
    close(front_fd);
    front_fd = -1;
}

int pt_front_fd(void) { return front_fd; }

void pt_tend_begin(void) {
    /* In place of the steering handlers (pt_control_install), with no gap between them. */
    pt_control_alarm(0);
    ctl_tracer_tid = 0;
    const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU, SIGQUIT, SIGPIPE, SIGALRM };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_IGN);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2) close(null);
    }
}

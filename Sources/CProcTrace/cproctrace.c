/* The C boundary's core: the kernel's macros and constants as functions, the seccomp filter,
   and fork+exec of the root under trace (everything between fork and exec happens here).
   The rest by concern: ptrace.c (requests, registers, memory), process.c (pidfds, groups,
   epoll, the orphan probe), tracefs.c (instance removal and parking), control.c (signals
   that steer a recording, threads), front.c (the process the shell waits on). */
#include "pt_system.h"


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

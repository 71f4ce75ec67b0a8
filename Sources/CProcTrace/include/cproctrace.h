#ifndef CPROCTRACE_H
#define CPROCTRACE_H

#include <linux/capability.h>   /* CAP_SYS_PTRACE, for Swift */
#include <stdint.h>
#include <sys/auxv.h>   /* AT_NULL, AT_EXECFN: the auxiliary vector's entry types, for Swift */
#include <sys/types.h>

#pragma clang assume_nonnull begin

/* ptrace event numbers (status >> 16 at a ptrace-event-stop). */
enum {
    PT_EVENT_FORK = 1, PT_EVENT_VFORK = 2, PT_EVENT_CLONE = 3, PT_EVENT_EXEC = 4,
    PT_EVENT_VFORK_DONE = 5, PT_EVENT_EXIT = 6, PT_EVENT_SECCOMP = 7, PT_EVENT_STOP = 128,
};

/* Tags the seccomp filter puts in SECCOMP_RET_DATA for the syscalls proctrace stops on. */
enum {
    PT_SC_WAIT4 = 1, PT_SC_WAITID = 2, PT_SC_SETSID = 3, PT_SC_SETPGID = 4, PT_SC_SIGCHLD_ACTION = 5,
    PT_SC_EXECVE = 6, PT_SC_EXECVEAT = 7,
    /* unshare/setns: the caller's pid namespace for children may change (no exit stop). */
    PT_SC_NAMESPACE = 8,
};

/* Clone flags proctrace needs to tell threads and CLONE_PARENT children apart (the
   kernel's CLONE_*, which need _GNU_SOURCE; the .c file checks they are equal). */
enum { PT_CLONE_THREAD = 0x00010000, PT_CLONE_PARENT = 0x00008000, PT_CLONE_VFORK = 0x00004000, PT_CLONE_NEWPID = 0x20000000 };

/* The bit PTRACE_O_TRACESYSGOOD sets in a syscall-stop's signal (SIGTRAP | 0x80). */
enum { PT_SYSCALL_STOP_BIT = 0x80 };

/* waitpid flags glibc's Swift module does not export. */
int pt_wall(void);
int pt_wnothread(void);
int pt_wclone(void);

/* Whether a sigaction's handler word is SIG_IGN (a pointer constant Swift cannot import). */
int pt_is_sig_ign(uint64_t handler);

/* Status decoding (the W* macros). */
int pt_wifexited(int status);
int pt_wexitstatus(int status);
int pt_wifsignaled(int status);
int pt_wtermsig(int status);
int pt_wcoredump(int status);
int pt_wifstopped(int status);
int pt_wstopsig(int status);

/* Forks a child that will run `file` (searched in PATH) with `argv`, and PTRACE_SEIZEs it
   with `options`. The child waits until pt_spawn_release(*gofd); then it installs the
   seccomp filter (when `use_seccomp`: 1 the filter, 3 the filter with the execve/execveat
   stops) and execs. Returns the pid, or -errno.
   `*errfd` receives a pipe's read end: it yields the child's execve errno (4 bytes) if the
   exec failed, and reaches EOF when the exec succeeded. `stdout_fd` >= 0 becomes the child's
   standard output (dup2) before the exec. The corresponding C calls are
   fork(2), ptrace(PTRACE_SEIZE), seccomp(2), execvp(3). */
pid_t pt_spawn_traced(const char *file, char *_Nullable const argv[_Nonnull], long options,
                      int use_seccomp, int stdout_fd, int *errfd, int *gofd);
/* Lets the child of pt_spawn_traced go on to its exec. */
void pt_spawn_release(int gofd);
/* The same; with `ring_waits`, the child's filter lets wait4 calls without
   pt_wait4_ptrace_options() run unstopped (the recorder reads them from the syscall
   tracepoints instead). */
void pt_spawn_release_waits(int gofd, int ring_waits);
/* WUNTRACED | WCONTINUED | WNOWAIT: the wait4 options that keep a wait on ptrace stops. */
unsigned int pt_wait4_ptrace_options(void);

/* ptrace requests; each returns the result, or -errno. */
long pt_seize(pid_t tid, long options);
long pt_cont(pid_t tid, int sig);
long pt_syscall(pid_t tid, int sig);
long pt_listen(pid_t tid);
long pt_interrupt(pid_t tid);
/* PTRACE_DETACH, delivering `sig` (0 for none) as the tracee resumes. */
long pt_detach(pid_t tid, int sig);
long pt_geteventmsg(pid_t tid, unsigned long *msg);

/* The options proctrace uses: TRACEFORK|VFORK|CLONE|EXEC|SECCOMP|SYSGOOD|EXITKILL. */
long pt_default_options(int exitkill);

/* waitpid(2) retried on EINTR; returns pid or -errno. */
pid_t pt_waitpid(pid_t pid, int *status, int flags);

/* At a fork/vfork/clone event stop: the clone flags of the syscall that created the child
   (clone, clone3, fork or vfork). Returns 0 or -errno. */
int pt_clone_flags(pid_t tid, uint64_t *flags);

/* PTRACE_GET_SYSCALL_INFO. op: 1 entry, 2 exit, 3 seccomp. At a seccomp stop *rval is the
   filter's SECCOMP_RET_DATA (what PTRACE_GETEVENTMSG gives there: one call fewer per stop).
   *sp: the task's user stack pointer. Returns 0 or -errno. */
int pt_syscall_info(pid_t tid, int *op, uint64_t *nr, uint64_t args[_Nonnull 6], int64_t *rval, int *is_error, uint64_t *sp);

/* Reads `len` bytes of the tracee's memory at `addr` (process_vm_readv). Returns bytes read or -errno. */
long pt_read_mem(pid_t tid, uint64_t addr, void *buf, unsigned long len);

/* PTRACE_GETSIGINFO: fields of the pending signal. Returns 0 or -errno. */
int pt_getsiginfo(pid_t tid, int *signo, int *code, int *pid, int *status);

/* Reads a waitid(2) siginfo the tracee stored at `addr`: si_pid, si_code, si_status. */
int pt_read_waitid_info(pid_t tid, uint64_t addr, int *pid, int *code, int *status);

/* pidfd_open(2); returns fd or -errno. */
int pt_pidfd_open(pid_t pid);

/* The syscall numbers of wait4, waitid, setsid, setpgid, getpgid, getsid on this arch. */
long pt_nr_wait4(void);
long pt_nr_waitid(void);
/* rt_sigreturn's: its exit shows how a call a signal interrupted comes back. */
long pt_nr_rt_sigreturn(void);

/* A process's pgid and sid (getpgid/getsid), or -errno. */
pid_t pt_getpgid(pid_t pid);
pid_t pt_getsid(pid_t pid);

/* Signals that steer a recording: SIGINT, SIGTERM, SIGHUP (end it), SIGTSTP, SIGTTIN,
   SIGTTOU (stop with the job), SIGALRM (pt_control_alarm). pt_control_block blocks them in the calling thread and the
   threads it creates later; pt_control_install, called on the ptrace thread, catches them
   there (without SA_RESTART, so its waitpid returns EINTR) and ignores SIGQUIT. One that was
   ignored when proctrace started (nohup, a background job of a script) stays ignored. A handler
   that runs on another thread forwards a wake-up to the ptrace thread. */
void pt_control_block(void);
void pt_control_install(void);
/* Restores the default actions (for the end of a recording). */
void pt_control_uninstall(void);
/* How many SIGINTs arrived since pt_control_install. */
int pt_control_interrupts(void);
/* The first of SIGTERM/SIGHUP that arrived, or 0. */
int pt_control_terminate(void);
/* A job-control stop signal that arrived and was not yet taken (then cleared), or 0. */
int pt_control_take_stop(void);
/* Stops the whole process with `sig`'s default action (as a job-control stop), returning
   when it is continued; the handler is put back afterwards. */
void pt_control_stop_self(int sig);
/* waitpid(2) that returns -EINTR when a control signal arrived, -EAGAIN when pt_loop_kick
   asked, else retries EINTR. */
pid_t pt_waitpid_control(pid_t pid, int *status, int flags);
/* From another thread: makes the ptrace thread's pt_waitpid_control return -EAGAIN (a
   signal without SA_RESTART interrupts its waitpid). A kick that arrives just before the
   waitpid starts is seen at its next return: callers repeat it while work is pending. */
void pt_loop_kick(void);
/* Wakes the ptrace thread's pt_waitpid_control (SIGALRM) after `ms` milliseconds. */
void pt_control_alarm(long ms);

/* The errno's symbolic name ("ECHILD"), or NULL. */
const char *_Nullable pt_errno_name(int err);

/* Runs fn(arg) on a new detached-off pthread; returns 0 or errno. `*thread` identifies it for pt_join. */
int pt_thread_start(void *_Nullable (*_Nonnull fn)(void *_Nullable), void *_Nullable arg, unsigned long *thread);
int pt_thread_join(unsigned long thread);

/* epoll/eventfd, which Swift's Glibc module lacks. Return fd/0 or -errno. */
int pt_epoll_create(void);
int pt_epoll_add(int epfd, int fd, int edge_triggered);
int pt_epoll_del(int epfd, int fd);
/* Fills fds[i] and hup[i] (1 when EPOLLHUP) for up to max ready fds; returns the count or -errno. */
int pt_epoll_wait(int epfd, int *fds, int *hup, int max, int timeout_ms);
int pt_eventfd(void);
/* 1 when poll(2) reports POLLHUP on fd now, else 0. */
int pt_poll_hup(int fd);

/* Removes a tracefs instance directory from a detached grandchild process, so the caller
   does not wait for it (removal waits for RCU grace periods); the grandchild first
   writes 0 to its events/enable. Falls back to a plain rmdir if it cannot fork. */
void pt_rmdir_detached(const char *path);

/* Parks a tracefs instance for the next recording instead of removing it (docs/states.md,
   "Parked instances"), from a detached grandchild: it inherits `dirfd`, the caller's open
   instance directory with its exclusive flock ("in use"), turns the instance back into a
   fresh one (tracing_on 0, every event off, the pid list removed, the ring buffers and
   their loss counters reset), then takes the exclusive flock of its per_cpu directory
   ("parked") and closes `dirfd`. It exits as soon as a recording claims the instance (takes
   the directory's flock; checked every `poll_ms`), and after `grace_ms` unclaimed it removes
   the instance. If a reset step fails it removes the instance at once. The caller closes its
   own `dirfd` after this returns. Returns 0, or -errno if it could not fork (the caller
   then removes the instance itself). */
int pt_park_detached(const char *path, int dirfd, int grace_ms, int poll_ms);

/* Starts a detached grandchild that watches over the tracefs instance at `path` for as long as
   the caller lives: when the caller's process is gone (its pidfd; without pidfds, when every
   copy of the returned pipe's write end, close-on-exec, is) without `pt_warden_dismiss` (the
   recorder was SIGKILLed or crashed), it turns the instance's events and tracing off and
   removes it, unless someone holds its flocks (a parker, a claimer).
   Until then a killed recorder's syscall events kept every syscall of the machine on the
   tracepoint path until a later recording's sweep. `dirfd`, the instance directory with its
   exclusive flock ("in use"), or -1: kept by the warden (the flock shared with the caller),
   so that it can become the parker (pt_warden_park) and, when the caller dies, removes the
   instance it alone holds then. Returns the write end, or -errno. */
int pt_warden_start(const char *path, int dirfd);

/* Tells the warden to become the instance's parker (as pt_park_detached does from a process
   of its own; the warden holds `dirfd`, the instance directory with its "in use" flock, since
   its start) and closes `fd`: the recording's end forks nothing. 0, or -errno (the warden is
   gone, or was started without `dirfd`: `fd` stays open, the caller parks another way). */
int pt_warden_park(int fd, int grace_ms, int poll_ms);

/* Tells the warden the instance was handed on (parked, removed or left to a remover), and
   closes `fd`. */
void pt_warden_dismiss(int fd);

/* The stack pointer of a stopped task (at an exec event: the new image's initial stack,
   which starts with argc, argv, envp and the auxiliary vector). Returns 0 or -errno. */
int pt_stack_pointer(pid_t tid, uint64_t *sp);

/* Who adopts an orphan of the caller's children, measured: forks P, which forks Q and exits at
   once; Q waits (at most timeout_ms) until the kernel has given it a new parent and writes
   that parent's pid, in the caller's pid namespace, to a pipe. Only async-signal-safe calls in
   the children. Returns the pid, or -errno (-ETIMEDOUT). */
int pt_orphan_adopter(int timeout_ms);

/* At a signal-delivery stop: the syscall the task was in (*nr, -1 if none), what it returned
   so far (*ret: -ERESTARTSYS and kin when the signal interrupted it) and the user stack
   pointer at the call (*sp). Returns 0 or -errno. */
int pt_interrupted_call(pid_t tid, int64_t *nr, int64_t *ret, uint64_t *sp);
/* The same stop's return register alone (*ret), one word (PTRACE_PEEKUSER): enough to tell that
   no call was interrupted. Returns 0, -ENOSYS where one word cannot be read (arm64), or -errno. */
int pt_interrupted_return(pid_t tid, int64_t *ret);

/* The front: `record` splits early, while it has one thread, into the process the shell
   waits on (the front, the original pid) and the tracer (its child), which does everything
   else. The front forwards SIGINT, SIGTERM and SIGHUP sent to it alone (not a terminal's,
   which the tracer gets too), stops when the tracer says the job stopped, and exits with the
   tracer's status, or at once with the code the tracer gives when it stays behind to tend
   what the recording left running. The tracer dies with the front until then
   (PR_SET_PDEATHSIG). Returns 1 in the tracer, 0 when no front was made (proctrace is pid 1
   of its namespace: its exit would kill the namespace anyway), -errno if fork failed; never
   returns in the front. */
int pt_front_split(void);
/* How many thread-local caches of the front's thread id the tracer forgot at the split
   (`pt_tid_caches`), -1 without a split. */
int pt_front_tid_caches(void);
/* Counts the 4-byte words equal to `stale` in the calling thread's thread-local storage of the
   executable and the Swift libraries (the runtime's caches of a thread's id), zeroing them if
   `forget`: after a fork they hold the parent's tid, which the runtime's futex locks would
   take for the child's (see the .c file). */
int pt_tid_caches(pid_t stale, int forget);
/* For tests: forks; the child forgets its caches of the caller's tid, counting them before
   and after. Returns 0 or -errno. */
int pt_fork_tid_caches(int *before, int *after);
/* Tells the front to stop with `sig` (a job-control stop), before the tracer stops itself. */
void pt_front_stop(int sig);
/* Tells the front to exit now with `code`; the tracer no longer dies with it. */
void pt_front_leave(int code);
/* The tracer's end of the channel, -1 without a front (closed in forked helpers). */
int pt_front_fd(void);
/* For the tracer staying behind: ignores the signals of the terminal and of job control, and
   puts /dev/null on its standard streams (a pipe reader sees its end; the terminal is free). */
void pt_tend_begin(void);

#pragma clang assume_nonnull end

#endif

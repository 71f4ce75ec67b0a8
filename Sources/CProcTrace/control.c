/* Signals that steer a recording (see cproctrace.h), the threads that must not take them,
   and the tending after an early end that replaces them. */
#include "pt_system.h"

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

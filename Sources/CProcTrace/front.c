/* The front: the process the shell waits on (see cproctrace.h). */
#include "pt_system.h"

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

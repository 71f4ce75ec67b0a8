// killed.c - children that die by a signal: one killed by its parent with
// SIGKILL, one faulting (SIGSEGV from the kernel), one calling abort()
// (SIGABRT). Core dumps are disabled in the children (RLIMIT_CORE 0), so no
// core flag is set and no core file is written.
// Tree: root -> victim, segv, abrt (fork; each reaped before the next fork).
// FACT procs: 4 (root, victim, segv, abrt)
// FACT victim.signals: SIGKILL from root (~0.02 s after its fork; victim is in pause())
//   (ptrace never shows SIGKILL as a signal-delivery stop: a tracer sees only the exit status)
// FACT victim.exit: signaled SIGKILL, core false
// FACT segv.signals: SIGSEGV from the kernel (SEGV_MAPERR, write to address 0)
// FACT segv.exit: signaled SIGSEGV, core false
// FACT abrt.signals: SIGABRT from itself (abort() = raise: SI_TKILL)
// FACT abrt.exit: signaled SIGABRT, core false
// FACT root.wait: 3 waits, waitpid(X, 0) -> X status signaled SIGKILL, SIGSEGV, SIGABRT in order
// FACT victim/segv/abrt.reap: wait by root
// FACT root.exit: exited 0
// OUTPUT: "victim SIGKILL core 0", "segv SIGSEGV core 0", "abrt SIGABRT core 0".
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nocore(void) {
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
}

static int report(const char *name, pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid) { perror("waitpid"); return 1; }
    if (!WIFSIGNALED(st)) { fprintf(stderr, "%s: not signaled %#x\n", name, st); return 1; }
    printf("%s SIG%s core %d\n", name, sigabbrev_np(WTERMSIG(st)), WCOREDUMP(st) ? 1 : 0);
    fflush(stdout);
    return 0;
}

int main(void) {
    pid_t victim = fork();
    if (victim < 0) { perror("fork"); return 1; }
    if (victim == 0) { nocore(); for (;;) pause(); }
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    kill(victim, SIGKILL);
    if (report("victim", victim)) return 1;

    pid_t segv = fork();
    if (segv < 0) { perror("fork"); return 1; }
    if (segv == 0) {
        nocore();
        volatile int *p = NULL;
        *p = 1;
        _exit(0);
    }
    if (report("segv", segv)) return 1;

    pid_t abrt = fork();
    if (abrt < 0) { perror("fork"); return 1; }
    if (abrt == 0) { nocore(); abort(); }
    if (report("abrt", abrt)) return 1;
    return 0;
}

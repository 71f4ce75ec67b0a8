// wait_longjmp.c - a wait abandoned by a signal handler that leaves by siglongjmp:
//   wait_longjmp [restart|norestart]
// The root installs a SIGALRM handler (with SA_RESTART unless `norestart`) that siglongjmps
// back to a sigsetjmp taken just before the wait, forks slow (sleeps 0.3 s, exits 7), arms a
// 0.1 s timer (SIGALRM from the kernel: no other process involved), and blocks in
// waitpid(slow, 0). At ~0.1 s the signal interrupts the wait, the handler runs and jumps out:
// the call never returns to the program (neither its result nor EINTR), and the kernel does
// not restart it (a restart needs the handler's return, rt_sigreturn). After the jump the
// program calls waitpid(slow, 0) again, from the same place: the same call with the same
// arguments, a new call by the program and not a restart by the kernel.
// Tree: root -> slow (fork).
// FACT procs: 2 (root, slow)
// FACT root.signals: SIGALRM (from the kernel) at ~0.1 s, during the first wait
// FACT root.wait: 2 waits:
//   waitpid(slow, 0), abandoned at ~0.1 s: the handler left by siglongjmp (never returned)
//   waitpid(slow, 0) -> slow, status exited 7 (begins after the jump)
// FACT slow.exit: exited 7, ~0.3 s after its fork; slow.reap: wait by root
// FACT root.exit: exited 0
// OUTPUT: "longjmp: jumped 1, slow 7"
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static sigjmp_buf back;

static void on_alarm(int sig) { (void)sig; siglongjmp(back, 1); }

int main(int argc, char **argv) {
    int restart = argc < 2 || strcmp(argv[1], "norestart") != 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    pid_t slow = fork();
    if (slow == 0) {
        struct timespec ts = {0, 300000000L};
        while (nanosleep(&ts, &ts) != 0) {}
        _exit(7);
    }
    struct itimerval it = {{0, 0}, {0, 100000}};
    int st = 0;
    volatile int jumped = 0;
    if (sigsetjmp(back, 1) != 0) jumped++;
    if (jumped == 0) setitimer(ITIMER_REAL, &it, NULL);
    pid_t r = waitpid(slow, &st, 0);
    if (r != slow) { perror("waitpid slow"); return 1; }
    printf("longjmp: jumped %d, slow %d\n", jumped, WEXITSTATUS(st));
    return 0;
}

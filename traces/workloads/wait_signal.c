// wait_signal.c - a wait interrupted by a handled signal, with or without SA_RESTART:
//   wait_signal restart|norestart|retry
// The root installs a SIGUSR1 handler (with SA_RESTART for `restart`, without for
// `norestart` and `retry`), forks slow (sleeps 0.3 s, exits 7), then poker (sleeps 0.1 s, sends
// the root SIGUSR1, exits 0), and blocks in waitpid(slow, 0).
// Tree: root -> slow (fork), poker (fork), in this order.
// FACT procs: 3 (root, slow, poker)
// FACT root.signals: SIGUSR1 from poker at ~0.1 s, during the first wait (the handler runs)
// FACT slow.exit: exited 7, ~0.3 s after its fork
// FACT poker.exit: exited 0, ~0.1 s after its fork
// FACT root.wait (restart): 2 waits:
//   waitpid(slow, 0) -> slow, status exited 7 (one wait: the kernel restarts it after the
//   handler; its end says when it was interrupted and restarted: `restarted`, at the SIGUSR1,
//   and under ptrace at poker's SIGCHLD too)
//   waitpid(poker, 0) -> poker, status exited 0, immediately (poker is a zombie)
// FACT root.wait (norestart): 3 waits:
//   waitpid(slow, 0) -> EINTR, at the SIGUSR1 (~0.1 s)
//   waitpid(poker, 0) -> poker, status exited 0 (poker exits right after its kill)
//   waitpid(slow, 0) -> slow, status exited 7
// FACT root.wait (retry): 3 waits, the EINTR idiom (`while (waitpid(...) == -1 && errno == EINTR)`):
//   waitpid(slow, 0) -> EINTR, after the SIGUSR1's handler returns (~0.1 s)
//   waitpid(slow, 0) again at once, the same arguments: a new call by the program, not a
//   restart by the kernel -> slow, status exited 7
//   waitpid(poker, 0) -> poker, status exited 0, immediately (poker is a zombie)
// FACT slow.reap, poker.reap: wait by root
// FACT root.exit: exited 0
// OUTPUT: "restart: slow 7 poker 0", "norestart: EINTR, poker 0 slow 7" or
//   "retry: EINTR 1, slow 7 poker 0".
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void on_usr1(int sig) { (void)sig; }

static void ms(long n) {
    struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

int main(int argc, char **argv) {
    int retry = argc > 1 && strcmp(argv[1], "retry") == 0;
    int restart = argc < 2 || (strcmp(argv[1], "norestart") != 0 && !retry);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGUSR1, &sa, NULL);
    pid_t slow = fork();
    if (slow == 0) { ms(300); _exit(7); }
    pid_t poker = fork();
    if (poker == 0) { ms(100); kill(getppid(), SIGUSR1); _exit(0); }
    int st = 0, pst = 0;
    if (retry) {
        int eintrs = 0;
        pid_t r;
        while ((r = waitpid(slow, &st, 0)) == -1 && errno == EINTR) eintrs++;
        if (r != slow) { perror("waitpid slow"); return 1; }
        if (waitpid(poker, &pst, 0) != poker) { perror("waitpid poker"); return 1; }
        printf("retry: EINTR %d, slow %d poker %d\n", eintrs, WEXITSTATUS(st), WEXITSTATUS(pst));
        return 0;
    }
    pid_t r = waitpid(slow, &st, 0);
    if (restart) {
        if (r != slow) { perror("waitpid slow"); return 1; }
        if (waitpid(poker, &pst, 0) != poker) { perror("waitpid poker"); return 1; }
        printf("restart: slow %d poker %d\n", WEXITSTATUS(st), WEXITSTATUS(pst));
        return 0;
    }
    if (r != -1 || errno != EINTR) { fprintf(stderr, "expected EINTR, got %d\n", (int)r); return 1; }
    if (waitpid(poker, &pst, 0) != poker) { perror("waitpid poker"); return 1; }
    if (waitpid(slow, &st, 0) != slow) { perror("waitpid slow"); return 1; }
    printf("norestart: EINTR, poker %d slow %d\n", WEXITSTATUS(pst), WEXITSTATUS(st));
    return 0;
}

// eintr_wait.c - a wait interrupted by a signal with an SA_RESTART handler:
// the kernel restarts it, so it is one logical wait. The root blocks in
// waitpid(slow); the other child (poker) sends the root SIGUSR1 mid-wait.
// Tree: root -> slow (fork), poker (fork), in this order.
// FACT procs: 3 (root, slow, poker)
// FACT root.sigaction: SIGUSR1 handler with SA_RESTART, before the forks
// FACT poker: sleeps 0.1 s, kill(root, SIGUSR1), exits 0
// FACT root.signals: SIGUSR1 from poker at ~0.1 s, during the first wait (the handler runs)
// FACT slow.exit: exited 0, ~0.3 s after its fork
// FACT root.wait: 2 waits (the interrupted one counts once):
//   waitpid(slow, 0) begins before 0.1 s, ends at slow's exit -> slow, status exited 0
//   (under ptrace the kernel interrupts and restarts it twice: for SIGUSR1 and for poker's
//   SIGCHLD; untraced only SIGUSR1 interrupts it; it must still be recorded as one wait,
//   whose end lists each interruption the kernel restarted in `restarted`)
//   waitpid(poker, 0) -> poker, status exited 0, immediately (poker is a zombie)
// FACT poker.zombie: ~0.2 s (from its exit at ~0.1 s to the second wait)
// FACT slow.reap, poker.reap: wait by root
// FACT root.exit: exited 0
// OUTPUT: "handler ran during wait", "slow 0 poker 0".
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig) {
    (void)sig;
    got = 1;
}

static void ms(long n) {
    struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0) { perror("sigaction"); return 1; }
    pid_t root = getpid();
    pid_t slow = fork();
    if (slow < 0) { perror("fork"); return 1; }
    if (slow == 0) { ms(300); _exit(0); }
    pid_t poker = fork();
    if (poker < 0) { perror("fork"); return 1; }
    if (poker == 0) { ms(100); kill(root, SIGUSR1); _exit(0); }
    int st1, st2;
    if (waitpid(slow, &st1, 0) != slow) { perror("waitpid slow"); return 1; }
    if (got) printf("handler ran during wait\n");
    if (waitpid(poker, &st2, 0) != poker) { perror("waitpid poker"); return 1; }
    printf("slow %d poker %d\n", WEXITSTATUS(st1), WEXITSTATUS(st2));
    return 0;
}

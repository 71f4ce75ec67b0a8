// stop_continue.c - job control on a child: SIGSTOP it, see it stopped with
// waitpid(WUNTRACED), SIGCONT it, see it continued with waitpid(WCONTINUED),
// then let it finish.
//   stop_continue [slow]
// `slow`: the root keeps the child stopped 0.25 s instead of 0.1 s, past the child's own
// 0.2 s: what a root slowed down by load does (below).
// Tree: root -> child (fork).
// FACT procs: 2 (root, child)
// FACT child.signals: SIGSTOP from root (~0.02 s after the fork), then SIGCONT from root
// FACT root.wait: 3 waits on child, in order:
//   waitpid(child, WUNTRACED) -> child, status stopped SIGSTOP
//   waitpid(child, WCONTINUED) -> child, status continued
//   waitpid(child, 0) -> child, status exited 0
// FACT child.stopped: ~0.1 s (root sleeps 0.1 s between seeing the stop and SIGCONT)
// FACT child.exit: exited 0, ~0.2 s after its fork (its nanosleep timer keeps running while stopped),
//   and never before the root has seen it continued: it then waits for the root's word on a
//   pipe. (Without that, a root slowed down by load past the child's 0.2 s sent SIGCONT to a
//   child that exited at once, and waitpid(WCONTINUED), which also reports exits (wait4 always
//   adds WEXITED), reaped it: the program failed with "not continued", and the trace, true,
//   showed two waits instead of three.)
// FACT child.reap: wait by root
// FACT root.exit: exited 0
// OUTPUT: "stopped SIGSTOP", "continued", "exited 0".
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void ms(long n) {
    struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

int main(int argc, char **argv) {
    int slow = argc > 1 && strcmp(argv[1], "slow") == 0;
    int go[2];
    if (pipe(go) != 0) { perror("pipe"); return 1; }
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        close(go[1]);
        ms(200);
        char c;
        while (read(go[0], &c, 1) < 0) {}
        _exit(0);
    }
    close(go[0]);
    ms(20);
    int st;
    kill(pid, SIGSTOP);
    if (waitpid(pid, &st, WUNTRACED) != pid || !WIFSTOPPED(st)) { fprintf(stderr, "not stopped %#x\n", st); return 1; }
    printf("stopped SIG%s\n", sigabbrev_np(WSTOPSIG(st)));
    fflush(stdout);
    ms(slow ? 250 : 100);
    kill(pid, SIGCONT);
    if (waitpid(pid, &st, WCONTINUED) != pid || !WIFCONTINUED(st)) { fprintf(stderr, "not continued %#x\n", st); return 1; }
    printf("continued\n");
    fflush(stdout);
    if (write(go[1], "g", 1) != 1) { perror("write"); return 1; }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) { fprintf(stderr, "not exited %#x\n", st); return 1; }
    printf("exited %d\n", WEXITSTATUS(st));
    return 0;
}

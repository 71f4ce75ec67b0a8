// clone_parent.c - clone(CLONE_PARENT|SIGCHLD): the new process's real parent
// is its creator's parent, so the creator cannot wait for it; its parent does.
// Tree (real parents): root -> middle (fork); root -> sibling (created by
// middle with clone(CLONE_PARENT|SIGCHLD), so it is middle's sibling).
// FACT procs: 3 (root, middle, sibling)
// FACT middle.parent: root; middle.via: fork
// FACT sibling.parent: root (real parent); sibling.creator: middle
// FACT sibling.syscall: clone(CLONE_PARENT|SIGCHLD) by middle; since the exit signal is
//   SIGCHLD, ptrace reports it as PTRACE_EVENT_FORK, so a recorder naming `via` after the
//   ptrace event writes "fork" (the current recorder does); assert parent/creator, not via
// FACT middle.wait: waitpid(sibling, 0) -> ECHILD (not its child)
// FACT middle.exit: exited 0, before sibling exits
// FACT sibling.exit: exited 6, ~0.1 s after its creation
// FACT sibling.reparent: none (its parent root outlives it)
// FACT root.wait: waitpid(middle, 0) -> middle exited 0, then waitpid(sibling, 0) -> sibling exited 6
// FACT middle.reap: wait by root; sibling.reap: wait by root
// FACT root.exit: exited 0
// OUTPUT: "middle: waitpid(sibling) ECHILD", "root: middle 0 sibling 6".
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char stack[256 * 1024];

static int sibling_main(void *arg) {
    (void)arg;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    _exit(6);
}

int main(void) {
    int pfd[2];
    if (pipe(pfd) != 0) { perror("pipe"); return 1; }
    pid_t middle = fork();
    if (middle < 0) { perror("fork"); return 1; }
    if (middle == 0) {
        close(pfd[0]);
        pid_t sib = clone(sibling_main, stack + sizeof stack, CLONE_PARENT | SIGCHLD, NULL);
        if (sib < 0) { perror("clone"); _exit(1); }
        if (write(pfd[1], &sib, sizeof sib) != sizeof sib) _exit(1);
        int st;
        if (waitpid(sib, &st, 0) < 0 && errno == ECHILD) {
            printf("middle: waitpid(sibling) ECHILD\n");
            fflush(stdout);
        }
        _exit(0);
    }
    close(pfd[1]);
    pid_t sib;
    if (read(pfd[0], &sib, sizeof sib) != sizeof sib) { fprintf(stderr, "no sibling pid\n"); return 1; }
    int st1, st2;
    if (waitpid(middle, &st1, 0) != middle) { perror("waitpid middle"); return 1; }
    if (waitpid(sib, &st2, 0) != sib) { perror("waitpid sibling"); return 1; }
    printf("root: middle %d sibling %d\n", WEXITSTATUS(st1), WEXITSTATUS(st2));
    return 0;
}

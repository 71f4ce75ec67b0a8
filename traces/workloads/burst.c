// burst.c - a burst of children: the root forks N children back to back
// (argv[1], default 50), child i (0-based, in fork order) exits i % 256 at
// once, and the root reaps them all with waitpid(-1) until ECHILD.
// Tree: root -> child0 .. child49 (all via fork).
// FACT procs: 51 (root + 50 children) with the default N
// FACT childI.parent: root
// FACT childI.exit: exited I % 256 (I = fork order from 0)
// FACT root.wait: N+1 calls waitpid(-1, 0): N return a child (each child exactly once,
//   status exited I % 256 for child I), the last returns ECHILD
// FACT childI.reap: wait by root
// FACT root.exit: exited 0
// FACT nondeterministic: the order in which children are reaped
// OUTPUT: "reaped 50, status sum 1225" (sum of I % 256).
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 50;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) _exit(i % 256);
    }
    int reaped = 0;
    long sum = 0;
    int st;
    for (;;) {
        pid_t pid = waitpid(-1, &st, 0);
        if (pid < 0) {
            if (errno == ECHILD) break;
            if (errno == EINTR) continue;
            perror("waitpid");
            return 1;
        }
        reaped++;
        sum += WEXITSTATUS(st);
    }
    printf("reaped %d, status sum %ld\n", reaped, sum);
    return reaped == n ? 0 : 1;
}

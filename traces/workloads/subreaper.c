// subreaper.c - prctl(PR_SET_CHILD_SUBREAPER): orphans below the root are
// reparented to the root instead of pid 1, and the root reaps them.
// Tree: root (subreaper) -> middle (fork) -> grandchild (fork).
// FACT procs: 3 (root, middle, grandchild)
// FACT root.subreaper: yes, set before any fork
// FACT middle.parent: root; grandchild.parent: middle (both via fork)
// FACT middle.exit: exited 0, right after forking grandchild
// FACT grandchild.reparent: middle -> root when middle exits
// FACT grandchild.exit: exited 5, ~0.1 s after its fork
// FACT root.wait: waitpid(middle, 0) -> middle exited 0; then waitpid(-1, 0) -> grandchild exited 5
// FACT middle.reap: wait by root; grandchild.reap: wait by root
// FACT root.exit: exited 0
// OUTPUT: "grandchild ppid is root", "root reaped grandchild status 5".
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) { perror("prctl"); return 1; }
    pid_t root = getpid();
    pid_t middle = fork();
    if (middle < 0) { perror("fork"); return 1; }
    if (middle == 0) {
        pid_t g = fork();
        if (g < 0) _exit(1);
        if (g == 0) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            if (getppid() == root) { printf("grandchild ppid is root\n"); fflush(stdout); }
            _exit(5);
        }
        _exit(0);
    }
    int st;
    if (waitpid(middle, &st, 0) != middle) { perror("waitpid middle"); return 1; }
    pid_t g = waitpid(-1, &st, 0);
    if (g < 0) { perror("waitpid -1"); return 1; }
    printf("root reaped grandchild status %d\n", WEXITSTATUS(st));
    return 0;
}

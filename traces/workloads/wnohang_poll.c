// wnohang_poll.c - a parent that polls for its child with waitpid(child, WNOHANG) every 5 ms
// (as Python's subprocess and multiprocessing do) until it has reaped it.
// Tree: root -> child (fork).
// FACT procs: 2 (root, child)
// FACT child.exit: exited 3, ~0.1 s after its fork
// FACT root.wait: waitpid(child, WNOHANG) -> 0, N times (N >= 5: the polls before the exit),
//   then waitpid(child, WNOHANG) -> child, status exited 3 (N is printed)
// FACT child.reap: wait by root, at the last poll
// FACT root.exit: exited 0
// OUTPUT: "polls N+1, child 3" (every waitpid call counted).
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void ms(long n) {
    struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

int main(void) {
    pid_t child = fork();
    if (child == 0) { ms(100); _exit(3); }
    int st = 0, polls = 0;
    for (;;) {
        pid_t r = waitpid(child, &st, WNOHANG);
        polls++;
        if (r == child) break;
        if (r != 0) { perror("waitpid"); return 1; }
        ms(5);
    }
    printf("polls %d, child %d\n", polls, WEXITSTATUS(st));
    return 0;
}

// pid_reuse_now.c - a pid handed to a new child right after its reap: N rounds (argv[1],
// default 20) of: fork a child that exits at once with I % 100; reap it with waitpid(child, 0);
// write child-1 to /proc/sys/kernel/ns_last_pid (root only) and fork again at once, so that
// the kernel gives the second child the pid just freed (unless another fork on the machine
// takes it in between); that child exits with I % 100 + 100 and is reaped the same way.
// Tree: root -> first0, second0, first1, second1, ... (all via fork, in this order).
// FACT procs: 2N+1 (root + 2N children)
// FACT firstI.exit: exited I % 100; secondI.exit: exited I % 100 + 100
// FACT firstI.reap, secondI.reap: wait by root, each by the waitpid that names it
// FACT root.wait: 2N waits, waitpid(child, 0) -> child, each before the next fork
// FACT root.exit: exited 0 (1 if ns_last_pid cannot be written)
// FACT nondeterministic: how many second children got their first sibling's pid (printed;
//   most of them on a quiet machine)
// OUTPUT: "reused K of N".
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int reap(pid_t p, int want) {
    int st = 0;
    if (waitpid(p, &st, 0) != p) { perror("waitpid"); return -1; }
    return WIFEXITED(st) && WEXITSTATUS(st) == want ? 0 : -1;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20, reused = 0;
    int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
    if (fd < 0) { perror("ns_last_pid"); return 1; }
    for (int i = 0; i < n; i++) {
        pid_t first = fork();
        if (first == 0) _exit(i % 100);
        if (reap(first, i % 100) != 0) return 1;
        char buf[32];
        int len = snprintf(buf, sizeof buf, "%d", (int)first - 1);
        if (pwrite(fd, buf, len, 0) != len) { perror("write ns_last_pid"); return 1; }
        pid_t second = fork();
        if (second == 0) _exit(i % 100 + 100);
        if (second == first) reused++;
        if (reap(second, i % 100 + 100) != 0) return 1;
    }
    printf("reused %d of %d\n", reused, n);
    return 0;
}

// waitid.c - waitid(P_PID): a WNOHANG poll that finds nothing, then a
// blocking wait that returns the exit.
// Tree: root -> child (fork).
// FACT procs: 2 (root, child)
// FACT child.exit: exited 2, ~0.1 s after its fork
// FACT root.wait: 2 waitid calls on child, in order:
//   waitid(P_PID, child, WEXITED|WNOHANG) -> 0 (nothing yet; syscall returns 0, si_pid 0)
//   waitid(P_PID, child, WEXITED) -> child, status exited 2 (blocks ~0.1 s)
// FACT child.reap: wait by root
// FACT root.exit: exited 0
// OUTPUT: "poll: nothing", "waitid: exited 2".
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        _exit(2);
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, pid, &si, WEXITED | WNOHANG) != 0) { perror("waitid poll"); return 1; }
    if (si.si_pid == 0) printf("poll: nothing\n");
    else printf("poll: child already gone (unexpected)\n");
    fflush(stdout);
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, pid, &si, WEXITED) != 0) { perror("waitid"); return 1; }
    if (si.si_code == CLD_EXITED) printf("waitid: exited %d\n", si.si_status);
    return 0;
}

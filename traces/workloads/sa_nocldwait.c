// sa_nocldwait.c - sigaction(SIGCHLD) with SA_NOCLDWAIT (handler left SIG_DFL):
// the kernel reaps children as they exit; a wait blocks until they are all
// gone and then fails with ECHILD.
// Tree: root -> child1, child2 (fork, back to back).
// FACT procs: 3 (root, child1, child2)
// FACT root.sigaction: SIGCHLD {SIG_DFL, SA_NOCLDWAIT} before the forks
// FACT child1.exit: exited 0 after 0.05 s; child2.exit: exited 1 after 0.1 s
// FACT childN.reap: auto (no zombie)
// FACT root.wait: one wait(NULL) = wait4(-1, 0), begins before the children exit, result ECHILD after both are gone
// FACT root.exit: exited 0
// OUTPUT: "wait: ECHILD".
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = SA_NOCLDWAIT;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, NULL) != 0) { perror("sigaction"); return 1; }
    for (int i = 1; i <= 2; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            struct timespec ts = {0, i * 50 * 1000 * 1000L};
            nanosleep(&ts, NULL);
            _exit(i - 1);
        }
    }
    if (wait(NULL) < 0 && errno == ECHILD) printf("wait: ECHILD\n");
    else printf("wait: returned a child (unexpected)\n");
    return 0;
}

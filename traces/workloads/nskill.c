// nskill.c - a signal from outside a pid namespace: the root makes a new pid namespace
// (unshare(CLONE_NEWPID), then fork), so its child is pid 1 there and sees no pid for the
// root; the root sends it SIGTERM, which the child handles. The kernel gives the child the
// sender as si_pid 0 (a process outside its namespace).
// Tree: root -> child (fork; pid 1 of a new pid namespace).
// FACT procs: 2 (root, child)
// FACT child.signals: SIGTERM, SI_USER, sender 0 as the child sees it (the root, outside)
// FACT child.exit: exited 3 (from its SIGTERM handler)
// FACT child.reap: wait by root
// FACT root.wait: waitpid(child, 0) -> child, status exited 3
// FACT root.exit: exited 0
// OUTPUT: "child PID" (as the root numbers it), then "si_pid N" from the child (N = 0).
// Needs CAP_SYS_ADMIN (root) for unshare(CLONE_NEWPID); exits 2 without it.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int ready[2];

static void on_term(int sig, siginfo_t *si, void *ctx) {
    (void)sig; (void)ctx;
    char line[32];
    int n = snprintf(line, sizeof line, "si_pid %d\n", (int)si->si_pid);
    if (write(1, line, (size_t)n) < 0) _exit(4);
    _exit(3);
}

int main(void) {
    if (unshare(CLONE_NEWPID) != 0) { perror("unshare(CLONE_NEWPID)"); return 2; }
    if (pipe(ready) != 0) { perror("pipe"); return 1; }
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t child = fork();
    if (child < 0) { perror("fork"); return 1; }
    if (child == 0) {
        // A namespace's init gets only the signals it handles.
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_term;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGTERM, &sa, NULL);
        if (write(ready[1], "r", 1) != 1) _exit(1);
        for (;;) pause();
    }
    char c;
    if (read(ready[0], &c, 1) != 1) { perror("read"); return 1; }
    printf("child %d\n", child);
    kill(child, SIGTERM);
    int status = 0;
    if (waitpid(child, &status, 0) != child) { perror("waitpid"); return 1; }
    return WIFEXITED(status) && WEXITSTATUS(status) == 3 ? 0 : 1;
}

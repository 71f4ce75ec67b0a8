// daemon.c - the classic double-fork daemon: the root forks a child, the
// child starts a new session, forks the daemon and exits; the root reaps the
// child and exits; the daemon (reparented to pid 1) outlives the root by
// ~0.3 s, then exits 0.
// Tree: root -> child (fork) -> daemon (fork).
// FACT procs: 3 (root, child, daemon)
// FACT child.group: setsid() by child -> sid = pgid = child's pid (daemon inherits that session)
// FACT child.exit: exited 0, right after forking daemon
// FACT root.wait: waitpid(child, 0) -> child, status exited 0
// FACT child.reap: wait by root
// FACT root.exit: exited 0, right after reaping child
// FACT daemon.reparent: child -> 1 when child exits
// FACT daemon.exit: exited 0, ~0.3 s after root's exit (the tracer must keep following it)
// FACT daemon.reap: adopted by 1
// FACT daemon.io: chdir("/"), stdin/stdout/stderr on /dev/null
// OUTPUT: "daemon started" (from the root).
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    pid_t child = fork();
    if (child < 0) { perror("fork"); return 1; }
    if (child == 0) {
        if (setsid() < 0) _exit(1);
        pid_t d = fork();
        if (d < 0) _exit(1);
        if (d == 0) {
            if (chdir("/") != 0) _exit(1);
            int fd = open("/dev/null", O_RDWR);
            if (fd >= 0) { dup2(fd, 0); dup2(fd, 1); dup2(fd, 2); if (fd > 2) close(fd); }
            struct timespec ts = {0, 300 * 1000 * 1000};
            nanosleep(&ts, NULL);
            _exit(0);
        }
        _exit(0);
    }
    int st;
    if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "child failed\n"); return 1; }
    printf("daemon started\n");
    return 0;
}

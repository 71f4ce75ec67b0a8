// reaper_loop.c - a workload that keeps forking and reaping children, and logs how each wait
// went: for the tests of ending a recording early (second Ctrl-C, SIGTERM, --until-root-exits),
// after which it must keep running with working waits.
//   reaper_loop LOG [--ignore-int]
// Prints "ready PID" on stdout, then forever: fork a child that sleeps 20 ms and exits with
// (n % 100); wait4 for it; append "ok N STATUS" (the child's exit code) or "err N CALL ERRNO"
// to LOG; also waitid(P_ALL, WNOHANG), setpgid(0, getpgrp()) and sigaction(SIGCHLD, NULL)
// each round ("err" lines if they fail); sleep 30 ms. Ends when killed.
// Tree: root -> child, child, child ... (fork, one at a time).
// FACT every wait4 returns its child with its exit code
#define _GNU_SOURCE
#include <errno.h>
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
    if (argc < 2) { fprintf(stderr, "usage: reaper_loop LOG [--ignore-int]\n"); return 2; }
    if (argc > 2 && strcmp(argv[2], "--ignore-int") == 0) signal(SIGINT, SIG_IGN);
    FILE *log = fopen(argv[1], "a");
    if (!log) { perror(argv[1]); return 1; }
    setvbuf(log, NULL, _IOLBF, 0);
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    for (long n = 1;; n++) {
        pid_t child = fork();
        if (child < 0) { fprintf(log, "err %ld fork %s\n", n, strerrorname_np(errno)); ms(100); continue; }
        if (child == 0) { ms(20); _exit((int)(n % 100)); }
        int status = 0;
        pid_t r = wait4(child, &status, 0, NULL);
        if (r == child && WIFEXITED(status)) fprintf(log, "ok %ld %d\n", n, WEXITSTATUS(status));
        else if (r < 0) fprintf(log, "err %ld wait4 %s\n", n, strerrorname_np(errno));
        else fprintf(log, "err %ld wait4 returned %d status %#x\n", n, (int)r, status);
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0 && errno != ECHILD)
            fprintf(log, "err %ld waitid %s\n", n, strerrorname_np(errno));
        // Calls that stop at proctrace's seccomp filter, and change nothing here.
        if (setpgid(0, getpgrp()) < 0) fprintf(log, "err %ld setpgid %s\n", n, strerrorname_np(errno));
        struct sigaction old;
        if (sigaction(SIGCHLD, NULL, &old) < 0) fprintf(log, "err %ld rt_sigaction %s\n", n, strerrorname_np(errno));
        ms(30);
    }
}

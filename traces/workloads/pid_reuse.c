// pid_reuse.c - many short processes, a few at a time, some with a thread: run
// under a small pid_max (see below) the kernel hands the same pids out again and
// again, to processes and to threads alike. The root makes N children (argv[1],
// default 1000) in waves of K (argv[2], default 4): it forks K children, then
// reaps the wave with waitpid(-1) until ECHILD. Child i (0-based, fork order)
// starts a thread that returns at once and joins it when i % 3 == 0, then exits
// i % 256.
// Tree: root -> child0 .. child(N-1) (all via fork).
// FACT procs: N+1 (root + N children)
// FACT childI.parent: root
// FACT childI.threads: 1 extra thread when I % 3 == 0, none otherwise
// FACT childI.exit: exited I % 256
// FACT childI.reap: wait by root
// FACT root.exit: exited 0
// FACT nondeterministic: the order in which the children of one wave are reaped
// To force reuse: unshare --pid --fork --mount-proc sh -c 'echo 400 >
//   /proc/sys/kernel/pid_max; exec proctrace record -- bin/pid_reuse' (pid_max
//   is per pid namespace here): 1000 children then take each pid 2 or 3 times.
// OUTPUT: "reaped N, status sum S" (S = sum of I % 256).
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *nothing(void *arg) { return arg; }

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    int k = argc > 2 ? atoi(argv[2]) : 4;
    if (n < 0 || k < 1) { fprintf(stderr, "usage: pid_reuse [N [K]]\n"); return 2; }
    int reaped = 0;
    long sum = 0;
    for (int i = 0; i < n;) {
        for (int j = 0; j < k && i < n; j++, i++) {
            pid_t pid = fork();
            if (pid < 0) { perror("fork"); return 1; }
            if (pid == 0) {
                if (i % 3 == 0) {
                    pthread_t t;
                    if (pthread_create(&t, NULL, nothing, NULL) != 0) _exit(255);
                    pthread_join(t, NULL);
                }
                _exit(i % 256);
            }
        }
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
    }
    printf("reaped %d, status sum %ld\n", reaped, sum);
    return reaped == n ? 0 : 1;
}

// thread_exec.c - a thread that is not the leader calls execve: the kernel
// kills the other threads and the exec'ing thread takes over the leader's pid.
// Tree: root only (one process, two threads before the exec).
// FACT procs: 1 (root)
// FACT root.threads: 1 extra thread T (pthread), started by the leader
// FACT root.exec: by thread T (former tid T), /bin/true argv ["true"], ~0.05 s after T starts;
//   afterwards the process keeps the root's pid and has one thread
// FACT root.leader: blocked in pthread_join when the exec happens; it does not survive the exec
// FACT root.exit: exited 0 (from /bin/true)
// FACT root.waits: none
// OUTPUT: none.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void *run(void *arg) {
    (void)arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    char *argv[] = {"true", NULL};
    execve("/bin/true", argv, environ);
    perror("execve");
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, run, NULL) != 0) { fprintf(stderr, "pthread_create failed\n"); return 1; }
    pthread_join(t, NULL);
    return 1;  // reached only if the exec failed
}

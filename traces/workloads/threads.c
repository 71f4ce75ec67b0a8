// threads.c - one process with three threads that all finish before the
// process: thread i (1..3) sleeps 0.02*i s and returns; the leader joins them,
// sleeps 0.02 s more and exits.
// Tree: root only.
// FACT procs: 1 (root)
// FACT root.threads: 3 extra threads, started back to back, ending ~0.02, 0.04, 0.06 s later, in that order
// FACT root.thread.exit: every extra thread ends before the root exits (>= 0.02 s before)
// FACT root.waits: none
// FACT root.exit: exited 0
// OUTPUT: "3 threads joined".
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static void *run(void *arg) {
    long i = (long)arg;
    struct timespec ts = {0, i * 20 * 1000 * 1000L};
    nanosleep(&ts, NULL);
    return NULL;
}

int main(void) {
    pthread_t t[3];
    for (long i = 0; i < 3; i++)
        if (pthread_create(&t[i], NULL, run, (void *)(i + 1)) != 0) { fprintf(stderr, "pthread_create failed\n"); return 1; }
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    struct timespec ts = {0, 20 * 1000 * 1000L};
    nanosleep(&ts, NULL);
    printf("3 threads joined\n");
    return 0;
}

// thread_reap.c - a child reaped by a thread of its parent, not by the main thread: the root
// forks child (sleeps 0.05 s, exits 5), starts a thread that calls waitpid(child, 0), and
// joins it.
// Tree: root -> child (fork).
// FACT procs: 2 (root, child)
// FACT root.threads: 1 extra thread, which makes the only wait
// FACT root.wait: waitpid(child, 0) by the extra thread -> child, status exited 5
// FACT child.exit: exited 5, ~0.05 s after its fork
// FACT child.reap: wait by root (the process; the waiting thread is the extra one)
// FACT root.exit: exited 0
// OUTPUT: "thread reaped child 5".
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child;
static int status;

static void *reaper(void *arg) {
    (void)arg;
    if (waitpid(child, &status, 0) != child) perror("waitpid");
    return NULL;
}

int main(void) {
    child = fork();
    if (child == 0) {
        struct timespec ts = {0, 50 * 1000000L};
        while (nanosleep(&ts, &ts) != 0) {}
        _exit(5);
    }
    pthread_t t;
    if (pthread_create(&t, NULL, reaper, NULL) != 0) return 1;
    pthread_join(t, NULL);
    printf("thread reaped child %d\n", WEXITSTATUS(status));
    return 0;
}

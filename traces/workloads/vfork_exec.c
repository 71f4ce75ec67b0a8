// vfork_exec.c - vfork + execve: the parent is suspended until the child
// execs; the child becomes /bin/true; the parent reaps it with waitpid.
// Tree: root -> child (vfork, then exec /bin/true).
// FACT procs: 2 (root, child)
// FACT child.parent: root
// FACT child.via: vfork
// FACT child.exec: /bin/true, argv ["true"] (the only exec after the root's own)
// FACT child.exit: exited 0
// FACT root.wait: waitpid(child, 0) -> child, status exited 0
// FACT child.reap: wait by root
// FACT root.exit: exited 0
// OUTPUT: none.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(void) {
    pid_t pid = vfork();
    if (pid < 0) { perror("vfork"); return 1; }
    if (pid == 0) {
        char *argv[] = {"true", NULL};
        execve("/bin/true", argv, environ);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) { perror("waitpid"); return 1; }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "unexpected status %#x\n", st); return 1; }
    return 0;
}

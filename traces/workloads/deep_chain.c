// deep_chain.c - a chain of processes: each level forks one child and waits
// for it; the leaf exits 7 and every level exits with its child's status, so
// the 7 propagates up to the root, which reports it and exits 0.
// Depth: argv[1], default 20 (levels 1..20 below the root).
// Tree: root (level 0) -> level1 -> level2 -> ... -> level20 (leaf), all via fork.
// FACT procs: 21 (root + 20 levels) with the default depth
// FACT levelN.parent: level(N-1) (level1's parent is root)
// FACT leaf.exit: exited 7 (leaf = level20)
// FACT levelN.exit: exited 7 for every level 1..20
// FACT levelN.wait: waitpid(child, 0) -> its child, status exited 7 (levels 0..19)
// FACT levelN.reap: wait by level(N-1); no reparents
// FACT order: exits happen leaf first, then up the chain
// FACT root.exit: exited 0
// OUTPUT: "chain of 20: leaf status 7".
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int depth = argc > 1 ? atoi(argv[1]) : 20;
    int level = 0;
    while (level < depth) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); _exit(1); }
        if (pid == 0) { level++; continue; }
        int st;
        if (waitpid(pid, &st, 0) != pid) { perror("waitpid"); _exit(1); }
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
        if (level == 0) {
            printf("chain of %d: leaf status %d\n", depth, code);
            return 0;
        }
        _exit(code);
    }
    _exit(7);  // the leaf
}

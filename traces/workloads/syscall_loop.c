// syscall_loop.c - bench workload: many tiny syscalls and no forks:
// argv[1] (default 200000) one-byte write(2)s to /dev/null.
// Tree: root only.
// FACT procs: 1 (root)
// FACT root.exit: exited 0
// FACT root.waits: none
// FACT purpose: measures the cost of tracing syscalls proctrace does not need
// OUTPUT: none.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0) { perror("/dev/null"); return 1; }
    for (long i = 0; i < n; i++)
        if (write(fd, "x", 1) != 1) { perror("write"); return 1; }
    return 0;
}

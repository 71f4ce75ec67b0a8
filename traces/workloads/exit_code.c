// exit_code.c - exits with the status given in argv[1] (default 0), or, with
// "kill:N", kills itself with signal N (to check that proctrace exits 128+N).
// Tree: root only.
// FACT procs: 1 (root)
// FACT root.exit: exited N for argv[1] = N (0..255); signaled N for argv[1] = kill:N
//   (SIGKILL for kill:9, SIGTERM for kill:15; core false: RLIMIT_CORE is set to 0)
// FACT root.waits: none
// FACT usage: `bin/exit_code 3` -> exit status 3; `bin/exit_code kill:15` -> shell sees 143
// OUTPUT: none.
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strncmp(argv[1], "kill:", 5) == 0) {
        struct rlimit rl = {0, 0};
        setrlimit(RLIMIT_CORE, &rl);
        int sig = atoi(argv[1] + 5);
        signal(sig, SIG_DFL);
        kill(getpid(), sig);
        return 1;  // not reached for fatal signals
    }
    return argc > 1 ? atoi(argv[1]) & 0xff : 0;
}

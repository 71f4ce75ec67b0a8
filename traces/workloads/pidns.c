// pidns.c - the life of a pid namespace's init: meant to run as pid 1 of a new pid
// namespace (`unshare --pid --fork bin/pidns`, or two deep:
// `unshare --pid --fork unshare --pid --fork bin/pidns`), where every pid it sees is in
// the namespace's own numbering. Run outside a namespace it does the same, with host pids.
// Tree: root (the namespace's init) -> middle (fork) -> orphan (fork);
//       root -> sleeper (fork); root -> worker (fork); root -> middle2 (fork) -> zombie (fork).
// FACT procs: 7 (root, middle, orphan, sleeper, worker, middle2, zombie)
// FACT middle.exit: exited 0, at once after forking orphan
// FACT root.wait: in order:
//   waitpid(middle, 0) -> middle, status exited 0
//   waitpid(-1, 0) -> orphan, status exited 3 (orphan was adopted by root, the init)
//   (after kill(sleeper, SIGTERM)) waitid(P_PID, sleeper, WEXITED) -> sleeper, signaled SIGTERM
//   waitpid(-worker, 0) -> worker, status exited 4 (worker is its own group leader)
//   waitpid(-1, 0) twice -> middle2 (exited 0) and zombie (exited 5), in either order
// FACT orphan.reparent: middle -> root (the namespace's init, 1 inside; outside a
//   namespace root makes itself a subreaper to the same effect)
// FACT orphan.exit: exited 3, ~0.05 s after its fork
// FACT orphan.reap: wait by root
// FACT zombie.exit: exited 5, at once; a zombie until middle2 exits (middle2 waits for that
//   exit with waitid(P_PID, zombie, WEXITED|WNOWAIT), which does not reap it)
// FACT zombie.reparent: middle2 -> root, as a zombie
// FACT zombie.reap: wait by root
// FACT sleeper.signals: SIGTERM from root (SI_USER)
// FACT root.signals: SIGCHLD from its children and adopted orphans (CLD_EXITED / CLD_KILLED);
//   nondeterministic: how many (pending SIGCHLDs merge)
// FACT worker.group: setpgid(worker, worker) by root (the worker exits only after it, told
//   through a pipe)
// FACT root.exit: exited 0
// OUTPUT: one line per child, "ROLE PID" with PID as the namespace numbers it, then
//   "root PID" (1 in a new namespace).
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

static int expect(const char *what, pid_t want, pid_t wpid, int code) {
    int status = 0;
    pid_t got = waitpid(wpid, &status, 0);
    if (got != want) { fprintf(stderr, "%s: got %d, want %d\n", what, got, want); return 1; }
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == code)) {
        fprintf(stderr, "%s: status %#x\n", what, status);
        return 1;
    }
    return 0;
}

int main(void) {
    int pipefd[2];
    if (pipe(pipefd) != 0) { perror("pipe"); return 1; }
    // A namespace's init adopts its orphans; a subreaper does the same outside one.
    if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1);
    setvbuf(stdout, NULL, _IONBF, 0);

    pid_t middle = fork();
    if (middle < 0) { perror("fork"); return 1; }
    if (middle == 0) {
        pid_t orphan = fork();
        if (orphan == 0) {
            nap(50);
            _exit(3);
        }
        // The orphan's pid, as this namespace numbers it, for the root to check its wait.
        if (write(pipefd[1], &orphan, sizeof orphan) != sizeof orphan) _exit(1);
        _exit(0);
    }
    pid_t orphan = 0;
    if (read(pipefd[0], &orphan, sizeof orphan) != sizeof orphan) { perror("read"); return 1; }
    int bad = 0;
    bad |= expect("waitpid(middle)", middle, middle, 0);
    bad |= expect("waitpid(-1)", orphan, -1, 3);

    pid_t sleeper = fork();
    if (sleeper == 0) {
        for (;;) pause();
    }
    nap(20);
    kill(sleeper, SIGTERM);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, sleeper, &si, WEXITED) != 0) { perror("waitid"); return 1; }
    if (si.si_pid != sleeper || si.si_code != CLD_KILLED || si.si_status != SIGTERM) {
        fprintf(stderr, "waitid(sleeper): pid %d code %d status %d\n", si.si_pid, si.si_code, si.si_status);
        bad = 1;
    }

    int go[2];
    if (pipe(go) != 0) { perror("pipe"); return 1; }
    pid_t worker = fork();
    if (worker == 0) {
        // Exit only once the root has made it a group leader.
        char c;
        if (read(go[0], &c, 1) != 1) _exit(1);
        _exit(4);
    }
    if (setpgid(worker, worker) != 0) { perror("setpgid"); bad = 1; }
    if (write(go[1], "g", 1) != 1) { perror("write"); return 1; }
    bad |= expect("waitpid(-worker)", worker, -worker, 4);

    // A zombie handed to the init: its parent exits without waiting for it while the init
    // sits in wait(-1), which can reap it before a tracer looks at who its new parent is.
    pid_t middle2 = fork();
    if (middle2 == 0) {
        pid_t zombie = fork();
        if (zombie == 0) _exit(5);
        if (write(pipefd[1], &zombie, sizeof zombie) != sizeof zombie) _exit(1);
        // Wait for its exit without reaping it (WNOWAIT): it is a zombie when this exits.
        siginfo_t zi;
        if (waitid(P_PID, zombie, &zi, WEXITED | WNOWAIT) != 0) _exit(1);
        _exit(0);
    }
    pid_t zombie = 0;
    if (read(pipefd[0], &zombie, sizeof zombie) != sizeof zombie) { perror("read"); return 1; }
    int seen = 0;
    for (int k = 0; k < 2; k++) {
        int status = 0;
        pid_t got = waitpid(-1, &status, 0);
        if (got == middle2 && WIFEXITED(status) && WEXITSTATUS(status) == 0) seen |= 1;
        else if (got == zombie && WIFEXITED(status) && WEXITSTATUS(status) == 5) seen |= 2;
    }
    if (seen != 3) { fprintf(stderr, "waitpid(-1) x2: middle2/zombie seen %d\n", seen); bad = 1; }

    printf("middle %d\norphan %d\nsleeper %d\nworker %d\nmiddle2 %d\nzombie %d\nroot %d\n",
           middle, orphan, sleeper, worker, middle2, zombie, getpid());
    return bad;
}

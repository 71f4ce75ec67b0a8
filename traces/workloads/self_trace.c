// self_trace.c - a program that ptraces its own child: it makes the child with
// clone(CLONE_UNTRACED) (so that a tracer of the program does not trace the child), the child
// asks to be traced (PTRACE_TRACEME) and stops itself with SIGSTOP; the parent's
// waitpid(child, 0) reports that ptrace stop (no WUNTRACED needed for a tracee), then the
// parent resumes the child and reaps it.
// Tree: root -> child (clone with CLONE_UNTRACED: no tracer sees it being made).
// FACT procs: 2 untraced (under proctrace the child is not followed: 1 process in the trace)
// FACT root.wait: 2 waits on child:
//   waitpid(child, 0) -> child, status stopped SIGSTOP (a ptrace stop)
//   waitpid(child, 0) -> child, status exited 9
// FACT root.exit: exited 0
// OUTPUT: "stopped 19, exited 9".
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t child = (pid_t)syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
    if (child < 0) { perror("clone"); return 1; }
    if (child == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(2);
        raise(SIGSTOP);
        _exit(9);
    }
    int st = 0;
    if (waitpid(child, &st, 0) != child || !WIFSTOPPED(st)) { fprintf(stderr, "no stop\n"); return 1; }
    int stopsig = WSTOPSIG(st);
    if (ptrace(PTRACE_CONT, child, 0, 0) != 0) { perror("PTRACE_CONT"); return 1; }
    if (waitpid(child, &st, 0) != child || !WIFEXITED(st)) { fprintf(stderr, "no exit\n"); return 1; }
    printf("stopped %d, exited %d\n", stopsig, WEXITSTATUS(st));
    return 0;
}

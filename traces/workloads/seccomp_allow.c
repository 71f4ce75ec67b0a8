// seccomp_allow.c - bench helper, not a lifecycle scenario: installs a seccomp filter that
// allows every system call, then execs COMMAND. What the kernel charges a traced workload's
// syscalls for the filter alone, without ptrace or a tracer (scripts/syscall-floor.sh).
// Usage: seccomp_allow MODE COMMAND [ARG...]
//   MODE "allow": one instruction, RET ALLOW;
//   MODE "shape": the shape of proctrace's filter (the arch check, then wait4 tested on its
//   options, waitid, execve…), every branch ALLOW: the kernel's action cache (Linux 5.11+)
//   marks a syscall "always allowed" when the filter's answer for its number depends on no
//   argument, so an allowed write does not run the filter at all in either mode.
// Tree: root only (it execs COMMAND).
// FACT procs: 1 (root)
// OUTPUT: what COMMAND prints.
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "seccomp_allow: unknown architecture"
#endif

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "allow") != 0 && strcmp(argv[1], "shape") != 0)) {
        fprintf(stderr, "usage: seccomp_allow allow|shape COMMAND [ARG...]\n");
        return 2;
    }
    struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
    struct sock_filter shape[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_wait4, 0, 4),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x2 | 0x8 | 0x01000000, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_waitid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    int shaped = strcmp(argv[1], "shape") == 0;
    struct sock_fprog prog = {
        .len = (unsigned short)(shaped ? sizeof shape / sizeof shape[0] : 1),
        .filter = shaped ? shape : allow,
    };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("PR_SET_NO_NEW_PRIVS"); return 1; }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) { perror("seccomp"); return 1; }
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    return 127;
}

/* ptrace requests, a stopped task's registers and memory, its pending signal. */
#include "pt_system.h"

static long pt_ptrace(int request, pid_t tid, unsigned long addr, unsigned long data) {
    errno = 0;
    long r = ptrace((enum __ptrace_request)request, tid, (void *)addr, (void *)data);
    if (r == -1 && errno != 0) return -errno;
    return r;
}
long pt_seize(pid_t tid, long options) { return pt_ptrace(PTRACE_SEIZE, tid, 0, (unsigned long)options); }
long pt_cont(pid_t tid, int sig) { return pt_ptrace(PTRACE_CONT, tid, 0, (unsigned long)sig); }
long pt_syscall(pid_t tid, int sig) { return pt_ptrace(PTRACE_SYSCALL, tid, 0, (unsigned long)sig); }
long pt_listen(pid_t tid) { return pt_ptrace(PTRACE_LISTEN, tid, 0, 0); }
long pt_interrupt(pid_t tid) { return pt_ptrace(PTRACE_INTERRUPT, tid, 0, 0); }
long pt_detach(pid_t tid, int sig) { return pt_ptrace(PTRACE_DETACH, tid, 0, (unsigned long)sig); }
long pt_geteventmsg(pid_t tid, unsigned long *msg) {
    return pt_ptrace(PTRACE_GETEVENTMSG, tid, 0, (unsigned long)msg);
}

pid_t pt_waitpid(pid_t pid, int *status, int flags) {
    for (;;) {
        pid_t r = waitpid(pid, status, flags);
        if (r >= 0) return r;
        if (errno != EINTR) return -errno;
    }
}

#if defined(__x86_64__)
/* One saved register (PTRACE_PEEKUSER): the fork and exec events need one or two, and a word
   costs half the whole set here (~0.5 us against ~1 us). arm64 has no PEEKUSER for them. */
static int peek_reg(pid_t tid, size_t offset, uint64_t *value) {
    errno = 0;
    long v = ptrace(PTRACE_PEEKUSER, tid, (void *)offset, NULL);
    if (v == -1 && errno != 0) return -errno;
    *value = (uint64_t)v;
    return 0;
}
#define PT_REG_OFFSET(name) offsetof(struct user, regs.name)
#else
/* The registers proctrace reads at a stop (PTRACE_GETREGSET, NT_PRSTATUS): the syscall
   number, its first argument and the stack pointer. Returns 0 or -errno. */
static int read_regs(pid_t tid, uint64_t *nr, uint64_t *arg0, uint64_t *sp) {
    struct user_regs_struct regs;
    struct iovec iov = { &regs, sizeof regs };
    if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) != 0) return -errno;
    *nr = regs.regs[8]; *arg0 = regs.regs[0]; *sp = regs.sp;
    return 0;
}
#endif

int pt_clone_flags(pid_t tid, uint64_t *flags) {
    uint64_t nr = 0, a0 = 0;
#if defined(__x86_64__)
    /* fork and vfork need only the call's number. */
    int r = peek_reg(tid, PT_REG_OFFSET(orig_rax), &nr);
    if (r != 0) return r;
#ifdef SYS_clone3
    if (nr == SYS_clone || nr == SYS_clone3) {
#else
    if (nr == SYS_clone) {
#endif
        r = peek_reg(tid, PT_REG_OFFSET(rdi), &a0);
        if (r != 0) return r;
    }
#else
    uint64_t sp;
    int r = read_regs(tid, &nr, &a0, &sp);
    if (r != 0) return r;
#endif
    switch (nr) {
#ifdef SYS_fork
    case SYS_fork: *flags = SIGCHLD; return 0;
#endif
#ifdef SYS_vfork
    case SYS_vfork: *flags = CLONE_VM | CLONE_VFORK | SIGCHLD; return 0;
#endif
    case SYS_clone: *flags = a0; return 0;
#ifdef SYS_clone3
    case SYS_clone3: {
        uint64_t f = 0;
        long n = pt_read_mem(tid, a0, &f, sizeof f);
        if (n != (long)sizeof f) return n < 0 ? (int)n : -EIO;
        *flags = f;
        return 0;
    }
#endif
    default: return -ENOSYS;
    }
}

int pt_syscall_info(pid_t tid, int *op, uint64_t *nr, uint64_t args[6], int64_t *rval, int *is_error, uint64_t *sp) {
    struct __ptrace_syscall_info info;
    memset(&info, 0, sizeof info);
    long r = ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof info, &info);
    if (r < 0) return -errno;
    *op = info.op;
    *sp = info.stack_pointer;
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
        *nr = info.entry.nr;
        for (int i = 0; i < 6; i++) args[i] = info.entry.args[i];
    } else if (info.op == PTRACE_SYSCALL_INFO_SECCOMP) {
        *nr = info.seccomp.nr;
        for (int i = 0; i < 6; i++) args[i] = info.seccomp.args[i];
        *rval = info.seccomp.ret_data;
    } else if (info.op == PTRACE_SYSCALL_INFO_EXIT) {
        *rval = info.exit.rval;
        *is_error = info.exit.is_error;
    }
    return 0;
}

long pt_read_mem(pid_t tid, uint64_t addr, void *buf, unsigned long len) {
    struct iovec local = { buf, len };
    struct iovec remote = { (void *)(uintptr_t)addr, len };
    ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    return n < 0 ? -errno : n;
}

int pt_getsiginfo(pid_t tid, int *signo, int *code, int *pid, int *status) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) != 0) return -errno;
    *signo = si.si_signo;
    *code = si.si_code;
    *pid = si.si_pid;
    *status = si.si_status;
    return 0;
}

int pt_read_waitid_info(pid_t tid, uint64_t addr, int *pid, int *code, int *status) {
    siginfo_t si;
    long n = pt_read_mem(tid, addr, &si, sizeof si);
    if (n != (long)sizeof si) return n < 0 ? (int)n : -EIO;
    *pid = si.si_pid;
    *code = si.si_code;
    *status = si.si_status;
    return 0;
}

int pt_stack_pointer(pid_t tid, uint64_t *sp) {
#if defined(__x86_64__)
    return peek_reg(tid, PT_REG_OFFSET(rsp), sp);
#else
    uint64_t nr, a0;
    return read_regs(tid, &nr, &a0, sp);
#endif
}

int pt_interrupted_return(pid_t tid, int64_t *ret) {
#if defined(__x86_64__)
    uint64_t v = 0;
    int r = peek_reg(tid, PT_REG_OFFSET(rax), &v);
    if (r == 0) *ret = (int64_t)v;
    return r;
#else
    (void)tid; (void)ret;
    return -ENOSYS;
#endif
}

int pt_interrupted_call(pid_t tid, int64_t *nr, int64_t *ret, uint64_t *sp) {
    struct user_regs_struct regs;
    struct iovec iov = { &regs, sizeof regs };
    if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) != 0) return -errno;
#if defined(__x86_64__)
    *nr = (int64_t)regs.orig_rax; *ret = (int64_t)regs.rax; *sp = regs.rsp;
#else
    *nr = (int64_t)regs.regs[8]; *ret = (int64_t)regs.regs[0]; *sp = regs.sp;
#endif
    return 0;
}

// bpf-wait-probe.c - can this machine read wait4 calls with BPF instead of the global syscall
// tracepoints? Built and run by scripts/bpf-wait-probe.sh; a measurement, not part of proctrace.
//
// The program it tries is the one a BPF wait feed would load (docs/recorder.md, "Cost, and when to
// choose --wait-source ptrace"): on entry to and return from the wait4 syscall, only for tasks whose
// `parent` (the ptracer, while traced) belongs to a given tgid, one 32-byte record into a
// BPF_MAP_TYPE_RINGBUF map (time, tid, kind, upid or the return value, options), and a counter of
// records the full ring refused. It needs no libbpf, bpftool or clang: the vmlinux BTF is parsed
// here, the instructions are assembled by hand and loaded with bpf(2).
//
//   bpf-wait-probe kinds          which program kinds the kernel accepts (a 2-instruction program
//                                 each; EPERM before the verifier is a refusal of the kind itself)
//   bpf-wait-probe fentry [HOLD]  the wait4 programs as fentry/fexit on __x64_sys_wait4: load,
//                                 attach, check, detach, with their costs; HOLD seconds attached
//   bpf-wait-probe tp [HOLD]      the same instructions as tp_btf programs on the raw tracepoints
//                                 sys_enter/sys_exit (which, like any syscall tracepoint, put every
//                                 thread of the machine on the syscall slow path), keeping wait4 only:
//                                 proves the program, its filter and the ring on a kernel that
//                                 refuses trampolines
//
// The check: a child of this probe forks a grandchild, which forks and reaps a child of its own, and
// then reaps the grandchild (wait4(g, 0)) and polls once more (wait4(-1, WNOHANG) -> ECHILD). Exactly
// the child's four records must arrive (the grandchild's parent is the child, not this probe, so its
// wait is filtered out in the kernel; this probe's own waitpid likewise). Exit 0 when the programs
// attached and the check passed, 3 when the kernel refused them, 1 on a wrong result.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long bpf_call(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof *attr); }

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

// MARK: BTF (Documentation/bpf/btf.rst): a header, then a type section and a string section.

static char *btf_data;
static const char *btf_strings;
static const char *btf_types;
static uint32_t *btf_offsets; // type id -> offset in the type section (ids start at 1)
static uint32_t btf_count;

// The bytes after a `struct btf_type` that its kind adds.
static size_t btf_extra(const struct btf_type *t) {
    uint32_t vlen = BTF_INFO_VLEN(t->info);
    switch (BTF_INFO_KIND(t->info)) {
    case BTF_KIND_INT: return 4;
    case BTF_KIND_ARRAY: return sizeof(struct btf_array);
    case BTF_KIND_STRUCT: case BTF_KIND_UNION: return vlen * sizeof(struct btf_member);
    case BTF_KIND_ENUM: return vlen * sizeof(struct btf_enum);
    case BTF_KIND_FUNC_PROTO: return vlen * sizeof(struct btf_param);
    case BTF_KIND_VAR: return sizeof(struct btf_var);
    case BTF_KIND_DATASEC: return vlen * sizeof(struct btf_var_secinfo);
    case 17: return 4;                 // DECL_TAG: component_idx
    case 19: return vlen * 12;         // ENUM64: name, lo32, hi32
    default: return 0;                 // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
    }
}

static int btf_load(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 1 << 20, len = 0, n;
    btf_data = malloc(cap);
    while ((n = fread(btf_data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) btf_data = realloc(btf_data, cap *= 2);
    }
    fclose(f);
    const struct btf_header *h = (const void *)btf_data;
    if (len < sizeof *h || h->magic != BTF_MAGIC) { errno = EINVAL; return -1; }
    btf_types = btf_data + h->hdr_len + h->type_off;
    btf_strings = btf_data + h->hdr_len + h->str_off;
    uint32_t cap_ids = 1 << 16;
    btf_offsets = malloc(cap_ids * sizeof *btf_offsets);
    btf_count = 1;
    for (uint32_t off = 0; off < h->type_len;) {
        if (btf_count == cap_ids) btf_offsets = realloc(btf_offsets, (cap_ids *= 2) * sizeof *btf_offsets);
        btf_offsets[btf_count++] = off;
        const struct btf_type *t = (const void *)(btf_types + off);
        off += sizeof *t + btf_extra(t);
    }
    return 0;
}

static const struct btf_type *btf_type(uint32_t id) { return (const void *)(btf_types + btf_offsets[id]); }

static int btf_find(const char *name, int kind) {
    for (uint32_t id = 1; id < btf_count; id++) {
        const struct btf_type *t = btf_type(id);
        if ((int)BTF_INFO_KIND(t->info) == kind && strcmp(btf_strings + t->name_off, name) == 0) return (int)id;
    }
    return -1;
}

// The byte offset of member `name` of struct `id`, looking into anonymous struct/union members too.
static long btf_member_offset(uint32_t id, const char *name) {
    const struct btf_type *t = btf_type(id);
    while (BTF_INFO_KIND(t->info) == BTF_KIND_TYPEDEF || BTF_INFO_KIND(t->info) == BTF_KIND_CONST
           || BTF_INFO_KIND(t->info) == BTF_KIND_VOLATILE)
        t = btf_type(t->type);
    if (BTF_INFO_KIND(t->info) != BTF_KIND_STRUCT && BTF_INFO_KIND(t->info) != BTF_KIND_UNION) return -1;
    const struct btf_member *m = (const void *)(t + 1);
    for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); i++) {
        uint32_t bits = BTF_INFO_KFLAG(t->info) ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset;
        if (strcmp(btf_strings + m[i].name_off, name) == 0) return bits / 8;
        if (m[i].name_off == 0) {
            long inner = btf_member_offset(m[i].type, name);
            if (inner >= 0) return bits / 8 + inner;
        }
    }
    return -1;
}

// MARK: instructions (the shapes of the kernel's include/linux/filter.h)

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define MOV64_REG(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD64_IMM(d, i) INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define LDX_MEM(size, d, s, o) INSN(BPF_LDX | BPF_MEM | (size), d, s, o, 0)
#define STX_MEM(size, d, s, o) INSN(BPF_STX | BPF_MEM | (size), d, s, o, 0)
#define ST_MEM(size, d, o, i) INSN(BPF_ST | BPF_MEM | (size), d, 0, o, i)
#define ATOMIC_ADD64(d, s, o) INSN(BPF_STX | BPF_ATOMIC | BPF_DW, d, s, o, BPF_ADD)
#define CALL_HELPER(f) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define JNE_IMM(d, i) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, 0, i)
#define JEQ_IMM(d, i) INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, 0, i)
#define JUMP() INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0)
#define EXIT_INSN() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

enum { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };

struct program {
    struct bpf_insn insns[96];
    int count;
    int to_out[8], outs; // jumps to the common exit, patched at the end
};

static void emit(struct program *p, struct bpf_insn i) { p->insns[p->count++] = i; }
static void emit_map_fd(struct program *p, int reg, int fd) {
    emit(p, INSN(BPF_LD | BPF_DW | BPF_IMM, reg, BPF_PSEUDO_MAP_FD, 0, fd));
    emit(p, INSN(0, 0, 0, 0, 0));
}
static void emit_jump_out(struct program *p, struct bpf_insn jump) { p->to_out[p->outs++] = p->count; emit(p, jump); }
static void land_here(struct program *p, int at) { p->insns[at].off = (int16_t)(p->count - at - 1); }

// x86-64 struct pt_regs offsets (ABI): the syscall's arguments and number.
enum { REGS_DX = 96, REGS_DI = 112, REGS_ORIG_AX = 120 };
enum { RECORD_SIZE = 32 };
struct record { uint64_t t; uint32_t tid, kind; int64_t a; uint64_t b; };

struct layout { long parent, tgid; };

// kind 0: entry (ctx[0] = regs; on tp_btf sys_enter ctx[1] = the syscall number);
// kind 1: return (fexit: ctx[1] = the return value; on tp_btf sys_exit the same, and the number
// is regs->orig_ax). `onTracepoint`: keep only wait4 (the raw tracepoints fire for every syscall).
static void build(struct program *p, int kind, int onTracepoint, struct layout l, int tracer, int ring, int lost) {
    memset(p, 0, sizeof *p);
    emit(p, MOV64_REG(R6, R1));
    if (onTracepoint && kind == 0) {
        emit(p, LDX_MEM(BPF_DW, R1, R6, 8));
        emit_jump_out(p, JNE_IMM(R1, __NR_wait4));
    } else if (onTracepoint) {
        emit(p, LDX_MEM(BPF_DW, R1, R6, 0));
        emit(p, LDX_MEM(BPF_DW, R1, R1, REGS_ORIG_AX));
        emit_jump_out(p, JNE_IMM(R1, __NR_wait4));
    }
    // current->parent->tgid == tracer (read with bpf_probe_read_kernel: no trust needed)
    emit(p, CALL_HELPER(BPF_FUNC_get_current_task));
    emit(p, MOV64_REG(R3, R0));
    emit(p, ADD64_IMM(R3, (int)l.parent));
    emit(p, MOV64_REG(R1, R10));
    emit(p, ADD64_IMM(R1, -8));
    emit(p, MOV64_IMM(R2, 8));
    emit(p, CALL_HELPER(BPF_FUNC_probe_read_kernel));
    emit_jump_out(p, JNE_IMM(R0, 0));
    emit(p, LDX_MEM(BPF_DW, R3, R10, -8));
    emit(p, ADD64_IMM(R3, (int)l.tgid));
    emit(p, ST_MEM(BPF_DW, R10, -8, 0));
    emit(p, MOV64_REG(R1, R10));
    emit(p, ADD64_IMM(R1, -8));
    emit(p, MOV64_IMM(R2, 4));
    emit(p, CALL_HELPER(BPF_FUNC_probe_read_kernel));
    emit_jump_out(p, JNE_IMM(R0, 0));
    emit(p, LDX_MEM(BPF_W, R1, R10, -8));
    emit_jump_out(p, JNE_IMM(R1, tracer));
    // Reserve first, then read the clock: a record not yet reserved when the reader looked has a
    // later time than the reader's look (how a merger can bound what is still to come).
    emit_map_fd(p, R1, ring);
    emit(p, MOV64_IMM(R2, RECORD_SIZE));
    emit(p, MOV64_IMM(R3, 0));
    emit(p, CALL_HELPER(BPF_FUNC_ringbuf_reserve));
    int full = p->count;
    emit(p, JEQ_IMM(R0, 0));
    emit(p, MOV64_REG(R7, R0));
    emit(p, CALL_HELPER(BPF_FUNC_ktime_get_ns));
    emit(p, STX_MEM(BPF_DW, R7, R0, 0));
    emit(p, CALL_HELPER(BPF_FUNC_get_current_pid_tgid));
    emit(p, STX_MEM(BPF_W, R7, R0, 8));
    emit(p, ST_MEM(BPF_W, R7, 12, kind));
    if (kind == 0) {
        emit(p, LDX_MEM(BPF_DW, R1, R6, 0));
        emit(p, LDX_MEM(BPF_DW, R2, R1, REGS_DI));
        emit(p, STX_MEM(BPF_DW, R7, R2, 16));
        emit(p, LDX_MEM(BPF_DW, R2, R1, REGS_DX));
        emit(p, STX_MEM(BPF_DW, R7, R2, 24));
    } else {
        emit(p, LDX_MEM(BPF_DW, R2, R6, 8));
        emit(p, STX_MEM(BPF_DW, R7, R2, 16));
        emit(p, ST_MEM(BPF_DW, R7, 24, 0));
    }
    emit(p, MOV64_REG(R1, R7));
    emit(p, MOV64_IMM(R2, 0));
    emit(p, CALL_HELPER(BPF_FUNC_ringbuf_submit));
    emit_jump_out(p, JUMP());
    // The ring was full: count the lost record.
    land_here(p, full);
    emit(p, ST_MEM(BPF_W, R10, -16, 0));
    emit_map_fd(p, R1, lost);
    emit(p, MOV64_REG(R2, R10));
    emit(p, ADD64_IMM(R2, -16));
    emit(p, CALL_HELPER(BPF_FUNC_map_lookup_elem));
    emit_jump_out(p, JEQ_IMM(R0, 0));
    emit(p, MOV64_IMM(R1, 1));
    emit(p, ATOMIC_ADD64(R0, R1, 0));
    for (int i = 0; i < p->outs; i++) land_here(p, p->to_out[i]);
    emit(p, MOV64_IMM(R0, 0));
    emit(p, EXIT_INSN());
}

static char verifier_log[1 << 16];

static int load(const struct bpf_insn *insns, int count, int attach_type, int btf_id) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_TRACING;
    a.expected_attach_type = attach_type;
    a.attach_btf_id = btf_id;
    a.insns = (uintptr_t)insns;
    a.insn_cnt = count;
    a.license = (uintptr_t)"Dual MIT/GPL"; // GPL-compatible: bpf_probe_read_kernel is GPL-only
    a.log_buf = (uintptr_t)verifier_log;
    a.log_size = sizeof verifier_log;
    a.log_level = 1;
    verifier_log[0] = 0;
    return (int)bpf_call(BPF_PROG_LOAD, &a);
}

// MARK: kinds

static int kinds(void) {
    static const struct { const char *name; int type, attach; int needs_btf; } list[] = {
        {"socket filter", BPF_PROG_TYPE_SOCKET_FILTER, 0, 0},
        {"kprobe (load only: this kernel has no kprobes)", BPF_PROG_TYPE_KPROBE, 0, 0},
        {"tracepoint", BPF_PROG_TYPE_TRACEPOINT, 0, 0},
        {"raw_tp", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0},
        {"tp_btf (tracing, raw_tp)", BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, 1},
        {"fentry (tracing)", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, 1},
        {"fexit (tracing)", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, 1},
        {"fmod_ret (tracing)", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, 1},
        {"iter (tracing)", BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, 1},
        {"lsm", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, 1},
        {"freplace (ext)", BPF_PROG_TYPE_EXT, 0, 1},
    };
    struct bpf_insn ret0[2] = {MOV64_IMM(R0, 0), EXIT_INSN()};
    // A BTF id that names no function or tracepoint: a kind the kernel lets through reaches the
    // verifier and fails there (EINVAL with a log), a refused kind fails before it.
    printf("| program kind | load of a 2-instruction program | verifier's first line |\n|---|---|---|\n");
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        union bpf_attr a;
        memset(&a, 0, sizeof a);
        a.prog_type = list[i].type;
        a.expected_attach_type = list[i].attach;
        a.attach_btf_id = list[i].needs_btf ? 1 : 0;
        a.insns = (uintptr_t)ret0;
        a.insn_cnt = 2;
        a.license = (uintptr_t)"Dual MIT/GPL";
        a.log_buf = (uintptr_t)verifier_log;
        a.log_size = sizeof verifier_log;
        a.log_level = 1;
        verifier_log[0] = 0;
        int fd = (int)bpf_call(BPF_PROG_LOAD, &a);
        int e = errno;
        char *nl = strchr(verifier_log, '\n');
        if (nl) *nl = 0;
        printf("| %s | %s | %s |\n", list[i].name, fd >= 0 ? "loaded" : strerrorname_np(e),
               verifier_log[0] ? verifier_log : "(none: refused before the verifier)");
        if (fd >= 0) close(fd);
    }
    return 0;
}

// MARK: the wait4 programs

struct ring { int fd; uint64_t *consumer; const uint64_t *producer; const char *data; uint64_t size; };

static int ring_open(struct ring *r, uint32_t size) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_type = BPF_MAP_TYPE_RINGBUF;
    a.max_entries = size;
    r->fd = (int)bpf_call(BPF_MAP_CREATE, &a);
    if (r->fd < 0) return -1;
    long page = sysconf(_SC_PAGESIZE);
    r->size = size;
    // The consumer page is ours to write; the producer page and the data (mapped twice, so a
    // record that wraps reads straight) are the kernel's.
    r->consumer = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
    void *p = mmap(NULL, page + 2 * (size_t)size, PROT_READ, MAP_SHARED, r->fd, page);
    if (r->consumer == MAP_FAILED || p == MAP_FAILED) return -1;
    r->producer = p;
    r->data = (const char *)p + page;
    return 0;
}

// Reads every committed record, up to the first one still being written. Returns how many.
static int ring_drain(struct ring *r, struct record *out, int max) {
    uint64_t pos = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
    uint64_t end = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
    int n = 0;
    while (pos < end) {
        const uint32_t *header = (const uint32_t *)(r->data + (pos & (r->size - 1)));
        uint32_t len = __atomic_load_n(header, __ATOMIC_ACQUIRE);
        if (len & BPF_RINGBUF_BUSY_BIT) break;
        if (!(len & BPF_RINGBUF_DISCARD_BIT) && n < max && (len & ~BPF_RINGBUF_DISCARD_BIT) == RECORD_SIZE)
            memcpy(&out[n++], header + 2, RECORD_SIZE);
        pos += ((len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) + BPF_RINGBUF_HDR_SZ + 7) & ~7ULL;
    }
    __atomic_store_n(r->consumer, pos, __ATOMIC_RELEASE);
    return n;
}

static int attach(int prog, int attach_type) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    if (attach_type == BPF_TRACE_RAW_TP) {
        a.raw_tracepoint.prog_fd = prog; // name NULL: the program's attach_btf_id names it
        return (int)bpf_call(BPF_RAW_TRACEPOINT_OPEN, &a);
    }
    a.link_create.prog_fd = prog;
    a.link_create.attach_type = attach_type;
    return (int)bpf_call(BPF_LINK_CREATE, &a);
}

// The child's waits (see the top of the file); returns the grandchild's pid through a pipe.
static pid_t run_waiter(int *grandchild) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t child = fork();
    if (child == 0) {
        pid_t g = fork();
        if (g == 0) {
            pid_t gg = fork();
            if (gg == 0) _exit(0);
            int st;
            syscall(__NR_wait4, gg, &st, 0, NULL);
            _exit(7);
        }
        if (write(fds[1], &g, sizeof g) != sizeof g) _exit(1);
        int st;
        long r1 = syscall(__NR_wait4, g, &st, 0, NULL);
        long r2 = syscall(__NR_wait4, -1, &st, WNOHANG, NULL);
        _exit(r1 == g && r2 == -1 && errno == ECHILD ? 0 : 1);
    }
    close(fds[1]);
    if (read(fds[0], grandchild, sizeof *grandchild) != sizeof *grandchild) *grandchild = -1;
    close(fds[0]);
    return child;
}

static int wait_programs(int on_tracepoint, int hold) {
    double t0 = now_us();
    if (btf_load("/sys/kernel/btf/vmlinux") != 0) { printf("cannot read /sys/kernel/btf/vmlinux: %s\n", strerror(errno)); return 3; }
    double t1 = now_us();
    int task = btf_find("task_struct", BTF_KIND_STRUCT);
    struct layout l = {task > 0 ? btf_member_offset(task, "parent") : -1, task > 0 ? btf_member_offset(task, "tgid") : -1};
    int targets[2], attach_types[2];
    if (on_tracepoint) {
        targets[0] = btf_find("btf_trace_sys_enter", BTF_KIND_TYPEDEF);
        targets[1] = btf_find("btf_trace_sys_exit", BTF_KIND_TYPEDEF);
        attach_types[0] = attach_types[1] = BPF_TRACE_RAW_TP;
    } else {
        targets[0] = targets[1] = btf_find("__x64_sys_wait4", BTF_KIND_FUNC);
        attach_types[0] = BPF_TRACE_FENTRY;
        attach_types[1] = BPF_TRACE_FEXIT;
    }
    double t2 = now_us();
    printf("vmlinux BTF: %u types, read and indexed in %.0f us, searched in %.0f us; task_struct.parent at %ld, .tgid at %ld; "
           "targets %d, %d\n", btf_count - 1, t1 - t0, t2 - t1, l.parent, l.tgid, targets[0], targets[1]);
    if (l.parent < 0 || l.tgid < 0 || targets[0] < 0 || targets[1] < 0) { printf("missing from the BTF\n"); return 3; }

    struct ring ring;
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_type = BPF_MAP_TYPE_ARRAY;
    a.key_size = 4;
    a.value_size = 8;
    a.max_entries = 1;
    int lost = (int)bpf_call(BPF_MAP_CREATE, &a);
    if (lost < 0 || ring_open(&ring, 1 << 16) != 0) { printf("maps: %s\n", strerror(errno)); return 3; }

    struct program p[2];
    int progs[2], links[2];
    double t3 = now_us();
    for (int k = 0; k < 2; k++) {
        build(&p[k], k, on_tracepoint, l, getpid(), ring.fd, lost);
        progs[k] = load(p[k].insns, p[k].count, attach_types[k], targets[k]);
        if (progs[k] < 0) {
            int e = errno;
            printf("load of the %s program (%d instructions): %s (%s); verifier log: %s\n", k ? "return" : "entry", p[k].count,
                   strerrorname_np(e), strerror(e), verifier_log[0] ? verifier_log : "(none: refused before the verifier)");
            return e == EPERM || e == EACCES || e == 524 /* ENOTSUPP */ || e == EOPNOTSUPP ? 3 : 1;
        }
    }
    double t4 = now_us();
    for (int k = 0; k < 2; k++) {
        links[k] = attach(progs[k], attach_types[k]);
        if (links[k] < 0) { printf("attach of the %s program: %s\n", k ? "return" : "entry", strerrorname_np(errno)); return 3; }
    }
    double t5 = now_us();
    printf("loaded both (%d + %d instructions) in %.0f us, attached both in %.0f us\n", p[0].count, p[1].count, t4 - t3, t5 - t4);
    if (hold > 0) {
        printf("attached: holding %d s\n", hold);
        fflush(stdout);
        sleep((unsigned)hold);
    }

    int g = -1, st = 0;
    pid_t child = run_waiter(&g);
    waitpid(child, &st, 0);
    usleep(10000);
    struct record recs[64];
    int n = ring_drain(&ring, recs, 64);
    int key = 0;
    uint64_t lost_count = 0;
    memset(&a, 0, sizeof a);
    a.map_fd = lost;
    a.key = (uintptr_t)&key;
    a.value = (uintptr_t)&lost_count;
    bpf_call(BPF_MAP_LOOKUP_ELEM, &a);

    double t6 = now_us();
    for (int k = 0; k < 2; k++) close(links[k]);
    double t7 = now_us();
    for (int k = 0; k < 2; k++) close(progs[k]);
    close(ring.fd);
    close(lost);
    double t8 = now_us();
    printf("detached (closed the links) in %.0f us, closed the programs and maps in %.0f us\n", t7 - t6, t8 - t7);

    // The facts: the child's four records, in order, nobody else's.
    struct { uint32_t kind; int64_t a; uint64_t b; } want[4] = {{0, g, 0}, {1, g, 0}, {0, -1, WNOHANG}, {1, -ECHILD, 0}};
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && n == 4 && lost_count == 0;
    for (int i = 0; i < n; i++) {
        printf("  record t=%llu tid=%u %s %lld %llu\n", (unsigned long long)recs[i].t, recs[i].tid, recs[i].kind ? "return" : "entry ",
               (long long)(recs[i].kind == 0 ? (int32_t)recs[i].a : recs[i].a), (unsigned long long)recs[i].b);
        if (i < 4) {
            int64_t got = recs[i].kind == 0 ? (int32_t)recs[i].a : recs[i].a;
            ok = ok && recs[i].tid == (uint32_t)child && recs[i].kind == want[i].kind && got == want[i].a && recs[i].b == want[i].b
                 && (i == 0 || recs[i].t >= recs[i - 1].t);
        }
    }
    printf("child %d, grandchild %d: %d records, %llu lost: %s\n", child, g, n, (unsigned long long)lost_count,
           ok ? "exactly the child's four waits" : "WRONG");
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "kinds";
    int hold = argc > 2 ? atoi(argv[2]) : 0;
    if (strcmp(mode, "kinds") == 0) return kinds();
    if (strcmp(mode, "fentry") == 0) return wait_programs(0, hold);
    if (strcmp(mode, "tp") == 0) return wait_programs(1, hold);
    fprintf(stderr, "usage: bpf-wait-probe kinds | fentry [HOLD] | tp [HOLD]\n");
    return 2;
}

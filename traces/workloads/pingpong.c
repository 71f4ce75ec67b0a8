// pingpong.c - pairs of processes bouncing one byte through two pipes as fast as they
// can: a flood of scheduler events (every hop is a wakeup and two context switches)
// with almost no ptrace events. Used to overrun the scheduler source's ring buffers
// and, with a gate, to stop the scheduler source at a known point of a run.
// Usage: pingpong [PAIRS [MILLIS [GATE [PAUSE_US]]]] (defaults 4 pairs, 1000 ms, no gate,
// no pause; GATE "-" is no gate). With PAUSE_US, ping sleeps that long after each round trip:
// a pair that keeps running, blocking and waking without flooding the scheduler's rings (the
// tests of a source that stops must not overrun them on a loaded machine).
// Tree: root -> ping1, pong1, ping2, pong2, … (fork order), then late (with a gate).
// Each ping writes a byte to its pong and reads it back until MILLIS have passed
// since the root started, then both exit 0. With GATE (a FIFO's path), the root, once
// it has forked the pairs, blocks reading one byte from GATE, then forks `late`, which
// exits 0 at once: a process born after whatever the opener of GATE did first.
// FACT procs: 2*PAIRS + 1 (+ 1 with a gate)
// FACT pingK.parent: root
// FACT pongK.parent: root
// FACT pingK.exit: exited 0
// FACT pongK.exit: exited 0
// FACT late.parent: root
// FACT late.exit: exited 0
// FACT root.wait: waitpid(-1, 0) until ECHILD; every child reaped by root
// FACT root.exit: exited 0
// FACT nondeterministic: the number of hops, the reap order
// OUTPUT: "hops N" (the sum over pairs of round trips made).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    int pairs = argc > 1 ? atoi(argv[1]) : 4;
    long long millis = argc > 2 ? atoll(argv[2]) : 1000;
    const char *gate = argc > 3 && strcmp(argv[3], "-") != 0 ? argv[3] : NULL;
    long pause_us = argc > 4 ? atol(argv[4]) : 0;
    long long deadline = now_ms() + millis;
    int counts[2];
    if (pipe(counts) != 0) { perror("pipe"); return 1; }
    for (int k = 0; k < pairs; k++) {
        int there[2], back[2];
        if (pipe(there) != 0 || pipe(back) != 0) { perror("pipe"); return 1; }
        pid_t ping = fork();
        if (ping < 0) { perror("fork"); return 1; }
        if (ping == 0) {
            char b = 'x';
            long hops = 0;
            // The deadline is checked by ping only; a zero byte tells pong to stop.
            while (now_ms() < deadline) {
                if (write(there[1], &b, 1) != 1 || read(back[0], &b, 1) != 1) _exit(1);
                hops++;
                if (pause_us > 0) usleep((useconds_t)pause_us);
            }
            b = 0;
            if (write(there[1], &b, 1) != 1) _exit(1);
            if (write(counts[1], &hops, sizeof hops) != sizeof hops) _exit(1);
            _exit(0);
        }
        pid_t pong = fork();
        if (pong < 0) { perror("fork"); return 1; }
        if (pong == 0) {
            char b;
            for (;;) {
                if (read(there[0], &b, 1) != 1) _exit(1);
                if (b == 0) _exit(0);
                if (write(back[1], &b, 1) != 1) _exit(1);
            }
        }
        close(there[0]); close(there[1]); close(back[0]); close(back[1]);
    }
    close(counts[1]);
    if (gate) {
        int fd = open(gate, O_RDONLY);
        char b;
        if (fd < 0 || read(fd, &b, 1) != 1) { perror(gate); return 1; }
        close(fd);
        pid_t late = fork();
        if (late < 0) { perror("fork"); return 1; }
        if (late == 0) _exit(0);
    }
    int st, bad = 0;
    for (;;) {
        pid_t pid = waitpid(-1, &st, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            if (errno == ECHILD) break;
            perror("waitpid");
            return 1;
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) bad = 1;
    }
    long total = 0, h;
    while (read(counts[0], &h, sizeof h) == sizeof h) total += h;
    printf("hops %ld\n", total);
    return bad;
}

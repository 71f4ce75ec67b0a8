// setsid.c - sessions and process groups: one child starts its own session,
// one starts its own process group, and the root moves a third child into
// that group (as a shell does for a pipeline).
// Tree: root -> leader (fork), grouper (fork), member (fork), in this order.
// FACT procs: 4 (root, leader, grouper, member)
// FACT leader.group: setsid() by leader -> sid = pgid = leader's pid
// FACT grouper.group: setpgid(0, 0) by grouper -> pgid = grouper's pid, sid unchanged (root's sid)
// FACT member.group: setpgid(member, grouper) by root -> pgid = grouper's pid, sid unchanged;
//   done after grouper's own setpgid (grouper signals it over a pipe)
// FACT root.group: unchanged (no calls)
// FACT leader/grouper/member.exit: exited 0
// FACT root.wait: waitpid(leader, 0), waitpid(grouper, 0), waitpid(member, 0), in order, all exited 0
// FACT leader/grouper/member.reap: wait by root
// FACT root.exit: exited 0
// OUTPUT: "leader: sid==pid pgid==pid", "grouper: pgid==pid", "member: pgid==grouper" (any order).
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void ms(long n) {
    struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(void) {
    pid_t leader = fork();
    if (leader < 0) { perror("fork"); return 1; }
    if (leader == 0) {
        pid_t me = getpid();
        if (setsid() != me) { perror("setsid"); _exit(1); }
        if (getsid(0) == me && getpgrp() == me) printf("leader: sid==pid pgid==pid\n");
        fflush(stdout);
        ms(50);
        _exit(0);
    }
    int ready[2], go[2];
    if (pipe(ready) != 0 || pipe(go) != 0) { perror("pipe"); return 1; }
    pid_t grouper = fork();
    if (grouper < 0) { perror("fork"); return 1; }
    if (grouper == 0) {
        if (setpgid(0, 0) != 0) { perror("setpgid"); _exit(1); }
        if (getpgrp() == getpid()) printf("grouper: pgid==pid\n");
        fflush(stdout);
        char c = 'r';
        if (write(ready[1], &c, 1) != 1) _exit(1);
        ms(100);
        _exit(0);
    }
    pid_t member = fork();
    if (member < 0) { perror("fork"); return 1; }
    if (member == 0) {
        char c;
        if (read(go[0], &c, 1) != 1) _exit(1);
        if (getpgrp() == grouper) printf("member: pgid==grouper\n");
        fflush(stdout);
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1) { fprintf(stderr, "grouper did not report\n"); return 1; }
    if (setpgid(member, grouper) != 0) { perror("setpgid member"); return 1; }
    if (write(go[1], &c, 1) != 1) return 1;
    pid_t kids[3] = {leader, grouper, member};
    for (int i = 0; i < 3; i++) {
        int st;
        if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "child %d failed\n", i);
            return 1;
        }
    }
    return 0;
}

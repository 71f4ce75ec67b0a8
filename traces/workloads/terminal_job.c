// terminal_job.c - a foreground job for the terminal tests (Ctrl-Z, fg, Ctrl-C).
// A parent and its child sleep in 10 ms steps until a signal ends them. Prints
// "ready PARENT CHILD" once both exist.
//   --ignore-int  both ignore SIGINT (as a non-interactive shell's background jobs do), so
//                 only a second Ctrl-C, which ends the recording, gets the terminal back
//   --read        the parent reads one line from the terminal, prints "read: LINE" and
//                 exits 0 (run in the background, it is stopped by SIGTTIN)
//   --write       the child exits at once; the parent reaps it, then writes its "ready" line
//                 and exits 0 (run in the background after `stty tostop`, that write stops it
//                 with SIGTTOU until fg)
// Tree: root -> child (fork).
// FACT procs: 2 (root, child)
// FACT Ctrl-Z: both stopped by SIGTSTP until fg; Ctrl-C: both killed by SIGINT
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void ms(long n) {
    struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

int main(int argc, char **argv) {
    int ignore_int = 0, read_line = 0, write_line = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ignore-int") == 0) ignore_int = 1;
        else if (strcmp(argv[i], "--read") == 0) read_line = 1;
        else if (strcmp(argv[i], "--write") == 0) write_line = 1;
        else { fprintf(stderr, "usage: terminal_job [--ignore-int] [--read | --write]\n"); return 2; }
    }
    if (ignore_int) signal(SIGINT, SIG_IGN);
    pid_t child = fork();
    if (child < 0) { perror("fork"); return 1; }
    if (child == 0) {
        if (read_line || write_line) _exit(0);
        for (;;) ms(10);
    }
    if (read_line || write_line) waitpid(child, NULL, 0);
    printf("ready %d %d\n", (int)getpid(), (int)child);
    fflush(stdout);
    if (write_line) return 0;
    if (read_line) {
        char line[256];
        if (!fgets(line, sizeof line, stdin)) return 1;
        line[strcspn(line, "\n")] = 0;
        printf("read: %s\n", line);
        return 0;
    }
    for (;;) ms(10);
}

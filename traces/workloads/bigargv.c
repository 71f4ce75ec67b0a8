// bigargv.c - an exec with more than 1 MiB of argv, in a few large arguments and many
// small ones: what a recorder must keep whole.
// Tree: root -> child (fork), which execs /bin/true with the big argv.
// FACT procs: 2 (root, child)
// FACT child.exec: /bin/true, argv built as follows (1,238,906 bytes of strings with their
//   NULs, 30,012 arguments):
//   argv[0] = "true"; then for i in 0..<30000: "s" + decimal i; after "s" + i, when i is a
//   multiple of 4000, the large argument number k = i / 4000 (8 of them, k = 0...7): the
//   13-byte UTF-8 unit "L" + k + ":é∑🙂;" repeated 10,000 times (130,000 bytes, under the
//   kernel's 128 KiB limit per argument); and when i % 10000 == 5000, an empty argument "".
// FACT child.exit: exited 0
// FACT child.reap: wait by root
// FACT root.exit: exited 0
// OUTPUT: "argc N bytes M" (M: the bytes of the strings, each with its NUL).
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SMALL 30000
#define LARGE_EVERY 4000
#define UNITS 10000

int main(void) {
    static const char unit_tail[] = ":\xc3\xa9\xe2\x88\x91\xf0\x9f\x99\x82;";   // ":é∑🙂;"
    size_t unit_len = 2 + strlen(unit_tail);                                        // 13
    char **argv = calloc(SMALL * 2 + 16, sizeof *argv);
    if (!argv) return 1;
    size_t n = 0, bytes = 0;
    argv[n++] = "true";
    for (int i = 0; i < SMALL; i++) {
        char *s = NULL;
        if (asprintf(&s, "s%d", i) < 0) return 1;
        argv[n++] = s;
        if (i % LARGE_EVERY == 0) {
            char *big = malloc(unit_len * UNITS + 1);
            if (!big) return 1;
            for (int u = 0; u < UNITS; u++) {
                char *p = big + (size_t)u * unit_len;
                p[0] = 'L';
                p[1] = (char)('0' + i / LARGE_EVERY);
                memcpy(p + 2, unit_tail, unit_len - 2);
            }
            big[unit_len * UNITS] = 0;
            argv[n++] = big;
        }
        if (i % 10000 == 5000) argv[n++] = "";
    }
    argv[n] = NULL;
    for (size_t k = 0; k < n; k++) bytes += strlen(argv[k]) + 1;
    printf("argc %zu bytes %zu\n", n, bytes);
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) { perror("fork"); return 1; }
    if (child == 0) {
        execv("/bin/true", argv);
        perror("execv /bin/true");
        _exit(127);
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child) { perror("waitpid"); return 1; }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

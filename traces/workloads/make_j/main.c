#include <stdio.h>
#include "parts.h"

/* prog OUTFILE: prints the sum of the parts and touches OUTFILE (make's target). */
int main(int argc, char **argv) {
    int sum = one() + two() + three() + four() + five();
    printf("sum %d\n", sum);
    if (argc > 1) {
        FILE *f = fopen(argv[1], "w");
        if (!f) return 1;
        fclose(f);
    }
    return sum == 15 ? 0 : 1;
}

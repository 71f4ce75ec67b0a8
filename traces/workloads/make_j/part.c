#include "parts.h"

/* One source, compiled once per part: -DPART=one -DN=1 makes `int one(void)` returning 1.
   Some code for the optimiser, so that each cc1 takes a moment. */
static unsigned mix(unsigned x) {
    for (int k = 0; k < 16; k++) x = (x ^ (x >> 7)) * 2654435761u + (unsigned)k;
    return x;
}

int PART(void) {
    unsigned acc = 0;
    for (unsigned i = 0; i < 1000; i++) acc += mix(i);
    return acc == 0xffffffffu ? 0 : N;
}

#include "parts.h"

/* Some code for the optimiser, so that cc1 takes a moment. */
static unsigned mix_four(unsigned x) {
    for (int k = 0; k < 16; k++) x = (x ^ (x >> 7)) * 2654435761u + (unsigned)k;
    return x;
}

int four(void) {
    unsigned acc = 0;
    for (unsigned i = 0; i < 1000; i++) acc += mix_four(i);
    return acc == 0xffffffffu ? 0 : 4;
}

#ifndef CPROCTRACE_H
#define CPROCTRACE_H
#endif

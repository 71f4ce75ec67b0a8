#ifndef _GNU_SOURCE
#error "CProcTrace needs _GNU_SOURCE (set in Package.swift cSettings)"
#endif
#include "cproctrace.h"

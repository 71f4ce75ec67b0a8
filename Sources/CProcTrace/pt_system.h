/* What every file of CProcTrace includes: the public header and the system headers, with the
   guard that _GNU_SOURCE is set (Package.swift cSettings). Not part of the module's API. */
#ifndef PT_SYSTEM_H
#define PT_SYSTEM_H
#ifndef _GNU_SOURCE
#error "CProcTrace needs _GNU_SOURCE (set in Package.swift cSettings)"
#endif
#include "cproctrace.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <elf.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <link.h>
#include <stdint.h>

#endif

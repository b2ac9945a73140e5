// The C library headers the launcher uses (module CLibc, see module.modulemap).
#ifndef BUNDLE_CLIBC_H
#define BUNDLE_CLIBC_H

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/// open(2) with its mode: Swift cannot call the variadic C `open` (Glibc's overlay
/// wraps it the same way). In the launcher this is its own interposer
/// (CLauncherSupport), as it was through the overlay.
static inline int libc_open(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }

#endif

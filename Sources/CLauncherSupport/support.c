#define _GNU_SOURCE
// Our `open` definitions below must not meet glibc's fortified inline wrappers.
#undef _FORTIFY_SOURCE
#include "CLauncherSupport.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/statvfs.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int launcher_open_self(void) {
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) return fd;
    const char *path = (const char *)getauxval(AT_EXECFN);
    return path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
}

// The arguments as the kernel gave them. glibc passes (argc, argv, envp) to the main
// program's constructors; Swift's CommandLine reads /proc/self/cmdline on Linux and is
// empty without /proc.
static int saved_argc;
static char **saved_argv;

__attribute__((constructor)) static void launcher_capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}

int launcher_argc(void) { return saved_argc; }
char **launcher_argv(void) { return saved_argv; }

int launcher_memfd(const char *name) {
    return memfd_create(name, MFD_CLOEXEC);
}

int launcher_processors(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    int count = CPU_COUNT(&set);
    return count > 0 ? count : 1;
}

int launcher_is_noexec(const char *path) {
    struct statvfs info;
    return statvfs(path, &info) == 0 && (info.f_flag & ST_NOEXEC) != 0;
}

int launcher_call_embed(void *entry, const bundle_embed_options *options) {
    return ((bundle_embed_run_fn)entry)(options);
}

// MARK: - Served files

enum { served_capacity = 64 };

typedef struct served_file {
    char *virtual_path;
    char *real_path;   // NULL: served from `data`
    const void *data;
    size_t length;
} served_file;

static served_file served[served_capacity];
static int served_count;  // published with release order once an entry is complete

static int add_served(const char *virtual_path, const char *real_path, const void *data, size_t length) {
    int count = __atomic_load_n(&served_count, __ATOMIC_ACQUIRE);
    if (count >= served_capacity || virtual_path == NULL || virtual_path[0] != '/') return -1;
    served_file *file = &served[count];
    file->virtual_path = strdup(virtual_path);
    file->real_path = real_path ? strdup(real_path) : NULL;
    if (file->virtual_path == NULL || (real_path && file->real_path == NULL)) {
        free(file->virtual_path);
        free(file->real_path);
        return -1;
    }
    file->data = data;
    file->length = length;
    __atomic_store_n(&served_count, count + 1, __ATOMIC_RELEASE);
    return 0;
}

int launcher_serve_file(const char *virtual_path, const char *real_path) {
    return real_path ? add_served(virtual_path, real_path, NULL, 0) : -1;
}

int launcher_serve_memory(const char *virtual_path, const void *data, size_t length) {
    return add_served(virtual_path, NULL, data, length);
}

// The C library's openat, found once. RTLD_NEXT from the executable is whatever
// follows it in the global scope (a preloaded library, else libc); the raw system call
// is the last resort and behaves the same apart from thread cancellation.
typedef int (*openat_fn)(int, const char *, int, ...);

static int real_openat(int dirfd, const char *path, int flags, mode_t mode) {
    static openat_fn next;
    openat_fn function = __atomic_load_n(&next, __ATOMIC_ACQUIRE);
    if (function == NULL) {
        function = (openat_fn)dlsym(RTLD_NEXT, "openat64");
        if (function == NULL || function == (openat_fn)openat64) function = (openat_fn)dlsym(RTLD_NEXT, "openat");
        if (function == (openat_fn)openat || function == (openat_fn)openat64) function = NULL;
        if (function != NULL) __atomic_store_n(&next, function, __ATOMIC_RELEASE);
    }
    if (function != NULL) return function(dirfd, path, flags, mode);
    return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

int launcher_real_open(const char *path, int flags) {
    return real_openat(AT_FDCWD, path, flags, 0);
}

// A read-only open of a registered path: a file descriptor for its bytes, or -1 with
// errno set. Returns -2 when `path` is not ours (the caller opens it for real).
static int open_served(const char *path, int flags) {
    int count = __atomic_load_n(&served_count, __ATOMIC_ACQUIRE);
    if (count == 0 || path == NULL || path[0] != '/') return -2;
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC | O_DIRECTORY | O_PATH)) != 0) return -2;
    for (int i = 0; i < count; i++) {
        const served_file *file = &served[i];
        if (strcmp(file->virtual_path, path) != 0) continue;
        if (file->real_path) return real_openat(AT_FDCWD, file->real_path, flags | O_NOFOLLOW, 0);

        int fd = memfd_create("bundle-builtin", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
        if (fd < 0) return -1;
        const char *bytes = file->data;
        size_t done = 0;
        while (done < file->length) {
            ssize_t written = write(fd, bytes + done, file->length - done);
            if (written < 0 && errno == EINTR) continue;
            if (written <= 0) {
                int saved = errno;
                close(fd);
                errno = written < 0 ? saved : EIO;
                return -1;
            }
            done += (size_t)written;
        }
        if (lseek(fd, 0, SEEK_SET) != 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        return fd;
    }
    return -2;
}

static int interposed_openat(int dirfd, const char *path, int flags, mode_t mode) {
    int saved = errno;
    int fd = open_served(path, flags);
    if (fd != -2) return fd;
    errno = saved;
    return real_openat(dirfd, path, flags, mode);
}

// Only O_CREAT and O_TMPFILE carry a mode argument.
#define MODE_ARGUMENT(flags, last)                                          \
    mode_t mode = 0;                                                        \
    if ((flags) & O_CREAT || ((flags) & O_TMPFILE) == O_TMPFILE) {          \
        va_list arguments;                                                  \
        va_start(arguments, last);                                          \
        mode = va_arg(arguments, mode_t);                                   \
        va_end(arguments);                                                  \
    }

int open(const char *path, int flags, ...) {
    MODE_ARGUMENT(flags, flags)
    return interposed_openat(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...) {
    MODE_ARGUMENT(flags, flags)
    return interposed_openat(AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
    MODE_ARGUMENT(flags, flags)
    return interposed_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) {
    MODE_ARGUMENT(flags, flags)
    return interposed_openat(dirfd, path, flags, mode);
}

// The forms _FORTIFY_SOURCE compiles `open(path, flags)` into (no mode argument).
int __open_2(const char *path, int flags) { return interposed_openat(AT_FDCWD, path, flags, 0); }
int __open64_2(const char *path, int flags) { return interposed_openat(AT_FDCWD, path, flags, 0); }
int __openat_2(int dirfd, const char *path, int flags) { return interposed_openat(dirfd, path, flags, 0); }
int __openat64_2(int dirfd, const char *path, int flags) { return interposed_openat(dirfd, path, flags, 0); }

// OpenSSL reads its CA bundle with fopen, which inside the C library does not go
// through `open`: serve registered paths here too.
typedef FILE *(*fopen_fn)(const char *, const char *);

static FILE *real_fopen(const char *path, const char *mode) {
    static fopen_fn next;
    fopen_fn function = __atomic_load_n(&next, __ATOMIC_ACQUIRE);
    if (function == NULL) {
        function = (fopen_fn)dlsym(RTLD_NEXT, "fopen64");
        if (function == NULL || function == (fopen_fn)fopen64 || function == (fopen_fn)fopen) {
            function = (fopen_fn)dlsym(RTLD_NEXT, "fopen");
        }
        if (function == NULL || function == (fopen_fn)fopen64 || function == (fopen_fn)fopen) {
            errno = ENOSYS;
            return NULL;
        }
        __atomic_store_n(&next, function, __ATOMIC_RELEASE);
    }
    return function(path, mode);
}

static FILE *interposed_fopen(const char *path, const char *mode) {
    if (mode != NULL && mode[0] == 'r' && strchr(mode, '+') == NULL) {
        int saved = errno;
        int fd = open_served(path, O_RDONLY | (strchr(mode, 'e') ? O_CLOEXEC : 0));
        if (fd >= 0) {
            FILE *file = fdopen(fd, mode);
            if (file == NULL) close(fd);
            return file;
        }
        if (fd == -1) return NULL;
        errno = saved;
    }
    return real_fopen(path, mode);
}

FILE *fopen(const char *path, const char *mode) { return interposed_fopen(path, mode); }
FILE *fopen64(const char *path, const char *mode) { return interposed_fopen(path, mode); }

#define _GNU_SOURCE
#include "CLauncherSupport.h"

#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>

int launcher_open_self(void) {
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) return fd;
    const char *path = (const char *)getauxval(AT_EXECFN);
    return path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
}

int launcher_memfd(const char *name) {
    return memfd_create(name, MFD_CLOEXEC);
}

int launcher_call_embed(void *entry, const bundle_embed_options *options) {
    return ((bundle_embed_run_fn)entry)(options);
}

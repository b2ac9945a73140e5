#ifndef BUNDLE_CLAUNCHERSUPPORT_H
#define BUNDLE_CLAUNCHERSUPPORT_H

#include <stddef.h>
#include <sys/types.h>
#include "../../CNodeEmbed/include/CNodeEmbed.h"

/// Opens the running executable read-only: /proc/self/exe, or the path the kernel
/// passed in the auxiliary vector when /proc is not mounted. Returns -1 on failure.
int launcher_open_self(void);

/// An anonymous in-memory file (memfd) for loading a library when no cache directory
/// is writable. Returns -1 on failure.
int launcher_memfd(const char *name);

/// Calls the shim's entry point found with dlsym.
int launcher_call_embed(void *entry, const bundle_embed_options *options);

#endif

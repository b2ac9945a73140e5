#ifndef BUNDLE_CLAUNCHERSUPPORT_H
#define BUNDLE_CLAUNCHERSUPPORT_H

#include <stddef.h>
#include <sys/types.h>
#include "../../CNodeEmbed/include/CNodeEmbed.h"

/// Opens the running executable read-only: /proc/self/exe, or the path the kernel
/// passed in the auxiliary vector when /proc is not mounted. Returns -1 on failure.
int launcher_open_self(void);

/// argc and argv of main, captured before it runs (also without /proc).
int launcher_argc(void);

/// The running C library's version ("2.36"): gnu_get_libc_version, which Swift's Glibc
/// module does not declare.
const char *launcher_libc_version(void);

/// Puts back the variables launcher_hide_startup_environment took out (once).
void launcher_restore_startup_environment(void);
char **launcher_argv(void);

/// An anonymous in-memory file (memfd) for loading a library when no cache directory
/// is writable. Returns -1 on failure.
int launcher_memfd(const char *name);

/// Processors this process may run on (at least 1).
int launcher_processors(void);

/// 1 when `path` is on a file system mounted noexec (dlopen cannot map code there).
int launcher_is_noexec(const char *path);

/// Calls the shim's entry point found with dlsym.
int launcher_call_embed(void *entry, const bundle_embed_options *options);

/// Files libnode opens by fixed absolute path (its externalized builtins, e.g.
/// /usr/share/nodejs/acorn/dist/acorn.js) are served by the launcher's own
/// `open`/`open64`/`openat`/`openat64` (and their fortified `__open*_2` forms) and
/// `fopen`/`fopen64` (OpenSSL's CA bundle), which the launcher exports so libuv,
/// libnode and libcrypto bind to them. A read-only open of a
/// registered path opens the registered real file instead, or, for bytes in memory, a
/// fresh memfd holding them (its own file offset, works without /proc); every other
/// call goes to the C library unchanged. Register everything before libnode is loaded
/// (the table is read without locks afterwards). Returns 0, or -1 when the table is
/// full or out of memory. `data` must stay valid for the life of the process.
int launcher_serve_file(const char *virtual_path, const char *real_path);
/// Like launcher_serve_file, for a file of the system (its CA bundle) rather than of the
/// runtime cache: the real path is opened following links, as distributions make it one
/// (Fedora's /etc/pki/tls/certs/ca-bundle.crt, Arch's ca-certificates.crt), where a
/// cache file is opened with O_NOFOLLOW (a link there is not ours).
int launcher_serve_system_file(const char *virtual_path, const char *real_path);
int launcher_serve_memory(const char *virtual_path, const void *data, size_t length);

/// Opens a file with the C library's open, bypassing the table (for tests).
int launcher_real_open(const char *path, int flags);

/// Native addons. Node loads an addon with `dlopen(<its path>)`, and an addon of the
/// app has a virtual path (under Format.virtualRoot). Before node starts, the launcher registers
/// each addon's virtual path with a real file (in the runtime cache) or with its bytes
/// (`real_path` NULL), and the libraries the addons need, in load order. The launcher
/// exports `dlopen`: a call for a registered virtual path first loads every registered
/// library (once they all loaded, never again; with the addon's RTLD_LAZY or RTLD_NOW,
/// and RTLD_LOCAL, as the dynamic linker would load them as the addon's dependencies),
/// so that the addon's DT_NEEDED entries match them by SONAME (the dynamic linker
/// matches every object already loaded, whatever its scope), then opens the addon's real file;
/// bytes are copied into a memfd on first use, loaded as /proc/self/fd/N, and the memfd
/// is kept open for the life of the process, so no two objects ever share a path
/// (dlopen recognizes an object it already loaded by its path). Every other call goes to
/// the C library's dlopen unchanged. Registration must happen before node starts (the
/// tables are then read without locks). `data` must stay valid for the life of the
/// process. `name` names a library's memfd (shown in /proc/self/maps). Returns 0, or -1
/// when out of memory.
int launcher_native_library(const char *name, const char *real_path, const void *data, size_t length);
int launcher_native_addon(const char *virtual_path, const char *real_path, const void *data, size_t length);

/// Takes OPENSSL_CONF, OPENSSL_ENGINES and OPENSSL_MODULES out of the environment
/// until node runs its main environment (the launcher's node::LoadEnvironment puts them
/// back), so OpenSSL's configuration at node's start loads no code the environment
/// names ("Variables hidden while node starts" in support.c). Call before libnode is
/// loaded. Returns 0, or -1 when out of memory.
int launcher_hide_startup_environment(void);

/// Startup snapshot (see "Startup snapshot" in embed.cc). The launcher exports
/// node::LoadEnvironment under its C++ name; the next call after an override is
/// installed goes to `override` instead, every other call to libnode's. Passed to the
/// shim in bundle_embed_options.
void launcher_override_load_environment(bundle_load_environment_fn override);

/// Makes a startup snapshot at `blob_path` in a child process (node can start only once
/// per process): it serves the builtins, loads the libraries in order (the shim last) and
/// calls the shim's bundle_embed_build_snapshot, with its output sent to /dev/null. Call
/// it before this process has loaded libnode or started threads. Returns 0 when the
/// child succeeded, -1 otherwise.
int launcher_build_snapshot(const char *const *libraries, int library_count, const char *const *builtins,
                            const char *const *builtin_files, int builtin_count, const char *blob_path);

#endif

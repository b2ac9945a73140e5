#define _GNU_SOURCE
// Our `open` definitions below must not meet glibc's fortified inline wrappers.
#undef _FORTIFY_SOURCE
#include "CLauncherSupport.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
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

// node opens /dev/null onto a closed stdin, stdout or stderr when it starts (PlatformInit),
// but the launcher makes files before that: a memory file for libnode must not become a
// daemon's stderr, growing in RAM with every line it writes. So do what node does, before
// anything else opens a file. Without /dev/null node aborts there, as it does unbundled.
__attribute__((constructor)) static void launcher_fill_standard_descriptors(void) {
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        // The lowest free descriptor, so `fd`: the ones below it are open by now.
        if (open("/dev/null", O_RDWR) < 0) return;
    }
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

// Embedded Swift's standard library seeds its hashing (Set, Dictionary) with
// arc4random_buf, which glibc has only since 2.36: with glibc's, the launcher could not
// even start on an older C library to say which one the runtime needs (main.swift).
// This one (getrandom, glibc 2.25) is the launcher's own: hidden, so no library loaded
// later binds to it.
__attribute__((visibility("hidden"))) void arc4random_buf(void *buffer, size_t length) {
    unsigned char *bytes = buffer;
    while (length > 0) {
        ssize_t got = getrandom(bytes, length, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            // No getrandom (a kernel before 3.17): hash seeds need not be secret here
            // (the launcher hashes its own file names), only vary.
            uintptr_t mix = (uintptr_t)bytes ^ (uintptr_t)getpid() << 16 ^ (uintptr_t)time(NULL);
            for (size_t i = 0; i < length; i++) bytes[i] = (unsigned char)(mix >> (8 * (i % sizeof mix)));
            return;
        }
        bytes += got;
        length -= (size_t)got;
    }
}

// MARK: - Served files

enum { served_capacity = 64 };

typedef struct served_file {
    char *virtual_path;
    char *real_path;   // NULL: served from `data`
    int follow_links;  // a system file: its links are the system's own
    const void *data;
    size_t length;
} served_file;

static served_file served[served_capacity];
static int served_count;  // published with release order once an entry is complete

static int add_served(const char *virtual_path, const char *real_path, int follow_links, const void *data, size_t length) {
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
    file->follow_links = follow_links;
    file->data = data;
    file->length = length;
    __atomic_store_n(&served_count, count + 1, __ATOMIC_RELEASE);
    return 0;
}

int launcher_serve_file(const char *virtual_path, const char *real_path) {
    return real_path ? add_served(virtual_path, real_path, 0, NULL, 0) : -1;
}

int launcher_serve_system_file(const char *virtual_path, const char *real_path) {
    return real_path ? add_served(virtual_path, real_path, 1, NULL, 0) : -1;
}

int launcher_serve_memory(const char *virtual_path, const void *data, size_t length) {
    return add_served(virtual_path, NULL, 0, data, length);
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
        if (file->real_path) return real_openat(AT_FDCWD, file->real_path, file->follow_links ? flags : flags | O_NOFOLLOW, 0);

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

// MARK: - Native addons

typedef struct native_object {
    char *virtual_path;  // an addon's; a library's name
    char *real_path;     // NULL until a memfd is made for `data`
    const void *data;
    size_t length;
    int fd;              // the memfd, kept open
} native_object;

static native_object *native_libraries, *native_addons;
static int native_library_count, native_addon_count;
static int native_libraries_loaded;  // set once every library loaded
// Guards the lazy memfds. Recursive: a constructor run by dlopen may call dlopen.
static pthread_mutex_t native_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

static int add_native(native_object **table, int *count, const char *virtual_path, const char *real_path,
                      const void *data, size_t length) {
    native_object *grown = realloc(*table, sizeof(native_object) * (size_t)(*count + 1));
    if (grown == NULL) return -1;
    *table = grown;
    native_object *object = &grown[*count];
    object->virtual_path = virtual_path ? strdup(virtual_path) : NULL;
    object->real_path = real_path ? strdup(real_path) : NULL;
    if ((virtual_path && object->virtual_path == NULL) || (real_path && object->real_path == NULL)) {
        free(object->virtual_path);
        free(object->real_path);
        return -1;
    }
    object->data = data;
    object->length = length;
    object->fd = -1;
    *count += 1;
    return 0;
}

int launcher_native_library(const char *name, const char *real_path, const void *data, size_t length) {
    return add_native(&native_libraries, &native_library_count, name ? name : "library", real_path, data, length);
}

int launcher_native_addon(const char *virtual_path, const char *real_path, const void *data, size_t length) {
    if (virtual_path == NULL || virtual_path[0] != '/') return -1;
    return add_native(&native_addons, &native_addon_count, virtual_path, real_path, data, length);
}

typedef void *(*dlopen_fn)(const char *, int);

static void *real_dlopen(const char *path, int flags) {
    static dlopen_fn next;
    dlopen_fn function = __atomic_load_n(&next, __ATOMIC_ACQUIRE);
    if (function == NULL) {
        function = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
        if (function == NULL || function == (dlopen_fn)dlopen) return NULL;
        __atomic_store_n(&next, function, __ATOMIC_RELEASE);
    }
    return function(path, flags);
}

// The path to load `object` from: its real file, or a memfd made now from its bytes.
// NULL when no memfd can be made.
static const char *native_path(native_object *object, const char *name) {
    pthread_mutex_lock(&native_lock);
    if (object->real_path == NULL) {
        int fd = memfd_create(name, MFD_CLOEXEC);
        const char *bytes = object->data;
        size_t done = 0;
        while (fd >= 0 && done < object->length) {
            ssize_t written = write(fd, bytes + done, object->length - done);
            if (written < 0 && errno == EINTR) continue;
            if (written <= 0) {
                close(fd);
                fd = -1;
            } else {
                done += (size_t)written;
            }
        }
        char path[64];
        if (fd >= 0) {
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            object->real_path = strdup(path);
            if (object->real_path == NULL) {
                close(fd);
            } else {
                object->fd = fd;
            }
        }
    }
    const char *path = object->real_path;
    pthread_mutex_unlock(&native_lock);
    return path;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void *dlopen(const char *path, int flags) {
    if (path == NULL || path[0] != '/' || native_addon_count == 0) return real_dlopen(path, flags);
    native_object *addon = NULL;
    for (int i = 0; i < native_addon_count; i++) {
        if (strcmp(native_addons[i].virtual_path, path) == 0) {
            addon = &native_addons[i];
            break;
        }
    }
    if (addon == NULL) return real_dlopen(path, flags);

    if (!__atomic_load_n(&native_libraries_loaded, __ATOMIC_ACQUIRE)) {
        for (int i = 0; i < native_library_count; i++) {
            const char *library = native_path(&native_libraries[i], native_libraries[i].virtual_path);
            // No memfd: the C library's own error for the path (dlerror must say something).
            if (library == NULL) return real_dlopen(path, flags);
            // Bound as the addon's own dependencies would be: its binding mode, local
            // scope (symbols of one addon's libraries cannot capture another's).
            if (real_dlopen(library, (flags & (RTLD_LAZY | RTLD_NOW)) | RTLD_LOCAL) == NULL) return NULL;  // dlerror names it
        }
        __atomic_store_n(&native_libraries_loaded, 1, __ATOMIC_RELEASE);
    }
    const char *real = native_path(addon, base_name(path));
    return real_dlopen(real ? real : path, flags);
}

// MARK: - Variables hidden while node starts
//
// node 18's InitializeOncePerProcess has OpenSSL load the file OPENSSL_CONF names, and
// that file can load any shared object (an engine's dynamic_path, a provider's module),
// from the directories OPENSSL_ENGINES and OPENSSL_MODULES name: code from the
// environment running inside a shipped app, as NODE_OPTIONS would. So these are taken
// out of the environment before libnode is loaded and put back when node runs its main
// environment (the shim calls launcher_restore_startup_environment before LoadEnvironment;
// node 18's snapshot path comes through the interposer below), after OpenSSL's
// configuration was read: the app's
// process.env and its child processes see the environment they were given (a child
// that is another program may want the user's OpenSSL configuration; one that is this
// app again hides them itself). Only the main thread runs then; node's platform threads
// do not read the environment. Not hidden: SSL_CERT_FILE and SSL_CERT_DIR (they choose
// trust anchors, not code, as NODE_EXTRA_CA_CERTS does).

static const char *const startup_hidden_names[] = {"OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES"};
enum { startup_hidden_capacity = sizeof startup_hidden_names / sizeof startup_hidden_names[0] };
static char *startup_hidden_values[startup_hidden_capacity];
static int startup_environment_hidden;

int launcher_hide_startup_environment(void) {
    for (int i = 0; i < startup_hidden_capacity; i++) {
        const char *value = getenv(startup_hidden_names[i]);
        if (value == NULL) continue;
        startup_hidden_values[i] = strdup(value);
        if (startup_hidden_values[i] == NULL || unsetenv(startup_hidden_names[i]) != 0) return -1;
    }
    __atomic_store_n(&startup_environment_hidden, 1, __ATOMIC_RELEASE);
    return 0;
}

void launcher_restore_startup_environment(void) {
    if (!__atomic_exchange_n(&startup_environment_hidden, 0, __ATOMIC_ACQ_REL)) return;
    for (int i = 0; i < startup_hidden_capacity; i++) {
        if (startup_hidden_values[i] == NULL) continue;
        setenv(startup_hidden_names[i], startup_hidden_values[i], 1);
        free(startup_hidden_values[i]);
        startup_hidden_values[i] = NULL;
    }
}

// MARK: - Startup snapshot

#define LOAD_ENVIRONMENT_SYMBOL                                                                      \
    "_ZN4node15LoadEnvironmentEPNS_11EnvironmentESt8functionIFN2v810MaybeLocalINS3_5ValueEEERKNS_" \
    "26StartExecutionCallbackInfoEEE"

static bundle_load_environment_fn load_environment_override;

// The libnode function one of the launcher's replacements stands in for, found once.
// Only libnode calls the replacements, so it is loaded and has the function.
static void *libnode_function(void **slot, const char *symbol) {
    void *function = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (function == NULL) {
        function = dlsym(RTLD_NEXT, symbol);
        if (function == NULL) abort();
        __atomic_store_n(slot, function, __ATOMIC_RELEASE);
    }
    return function;
}

void launcher_override_load_environment(bundle_load_environment_fn override) {
    __atomic_store_n(&load_environment_override, override, __ATOMIC_RELEASE);
}

// node::LoadEnvironment(node::Environment*, node::StartExecutionCallback), under its C++
// name: libnode (and the shim) bind to this one because the launcher exports it.
void *launcher_load_environment(void *environment, void *callback) __asm__(LOAD_ENVIRONMENT_SYMBOL);

void *launcher_load_environment(void *environment, void *callback) {
    launcher_restore_startup_environment();
    bundle_load_environment_fn override = __atomic_exchange_n(&load_environment_override, NULL, __ATOMIC_ACQ_REL);
    if (override != NULL) return override(environment, callback);
    static void *next;
    return ((bundle_load_environment_fn)libnode_function(&next, LOAD_ENVIRONMENT_SYMBOL))(environment, callback);
}

int launcher_build_snapshot(const char *const *libraries, int library_count, const char *const *builtins,
                            const char *const *builtin_files, int builtin_count, const char *blob_path) {
    pid_t child = fork();
    if (child < 0) return -1;
    if (child == 0) {
        // node may print; the app's stdout and stderr are not for that.
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        for (int i = 0; i < builtin_count; i++) {
            if (launcher_serve_file(builtins[i], builtin_files[i]) != 0) _exit(70);
        }
        void *last = NULL;
        for (int i = 0; i < library_count; i++) {
            last = dlopen(libraries[i], RTLD_NOW | RTLD_GLOBAL);
            if (last == NULL) _exit(70);
        }
        bundle_embed_build_snapshot_fn build =
            last == NULL ? NULL : (bundle_embed_build_snapshot_fn)dlsym(last, "bundle_embed_build_snapshot");
        if (build == NULL) _exit(70);
        _exit(build(saved_argc > 0 ? saved_argv[0] : "node", blob_path) == 0 ? 0 : 1);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

// MARK: - NODE_EXTRA_CA_CERTS, when TLS is first used
//
// node 18 reads NODE_EXTRA_CA_CERTS in InitializeOncePerProcess: node::crypto::
// UseExtraCaCerts builds the process's root store (Debian's node: the system's CA
// bundle, ~140 certificates) and adds the file's certificates, at every start, TLS or
// not (measured: +40 ms with the system bundle as the extra file, +18 ms with one
// certificate). The launcher exports both functions below under their C++ names, so
// libnode binds to them: UseExtraCaCerts only checks that the file opens (node's
// warning for one that does not is printed at startup, as node prints it) and keeps
// its name; SecureContext::SetRootCerts, which every TLS context without `ca` calls to
// get the root store (lib/internal/tls/secure-context.js), first runs node's own
// UseExtraCaCerts once per process. The result is node's: same store, same warnings,
// in every thread; what differs is when the file's certificates are parsed (a file
// that opens but holds no certificate is reported at the first TLS use).

#define USE_EXTRA_CA_CERTS_SYMBOL "_ZN4node6crypto15UseExtraCaCertsERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE"
#define SET_ROOT_CERTS_SYMBOL "_ZN4node6crypto13SecureContext12SetRootCertsEv"

// std::string of libstdc++'s C++11 ABI (libnode 18's): data, length, then the local
// buffer or the capacity. Only read by these functions.
typedef struct {
    const char *data;
    size_t length;
    union {
        char local[16];
        size_t capacity;
    } storage;
} cxx11_string;

static char *extra_ca_file;       // set once, in InitializeOncePerProcess, before any thread
static char *extra_ca_directory;  // the working directory then, for a relative name
static pthread_once_t extra_ca_once = PTHREAD_ONCE_INIT;

// What node's UseExtraCaCerts does first (BIO_new_file(file, "r")), with its warning on
// failure; then nothing is loaded later either, as in node. libcrypto is loaded (libnode,
// which needs it, is calling), so its functions are looked up rather than linked.
static int extra_ca_file_opens(const char *file) {
    void *(*bio_new_file)(const char *, const char *) = (void *(*)(const char *, const char *))dlsym(RTLD_DEFAULT, "BIO_new_file");
    int (*bio_free)(void *) = (int (*)(void *))dlsym(RTLD_DEFAULT, "BIO_free");
    unsigned long (*err_get_error)(void) = (unsigned long (*)(void))dlsym(RTLD_DEFAULT, "ERR_get_error");
    void (*err_clear_error)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "ERR_clear_error");
    void (*err_error_string_n)(unsigned long, char *, size_t) =
        (void (*)(unsigned long, char *, size_t))dlsym(RTLD_DEFAULT, "ERR_error_string_n");
    if (!bio_new_file || !bio_free || !err_get_error || !err_clear_error || !err_error_string_n) return 1;
    err_clear_error();
    void *bio = bio_new_file(file, "r");
    if (bio != NULL) {
        bio_free(bio);
        return 1;
    }
    char reason[256];
    err_error_string_n(err_get_error(), reason, sizeof reason);
    err_clear_error();
    fprintf(stderr, "Warning: Ignoring extra certs from `%s`, load failed: %s\n", file, reason);
    return 0;
}

void launcher_use_extra_ca_certs(const cxx11_string *file) __asm__(USE_EXTRA_CA_CERTS_SYMBOL);
void launcher_use_extra_ca_certs(const cxx11_string *file) {
    if (file->length == 0 || extra_ca_file != NULL || !extra_ca_file_opens(file->data)) return;
    extra_ca_file = strndup(file->data, file->length);
    if (extra_ca_file != NULL && extra_ca_file[0] != '/') extra_ca_directory = getcwd(NULL, 0);
}

static void load_extra_ca_certs(void) {
    static void *next;
    void (*use_extra_ca_certs)(const cxx11_string *) = (void (*)(const cxx11_string *))libnode_function(&next, USE_EXTRA_CA_CERTS_SYMBOL);
    const char *path = extra_ca_file;
    char *joined = NULL;
    if (extra_ca_directory != NULL && asprintf(&joined, "%s/%s", extra_ca_directory, extra_ca_file) >= 0) path = joined;
    size_t length = strlen(path);
    cxx11_string name = {path, length, {.capacity = length}};
    use_extra_ca_certs(&name);
    free(joined);
}

void launcher_set_root_certs(void *secure_context) __asm__(SET_ROOT_CERTS_SYMBOL);
void launcher_set_root_certs(void *secure_context) {
    static void *next;
    void (*set_root_certs)(void *) = (void (*)(void *))libnode_function(&next, SET_ROOT_CERTS_SYMBOL);
    if (extra_ca_file != NULL) pthread_once(&extra_ca_once, load_extra_ca_certs);
    set_root_certs(secure_context);
}

const char *launcher_libc_version(void) { return gnu_get_libc_version(); }

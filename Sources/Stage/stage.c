// The first stage of a portable output ("Portable outputs" in
// Sources/PayloadFormat/Format.swift). The kernel starts this static program; it loads
// the launcher (an ELF inside its own file) and the dynamic loader the output carries,
// the way the kernel would have loaded them, and jumps into that loader. So the launcher
// runs with the C and C++ libraries of the machine it was built on, and nothing of the
// host's userland, while the process stays the one the kernel started: /proc/self/exe,
// argv, AT_EXECFN, the process name, signals and exit codes are the output's own.
// The one-file `bundle` starts the same way, with `bundle` for the launcher (stored
// compressed: inflate_launcher).
//
// The loader opens the libraries by path, so they must be files: the cache directory
// base-<digest> that the launcher makes and checks (Sources/Launcher/BaseLibraries.swift,
// with the same code as the runtime's cache), or, when no valid one exists yet (first
// start) or can exist (read-only root, no HOME, noexec /tmp), memory files (memfd) named
// /proc/self/fd/N. This program only reads that directory, never writes it.
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zstd.h>

#include <cache_rules.h>
#include <payload_format.h>

#define PAGE 4096UL
#define PAGE_DOWN(x) ((x) & ~(PAGE - 1))
#define PAGE_UP(x) PAGE_DOWN((x) + PAGE - 1)

// Layouts in Format.swift; sizes, magics and flags from payload_format.h, which PayloadFormat reads too.
enum { trailer_size = BUNDLE_TRAILER_SIZE, record_size = BUNDLE_STAGE_RECORD_SIZE };
#define LOADER_NAME "ld-linux-x86-64.so.2"
enum { max_libraries = 16 };

static const char *program = "app";  // argv[0], as the launcher names itself in errors

// The launcher's two kinds of error, with its words and exit codes (LauncherError).
__attribute__((noreturn)) static void fail(int status, const char *what, const char *format, va_list arguments) {
    char why[512];
    vsnprintf(why, sizeof why, format, arguments);
    dprintf(2, "%s%s%s\n", program, what, why);
    _exit(status);
}

__attribute__((noreturn, format(printf, 1, 2))) static void damaged(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fail(65, " is damaged: ", format, arguments);
}

__attribute__((noreturn, format(printf, 1, 2))) static void cannot_start(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fail(69, ": cannot start: ", format, arguments);
}

static uint64_t u64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t u32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }

// CRC-32 as zlib computes it (PayloadFormat's Checksum.crc32).
static uint32_t crc32(const unsigned char *bytes, size_t length) {
    static uint32_t table[256];
    if (table[1] == 0) {
        for (uint32_t n = 0; n < 256; n++) {
            uint32_t c = n;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
    }
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static int pread_all(int fd, void *buffer, size_t length, off_t at) {
    size_t done = 0;
    while (done < length) {
        ssize_t got = pread(fd, (char *)buffer + done, length - done, at + (off_t)done);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1;
        done += (size_t)got;
    }
    return 0;
}

// MARK: - The output file

struct layout {
    uint64_t file_size;
    uint64_t launcher_offset;
    uint32_t launcher_storage;  // BUNDLE_LAUNCHER_MAPPED from the file, or BUNDLE_LAUNCHER_ZSTD
    uint64_t base_offset, base_size, base_uncompressed;
    uint32_t base_crc;
    unsigned char base_digest[32];
};

// Reads the trailer and the stage record before it, checked as the launcher checks them.
static struct layout read_layout(int fd) {
    struct stat info;
    if (fstat(fd, &info) != 0) cannot_start("cannot stat its own executable: %s", strerror(errno));
    struct layout out = {.file_size = (uint64_t)info.st_size};
    unsigned char tail[record_size + trailer_size];
    if (out.file_size < sizeof tail || pread_all(fd, tail, sizeof tail, (off_t)(out.file_size - sizeof tail)) != 0 ||
        memcmp(tail + record_size + 112, BUNDLE_TRAILER_END_MAGIC, 8) != 0)
        damaged("truncated (no bundle trailer at the end of the file)");
    const unsigned char *trailer = tail + record_size, *record = tail;
    if (memcmp(trailer, BUNDLE_TRAILER_MAGIC, 8) != 0) damaged("corrupt (trailer start magic is wrong)");
    uint16_t version = (uint16_t)(trailer[8] | trailer[9] << 8), flags = (uint16_t)(trailer[10] | trailer[11] << 8);
    if (version != BUNDLE_FORMAT_VERSION) damaged("written by a newer bundle (format version %u)", version);
    if (u32(trailer + 104) != crc32(trailer, 104)) damaged("corrupt (trailer checksum mismatch)");
    if (flags & ~(BUNDLE_FLAG_SELF_CONTAINED | BUNDLE_FLAG_RUNTIME_ZSTD | BUNDLE_FLAG_APP_ZSTD | BUNDLE_FLAG_PORTABLE))
        damaged("corrupt (unknown trailer flags)");
    if (!(flags & BUNDLE_FLAG_PORTABLE)) damaged("corrupt (the trailer describes no first stage)");

    if (memcmp(record, BUNDLE_STAGE_RECORD_MAGIC, 8) != 0) damaged("corrupt (stage record magic is wrong)");
    if (u32(record + 80) != crc32(record, 80)) damaged("corrupt (stage record checksum mismatch)");
    out.launcher_offset = u64(record + 8);
    out.base_offset = u64(record + 16);
    out.base_size = u64(record + 24);
    out.base_uncompressed = u64(record + 32);
    out.base_crc = u32(record + 40);
    out.launcher_storage = u32(record + 44);
    memcpy(out.base_digest, record + 48, 32);
    if (out.launcher_storage != BUNDLE_LAUNCHER_MAPPED && out.launcher_storage != BUNDLE_LAUNCHER_ZSTD)
        damaged("corrupt (launcher storage is unknown)");
    uint64_t end = out.file_size - sizeof tail;
    if (out.launcher_offset % PAGE != 0 || out.base_offset <= out.launcher_offset || out.base_offset > end ||
        out.base_size == 0 || out.base_size > end - out.base_offset || out.base_uncompressed > (1u << 30))
        damaged("truncated (base section extends past the end of the file)");
    return out;
}

// MARK: - Loading an ELF program as the kernel does

struct image {
    uintptr_t base;  // load bias: address = base + p_vaddr
    uintptr_t end;   // base + the highest segment end, page-aligned
    Elf64_Ehdr header;
    Elf64_Phdr segments[32];
};

// Maps the x86-64 position-independent ELF at offset `at` of `fd` (at most `size` bytes),
// every segment writable for now (`protect` applies the real permissions once the
// caller has patched it), and `spare` pages right after it for the caller's use.
static int map_elf(int fd, uint64_t at, uint64_t size, size_t spare, struct image *image) {
    Elf64_Ehdr *h = &image->header;
    if (size < sizeof *h || pread_all(fd, h, sizeof *h, (off_t)at) != 0 || memcmp(h->e_ident, ELFMAG, SELFMAG) != 0 ||
        h->e_ident[EI_CLASS] != ELFCLASS64 || h->e_machine != EM_X86_64 || h->e_type != ET_DYN ||
        h->e_phentsize != sizeof(Elf64_Phdr) || h->e_phnum == 0 || h->e_phnum > 32 ||
        h->e_phoff > size - h->e_phnum * sizeof(Elf64_Phdr) ||
        pread_all(fd, image->segments, h->e_phnum * sizeof(Elf64_Phdr), (off_t)(at + h->e_phoff)) != 0)
        return -1;
    uintptr_t low = UINTPTR_MAX, high = 0;
    for (int i = 0; i < h->e_phnum; i++) {
        const Elf64_Phdr *p = &image->segments[i];
        if (p->p_type != PT_LOAD) continue;
        if (p->p_filesz > p->p_memsz || p->p_offset > size || p->p_filesz > size - p->p_offset ||
            p->p_offset % PAGE != p->p_vaddr % PAGE || p->p_memsz > (1ul << 32))
            return -1;
        if (PAGE_DOWN(p->p_vaddr) < low) low = PAGE_DOWN(p->p_vaddr);
        if (PAGE_UP(p->p_vaddr + p->p_memsz) > high) high = PAGE_UP(p->p_vaddr + p->p_memsz);
    }
    if (high <= low) return -1;
    // One reservation for the whole image, so the segments keep their distances.
    char *reserved = mmap(NULL, high - low + spare * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (reserved == MAP_FAILED) return -1;
    image->base = (uintptr_t)reserved - low;
    image->end = image->base + high;
    for (int i = 0; i < h->e_phnum; i++) {
        const Elf64_Phdr *p = &image->segments[i];
        if (p->p_type != PT_LOAD) continue;
        uintptr_t start = image->base + PAGE_DOWN(p->p_vaddr);
        uintptr_t file_end = image->base + p->p_vaddr + p->p_filesz, memory_end = image->base + p->p_vaddr + p->p_memsz;
        if (p->p_filesz != 0 && mmap((void *)start, PAGE_UP(file_end) - start, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_FIXED, fd, (off_t)(at + PAGE_DOWN(p->p_offset))) == MAP_FAILED)
            return -1;
        if (memory_end > file_end) {  // .bss: zero the rest of its first page, then anonymous pages
            if (p->p_filesz != 0) memset((void *)file_end, 0, PAGE_UP(file_end) - file_end);
            uintptr_t anonymous = p->p_filesz != 0 ? PAGE_UP(file_end) : start;
            if (PAGE_UP(memory_end) > anonymous &&
                mmap((void *)anonymous, PAGE_UP(memory_end) - anonymous, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
                return -1;
        }
    }
    if (spare != 0 && mmap((void *)image->end, spare * PAGE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
        return -1;
    return 0;
}

static void protect(const struct image *image) {
    for (int i = 0; i < image->header.e_phnum; i++) {
        const Elf64_Phdr *p = &image->segments[i];
        if (p->p_type != PT_LOAD) continue;
        int prot = (p->p_flags & PF_R ? PROT_READ : 0) | (p->p_flags & PF_W ? PROT_WRITE : 0) |
                   (p->p_flags & PF_X ? PROT_EXEC : 0);
        uintptr_t start = image->base + PAGE_DOWN(p->p_vaddr);
        if (mprotect((void *)start, PAGE_UP(image->base + p->p_vaddr + p->p_memsz) - start, prot) != 0)
            cannot_start("cannot protect the launcher's memory: %s", strerror(errno));
    }
}

static Elf64_Phdr *segment(struct image *image, uint32_t type) {
    for (int i = 0; i < image->header.e_phnum; i++)
        if (image->segments[i].p_type == type) return &image->segments[i];
    return NULL;
}

// MARK: - The base libraries

struct library {
    char name[64];
    char path[PATH_MAX];  // what the loader opens
    int fd;               // a memory file, kept open for the life of the process; or -1
};

static struct library libraries[max_libraries];
static int library_count;

static struct library *library_named(const char *name) {
    for (int i = 0; i < library_count; i++)
        if (strcmp(libraries[i].name, name) == 0) return &libraries[i];
    return NULL;
}

static int is_private_directory(const char *path) {
    struct stat info;
    return lstat(path, &info) == 0 && S_ISDIR(info.st_mode) && info.st_uid == getuid() && (info.st_mode & 022) == 0;
}

// Whether `directory` (a cache directory) holds what its manifest promises: the checks
// of its twin CacheDirectory.validate (private directories, regular files of ours that
// others cannot write, of the recorded size, inode and modification time; PortableTests
// checks the stage accepts what the launcher made), and only flat file names, as the
// launcher writes the base libraries. Fills `libraries`.
static int use_cache_directory(const char *base, const char *directory) {
    char path[PATH_MAX], manifest[16384];
    struct statvfs mount;
    if (!is_private_directory(base) || !is_private_directory(directory) ||
        snprintf(path, sizeof path, "%s/files", directory) >= (int)sizeof path || !is_private_directory(path) ||
        statvfs(path, &mount) != 0 || (mount.f_flag & ST_NOEXEC))
        return 0;
    snprintf(path, sizeof path, "%s/manifest", directory);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t length = read(fd, manifest, sizeof manifest - 1);
    close(fd);
    if (length <= 0 || length == (ssize_t)sizeof manifest - 1) return 0;
    manifest[length] = 0;

    char *line = manifest, *next = strchr(line, '\n');
    if (next == NULL) return 0;
    *next = 0;
    if (strcmp(line, BUNDLE_CACHE_MANIFEST_HEADER) != 0) return 0;
    library_count = 0;
    for (line = next + 1; *line != 0; line = next + 1) {
        if ((next = strchr(line, '\n')) == NULL || library_count == max_libraries) return 0;
        *next = 0;
        unsigned kind;
        unsigned long long size, inode;
        char time[64], name[64];
        struct stat info;
        if (sscanf(line, "%u %llu %llu %63s %63s", &kind, &size, &inode, time, name) != 5 || strchr(name, '/') ||
            name[0] == '.' ||
            snprintf(path, sizeof path, "%s/files/%s", directory, name) >= (int)sizeof path || lstat(path, &info) != 0 ||
            !S_ISREG(info.st_mode) || info.st_uid != getuid() || (info.st_mode & 022) != 0 ||
            (unsigned long long)info.st_size != size || (unsigned long long)info.st_ino != inode)
            return 0;
        char recorded[64];
        snprintf(recorded, sizeof recorded, "%lld.%ld", (long long)info.st_mtim.tv_sec, info.st_mtim.tv_nsec);
        if (strcmp(recorded, time) != 0) return 0;
        struct library *library = &libraries[library_count++];
        snprintf(library->name, sizeof library->name, "%s", name);
        snprintf(library->path, sizeof library->path, "%s", path);
        library->fd = -1;
    }
    return library_named(LOADER_NAME) != NULL;
}

// base-<digest> in the first cache folder that has a valid one, the folders in the
// launcher's order (cache_rules.h).
static int find_cache_directory(const struct layout *layout, char *directory) {
    char name[80] = "base-";
    for (int i = 0; i < 32; i++) snprintf(name + 5 + 2 * i, 3, "%02x", layout->base_digest[i]);
    static char bases[BUNDLE_CACHE_BASES_MAX * PATH_MAX];
    const char *base = bases;
    for (int count = bundle_cache_bases(bases, sizeof bases); count > 0; count--, base += strlen(base) + 1) {
        if (snprintf(directory, PATH_MAX, "%s/%s", base, name) < PATH_MAX && use_cache_directory(base, directory)) return 1;
    }
    return 0;
}

// A descriptor above the standard three: a memory file made while stdin, stdout or
// stderr is closed must not take its place (node opens /dev/null for those).
static int above_standard(int fd) {
    if (fd < 0 || fd > 2) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return moved;
}

// No usable cache directory: inflates the base section (a zstd archive, "Archive" in
// Format.swift) into one memory file per library.
static void use_memory_files(int self, const struct layout *layout) {
    uint64_t skip = layout->base_offset % PAGE;
    unsigned char *mapped = mmap(NULL, layout->base_size + skip, PROT_READ, MAP_PRIVATE, self,
                                 (off_t)(layout->base_offset - skip));
    if (mapped == MAP_FAILED) cannot_start("cannot map its own executable: %s", strerror(errno));
    const unsigned char *section = mapped + skip;
    if (crc32(section, layout->base_size) != layout->base_crc) damaged("base section checksum mismatch");
    size_t size = layout->base_uncompressed;
    unsigned char *archive = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (archive == MAP_FAILED) cannot_start("out of memory");
    size_t inflated = ZSTD_decompress(archive, size, section, layout->base_size);
    if (ZSTD_isError(inflated) || inflated != size) damaged("base section: corrupt (zstd stream)");
    munmap(mapped, layout->base_size + skip);

    if (size < BUNDLE_ARCHIVE_HEADER_SIZE || memcmp(archive, BUNDLE_ARCHIVE_MAGIC, 8) != 0 ||
        u32(archive + 8) != BUNDLE_ARCHIVE_VERSION)
        damaged("base section: corrupt (archive header)");
    uint64_t count = u32(archive + 12), cursor = BUNDLE_ARCHIVE_HEADER_SIZE + (uint64_t)u32(archive + 16);
    if (count > max_libraries) damaged("base section: corrupt (%llu entries)", (unsigned long long)count);
    library_count = 0;
    for (uint64_t i = 0; i < count; i++) {
        if (cursor > size || size - cursor < BUNDLE_ENTRY_RECORD_SIZE) damaged("base section: truncated (entry records)");
        const unsigned char *entry = archive + cursor;
        uint64_t name_length = u32(entry + 4), offset = u64(entry + 8), length = u64(entry + 16);
        cursor += BUNDLE_ENTRY_RECORD_SIZE;
        struct library *library = &libraries[library_count++];
        if (name_length == 0 || name_length >= sizeof library->name || name_length > size - cursor ||
            offset > size || length > size - offset)
            damaged("base section: corrupt (entry %llu)", (unsigned long long)i);
        memcpy(library->name, archive + cursor, name_length);
        library->name[name_length] = 0;
        cursor += name_length;
        if (strchr(library->name, '/') != NULL) damaged("base section: corrupt (entry %s)", library->name);

        library->fd = above_standard(memfd_create(library->name, MFD_CLOEXEC));
        if (library->fd < 0) cannot_start("cannot create an in-memory file for %s: %s", library->name, strerror(errno));
        for (uint64_t done = 0; done < length;) {
            ssize_t written = write(library->fd, archive + offset + done, length - done);
            if (written < 0 && errno == EINTR) continue;
            if (written <= 0) cannot_start("cannot fill the in-memory file for %s: %s", library->name, strerror(errno));
            done += (uint64_t)written;
        }
        snprintf(library->path, sizeof library->path, "/proc/self/fd/%d", library->fd);
    }
    munmap(archive, size ? size : 1);
    struct library *loader = library_named(LOADER_NAME);
    if (loader == NULL) damaged("base section: corrupt (no %s)", LOADER_NAME);
    // The loader itself is mapped from its descriptor, but it opens the others by name.
    if (access(loader->path, R_OK) != 0)
        cannot_start("no cache directory is usable and /proc is not mounted, so the carried C library cannot be "
                     "loaded from memory");
}

// MARK: - A compressed launcher

// The launcher stored as one zstd frame (the one-file `bundle`, whose executable is 20
// MB): inflated into a memory file, which `map_elf` then maps as it maps the file. The
// frame must record its content size and checksum, so damage is found here, before
// anything of it runs. Returns the memory file; `size` becomes the ELF's size.
static int inflate_launcher(int self, const struct layout *layout, uint64_t *size) {
    uint64_t compressed = layout->base_offset - layout->launcher_offset;
    unsigned char *section = mmap(NULL, compressed, PROT_READ, MAP_PRIVATE, self, (off_t)layout->launcher_offset);
    if (section == MAP_FAILED) cannot_start("cannot map its own executable: %s", strerror(errno));
    unsigned long long length = ZSTD_getFrameContentSize(section, compressed);
    if (compressed < 5 || u32(section) != ZSTD_MAGICNUMBER || !(section[4] & 4) ||
        ZSTD_findFrameCompressedSize(section, compressed) != compressed || length == ZSTD_CONTENTSIZE_UNKNOWN ||
        length == ZSTD_CONTENTSIZE_ERROR || length == 0 || length > (1u << 30))
        damaged("corrupt (the compressed executable is not one checksummed zstd frame)");
    int fd = above_standard(memfd_create("launcher", MFD_CLOEXEC));
    if (fd < 0 || ftruncate(fd, (off_t)length) != 0)
        cannot_start("cannot create an in-memory file for the launcher: %s", strerror(errno));
    unsigned char *elf = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (elf == MAP_FAILED) cannot_start("out of memory");
    size_t inflated = ZSTD_decompress(elf, length, section, compressed);
    if (ZSTD_isError(inflated) || inflated != length) damaged("corrupt (the compressed executable: %s)",
                                                              ZSTD_isError(inflated) ? ZSTD_getErrorName(inflated) : "short");
    munmap(elf, length);
    munmap(section, compressed);
    *size = length;
    return fd;
}

// MARK: - Pointing the launcher at the carried libraries

// Strings the patched launcher refers to, on the spare page right after its image:
// the dynamic section's string offsets are unsigned distances from DT_STRTAB, which
// lies below.
struct strings {
    char *next, *end;
};

static uintptr_t add_string(struct strings *strings, const char *text) {
    size_t length = strlen(text) + 1;
    if ((size_t)(strings->end - strings->next) < length) cannot_start("library paths are too long");
    memcpy(strings->next, text, length);
    strings->next += length;
    return (uintptr_t)(strings->next - length);
}

// Every DT_NEEDED naming a carried library becomes that library's path (a name with a
// slash is opened as it is, never searched for, so a host library cannot stand in);
// with a cache directory, DT_RUNPATH becomes DT_RPATH naming it (DT_RPATH, unlike
// DT_RUNPATH, also serves the dependencies of dependencies and dlopen from libraries
// without their own search path: the libpthread, libdl, librt and libutil stubs that
// addons built for older systems ask for); PT_INTERP names the loader that really runs
// (it becomes the loader's name in the link map: debuggers find it there).
static void patch_launcher(struct image *launcher, struct strings *strings, const char *directory) {
    Elf64_Phdr *dynamic_segment = segment(launcher, PT_DYNAMIC), *interpreter = segment(launcher, PT_INTERP);
    if (dynamic_segment == NULL || interpreter == NULL) damaged("corrupt (the launcher is not dynamically linked)");
    Elf64_Dyn *dynamic = (Elf64_Dyn *)(launcher->base + dynamic_segment->p_vaddr);
    uintptr_t table = 0, versions = 0, version_count = 0;
    for (Elf64_Dyn *d = dynamic; d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_STRTAB) table = launcher->base + d->d_un.d_ptr;
        if (d->d_tag == DT_VERNEED) versions = launcher->base + d->d_un.d_ptr;
        if (d->d_tag == DT_VERNEEDNUM) version_count = d->d_un.d_val;
    }
    if (table == 0 || table >= (uintptr_t)strings->next) damaged("corrupt (the launcher has no string table)");
    uintptr_t paths[max_libraries] = {0};  // each library's path, as a string table offset
    for (Elf64_Dyn *d = dynamic; d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_NEEDED) {
            struct library *library = library_named((const char *)(table + d->d_un.d_val));
            if (library == NULL) continue;
            uintptr_t *path = &paths[library - libraries];
            if (*path == 0) *path = add_string(strings, library->path) - table;
            d->d_un.d_val = *path;
        } else if ((d->d_tag == DT_RUNPATH || d->d_tag == DT_RPATH) && directory != NULL) {
            d->d_tag = DT_RPATH;
            d->d_un.d_val = add_string(strings, directory) - table;
        }
    }
    // Symbol versions name the library they come from too, and the loader finds it by
    // the name it was loaded under.
    Elf64_Verneed *need = (Elf64_Verneed *)versions;
    for (uintptr_t i = 0; need != NULL && i < version_count; i++) {
        struct library *library = library_named((const char *)(table + need->vn_file));
        if (library != NULL && paths[library - libraries] != 0) need->vn_file = (Elf64_Word)paths[library - libraries];
        need = need->vn_next != 0 ? (Elf64_Verneed *)((char *)need + need->vn_next) : NULL;
    }
    // The program headers are in the first segment, mapped from the file but private.
    Elf64_Phdr *mapped = (Elf64_Phdr *)(launcher->base + segment(launcher, PT_PHDR)->p_vaddr);
    for (int i = 0; i < launcher->header.e_phnum; i++) {
        if (mapped[i].p_type != PT_INTERP) continue;
        uintptr_t name = add_string(strings, library_named(LOADER_NAME)->path);
        mapped[i].p_vaddr = mapped[i].p_paddr = name - launcher->base;
        mapped[i].p_filesz = mapped[i].p_memsz = strlen((const char *)name) + 1;
    }
}

// MARK: - Old container runtimes

// The carried C library creates threads with clone3 and falls back to clone only when
// the kernel says ENOSYS. The seccomp profiles of Docker before 20.10.10 (and of other
// runtimes of that age) answer EPERM instead, so node would abort at its first thread.
// A real kernel answers this probe (no arguments) EINVAL, an old one ENOSYS; only such
// a filter says EPERM. Then a filter of our own makes clone3 say ENOSYS (of equal
// actions, the newest filter's errno wins). Installing it needs no_new_privs, which
// children inherit: setuid programs they run get no privileges. Only here, where the
// alternative is not running at all.
static void let_threads_fall_back_to_clone(void) {
    if (syscall(SYS_clone3, NULL, 0) != -1 || errno != EPERM) return;
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = {sizeof filter / sizeof filter[0], filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0)
        cannot_start("threads cannot be created here (clone3 is refused with EPERM, as by Docker before 20.10.10) "
                     "and no filter could be installed to make it fall back: %s", strerror(errno));
}

// MARK: - Start

// finish(entry, stack, start, length): the last instructions, run from a copy outside
// this program's image. They unmap this program (no fixed-address code stays behind in
// the app's process), then start the loader the way the kernel starts a program: the
// stack pointer at argc, rdx 0 (no finalizer to register). `syscall` clobbers only rcx
// and r11.
extern const char finish_code[], finish_code_end[];
__asm__(".pushsection .rodata\n"
        "finish_code:\n"
        "  mov %rdi, %r12\n"
        "  mov %rsi, %r13\n"
        "  mov %rdx, %rdi\n"
        "  mov %rcx, %rsi\n"
        "  mov $11, %eax\n"  // SYS_munmap
        "  syscall\n"
        "  mov %r13, %rsp\n"
        "  xor %edx, %edx\n"
        "  jmp *%r12\n"
        "finish_code_end:\n"
        ".popsection\n");

int main(int argc, char **argv, char **envp) {
    if (argc > 0) program = argv[0];
    int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (self < 0 && getauxval(AT_EXECFN) != 0) self = open((const char *)getauxval(AT_EXECFN), O_RDONLY | O_CLOEXEC);
    if (self < 0) cannot_start("cannot open its own executable: %s", strerror(errno));
    struct layout layout = read_layout(self);
    let_threads_fall_back_to_clone();

    static char directory[PATH_MAX], files[PATH_MAX];
    int cached = find_cache_directory(&layout, directory);
    if (cached) snprintf(files, sizeof files, "%s/files", directory);
    else use_memory_files(self, &layout);

    // Two spare pages after the launcher hold the paths it is patched to name.
    struct image launcher, loader;
    uint64_t launcher_at = layout.launcher_offset, launcher_size = layout.base_offset - layout.launcher_offset;
    int launcher_fd = self;
    if (layout.launcher_storage == BUNDLE_LAUNCHER_ZSTD) {
        launcher_fd = inflate_launcher(self, &layout, &launcher_size);
        launcher_at = 0;
    }
    if (map_elf(launcher_fd, launcher_at, launcher_size, 2, &launcher) != 0 || segment(&launcher, PT_PHDR) == NULL)
        damaged("corrupt (the launcher is not an x86-64 position-independent program)");
    if (launcher_fd != self) close(launcher_fd);
    close(self);
    struct strings strings = {(char *)launcher.end, (char *)launcher.end + 2 * PAGE};
    patch_launcher(&launcher, &strings, cached ? files : NULL);
    protect(&launcher);
    mprotect((void *)launcher.end, 2 * PAGE, PROT_READ);

    struct library *loader_file = library_named(LOADER_NAME);
    int loader_fd = loader_file->fd >= 0 ? loader_file->fd : open(loader_file->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat loader_info;
    if (loader_fd < 0 || fstat(loader_fd, &loader_info) != 0 ||
        map_elf(loader_fd, 0, (uint64_t)loader_info.st_size, 0, &loader) != 0)
        cannot_start("cannot load %s", loader_file->path);
    if (loader_file->fd < 0) close(loader_fd);
    protect(&loader);

    // This program's own image, to unmap at the end (read before auxv is rewritten).
    // Its ELF header is mapped where the segment at file offset 0 starts.
    extern const char __ehdr_start[];
    const Elf64_Phdr *own = (const Elf64_Phdr *)getauxval(AT_PHDR);
    uintptr_t own_low = UINTPTR_MAX, own_high = 0, bias = 0;
    for (unsigned long i = 0; i < getauxval(AT_PHNUM); i++)
        if (own[i].p_type == PT_LOAD && own[i].p_offset == 0) bias = (uintptr_t)__ehdr_start - own[i].p_vaddr;
    for (unsigned long i = 0; i < getauxval(AT_PHNUM); i++) {
        if (own[i].p_type != PT_LOAD) continue;
        if (bias + PAGE_DOWN(own[i].p_vaddr) < own_low) own_low = bias + PAGE_DOWN(own[i].p_vaddr);
        if (bias + PAGE_UP(own[i].p_vaddr + own[i].p_memsz) > own_high) own_high = bias + PAGE_UP(own[i].p_vaddr + own[i].p_memsz);
    }

    // What the kernel would have told the loader had it loaded the launcher itself; the
    // auxiliary vector follows the environment on the kernel's stack.
    char **end = envp;
    while (*end != NULL) end++;
    // Started setuid or setcap (AT_SECURE), this C library took the variables it deems
    // unsafe (TMPDIR, LD_*, ...) out of the environment by moving the rest down over the
    // kernel's array, leaving one NULL per variable before the auxiliary vector; the
    // loader looks for the vector right after the environment's NULL, and would find it
    // empty. Move it back there (its first entry is never AT_NULL). getauxval is not
    // called past this point: it reads the vector where it was.
    char **vector = end + 1;
    while (*vector == NULL) vector++;
    if (vector != end + 1) {
        size_t entries = 1;
        while (((Elf64_auxv_t *)vector)[entries - 1].a_type != AT_NULL) entries++;
        memmove(end + 1, vector, entries * sizeof(Elf64_auxv_t));
    }
    for (Elf64_auxv_t *a = (Elf64_auxv_t *)(end + 1); a->a_type != AT_NULL; a++) {
        switch (a->a_type) {
        case AT_PHDR: a->a_un.a_val = launcher.base + segment(&launcher, PT_PHDR)->p_vaddr; break;
        case AT_PHNUM: a->a_un.a_val = launcher.header.e_phnum; break;
        case AT_PHENT: a->a_un.a_val = sizeof(Elf64_Phdr); break;
        case AT_ENTRY: a->a_un.a_val = launcher.base + launcher.header.e_entry; break;
        case AT_BASE: a->a_un.a_val = loader.base; break;
        }
    }

    // This C library registered the thread's rseq area; the launcher's registers its
    // own, which the kernel refuses while another is registered. Unregistering takes the
    // length registered: 32 bytes here, whatever __rseq_size (20) says.
    if (__rseq_size > 0)
        syscall(SYS_rseq, (char *)__builtin_thread_pointer() + __rseq_offset, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);

    char *finish = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (finish == MAP_FAILED) cannot_start("out of memory");
    memcpy(finish, finish_code, (size_t)(finish_code_end - finish_code));
    if (mprotect(finish, PAGE, PROT_READ | PROT_EXEC) != 0) cannot_start("cannot start the loader: %s", strerror(errno));
    ((void (*)(uintptr_t, void *, uintptr_t, size_t))finish)(loader.base + loader.header.e_entry, (long *)argv - 1,
                                                              own_low, own_high - own_low);
    __builtin_unreachable();
}

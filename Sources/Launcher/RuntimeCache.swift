import CLauncherSupport
import Glibc
import PayloadFormat

/// Makes the runtime section's files available and loads them: the embedding shim and,
/// in self-contained outputs, libnode, its libraries and the builtin JS files libnode
/// reads from fixed absolute paths.
///
/// The section is extracted once into a per-user cache directory named by its digest,
/// so later starts only check a small manifest (every file there, ours, not writable
/// by others, of its recorded size: a truncated file is noticed and the directory
/// rebuilt). Extraction goes to a private temporary directory that is renamed into
/// place when complete, so a crash leaves no half cache; a lock file makes concurrent
/// cold starts extract once while the others wait. Builtins are not written to their
/// absolute paths: the launcher's `open` interposer (CLauncherSupport) serves them
/// from the cache. When no cache directory is usable (read-only file system, no HOME,
/// a noexec mount) the libraries are loaded from memory files (memfd) and the builtins
/// served from memory. `BUNDLE_RUNTIME_CACHE=off` in the environment forces that
/// fallback (for tests and for machines where writing a cache is unwanted).
struct RuntimeCache {
    /// One file of the runtime, as the manifest records it. `path` is relative to the
    /// directory's `files/`; a builtin's absolute path is "/" + `path`.
    struct File: Equatable {
        let kind: EntryKind
        let size: Int
        let path: String
    }

    static let manifestName = "manifest"
    static let manifestHeader = "bundle-runtime 1"

    let image: SelfImage
    let name: String

    init(image: SelfImage) {
        self.image = image
        name = "runtime-" + image.trailer.runtimeDigest.map { byte in
            let hex = Array("0123456789abcdef".utf8)
            return String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
        }.joined()
    }

    /// Loads every library in order, serves the builtins, and returns the shim's entry.
    func loadEmbedEntry() throws(LauncherError) -> UnsafeMutableRawPointer {
        if Disk.environment("BUNDLE_RUNTIME_CACHE") != "off" {
            for base in Self.candidateBases() {
                guard let directory = prepare(in: base) else { continue }
                let root = directory.path + "/files/"
                guard let entry = try? Self.load(directory.files.filter { $0.kind == .library }.map { root + $0.path }) else {
                    break  // e.g. a noexec mount statvfs did not report: memory will do
                }
                for file in directory.files where file.kind == .builtin {
                    guard launcher_serve_file("/" + file.path, root + file.path) == 0 else {
                        throw .runtime("cannot serve /\(file.path)")
                    }
                }
                serveCertificateBundle()
                return entry
            }
        }
        return try loadFromMemory()
    }

    /// Cache bases in order of preference. Each must be a directory private to us.
    static func candidateBases() -> [String] {
        var bases: [String] = []
        if let xdg = Disk.environment("XDG_CACHE_HOME"), xdg.hasPrefix("/") {
            bases.append(xdg + "/bundle")
        }
        if let home = Disk.environment("HOME"), home.hasPrefix("/") {
            bases.append(home + "/.cache/bundle")
        }
        let temporary = Disk.environment("TMPDIR").flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "/tmp"
        bases.append(temporary + "/bundle-\(getuid())")
        return bases
    }

    /// A valid runtime directory under `base`, extracting (or repairing) it if needed.
    private func prepare(in base: String) -> (path: String, files: [File])? {
        let parent = String(base.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
        if !parent.isEmpty, mkdir(parent, 0o700) != 0, errno != EEXIST { return nil }
        guard !Disk.isNoExec(parent.isEmpty ? "/" : parent), Disk.makePrivateDirectory(base) else { return nil }
        let path = base + "/" + name
        if let files = Self.validate(path) { return (path, files) }

        // One process extracts; the others wait for it, then find a valid directory.
        let lock = Disk.lock(base + "/.lock-" + name)
        defer { Disk.unlock(lock) }
        if let files = Self.validate(path) { return (path, files) }
        if lock >= 0 {
            // Left by a process that died extracting or repairing this runtime.
            for stale in Disk.names(in: base) where stale.hasPrefix(".extract-\(name)-") || stale.hasPrefix(".broken-\(name)-") {
                Disk.removeTree(base + "/" + stale)
            }
        }
        if Disk.lstatus(path) != nil {
            // Damaged or tampered with: move it aside atomically, then rebuild.
            let aside = base + "/.broken-\(name)-\(getpid())"
            guard rename(path, aside) == 0 || errno == ENOENT else { return nil }
            Disk.removeTree(aside)
        }
        guard extract(into: base) else { return nil }
        return Self.validate(path).map { (path, $0) }
    }

    /// Reads the manifest and checks every file it names is there, a regular file (no
    /// symlink anywhere below `path`), ours, not writable by others, and of its size.
    static func validate(_ path: String) -> [File]? {
        guard Disk.isPrivateDirectory(path), let text = Disk.readSmallFile(path + "/" + manifestName) else { return nil }
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n")
        guard lines.first == Substring(manifestHeader) else { return nil }
        var files: [File] = []
        var checkedDirectories: Set<String> = []
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ", maxSplits: 2)
            guard fields.count == 3, let raw = UInt8(fields[0]), let kind = EntryKind(rawValue: raw),
                  let size = Int(fields[1]) else { return nil }
            let file = File(kind: kind, size: size, path: String(fields[2]))
            guard (try? ArchiveWriter.validate(path: file.path, kind: .file)) != nil else { return nil }
            var directories = [path + "/files"]
            for part in file.path.split(separator: "/").dropLast() { directories.append(directories.last! + "/" + part) }
            for directory in directories where checkedDirectories.insert(directory).inserted {
                guard Disk.isPrivateDirectory(directory) else { return nil }
            }
            guard let info = Disk.lstatus(path + "/files/" + file.path), (info.st_mode & S_IFMT) == S_IFREG,
                  info.st_uid == getuid(), (info.st_mode & 0o022) == 0, Int(info.st_size) == size else { return nil }
            files.append(file)
        }
        return files
    }

    /// Inflates the section into a fresh private directory and renames it into place.
    private func extract(into base: String) -> Bool {
        guard let (buffer, archive) = try? inflatedArchive() else { return false }
        defer { buffer.deallocate() }
        var template = Array((base + "/.extract-\(name)-XXXXXX").utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { return false }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var manifest = Self.manifestHeader + "\n"
        for (file, entry) in Self.orderedFiles(archive) {
            let target = temporary + "/files/" + file.path
            guard Disk.makeParents(of: target, under: temporary),
                  Disk.writeFile(target, entry.data, mode: 0o500) else {
                Disk.removeTree(temporary)
                return false
            }
            manifest += "\(file.kind.rawValue) \(file.size) \(file.path)\n"
        }
        let written = manifest.utf8.withContiguousStorageIfAvailable {
            Disk.writeFile(temporary + "/" + Self.manifestName, UnsafeRawBufferPointer($0), mode: 0o400)
        } ?? false
        if !written || rename(temporary, base + "/" + name) != 0 {
            // Another process may have won the race; its directory is as good as ours.
            Disk.removeTree(temporary)
        }
        return true
    }

    /// Libraries in load order (the runtime archive's metadata), then everything else,
    /// with their manifest records (relative paths: a builtin's leading "/" dropped).
    static func orderedFiles(_ archive: ArchiveReader) -> [(file: File, entry: ArchiveReader.Entry)] {
        let order = archive.metadataText.split(separator: "\n").map(String.init)
        func record(_ entry: ArchiveReader.Entry) -> (file: File, entry: ArchiveReader.Entry) {
            (File(kind: entry.kind, size: entry.data.count,
                  path: entry.path.hasPrefix("/") ? String(entry.path.dropFirst()) : entry.path), entry)
        }
        var files = order.compactMap { archive.entry($0).map(record) }
        for entry in archive.entries where !order.contains(entry.path) {
            files.append(record(entry))
        }
        return files
    }

    /// The inflated runtime archive, in memory the caller frees (or keeps for good).
    private func inflatedArchive() throws(LauncherError) -> (UnsafeRawBufferPointer, ArchiveReader) {
        let bytes = try image.inflate(image.trailer.runtime, name: "runtime")
        do {
            return (bytes, try ArchiveReader(bytes))
        } catch {
            bytes.deallocate()
            throw .damaged("runtime section: \(error.description)")
        }
    }

    /// No writable, private, executable cache anywhere (read-only root, no HOME, noexec
    /// /tmp): load each library from an anonymous memory file and serve the builtins
    /// from memory. Costs memory per process, leaves nothing behind.
    private func loadFromMemory() throws(LauncherError) -> UnsafeMutableRawPointer {
        let (_, archive) = try inflatedArchive()  // kept: the builtins are served from it
        var paths: [String] = []
        for (file, entry) in Self.orderedFiles(archive) {
            switch file.kind {
            case .library:
                let fd = launcher_memfd(file.path)
                guard fd >= 0, Disk.writeAll(fd, entry.data) else {
                    throw .runtime(systemError("cannot create an in-memory file for \(file.path)"))
                }
                paths.append("/proc/self/fd/\(fd)")
            case .builtin:
                guard launcher_serve_memory(entry.path, entry.data.baseAddress, entry.data.count) == 0 else {
                    throw .runtime("cannot serve \(entry.path)")
                }
            case .file, .bootstrap, .launchOptions:
                continue
            }
        }
        let entry = try Self.load(paths)
        serveCertificateBundle()
        return entry
    }

    /// Debian's libcrypto (packed in self-contained outputs) looks for the CA bundle at
    /// its OPENSSLDIR, /usr/lib/ssl/cert.pem, and Debian's node trusts that store (not a
    /// bundled copy). Other distributions keep the bundle elsewhere: serve the first one
    /// found at the Debian path, so HTTPS verifies against the system's CAs. Changes
    /// nothing where the file exists, or when SSL_CERT_FILE names another.
    private func serveCertificateBundle() {
        guard image.trailer.flags.contains(.selfContained), access(Self.opensslCertificateFile, R_OK) != 0 else { return }
        if let bundle = Self.certificateBundles.first(where: { access($0, R_OK) == 0 }) {
            _ = launcher_serve_file(Self.opensslCertificateFile, bundle)
        }
    }

    static let opensslCertificateFile = "/usr/lib/ssl/cert.pem"
    /// Where distributions keep their CA bundle (the list Go's crypto/x509 probes).
    static let certificateBundles = [
        "/etc/ssl/certs/ca-certificates.crt",  // Debian, Ubuntu, Arch, Gentoo
        "/etc/pki/tls/certs/ca-bundle.crt",  // Fedora, RHEL
        "/etc/ssl/ca-bundle.pem",  // openSUSE
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // RHEL 7+
        "/etc/pki/tls/cacert.pem",  // OpenELEC
        "/etc/ssl/cert.pem",  // Alpine
    ]

    private static func load(_ libraries: [String]) throws(LauncherError) -> UnsafeMutableRawPointer {
        var last: UnsafeMutableRawPointer?
        for library in libraries {
            guard let handle = dlopen(library, RTLD_NOW | RTLD_GLOBAL) else {
                throw .runtime(String(cString: dlerror()))
            }
            last = handle
        }
        guard let last, let entry = dlsym(last, "bundle_embed_run") else {
            throw .runtime("the runtime has no bundle_embed_run")
        }
        return entry
    }
}

import CLauncherSupport
import CLibc
import PayloadFormat

/// Makes the runtime section's files available and loads them: the embedding shim and,
/// in self-contained outputs, libnode, its libraries and the builtin JS files libnode
/// reads from fixed absolute paths.
///
/// The section is extracted once into a per-user cache directory named by its digest
/// (`CacheDirectory`). Builtins are not written to their absolute paths: the launcher's
/// `open` interposer (CLauncherSupport) serves them from the cache. When no cache
/// directory is usable (read-only file system, no HOME, a noexec mount, a setuid or
/// setcap start: `CacheDirectory.candidateBases`) the libraries
/// are loaded from memory files (memfd) and the builtins served from memory.
/// `BUNDLE_RUNTIME_CACHE=off` in the environment forces that fallback (for tests and
/// for machines where writing a cache is unwanted).
struct RuntimeCache {
    typealias File = CacheDirectory.File

    let image: SelfImage
    let directory: CacheDirectory

    init(image: SelfImage) {
        self.image = image
        directory = CacheDirectory(prefix: "runtime-", digest: image.trailer.runtimeDigest)
    }

    /// The shim's entry, and the startup snapshot when there is one.
    struct Loaded {
        var entry: UnsafeMutableRawPointer
        var snapshot: String?
    }

    /// Loads every library in order, serves the builtins, and returns the shim's entry.
    /// `makingSnapshot`: make the startup snapshot where the runtime is extracted (node 18).
    func loadEmbedEntry(makingSnapshot: Bool) throws(LauncherError) -> Loaded {
        var derive: CacheDirectory.Derive?
        if makingSnapshot, image.trailer.flags.contains(.selfContained) {
            derive = { root, extracted in Self.makeSnapshot(filesRoot: root, extracted: extracted) }
        }
        for base in CacheDirectory.candidateBases() {
            guard let directory = self.directory.prepare(in: base, contents: extractableFiles, derive: derive) else { continue }
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
            let snapshot = directory.files.contains { $0.kind == .file && $0.path == Self.snapshotName }
            return Loaded(entry: entry, snapshot: snapshot ? root + Self.snapshotName : nil)
        }
        return Loaded(entry: try loadFromMemory(), snapshot: nil)
    }

    /// The startup snapshot of the packed libnode (see "Startup snapshot" in embed.cc).
    /// Made where the runtime is extracted, not at bundle time: node 18's snapshots differ
    /// from one making to the next (random hash seeds), and outputs must not. Costs the
    /// first start of a runtime version ~0.2 s; without a cache directory (memory files)
    /// node bootstraps without one.
    static let snapshotName = "startup.blob"

    static func makeSnapshot(filesRoot: String, extracted: [File]) -> [String] {
        let root = filesRoot + "/"
        let libraries = extracted.filter { $0.kind == .library }.map { root + $0.path }
        let builtins = extracted.filter { $0.kind == .builtin }
        let made = withCStrings(libraries) { libraryPaths in
            withCStrings(builtins.map { "/" + $0.path }) { virtualPaths in
                withCStrings(builtins.map { root + $0.path }) { realPaths in
                    launcher_build_snapshot(libraryPaths, Int32(libraries.count), virtualPaths, realPaths,
                                            Int32(builtins.count), root + snapshotName)
                }
            }
        }
        return made == 0 ? [snapshotName] : []
    }

    /// `strings` as a C array of C strings (NULL-terminated), valid during `body`.
    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = strings.map { UnsafePointer(strdup($0)) } + [nil]
        defer { for copy in copies { free(UnsafeMutablePointer(mutating: copy)) } }
        return copies.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// The inflated section's files, for a cache directory being extracted.
    private func extractableFiles() -> (files: CacheDirectory.Contents, release: () -> Void)? {
        guard let (buffer, archive) = try? inflatedArchive() else { return nil }
        return (Self.orderedFiles(archive).map { ($0.file, $0.entry.data) }, { buffer.deallocate() })
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
            case .file, .bootstrap, .launchOptions, .addon, .nativeIndex, .codeCache:
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
            _ = launcher_serve_system_file(Self.opensslCertificateFile, bundle)
        }
    }

    static let opensslCertificateFile = "/usr/lib/ssl/cert.pem"
    /// Where distributions keep their CA bundle (the list Go's crypto/x509 probes, and
    /// SUSE's own file). Often a link (Fedora, RHEL, Arch): followed, the system's own.
    static let certificateBundles = [
        "/etc/ssl/certs/ca-certificates.crt",  // Debian, Ubuntu, Arch, Gentoo, Alpine
        "/etc/pki/tls/certs/ca-bundle.crt",  // Fedora, RHEL
        "/etc/ssl/ca-bundle.pem",  // openSUSE
        "/var/lib/ca-certificates/ca-bundle.pem",  // SUSE (what /etc/ssl/ca-bundle.pem links to)
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // RHEL 7+
        "/etc/pki/tls/cacert.pem",  // OpenELEC
        "/etc/ssl/cert.pem",  // Alpine
    ]

    private static func load(_ libraries: [String]) throws(LauncherError) -> UnsafeMutableRawPointer {
        var last: UnsafeMutableRawPointer?
        for library in libraries {
            guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
                throw .runtime(String(cString: dlerror()))
            }
            last = handle
        }
        for library in libraries {
            _ = dlopen(library, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL)
        }
        guard let last, let entry = dlsym(last, "bundle_embed_run") else {
            throw .runtime("the runtime has no bundle_embed_run")
        }
        return entry
    }
}

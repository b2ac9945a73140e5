import CLauncherSupport
import CLibc
import PayloadFormat

/// Makes the app's native addons loadable (layout: "Native addons" in Format.swift).
///
/// The addons and the libraries they need are extracted once into the cache directory
/// `addons-<digest>`, next to the runtime's and with the same checks (`CacheDirectory`);
/// when no cache is usable they stay in memory, and each is copied into its own memfd
/// when first loaded. Nothing is loaded here: every addon is registered under its
/// virtual path with the launcher's `dlopen` (CLauncherSupport, "Native addons"), which
/// loads the libraries and then the addon when node first asks for one, in whichever
/// thread asks. An app that never requires its addon pays a manifest check.
enum NativeAddons {
    /// Where the bootstrap shows the app's files: node asks dlopen for an addon by this path.
    static let virtualRoot = Format.virtualRoot + "/"

    static func register(_ app: ArchiveReader) throws(LauncherError) {
        guard let indexEntry = app.entries.first(where: { $0.kind == .nativeIndex }) else { return }
        let index: NativeIndex
        do {
            index = try NativeIndex(decoding: indexEntry.data)
        } catch {
            throw .damaged("app section: \(error.description)")
        }
        var libraries: [ArchiveReader.Entry] = []
        for path in index.libraries {
            guard let entry = app.entry(path), entry.kind == .library else {
                throw .damaged("app section: the native index names \(path), which is not a library")
            }
            libraries.append(entry)
        }
        let addons = app.entries.filter { $0.kind == .addon }
        let contents: CacheDirectory.Contents = (libraries + addons).map {
            (CacheDirectory.File(kind: $0.kind, size: $0.data.count, path: $0.path), $0.data)
        }

        let directory = CacheDirectory(prefix: "addons-", digest: index.digest)
        for base in CacheDirectory.candidateBases() {
            // The directory holds what the digest names; anything else is not ours to load.
            guard let prepared = directory.prepare(in: base, contents: { (contents, {}) }),
                  prepared.files == contents.map({ $0.file }) else { continue }
            let root = prepared.path + "/files/"
            for library in libraries {
                guard launcher_native_library(Self.name(library), root + library.path, nil, 0) == 0 else { throw outOfMemory }
            }
            for addon in addons {
                guard launcher_native_addon(virtualRoot + addon.path, root + addon.path, nil, 0) == 0 else { throw outOfMemory }
            }
            return
        }
        // Read-only file system, no HOME, noexec mounts: from memory, on first use.
        for library in libraries {
            guard launcher_native_library(Self.name(library), nil, library.data.baseAddress, library.data.count) == 0 else { throw outOfMemory }
        }
        for addon in addons {
            guard launcher_native_addon(virtualRoot + addon.path, nil, addon.data.baseAddress, addon.data.count) == 0 else {
                throw outOfMemory
            }
        }
    }

    static func name(_ library: ArchiveReader.Entry) -> String {
        String(library.path.split(separator: "/").last ?? "library")
    }

    static var outOfMemory: LauncherError { .runtime("cannot register the native addons: out of memory") }
}

import Crypto
import FoundationEssentials
import PayloadFormat

/// Native addons (`.node` files) of an app. They stay files of the app, so `fs` and the
/// loaders see them under the virtual root, but are marked `addon` so the launcher also
/// makes them real files that `dlopen` can load; the shared libraries they need that
/// the machine running the app may lack are packed with them (layout: "Native addons"
/// in Format.swift).
///
/// Which libraries: each addon's DT_NEEDED closure, found the way the dynamic linker
/// here finds it (`LibraryResolver`), minus the base set (`RuntimePack.baseLibraries`)
/// and minus the embedding shim's own closure, that is libnode and what it needs: a
/// self-contained output carries those in its runtime pack, and where a `--runtime
/// system` output runs they are installed with libnode108. The addon's `NEEDED
/// libnode.so.108` is then matched by SONAME to the libnode already loaded. For
/// Debian's node_sqlite3.node that leaves libsqlite3.so.0 (1.4 MB).
///
/// Across node versions: a Node-API addon runs on every runtime, so when it was built
/// against another Debian libnode (node_sqlite3.node NEEDs libnode.so.108) and the app
/// is bundled for another (libnode.so.137), the bundled copy's NEEDED entry is changed to
/// name the runtime's libnode (same length: one string in its dynamic string table), and
/// the loader matches it to the libnode already loaded. An addon that binds to node's
/// C++ ABI (V8 or node:: symbols) loads only on the node it was built for: bundling it
/// for another is an error naming the file, its ABI and the `--node` that fits.
///
/// Files named `.node` that are not x86-64 ELF shared objects (prebuilds for other
/// platforms, which packages ship side by side) stay plain files.
enum NativeAddons {
    /// Marks the addons among `entries` (the app's files, paths relative to `root`) and
    /// appends the libraries they need and the native index. Changes nothing when the
    /// app has no addon. A library that is not installed here is a warning: the addon
    /// then loads only where the system has it.
    static func pack(_ entries: inout [ArchiveEntry], root: String, toolkit: Toolkit, diagnostics: inout [Diagnostic]) throws {
        var addons: [(index: Int, object: ELFObject)] = []
        for (index, entry) in entries.enumerated() where entry.kind == .file && entry.path.hasSuffix(".node") {
            // The bundler holds .node files in memory (never `streamed`): their bytes are here.
            guard let data = entry.bytes, data.starts(with: [0x7f, 0x45, 0x4c, 0x46]),
                  let object = try? ELFObject.parse(data, path: root + "/" + entry.path) else { continue }
            addons.append((index, object))
        }
        guard !addons.isEmpty else { return }

        let runtimeLibraries = try runtimeLibraries(toolkit)
        guard let runtimeLibnode = runtimeLibraries.first(where: { $0.hasPrefix(libnodePrefix) }) else {
            throw BundleError.runtimeUnavailable("the runtime has no \(libnodePrefix)* among its libraries")
        }
        for (index, object) in addons {
            for name in object.needed where name.hasPrefix(libnodePrefix) && name != runtimeLibnode {
                entries[index] = try retargeted(entries[index], object: object, from: name, to: runtimeLibnode, root: root)
            }
        }
        // Every libnode is the runtime's own: never packed.
        let excluded = runtimeLibraries.union(addons.flatMap(\.object.needed).filter { $0.hasPrefix(libnodePrefix) })
        let resolver = LibraryResolver.system()
        var libraries: [ArchiveEntry] = []
        var packed: Set<String> = []
        for (index, object) in addons.sorted(by: { entries[$0.index].path < entries[$1.index].path }) {
            entries[index].kind = .addon
            let addon = root + "/" + entries[index].path
            let closure: [(name: String, object: ELFObject)]
            var missing: [String] = []
            do {
                closure = try RuntimePack.closure(of: object, resolver: resolver, base: excluded) { name, neededBy in
                    // A build for musl systems, next to the glibc one: never loaded here.
                    guard !name.hasPrefix("libc.musl") else { return }
                    missing.append(name + (neededBy.path == addon ? "" : " (through \(neededBy.path))"))
                }
            } catch let error as BundleError {
                diagnostics.append(Diagnostic(file: addon, line: 1, message: "native addon: \(error.description)"))
                continue
            }
            for name in missing {
                diagnostics.append(Diagnostic(file: addon, line: 1, message:
                    "native addon needs \(name), which is not installed here; it loads only where the system has it"))
            }
            for (name, library) in closure where packed.insert(name).inserted {
                libraries.append(ArchiveEntry(path: NativeIndex.libraryDirectory + Path.basename(name), kind: .library,
                                              data: try LocalFileSystem().contents(of: library.path)))
            }
        }

        let digest = Self.digest(of: entries.filter { $0.kind == .addon } + libraries)
        entries += libraries
        entries.append(ArchiveEntry(path: NativeIndex.path, kind: .nativeIndex,
                                    data: NativeIndex(digest: digest, libraries: libraries.map(\.path)).encoded()))
    }

    static let libnodePrefix = "libnode.so."

    /// node major version by NODE_MODULE_VERSION (Debian's libnode soname number), for
    /// the error that names the `--node` an addon of node's C++ ABI fits.
    static let majorByModuleVersion = [108: 18, 115: 20, 127: 22, 137: 24]

    /// The addon `entry` with its NEEDED `from` renamed `to` (a Node-API addon), or the
    /// error saying which node it needs (an addon of node's C++ ABI).
    static func retargeted(_ entry: ArchiveEntry, object: ELFObject, from: String, to: String, root: String) throws -> ArchiveEntry {
        let file = root + "/" + entry.path
        let abi = Int(from.dropFirst(libnodePrefix.count)) ?? 0
        if object.usesNodeCxxABI {
            let fits = majorByModuleVersion[abi].map { "--node \($0)" } ?? "a node whose NODE_MODULE_VERSION is \(abi)"
            throw BundleError.incompatibleAddon(file, "it was built for node's C++ ABI \(abi) (it NEEDs \(from) and uses V8's C++ API), and the runtime is ABI \(to.dropFirst(libnodePrefix.count)); bundle with \(fits), or use a Node-API build of it")
        }
        guard var data = entry.bytes, from.utf8.count == to.utf8.count else {
            throw BundleError.incompatibleAddon(file, "it NEEDs \(from), which cannot be renamed \(to)")
        }
        let needle = Array(("\0" + from + "\0").utf8)
        guard let range = data.firstRange(of: needle) else {
            throw BundleError.incompatibleAddon(file, "its NEEDED \(from) is not where its dynamic string table says")
        }
        data.replaceSubrange(range, with: Array(("\0" + to + "\0").utf8))
        var changed = entry
        changed.content = .bytes(data)
        return changed
    }

    /// Names the addons never need packed: the base set, and libnode with its closure
    /// (what the shim needs; a one-file `bundle` has the list of what its runtime carries).
    static func runtimeLibraries(_ toolkit: Toolkit) throws -> Set<String> {
        switch toolkit.origin {
        case .carried(let carried): return RuntimePack.baseLibraries.union(carried.runtimeLibraries)
        case .directory(let runtime, _): return RuntimePack.baseLibraries.union(try runtime.libraryClosure().map(\.name))
        }
    }

    /// SHA-256 over each entry's kind, path, size and bytes, in path order: the same
    /// addons and libraries give the same digest, so apps that share them share one
    /// cache directory.
    static func digest(of entries: [ArchiveEntry]) -> [UInt8] {
        var hasher = SHA256()
        for entry in entries.sorted(by: { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }) {
            hasher.update(data: Array("\(entry.kind.rawValue) \(entry.path) \(entry.size)\n".utf8))
            switch entry.content {
            case .bytes(let bytes): hasher.update(data: bytes)
            case .streamed(let streamed): hasher.update(data: streamed.identity)  // a digest of its bytes
            }
        }
        return Array(hasher.finalize())
    }
}

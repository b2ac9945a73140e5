import CLauncherSupport
import CLibc
import PayloadFormat

/// Every bundled app starts here: find the payload at the end of our own file, make
/// the node runtime available, and hand the app archive to the embedded node.
func launch() throws(LauncherError) -> Int32 {
    try SelfSpawnGuard.check()
    let image = try SelfImage()
    let lazy = try LazyArchive(image.trailer.app, of: image)
    LazyArchive.current = lazy
    let archive: UnsafeRawBufferPointer
    if let lazy {
        archive = lazy.bytes
    } else {
        archive = try image.inflate(image.trailer.app, name: "app")
    }
    let app: ArchiveReader
    do {
        app = try ArchiveReader(archive)
    } catch {
        throw .damaged("app section: \(error.description)")
    }
    // What the launcher itself reads; the bootstrap asks for the app's files as it reads them.
    for entry in app.entries where entry.kind != .file && entry.kind != .codeCache {
        guard lazy?.ensure(entry.data) ?? true else { throw .damaged("app section: \(entry.path) does not inflate") }
    }
    guard let bootstrap = app.entries.first(where: { $0.kind == .bootstrap }) else {
        throw .damaged("app section has no bootstrap")
    }
    let launch = LaunchOptions(app.entries.first { $0.kind == .launchOptions })
    // Like NODE_OPTIONS: the environment's OpenSSL configuration could load code.
    if !launch.allowNodeOptions, launcher_hide_startup_environment() != 0 {
        throw .runtime("cannot prepare the environment: out of memory")
    }
    if let required = launch.requiredGlibc {
        let here = String(cString: launcher_libc_version())
        if GlibcVersion.precedes(here, required) {
            throw .runtime("it needs glibc \(required) or newer and this system has \(here) (bundle it as a portable output, the default, to carry its own)")
        }
    }
    BaseLibraries.prepare(image)
    let runtime = try RuntimeCache(image: image).loadEmbedEntry(makingSnapshot: !launch.builtinSnapshot)
    try NativeAddons.register(app)

    guard launcher_argc() > 0 else { throw .runtime("started with an empty argument list (no argv[0])") }
    var options = bundle_embed_options()
    options.argc = launcher_argc()
    options.argv = UnsafePointer(OpaquePointer(launcher_argv()))
    // Lives as long as the process, like argv.
    let nodeOptions = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(launch.nodeOptions.count, 1))
    for (index, option) in launch.nodeOptions.enumerated() { nodeOptions[index] = UnsafePointer(strdup(option)) }
    options.node_option_count = Int32(launch.nodeOptions.count)
    options.node_options = UnsafePointer(nodeOptions)
    options.allow_node_options = launch.allowNodeOptions ? 1 : 0
    options.bootstrap_source = bootstrap.data.baseAddress!.assumingMemoryBound(to: CChar.self)
    options.bootstrap_length = bootstrap.data.count
    options.archive = UnsafeMutableRawPointer(mutating: archive.baseAddress)
    options.archive_length = archive.count
    if lazy != nil {
        options.ensure_archive = { offset, length in
            if LazyArchive.current?.ensure(Int(offset)..<Int(offset) + Int(length)) == true { return 0 }
            // A frame found damaged while the app runs (frames are checked as they are
            // inflated): the same one line and exit status as damage found at start, and
            // the app does not go on without its files. _exit: node's exit handlers would
            // run JavaScript in the middle of this call.
            LauncherError.damaged("app section: a part the app read does not inflate (checksum mismatch)")
                .report(executable: launcher_argc() > 0 ? String(cString: launcher_argv()[0]!) : "app")
            _exit(LauncherError.damaged("").exitCode)
        }
        options.release_archive = { offset, length, passedOffset, passedLength in
            LazyArchive.current?.release(Int(offset)..<Int(offset) + Int(length),
                                         passed: Int(passedOffset)..<Int(passedOffset) + Int(passedLength))
        }
    }
    options.snapshot_blob = runtime.snapshot.map { UnsafePointer(strdup($0)!) }
    options.override_load_environment = launcher_override_load_environment
    options.virtual_root = UnsafePointer(strdup(Format.virtualRoot)!)
    options.restore_environment = launcher_restore_startup_environment
    let trailer = image.trailer
    options.app_identity = UnsafePointer(strdup(hexString(Array(trailer.runtimeDigest.prefix(8))) + "-"
        + String(trailer.app.crc32, radix: 16) + "-" + String(trailer.app.uncompressedSize))!)
    return launcher_call_embed(runtime.entry, &options)
}

/// The author's choices baked in at bundle time (EntryKind.launchOptions).
struct LaunchOptions {
    var nodeOptions: [String] = []
    var allowNodeOptions = false
    /// The newest glibc the runtime's libraries need, for outputs that use the host's
    /// C library: checked first, so an old host gets one line instead of the dynamic
    /// linker's message about one symbol version.
    var requiredGlibc: String?
    /// The runtime starts from node's own built-in snapshot (node 24), so the launcher
    /// makes none on the first start of a runtime version (that child would make nothing).
    var builtinSnapshot = false

    init(_ entry: ArchiveReader.Entry?) {
        guard let entry else { return }
        for line in String(decoding: entry.data, as: UTF8.self).split(separator: "\n") {
            if line == "allow-node-options" {
                allowNodeOptions = true
            } else if line == "builtin-snapshot" {
                builtinSnapshot = true
            } else if line.hasPrefix("requires-glibc ") {
                requiredGlibc = String(line.dropFirst("requires-glibc ".count))
            } else if line.hasPrefix("node-option ") {
                nodeOptions.append(String(line.dropFirst("node-option ".count)))
            }
        }
    }
}

do {
    exit(try launch())
} catch {
    error.report(executable: launcher_argc() > 0 ? String(cString: launcher_argv()[0]!) : "app")
    exit(error.exitCode)
}

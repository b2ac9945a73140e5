import CLauncherSupport
import Glibc
import PayloadFormat

/// Every bundled app starts here: find the payload at the end of our own file, make
/// the node runtime available, and hand the app archive to the embedded node.
func launch() throws(LauncherError) -> Int32 {
    let image = try SelfImage()
    let archive = try image.inflate(image.trailer.app, name: "app")
    let bootstrap: ArchiveReader.Entry
    do {
        guard let entry = try ArchiveReader(archive).entries.first(where: { $0.kind == .bootstrap }) else {
            throw LauncherError.damaged("app section has no bootstrap")
        }
        bootstrap = entry
    } catch let error as FormatError {
        throw .damaged("app section: \(error.description)")
    } catch {
        throw error as! LauncherError
    }
    let entry = try RuntimeCache(image: image).loadEmbedEntry()

    guard launcher_argc() > 0 else { throw .runtime("started with an empty argument list (no argv[0])") }
    var options = bundle_embed_options()
    options.argc = launcher_argc()
    options.argv = UnsafePointer(OpaquePointer(launcher_argv()))
    options.node_option_count = 0
    options.node_options = nil
    options.bootstrap_source = bootstrap.data.baseAddress!.assumingMemoryBound(to: CChar.self)
    options.bootstrap_length = bootstrap.data.count
    options.archive = UnsafeMutableRawPointer(mutating: archive.baseAddress)
    options.archive_length = archive.count
    return launcher_call_embed(entry, &options)
}

do {
    exit(try launch())
} catch {
    error.report(executable: launcher_argc() > 0 ? String(cString: launcher_argv()[0]!) : "app")
    exit(error.exitCode)
}

import ArgumentParser
import BundlerCore
import FoundationEssentials

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build", abstract: "Bundle an app into one executable (the default command).")

    @Argument(help: "The app's entry file, or a package directory: its package.json \"bundle\" section's entry, else its bin, else its main (default: the current directory).")
    var entry: String?

    @Option(name: .shortAndLong, help: "The executable to write (default: named after the package's bin or the entry, here).")
    var output: String?

    @Option(help: ArgumentHelp(
        "The node version the app runs on: 24 or 18 (default: \(NodeRuntime.defaultName.dropFirst(4))). Each is Debian's node of that version, prepared by Scripts/setup.",
        valueName: "major"))
    var node: String?

    @Option(help: ArgumentHelp(
        "Which node runtime the app uses: bundled (inside the output; runs without node installed) or system (the machine's libnode108; small output).",
        valueName: "bundled|system"))
    var runtime: RuntimeMode?

    @Flag(inversion: .prefixedNo, help: ArgumentHelp(
        "With the bundled runtime (the default): carry the C and C++ libraries too and start through a small static first stage, so the output runs on older Linux systems (glibc 2.31) and in empty containers. On by default; --no-portable uses the machine's own (glibc 2.35 or newer, 2.9 MB smaller)."))
    var portable: Bool?

    @Option(name: .customLong("include"), help: ArgumentHelp(
        "Also bundle files matching this glob, relative to the current directory (repeatable), e.g. 'assets/**' or 'plugins/*.js'.",
        valueName: "glob"))
    var includes: [String] = []

    @Option(name: .customLong("exclude"), help: ArgumentHelp("Leave out files matching this glob (repeatable).", valueName: "glob"))
    var excludes: [String] = []

    @Option(name: .customLong("node-option"), parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "A node flag applied at every start (repeatable), e.g. --node-option=--max-old-space-size=4096. Flags that load code or open ports are refused.",
        valueName: "flag"))
    var nodeOptions: [String] = []

    @Flag(help: "Let NODE_OPTIONS from the environment apply to the app (off by default).")
    var allowNodeOptions = false

    @Flag(help: "Overwrite an existing output that is not a bundled app.")
    var force = false

    @Flag(name: .shortAndLong, help: "Print nothing but warnings and errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "List every bundled file.")
    var verbose = false

    @Flag(help: "Print the files that would be bundled, their sizes and why each is in, and write nothing.")
    var dryRun = false

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
        if portable == true && runtime == .system { throw ValidationError("--portable needs --runtime bundled") }
        // `bundle` alone builds the package here; outside a package it is a usage error.
        if entry == nil && !FileManager.default.fileExists(atPath: FileManager.default.currentDirectoryPath + "/package.json") {
            throw ValidationError("Missing expected argument '<entry>' (or run it in a package folder)")
        }
    }

    func run() throws {
        try reportingErrors {
            let started = Date()
            let settings = try BuildSettings.resolve(flags)
            let toolkit: Toolkit
            do {
                toolkit = try Toolkit.locate(runtime: settings.node)
            } catch let error as BundleError where settings.sources["node"] == .packageJSON {
                throw BundleError.invalidConfig(settings.config?.file ?? "package.json", "\"bundle.node\": \(error)")
            }
            let bundler = Bundler(toolkit: toolkit, progress: { message in
                if !quiet { Terminal.progress(message) }
            })
            var request = settings.request
            request.force = force
            if dryRun {
                let app = try bundler.plan(request)
                for diagnostic in app.diagnostics { Terminal.warning(diagnostic.description) }
                for file in app.files {
                    let size = LocalFileSystem().size(of: file) ?? 0
                    Swift.print(FileLine(size: size, reason: app.reasons[file], path: shownPath(file, from: app.root)).text)
                }
                if !quiet { LeftOutSummary(app: app).print() }
                return
            }
            let result = try bundler.bundle(request)
            for diagnostic in result.app.diagnostics { Terminal.warning(diagnostic.description) }
            if !quiet {
                Summary(result: result, elapsed: Date().timeIntervalSince(started), verbose: verbose, carried: toolkit.carried != nil,
                        nodeVersion: toolkit.nodeVersion).print()
                if let config = settings.config {
                    let names = ProjectConfig.settings(from: .packageJSON, in: settings.sources)
                    if !names.isEmpty { Terminal.line(Terminal.dim("  from \(shownPath(config.file, from: FileManager.default.currentDirectoryPath)): \(names.joined(separator: ", "))")) }
                }
            }
        }
    }
}

extension Build {
    /// The command line's settings, nil where a flag was not given (package.json's
    /// "bundle" section may give them then).
    var flags: BuildFlags {
        var flags = BuildFlags()
        flags.entry = entry
        flags.output = output
        flags.node = node
        flags.runtime = runtime
        flags.includes = includes
        flags.excludes = excludes
        flags.nodeOptions = nodeOptions
        flags.allowNodeOptions = allowNodeOptions
        flags.portable = portable
        return flags
    }
}

/// What a user sees after bundling: where the output is, what its size is made of,
/// and the files worth knowing about.
struct Summary {
    let result: BundleResult
    let elapsed: TimeInterval
    let verbose: Bool
    /// Made by a one-file bundle, with the runtime it carries.
    let carried: Bool
    let nodeVersion: String

    func print() {
        let relative = result.output.hasPrefix(FileManager.default.currentDirectoryPath + "/")
            ? String(result.output.dropFirst(FileManager.default.currentDirectoryPath.count + 1)) : result.output
        Terminal.line("  \(Terminal.bold(relative))  \(Terminal.size(result.totalSize))  "
            + Terminal.dim("(launcher \(Terminal.size(result.launcherSize))"
                + (result.portableSize > 0 ? " · first stage and C libraries \(Terminal.size(result.portableSize))" : "")
                + " · node \(nodeVersion) \(Terminal.size(result.runtimeSize)) · app \(Terminal.size(result.appSize)))"))
        let files = result.fileSizes
        if verbose {
            for file in files { Terminal.line("    \(Terminal.size(file.size).rightPadded(9)) \(file.path)") }
        } else {
            let largest = files.sorted { $0.size > $1.size }.prefix(3).map { "\($0.path) \(Terminal.size($0.size))" }
            Terminal.line("  \(files.count) file\(files.count == 1 ? "" : "s"); largest: \(largest.joined(separator: ", "))")
        }
        if verbose {
            Terminal.line(result.codeCacheSize.map { "  V8 code cache: \(Terminal.size($0))" }
                ?? (carried ? "  no V8 code cache: the carried node runtime could not run here to make it"
                    : "  no V8 code cache: no node \(nodeVersion) on PATH or in /usr/bin to make it"))
            for note in result.codeCacheNotes { Terminal.line("    \(note)") }
        }
        LeftOutSummary(app: result.app).print()
        let warnings = result.app.diagnostics.count
        Terminal.line("  done in \(DecimalText.fixed(elapsed, places: 2)) s" + (warnings > 0 ? ", \(warnings) warning\(warnings == 1 ? "" : "s")" : ""))
    }
}

/// The secrets a bundle left out, each with the option that would ship it (executables
/// left out are warnings already).
struct LeftOutSummary {
    let app: CollectedApp

    func print() {
        let base = FileManager.default.currentDirectoryPath
        for file in app.leftOut {
            guard case .secret(let kind) = file.kind else { continue }
            Terminal.line("  left out \(shownPath(file.path, from: base)): \(kind); to ship it: \(file.includeOption(from: base))")
        }
    }
}

/// One line of a file list (`inspect`, `--dry-run`): size, why it is in, path.
struct FileLine {
    let size: Int
    let reason: FileReason?
    let path: String

    var text: String { "  \(String(size).leftPadded(10))  \((reason?.rawValue ?? "").rightPadded(8))  \(path)" }
}

/// A path as the user reads it: relative to `base` when inside it.
func shownPath(_ path: String, from base: String) -> String {
    path.hasPrefix(base + "/") ? String(path.dropFirst(base.count + 1)) : path
}

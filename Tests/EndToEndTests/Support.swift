import Foundation
import BundlerCore
import ProcessTestSupport
import Testing

/// What a finished process printed and how it ended.
struct Outcome: Equatable, CustomStringConvertible {
    var stdout: String
    var stderr: String
    var status: Int32

    var description: String { "status \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

/// Runs a program to completion, feeding `stdin`, with a time limit so a hang fails
/// the test instead of the whole run.
func run(_ executable: String, _ arguments: [String] = [], in directory: String? = nil, stdin: String? = nil,
         environment: [String: String]? = nil, timeout: TimeInterval = 60) throws -> Outcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    if let environment { process.environment = environment }
    let output = Pipe(), error = Pipe(), input = Pipe()
    process.standardOutput = output
    process.standardError = error
    process.standardInput = input
    try process.runOnceNotBusy()
    // Read both pipes while the process runs, so a large output cannot block it.
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data(), errData = Data()
    DispatchQueue.global().async(group: group) { outData = output.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { errData = error.fileHandleForReading.readDataToEndOfFile() }
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try? input.fileHandleForWriting.close()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
    if process.isRunning {
        process.terminate()
        Issue.record("\(executable) \(arguments) did not finish within \(timeout) s")
    }
    process.waitUntilExit()
    group.wait()
    return Outcome(stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
                   status: process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus)
}

enum Tools {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    /// The release build that Scripts/setup makes; BUNDLE_BIN_DIR points elsewhere.
    static let binDirectory = ProcessInfo.processInfo.environment["BUNDLE_BIN_DIR"] ?? packageRoot + "/.build/release"
    static let bundle = binDirectory + "/bundle"
    /// Debian 12's node (18), for what only needs some node.
    static let node = "/usr/bin/node"

    /// The runtime the suite's outputs run: `BUNDLE_TEST_NODE` (a major version: the
    /// suite then bundles with `--node` it), else bundle's default.
    static let runtimeOption = ProcessInfo.processInfo.environment["BUNDLE_TEST_NODE"]
    static let runtime = try! NodeRuntime.locate(runtimeOption.map(NodeRuntime.name(forOption:)) ?? NodeRuntime.defaultName,
                                                 in: binDirectory)
    /// What `bundle` is given for that runtime.
    static var runtimeArguments: [String] { runtimeOption.map { ["--node", $0] } ?? [] }

    /// The command that runs that runtime's own node with `arguments`: Debian 12's node
    /// when it is that version, else Scripts/with-runtime (the runtime as if installed).
    static func referenceNode(_ arguments: [String], runtime: NodeRuntime = runtime) -> (executable: String, arguments: [String]) {
        if runtime.major == 18 { return (node, arguments) }
        return (packageRoot + "/Scripts/with-runtime", [runtime.root, "/usr/bin/node"] + arguments)
    }
}

/// Where a fixture's files appear inside its bundled app: the virtual root, then the
/// app's top folder, which every fixture names `app`.
let bundledApp = "/proc/self/bundle/app"

/// A temporary folder `…/app` with an app's source, removed when the test is done.
final class Fixture {
    let directory: String
    private let container: String
    private var scratch: [String] = []

    init(_ files: [String: String] = [:]) throws {
        container = try makeTemporaryDirectory("fixture")
        directory = container + "/app"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        for (path, text) in files { try write(path, text) }
    }

    deinit {
        for path in [container] + scratch { try? FileManager.default.removeItem(atPath: path) }
    }

    /// A fresh directory that goes away with the fixture.
    func scratchDirectory(_ prefix: String) throws -> String {
        let path = try makeTemporaryDirectory(prefix)
        scratch.append(path)
        return path
    }

    func write(_ relative: String, _ text: String) throws {
        let url = URL(fileURLWithPath: directory + "/" + relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// Copies a Debian-packaged node module and every package it depends on into
    /// node_modules, flat, as npm would lay them out.
    func installDebianPackage(_ name: String) throws {
        var pending = [name], seen: Set<String> = []
        while let next = pending.popLast() {
            guard seen.insert(next).inserted else { continue }
            guard let source = DebianModules.directory(of: next) else { continue }
            let target = directory + "/node_modules/" + next
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let copy = try run("/bin/cp", ["-rL", source, target])
            guard copy.status == 0 else { throw FixtureError("cp \(source): \(copy.stderr)") }
            pending += DebianModules.dependencies(ofPackageAt: source)
        }
    }

    /// Runs `node <entry> args` on the source, as the baseline.
    func node(_ entry: String, _ arguments: [String] = [], stdin: String? = nil) throws -> Outcome {
        let node = Tools.referenceNode([entry] + arguments)
        return try run(node.executable, node.arguments, in: directory, stdin: stdin)
    }

    /// Bundles the entry into a fresh directory and returns the output's path.
    func bundle(_ entry: String, extra: [String] = []) throws -> String {
        let output = try scratchDirectory("output") + "/app"
        let result = try run(Tools.bundle, [entry, "-o", output] + Tools.runtimeArguments + extra, in: directory)
        guard result.status == 0 else { throw FixtureError("bundle failed: \(result)") }
        return output
    }

    /// Moves the source away, so a bundled app that still reads it fails.
    func removeSource() throws {
        try FileManager.default.removeItem(atPath: directory)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func makeTemporaryDirectory(_ prefix: String) throws -> String {
    let path = NSTemporaryDirectory() + "bundle-test-\(prefix)-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Where Debian installs node modules, and what each declares it needs.
enum DebianModules {
    static let roots = ["/usr/share/nodejs", "/usr/lib/nodejs", "/usr/lib/x86_64-linux-gnu/nodejs"]

    static func directory(of name: String) -> String? {
        roots.map { $0 + "/" + name }.first { FileManager.default.fileExists(atPath: $0 + "/package.json") }
    }

    static func dependencies(ofPackageAt directory: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: directory + "/package.json"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [] }
        let declared = (json["dependencies"] as? [String: Any] ?? [:]).keys
        // Debian ships some dependencies inside the package's own node_modules.
        return declared.filter { !FileManager.default.fileExists(atPath: directory + "/node_modules/" + $0) }.sorted()
    }
}

/// The way every end-to-end test checks an app: node on the source first, then the
/// bundled output with the source gone, started from another directory.
func expectSameAsNode(_ fixture: Fixture, entry: String = "app.js", arguments: [String] = [], stdin: String? = nil,
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> (node: Outcome, bundled: Outcome) {
    let expected = try fixture.node(entry, arguments, stdin: stdin)
    let output = try fixture.bundle(entry)
    try fixture.removeSource()
    let elsewhere = try fixture.scratchDirectory("cwd")
    let actual = try run(output, arguments, in: elsewhere, stdin: stdin)
    #expect(actual.stdout == expected.stdout, "stdout differs", sourceLocation: sourceLocation)
    #expect(actual.status == expected.status, "exit status differs: \(actual)", sourceLocation: sourceLocation)
    return (expected, actual)
}

/// Runs a program to completion (stdout and stderr to `log`) and returns its exit
/// status and its own peak resident memory in bytes: the kernel's high-water mark
/// (VmHWM), read while it runs. Not wait4's figure, which is the largest of the process
/// and its children (a runtime cache being filled, node compiling code caches).
func runMeasuringMemory(_ executable: String, _ arguments: [String], log: String,
                        timeout: TimeInterval = 300) throws -> (status: Int32, peakBytes: Int) {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    guard spawned == 0 else { throw FixtureError("cannot start \(executable): \(String(cString: strerror(spawned)))") }
    var status: Int32 = 0
    var peak = 0
    let deadline = Date().addingTimeInterval(timeout)
    // The high-water mark only grows, so the last reading before the exit is all but
    // exact; what it can miss is a rise in the last few milliseconds.
    while waitpid(pid, &status, WNOHANG) == 0 {
        if let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") {
            peak = max(peak, kilobytes * 1024)
        }
        if Date() > deadline {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            throw FixtureError("\(executable) \(arguments) did not finish within \(timeout) s")
        }
        Thread.sleep(forTimeInterval: 0.005)
    }
    let exited = status & 0x7f == 0
    return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), peak)
}

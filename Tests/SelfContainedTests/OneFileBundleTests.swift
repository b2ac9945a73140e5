@testable import BundlerCore
import Foundation
import ProcessTestSupport
import PayloadFormat
import Testing

/// The one-file `bundle` (`.build/release/bundle-portable`, made by Scripts/package, which
/// Scripts/test runs) copied alone into a root holding only the base libraries: no
/// libnode, node, Swift runtime or build folder. There it bundles an app (two files and
/// Debian's lodash) and the output runs.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root (unshare, chroot, mount)"), .timeLimit(.minutes(5)))
struct OneFileBundleTests {
    static let file = Fixture.binaries + "/bundle-portable"

    static func requireFile() throws {
        guard FileManager.default.isExecutableFile(atPath: file) else {
            throw TestFailure("\(file) is missing: run Scripts/package (Scripts/test does)")
        }
    }

    @Test func bundlesAndRunsAnAppInARootWithOnlyTheBaseLibraries() throws {
        try Self.requireFile()
        let root = try Chroot()
        try root.install(Self.file, as: "bundle")
        try root.place("""
            const _ = require('lodash');
            const { greet } = require('./lib/greet');
            console.log(greet(_.capitalize(process.argv[2])), _.chunk([1, 2, 3, 4, 5], 2).length);

            """, at: "/src/app.js")
        try root.place("exports.greet = (name) => `Hello, ${name}!`;\n", at: "/src/lib/greet.js")
        try FileManager.default.copyItem(atPath: "/usr/share/nodejs/lodash", toPath: root.path + "/src/node_modules/lodash")
        for absent in ["/usr", "/usr/lib/x86_64-linux-gnu/libnode.so.108", "/usr/bin/node"] {
            #expect(!FileManager.default.fileExists(atPath: root.path + absent))
        }
        let environment = ["HOME": "/home"]

        let version = try root.run([Chroot.Command(app: "bundle", arguments: ["--version"], environment: environment)])[0]
        #expect(version.status == 0)
        #expect(version.stdout == "bundle \(Versions.bundle) (carries node \(try NodeRuntime.locate(NodeRuntime.defaultName, in: Fixture.binaries).nodeVersion) runtime, portable)\n")

        let bundled = try root.run([Chroot.Command(app: "bundle", arguments: ["/src/app.js", "-o", "/app/hello", "-v"],
                                                   environment: environment)])[0]
        #expect(bundled.status == 0, "\(bundled)")
        #expect(bundled.stderr.contains("node_modules/lodash/lodash.js"))
        // Made by the carried runtime: there is no node here.
        #expect(bundled.stderr.contains("V8 code cache: "), "\(bundled)")

        let ran = try root.run([Chroot.Command(app: "hello", arguments: ["world"], environment: environment.merging(["NODE_DEBUG": "bundle"]) { $1 })])[0]
        #expect(ran.status == 0, "\(ran)")
        #expect(ran.stdout == "Hello, World! 3\n")
        #expect(ran.stderr.contains("code cache used for /proc/self/bundle/src/node_modules/lodash/lodash.js"), "\(ran)")
        // Nothing but the cache directories the output (and the code cache run) made.
        let cache = try FileManager.default.contentsOfDirectory(atPath: root.path + "/home/.cache/bundle").filter { !$0.hasPrefix(".") }
        #expect(cache.sorted().map { String($0.prefix(5)) } == ["base-", "runti"], "\(cache)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/tmp").isEmpty)

        let again = try root.run([Chroot.Command(app: "bundle", arguments: ["/src/app.js", "-o", "/app/hello-again", "-q"],
                                                 environment: environment)])[0]
        #expect(again.status == 0, "\(again)")
        #expect(FileManager.default.contentsEqual(atPath: root.path + "/app/hello", andPath: root.path + "/app/hello-again"))
    }

    /// The one-file bundle carries esbuild: TypeScript bundles there too, from the copy it
    /// writes once into its cache.
    @Test func bundlesTypeScriptWithTheEsbuildItCarries() throws {
        try Self.requireFile()
        let root = try Chroot()
        try root.install(Self.file, as: "bundle")
        try root.place("import { shout } from './lib';\nconst name: string = process.argv[2];\nconsole.log(shout(name));\n", at: "/src/main.ts")
        try root.place("export enum Mark { Bang = '!' }\nexport const shout = (s: string): string => s.toUpperCase() + Mark.Bang;\n",
                       at: "/src/lib.ts")
        let environment = ["HOME": "/home"]
        for output in ["/app/ts", "/app/ts-again"] {
            let bundled = try root.run([Chroot.Command(app: "bundle", arguments: ["/src/main.ts", "-o", output, "-q"], environment: environment)])[0]
            #expect(bundled.status == 0 && bundled.stderr.isEmpty, "\(bundled)")
        }
        let ran = try root.run([Chroot.Command(app: "ts", arguments: ["hey"], environment: environment)])[0]
        #expect(ran.stdout == "HEY!\n", "\(ran)")
        let tools = try FileManager.default.contentsOfDirectory(atPath: root.path + "/home/.cache/bundle/tools")
        #expect(tools.count == 1 && tools[0].hasPrefix("esbuild-"), "\(tools)")
    }

    /// Interrupted while it makes code caches with a temporary output in $TMPDIR, the
    /// one-file bundle leaves nothing there.
    @Test func anInterruptedOneFileBundleLeavesNoTemporaryFiles() throws {
        try Self.requireFile()
        let large = "module.exports = function table() {\n" + (0..<200).map { "  const v\($0) = \($0) * 2;\n" }.joined() + "  return v1;\n};\n"
        let fixture = try Fixture()
        try fixture.write("app.js", "console.log(require('./table')())\n")
        try fixture.write("table.js", large)
        let temporary = fixture.directory + "/tmp"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.file)
        process.arguments = [fixture.directory + "/app.js", "-o", fixture.directory + "/app", "--quiet"]
        process.environment = ProcessInfo.processInfo.environment.merging(["TMPDIR": temporary]) { $1 }
        try process.runOnceNotBusy()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline, try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty {
            Thread.sleep(forTimeInterval: 0.002)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).first?.hasPrefix("bundle-code-cache-") == true)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGINT)
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary) == [])
    }

    @Test func needsOnlyTheBaseLibrariesAndNamesItsRuntime() throws {
        try Self.requireFile()
        let needed = try ELFObject.read(Self.file).needed
        #expect(Set(needed).isSubset(of: ["libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libz.so.1", "ld-linux-x86-64.so.2"]),
                "\(needed)")
        let record = try #require(try CarriedToolkit.record(of: Self.file))
        #expect(record.nodeVersion == (try NodeRuntime.locate(NodeRuntime.defaultName, in: Fixture.binaries).nodeVersion))
        // The plain build carries nothing and says so.
        #expect(try CarriedToolkit.record(of: Fixture.binaries + "/bundle") == nil)
    }

    /// Truncated, appended to, or a byte changed in the record or any section: one line
    /// naming the file, exit 1, nothing written.
    @Test(arguments: ["truncate", "append", "record", "tools", "base", "runtime"])
    func damagedOneFileBundleIsRefused(_ damage: String) throws {
        try Self.requireFile()
        let fixture = try Fixture()
        try fixture.write("app.js", "console.log(1)\n")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.file)))
        let record = try #require(try CarriedToolkit.record(of: Self.file))
        switch damage {
        case "truncate": bytes.removeLast(ToolkitRecord.size / 2)
        case "append": bytes += Array("junk\n".utf8)
        case "record": bytes[bytes.count - ToolkitRecord.size + 20] ^= 1
        case "tools": bytes[record.tools.offset + record.tools.compressedSize / 2] ^= 1
        case "base": bytes[record.base.offset + record.base.compressedSize / 2] ^= 1
        default: bytes[record.runtime.offset + record.runtime.compressedSize / 2] ^= 1
        }
        let damaged = try realPath(fixture.directory) + "/bundle"
        try writeExecutable(bytes, to: damaged)
        chmod(damaged, 0o755)
        // Another test's process, started while the file was open for writing, may still
        // hold it (ETXTBSY) for a moment: that is not what this test is about.
        var attempt = 0
        var result: Outcome
        repeat {
            attempt += 1
            if attempt > 1 { usleep(200_000) }
            result = (try? run(damaged, ["app.js", "-o", "out"], in: fixture.directory)) ?? Outcome(status: 126, stdout: "", stderr: "busy")
        } while result.status == 126 && attempt < 10
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("bundle: error: \(damaged) is damaged: "), "\(result)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result)")
        #expect(!FileManager.default.fileExists(atPath: fixture.directory + "/out"))
    }
}

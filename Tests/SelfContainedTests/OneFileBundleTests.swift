@testable import BundlerCore
import Foundation
import ProcessTestSupport
import PayloadFormat
import Testing

/// The one-file `bundle` (`.build/release/bundle-portable`, made by Scripts/package, which
/// Scripts/test runs) copied alone into roots without libnode, node, a Swift runtime or
/// the build folder (one without even a C library, and Debian 11's older one): there it
/// bundles apps and the outputs run.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root (unshare, chroot, mount)"), .timeLimit(.minutes(5)))
struct OneFileBundleTests {
    static let file = Fixture.binaries + "/bundle-portable"

    static func requireFile() throws {
        guard FileManager.default.isExecutableFile(atPath: file) else {
            throw TestFailure("\(file) is missing: run Scripts/package (Scripts/test does)")
        }
    }

    /// Copied alone into a root holding nothing but it, /proc, /dev/null, /dev/urandom and
    /// /tmp, it starts through the first stage on the C library it carries, bundles an app
    /// (two files and Debian's lodash), and the output runs there.
    @Test func bundlesAndRunsAnAppInAnEmptyRoot() throws {
        try Self.requireFile()
        let root = try EmptyRoot()
        try root.install(Self.file, as: "bundle")
        try writeTextFile("""
            const _ = require('lodash');
            const { greet } = require('./lib/greet');
            console.log(greet(_.capitalize(process.argv[2])), _.chunk([1, 2, 3, 4, 5], 2).length);

            """, at: root.path + "/src/app.js")
        try writeTextFile("exports.greet = (name) => `Hello, ${name}!`;\n", at: root.path + "/src/lib/greet.js")
        try FileManager.default.copyItem(atPath: "/usr/share/nodejs/lodash", toPath: root.path + "/src/node_modules/lodash")
        try FileManager.default.createDirectory(atPath: root.path + "/app", withIntermediateDirectories: false)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() == ["app", "bundle", "dev", "proc", "src", "tmp"])

        let version = try root.run("/bundle", arguments: ["--version"], environment: [:])
        #expect(version.status == 0 && version.stderr.isEmpty, "\(version)")
        #expect(version.stdout == "bundle \(Versions.bundle) (carries node \(try NodeRuntime.locate(NodeRuntime.defaultName, in: Fixture.binaries).nodeVersion) runtime, portable)\n")

        let bundled = try root.run("/bundle", arguments: ["/src/app.js", "-o", "/app/hello", "-v"], environment: [:])
        #expect(bundled.status == 0, "\(bundled)")
        #expect(bundled.stderr.contains("node_modules/lodash/lodash.js"))
        // Made by the carried runtime: there is no node here.
        #expect(bundled.stderr.contains("V8 code cache: "), "\(bundled)")

        let ran = try root.run("/app/hello", arguments: ["world"], environment: ["NODE_DEBUG": "bundle"])
        #expect(ran.status == 0, "\(ran)")
        #expect(ran.stdout == "Hello, World! 3\n")
        #expect(ran.stderr.contains("code cache used for /proc/self/bundle/src/node_modules/lodash/lodash.js"), "\(ran)")
        // No HOME: the cache is /tmp/bundle-0, holding only what outputs make (the one-file
        // bundle shares their base libraries), and nothing temporary is left.
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/tmp") == ["bundle-0"])
        let cache = try FileManager.default.contentsOfDirectory(atPath: root.path + "/tmp/bundle-0").filter { !$0.hasPrefix(".") }
        #expect(cache.sorted().map { String($0.prefix(5)) } == ["base-", "runti"], "\(cache)")

        let again = try root.run("/bundle", arguments: ["/src/app.js", "-o", "/app/hello-again", "-q"], environment: [:])
        #expect(again.status == 0 && again.stderr.isEmpty, "\(again)")
        #expect(FileManager.default.contentsEqual(atPath: root.path + "/app/hello", andPath: root.path + "/app/hello-again"))
    }

    /// On Debian 11 (glibc 2.31), where the plain `bundle` cannot start, the one-file
    /// bundle bundles an app and the output runs.
    @Test func runsOnDebian11() throws {
        try Self.requireFile()
        let root = try DebianRoot.bullseye()
        try root.install(Self.file, as: "bundle")
        try root.install(Fixture.binaries + "/bundle", as: "plain-bundle")
        try writeTextFile("console.log(require('os').platform(), [3, 1, 2].sort().join(''), process.argv[2]);\n",
                            at: root.apps + "/app.js")
        let refused = try root.run("/opt/plain-bundle", arguments: ["--version"], environment: ["HOME": "/root"])
        #expect(refused.status != 0 && refused.stderr.contains("version `GLIBC_2.3"), "\(refused)")

        // /opt and /root are fresh in every run: bundle and run in one.
        let ran = try root.run("/bin/sh", arguments: ["-c", "/opt/bundle /opt/app.js -o /root/app -q && /root/app debian11"],
                               environment: ["HOME": "/root"])
        #expect(ran.status == 0 && ran.stderr.isEmpty, "\(ran)")
        #expect(ran.stdout == "linux 123 debian11\n", "\(ran)")
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

    /// It starts with the toolkit's first stage, as portable outputs do, and names the
    /// runtime it carries.
    @Test func startsWithTheFirstStageAndNamesItsRuntime() throws {
        try Self.requireFile()
        let stage = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixture.binaries + "/bundle-stage")))
        let head = try FileHandle(forReadingFrom: URL(fileURLWithPath: Self.file)).read(upToCount: stage.count + 4096) ?? Data()
        #expect([UInt8](head.prefix(stage.count)) == stage)
        #expect(head.dropFirst(stage.count).prefix { $0 == 0 }.count < 4096, "padded to a page, no more")
        let record = try #require(try CarriedToolkit.record(of: Self.file))
        #expect(record.nodeVersion == (try NodeRuntime.locate(NodeRuntime.defaultName, in: Fixture.binaries).nodeVersion))
        // The plain build carries nothing and says so.
        #expect(try CarriedToolkit.record(of: Fixture.binaries + "/bundle") == nil)
    }

    /// Truncated, appended to, or a byte changed in a record or any section: one line
    /// naming the file and saying it is damaged, a non-zero exit, nothing written. What
    /// the first stage reads (the trailer, the stage record, the base section when no
    /// cache holds it) it refuses itself, as in outputs (exit 65); the rest `bundle` does
    /// (exit 1).
    @Test(arguments: ["truncate", "append", "trailer", "stage record", "toolkit record", "executable", "tools", "base", "runtime"])
    func damagedOneFileBundleIsRefused(_ damage: String) throws {
        try Self.requireFile()
        let fixture = try Fixture()
        try fixture.write("app.js", "console.log(1)\n")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.file)))
        let record = try #require(try CarriedToolkit.record(of: Self.file))
        switch damage {
        case "truncate": bytes.removeLast(ToolkitRecord.size / 2)
        case "append": bytes += Array("junk\n".utf8)
        case "trailer": bytes[bytes.count - Format.trailerSize + 20] ^= 1
        case "stage record": bytes[bytes.count - Format.trailerSize - StageRecord.size + 20] ^= 1
        case "toolkit record": bytes[bytes.count - Format.trailerSize - StageRecord.size - ToolkitRecord.size + 20] ^= 1
        case "executable": bytes[record.base.offset - 1000] ^= 1  // the compressed bundle ELF ends where the base starts
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
        #expect(result.status == 1 || result.status == 65, "\(result)")
        #expect(result.stderr.hasPrefix("bundle: error: \(damaged) is damaged: ") || result.stderr.hasPrefix("\(damaged) is damaged: "),
                "\(result)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result)")
        #expect(!FileManager.default.fileExists(atPath: fixture.directory + "/out"))
    }
}

import Foundation
import PayloadFormat
import ProcessTestSupport
import Testing

/// What the README's "Guarantees" section promises, each checked here.
@Suite struct GuaranteesTests {
    func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    @Test func sameInputsGiveByteIdenticalOutputs() throws {
        // a.js is large enough to get a V8 code cache, which must be reproducible too.
        let large = "module.exports = function table() {\n" + (0..<100).map { "  const v\($0) = \($0) * 2;\n" }.joined() + "  return v99;\n};\n"
        let files = ["app.js": "require('./b'); require('./a'); require('dep')", "a.js": large, "b.js": "2",
                     "package.json": #"{ "name": "x" }"#, "node_modules/dep/index.js": "3", "data/z.txt": "z", "data/y.txt": "y"]
        let first = try Fixture(files)
        // The same files written in the opposite order, with other modification times.
        let second = try Fixture()
        for (path, text) in files.sorted(by: { $0.key > $1.key }) { try second.write(path, text) }
        _ = try run("/usr/bin/touch", ["-d", "2001-02-03", second.directory + "/a.js", second.directory + "/data/z.txt"])
        let one = try first.bundle("app.js")
        let elsewhere = try second.scratchDirectory("cwd")
        let two = elsewhere + "/app"
        #expect(try run(Tools.bundle, [second.directory + "/app.js", "-o", two, "--quiet"], in: elsewhere).status == 0)
        #expect(try bytes(one) == bytes(two))
    }

    /// A large asset is streamed into the output, not held in memory: bundling it takes
    /// no more memory than bundling the same app with a small one. The bundled app reads
    /// every byte of it back, streamed or whole, holding about what node holds; `bundle
    /// inspect` and `extract` read it without holding it either.
    @Test func aLargeFileIsBundledAndReadWithoutHoldingItInMemory() throws {
        let fixture = try Fixture([
            "app.js": """
                const fs = require('fs');
                const file = require('path').join(__dirname, 'media/big.bin');
                const hash = require('crypto').createHash('sha256');
                if (process.argv[2] === 'whole') {
                  const bytes = fs.readFileSync(file);
                  console.log(bytes.length, hash.update(bytes).digest('hex'));
                } else {
                  let size = 0;
                  fs.createReadStream(file)
                    .on('data', (chunk) => { size += chunk.length; hash.update(chunk); })
                    .on('end', () => console.log(size, hash.digest('hex')));
                }
                """,
            "package.json": #"{ "name": "media-server" }"#,
        ])
        let big = fixture.directory + "/media/big.bin"
        let logs = try fixture.scratchDirectory("logs")
        /// Output and peak memory of a run; the output must be all on stdout.
        func measure(_ executable: String, _ arguments: [String]) throws -> (output: String, peak: Int) {
            let log = logs + "/" + UUID().uuidString
            let result = try runMeasuringMemory(executable, arguments, log: log)
            let output = try String(contentsOfFile: log, encoding: .utf8)
            #expect(result.status == 0, "\(executable) \(arguments): \(output)")
            return (output, result.peakBytes)
        }
        func bundlePeak(_ name: String) throws -> (output: String, peak: Int) {
            let output = try fixture.scratchDirectory(name) + "/app"
            return (output, try measure(Tools.bundle, [fixture.directory + "/app.js", "-o", output, "--quiet"]).peak)
        }
        try fixture.write("media/big.bin", "a small asset")
        let small = try bundlePeak("small")

        // 200 MB that do not compress, written a megabyte at a time.
        let size = 200 << 20
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        FileManager.default.createFile(atPath: big, contents: nil)
        let writer = try #require(FileHandle(forWritingAtPath: big))
        for _ in 0..<(size >> 20) { try writer.write(contentsOf: try #require(try random.read(upToCount: 1 << 20))) }
        try writer.close()
        let large = try bundlePeak("large")
        // Holding the file even once would add 200 MB; streaming adds a few frames.
        #expect(large.peak < small.peak + 64 << 20, "peak \(large.peak >> 20) MB with the large file, \(small.peak >> 20) MB without")

        // inspect and extract read the output as it streams by, too.
        let inspectSmall = try measure(Tools.bundle, ["inspect", small.output]).peak
        let inspected = try measure(Tools.bundle, ["inspect", large.output])
        #expect(inspected.output.contains("\(size)  package   app/media/big.bin"), "\(inspected.output)")
        let extracted = try fixture.scratchDirectory("extracted")
        let extractPeak = try measure(Tools.bundle, ["extract", large.output, "-o", extracted]).peak
        #expect(FileManager.default.contentsEqual(atPath: extracted + "/app/media/big.bin", andPath: big))
        for (command, peak) in [("inspect", inspected.peak), ("extract", extractPeak)] {
            #expect(peak < inspectSmall + 64 << 20, "\(command): peak \(peak >> 20) MB, \(inspectSmall >> 20) MB for the small app")
        }

        let node = try ["stream", "whole"].map { way in
            let reference = Tools.referenceNode([fixture.directory + "/app.js", way])
            return try measure(reference.executable, reference.arguments)
        }
        #expect(node.allSatisfy { $0.output.hasPrefix("\(size) ") })
        try fixture.removeSource()
        for (index, way) in ["stream", "whole"].enumerated() {
            let bundled = try measure(large.output, [way])
            #expect(bundled.output == node[index].output)
            // Inflating the whole asset and keeping it would add 200 MB.
            #expect(bundled.peak < node[index].peak + 64 << 20,
                    "\(way): peak \(bundled.peak >> 20) MB bundled, \(node[index].peak >> 20) MB under node")
        }
    }

    /// Ctrl-C while a large output is being written: bundle ends by the signal and
    /// leaves neither the output nor its temporary file.
    @Test(arguments: [SIGINT, SIGTERM])
    func anInterruptedBundleLeavesNothingBehind(signal: Int32) throws {
        let fixture = try Fixture(["app.js": "console.log(1)\n", "package.json": #"{ "name": "x" }"#])
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        try Data(try #require(try random.read(upToCount: 96 << 20))).write(to: URL(fileURLWithPath: fixture.directory + "/big.bin"))
        let outputDirectory = try fixture.scratchDirectory("out")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Tools.bundle)
        process.arguments = [fixture.directory + "/app.js", "-o", outputDirectory + "/app", "--quiet"]
        try process.runOnceNotBusy()
        let deadline = Date().addingTimeInterval(60)
        // Signal once the temporary file exists, that is while the output is written.
        while process.isRunning, Date() < deadline, try FileManager.default.contentsOfDirectory(atPath: outputDirectory).isEmpty {
            Thread.sleep(forTimeInterval: 0.002)
        }
        let seen = try FileManager.default.contentsOfDirectory(atPath: outputDirectory)
        #expect(seen.count == 1 && seen[0].hasPrefix(".app.bundle-"), "\(seen)")
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == signal)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outputDirectory) == [])
    }

    /// A signal already pending when `bundle` starts (blocked by whoever started it, as a
    /// test runner's threads do) ends it by that signal as soon as it unblocks it, leaving
    /// nothing behind: the handler must not run before what it reads exists (it used to
    /// wait for that forever).
    @Test func aSignalPendingAtStartEndsTheBundleCleanly() throws {
        let fixture = try Fixture(["app.js": "console.log(1)\n"])
        let outputDirectory = try fixture.scratchDirectory("out")
        // Block SIGTERM, make it pending, then become `bundle` (the mask and the pending
        // signal survive exec).
        let start = """
            import os, signal, sys
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            os.kill(os.getpid(), signal.SIGTERM)
            os.execv(sys.argv[1], sys.argv[1:])
            """
        let result = try run("/usr/bin/python3", ["-c", start, Tools.bundle, fixture.directory + "/app.js", "-o", outputDirectory + "/app", "--quiet"],
                             timeout: 60)
        #expect(result.status == 128 + SIGTERM, "\(result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outputDirectory) == [])
    }

    /// Damage anywhere in the payload or trailer: one line, exit 65, and the app never runs.
    @Test(arguments: ["truncate", "flip-app", "flip-trailer", "append"])
    func damagedOutputsAreRefused(damage: String) throws {
        let fixture = try Fixture(["app.js": "console.log('ran')\n"])
        let output = try fixture.bundle("app.js", extra: ["--runtime", "system", "--node", "18"])
        var data = try bytes(output)
        switch damage {
        case "truncate": data.removeLast(1000)
        case "flip-app": data[data.count - 200] ^= 0x10
        case "flip-trailer": data[data.count - 60] ^= 0x01
        default: data += Array("appended".utf8)
        }
        try writeExecutable(data, to: output)
        let result = try run(output)
        #expect(result.status == 65)
        #expect(result.stdout == "")
        #expect(result.stderr.hasPrefix("\(output) is damaged: "))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    /// The app section is checked a frame at a time, as the app reads it: damage in a part
    /// it never reads costs nothing at start, damage in a part it reads ends it with the
    /// same line and status as damage found at start, before any damaged byte is used.
    @Test func aDamagedFrameIsFoundWhenTheAppReadsIt() throws {
        let fixture = try Fixture(["app.js": """
            const file = process.argv[2];
            if (!file) { console.log('ran'); return; }
            const bytes = require('fs').readFileSync(require('path').join(__dirname, file));
            console.log(require('crypto').createHash('sha256').update(bytes).digest('hex'));
            """])
        // Random bytes are stored as raw zstd blocks: without a checksum a flipped bit
        // would inflate without an error. b.bin's frames are the last of the section.
        for name in ["a.bin", "b.bin"] {
            var random = SystemRandomNumberGenerator()
            try Data((0..<3_000_000).map { _ in UInt8.random(in: 0...255, using: &random) })
                .write(to: URL(fileURLWithPath: fixture.directory + "/" + name))
        }
        let expectedA = try fixture.node("app.js", ["a.bin"])
        let output = try fixture.bundle("app.js", extra: ["--runtime", "system", "--node", "18", "--include", "*.bin"])
        var data = try bytes(output)
        let trailer = data.count - Format.trailerSize
        func integer(at offset: Int) -> Int { (0..<8).reduce(0) { $0 | Int(data[trailer + offset + $1]) << (8 * $1) } }
        let appEnd = integer(at: 48) + integer(at: 56)
        data[appEnd - 1_000_000] ^= 0x10
        try writeExecutable(data, to: output)

        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "NODE_EXTRA_CA_CERTS")  // node would warn on stderr about a missing one
        let unread = try run(output, environment: environment)
        #expect(unread.status == 0 && unread.stdout == "ran\n", "\(unread)")
        let intact = try run(output, ["a.bin"], environment: environment)
        #expect(intact.status == 0 && intact.stdout == expectedA.stdout, "\(intact)")
        let damaged = try run(output, ["b.bin"], environment: environment)
        #expect(damaged.status == 65, "\(damaged)")
        #expect(damaged.stdout == "")
        #expect(damaged.stderr.hasPrefix("\(output) is damaged: "), "\(damaged)")
        #expect(damaged.stderr.split(separator: "\n").count == 1, "\(damaged)")

        // The frame index at the section's end is checked at start: damaged, nothing runs.
        data[appEnd - 1_000_000] ^= 0x10
        data[appEnd - 12] ^= 0x01
        // Another file: the one just run may still be busy (ETXTBSY) for a moment.
        let badIndexOutput = output + "-bad-index"
        try writeExecutable(data, to: badIndexOutput)
        #expect(chmod(badIndexOutput, 0o755) == 0)
        let badIndex = try run(badIndexOutput, environment: environment)
        #expect(badIndex.status == 65 && badIndex.stdout == "", "\(badIndex)")
        #expect(badIndex.stderr == "\(badIndexOutput) is damaged: app section: corrupt (frame index checksum mismatch)\n", "\(badIndex)")
    }

    /// Starts a bundled app and returns once it has printed "ready" (or ended).
    func startUntilReady(_ output: String) throws -> (process: Process, pipe: Pipe, seen: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: output)
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.runOnceNotBusy()
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("ready") {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        return (process, pipe, seen)
    }

    /// File names with spaces, unicode and newlines, and a symlink loop inside a package.
    @Test func hostileFileNamesAndSymlinkLoops() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "odd" }"#,
            "app.js": """
                const fs = require('fs'), path = require('path');
                console.log(require('./dir with space/ünïcödé.js'), require('looping').ok);
                console.log(fs.readFileSync(path.join(__dirname, 'new\\nline.txt'), 'utf8'));
                console.log(fs.readdirSync(__dirname).filter((n) => !n.startsWith('.')).sort().join('|'));
                """,
            "dir with space/ünïcödé.js": "module.exports = 'unicode ok'\n",
            "new\nline.txt": "newline ok",
            "node_modules/looping/index.js": "exports.ok = 'loop ok'\n",
        ])
        try FileManager.default.createSymbolicLink(atPath: fixture.directory + "/node_modules/looping/self", withDestinationPath: "..")
        let (node, bundled) = try expectSameAsNode(fixture)
        #expect(node.stdout.hasPrefix("unicode ok loop ok\nnewline ok\n"))
        #expect(bundled.stderr == "")
    }

    /// A syntax error in a file the app requires is reported when bundling (file:line and
    /// V8's message, as a warning: node only fails if the file is loaded), and at run time
    /// the app fails exactly as `node app.js` does.
    @Test func syntaxErrorIsReportedAtBundleTimeAndFailsLikeNode() throws {
        let fixture = try Fixture([
            "app.js": "console.log('start');\nif (process.argv[2] === 'load') require('./broken');\n",
            "broken.js": "module.exports = 1;\nconst x = ;\n",
        ])
        let output = try fixture.scratchDirectory("output") + "/app"
        let bundled = try run(Tools.bundle, ["app.js", "-o", output], in: fixture.directory)
        #expect(bundled.status == 0, "\(bundled)")
        #expect(bundled.stderr.contains("broken.js:2: warning: SyntaxError: Unexpected token ';'"), "\(bundled)")
        let node = try fixture.node("app.js", ["load"])
        let app = try run(output, ["load"], in: fixture.directory)
        #expect(app.status == node.status && node.status == 1, "\(app)")
        #expect(app.stdout == "start\n", "\(app)")
        #expect(app.stderr.contains("SyntaxError: Unexpected token ';'"), "\(app)")
        #expect(try run(output, [], in: fixture.directory).status == 0)
    }

    /// A cache folder planted by someone else (a symlink, a folder others can write, a
    /// folder another user owns) is never used; the app still runs.
    @Test(arguments: ["symlink", "writable by others", "owned by another user"])
    func plantedCacheDirectoriesAreRefused(plant: String) throws {
        let fixture = try Fixture(["app.js": "console.log('ran')\n"])
        let output = try fixture.bundle("app.js")
        let cache = try fixture.scratchDirectory("xdg"), elsewhere = try fixture.scratchDirectory("attacker")
        chmod(elsewhere, 0o777)
        switch plant {
        case "symlink": try FileManager.default.createSymbolicLink(atPath: cache + "/bundle", withDestinationPath: elsewhere)
        case "writable by others":
            try FileManager.default.createDirectory(atPath: cache + "/bundle", withIntermediateDirectories: false)
            chmod(cache + "/bundle", 0o777)
        default:
            try FileManager.default.createDirectory(atPath: cache + "/bundle", withIntermediateDirectories: false)
            chmod(cache + "/bundle", 0o700)
            chown(cache + "/bundle", 65534, 65534)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CACHE_HOME"] = cache
        let result = try run(output, environment: environment)
        #expect(result.stdout == "ran\n", "\(result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere) == [])
        if plant != "symlink" { #expect(try FileManager.default.contentsOfDirectory(atPath: cache + "/bundle") == []) }
    }

    @Test func signalsReachTheAppsHandlers() throws {
        let fixture = try Fixture(["app.js": """
            process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(3) });
            console.log('ready');
            setInterval(() => {}, 1000);
            """])
        var (process, pipe, seen) = try startUntilReady(try fixture.bundle("app.js"))
        process.terminate()
        process.waitUntilExit()
        seen += pipe.fileHandleForReading.readDataToEndOfFile()
        #expect(String(decoding: seen, as: UTF8.self) == "ready\ngot SIGTERM\n")
        #expect(process.terminationStatus == 3)
    }

    @Test func sigintWithoutAHandlerEndsTheAppLikeNode() throws {
        let fixture = try Fixture(["app.js": "console.log('ready'); setInterval(() => {}, 1000)\n"])
        let (process, _, seen) = try startUntilReady(try fixture.bundle("app.js"))
        #expect(String(decoding: seen, as: UTF8.self) == "ready\n")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == SIGINT)
    }

    @Test func aClosedPipeEndsLikeNodeAndLargeOutputIsNotTruncated() throws {
        let fixture = try Fixture(["app.js": """
            const n = Number(process.argv[2]);
            for (let i = 0; i < n; i++) process.stdout.write(`line ${i} ${'x'.repeat(100)}\\n`);
            """])
        // What node does when the reader goes away: the same exit status, and EPIPE reported
        // (or not) the same way.
        let pipeline = #"'%@' %@ 100000 | head -1; echo "status ${PIPESTATUS[0]}" >&2"#
        let node = try run("/bin/bash", ["-c", String(format: pipeline, Tools.node, fixture.directory + "/app.js")])
        let output = try fixture.bundle("app.js")
        let bundled = try run("/bin/bash", ["-c", String(format: pipeline, output, "")])
        #expect(bundled.stdout == "line 0 " + String(repeating: "x", count: 100) + "\n")
        #expect(bundled.stdout == node.stdout)
        #expect(bundled.stderr.contains("Error: write EPIPE") == node.stderr.contains("Error: write EPIPE"))
        #expect(bundled.stderr.hasSuffix(node.stderr.split(separator: "\n").last.map { $0 + "\n" } ?? "?"))
        let all = try run(output, ["50000"])
        #expect(all.stdout.count == (0..<50000).reduce(0) { $0 + "line \($1) ".count + 101 })
    }
}

@testable import BundlerCore
import Foundation
import ProcessTestSupport
import PayloadFormat
import Testing

/// Portable outputs (the default with the bundled runtime) carry Debian 12's loader, C
/// and C++ libraries and start through the first stage (Sources/Stage), so they run
/// where the C library is older than the runtime needs, or where there is none:
/// a Debian 11 root (glibc 2.31) made with debootstrap, and a root holding nothing but
/// the output, /proc, /dev/null, /dev/urandom and /tmp. Needs root (unshare, chroot,
/// mount).
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root (unshare, chroot, mount)"), .timeLimit(.minutes(10)))
struct PortableTests {
    /// What the process looks like from inside: the same as a plain node process
    /// started as the output (execPath, /proc/self/exe, argv, a forked child, exit code),
    /// running on the carried C library.
    static let processSource = #"""
        const fs = require('fs');
        const exe = () => { try { return fs.realpathSync('/proc/self/exe'); } catch (e) { return e.code; } };
        if (process.argv[2] === 'child') {
          process.send([process.execPath, exe(), process.argv.slice(2).join(' ')].join(' '));
          process.exit(3);
        }
        console.log([process.execPath, exe(), process.argv.slice(2).join(' '),
          process.report.getReport().header.glibcVersionRuntime].join(' '));
        let received;
        const child = require('child_process').fork(__filename, ['child', 'x']);
        child.on('message', (message) => { received = message; });
        child.on('close', (code) => { console.log('child ' + received + '\nchild exit ' + code); process.exitCode = 7; });
        """#

    /// The glibc portable outputs carry: the default runtime's own (its lock's libc6).
    static let carriedGlibc: String = {
        let lock = (try? String(contentsOfFile: Fixture.packageRoot + "/Runtimes/\(NodeRuntime.defaultName).lock", encoding: .utf8)) ?? ""
        let record = lock.split(separator: "\n").first { $0.hasPrefix("package libc6 ") }
        return record.map { String($0.split(separator: " ")[2].prefix { $0 != "-" }) } ?? "unknown"
    }()

    @Test func runsOnDebian11() throws {
        let root = try DebianRoot.bullseye()
        // The root really has the older C library, and a plain output cannot run there.
        #expect(FileManager.default.fileExists(atPath: root.path + "/lib/x86_64-linux-gnu/libc-2.31.so"))
        let fixture = try Fixture()
        let plain = try fixture.bundle("hello.js", writing: "console.log('hello')\n", as: "plain", extra: ["--no-portable", "--node", "18"])
        try root.install(plain, as: "plain")
        let refused = try root.run(root.appPath("plain"), environment: ["HOME": "/root"])
        #expect(refused.status != 0 && refused.stderr.contains("version `GLIBC_2.3"), "\(refused)")

        try expectSuiteAndProcessWork(fixture, in: root, environment: ["HOME": "/root"])
    }

    @Test func runsInAnEmptyRoot() throws {
        let fixture = try Fixture()
        let root = try EmptyRoot()
        // No HOME: the cache goes to /tmp/bundle-0, the only writable place.
        try expectSuiteAndProcessWork(fixture, in: root, environment: [:])
        let base = root.path + "/tmp/bundle-0"
        let names = try FileManager.default.contentsOfDirectory(atPath: base)
        #expect(names.filter { $0.hasPrefix("base-") }.count == 1, "\(names)")
        #expect(names.filter { $0.hasPrefix("runtime-") }.count == 1, "\(names)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() == ["dev", "proc", "process", "suite", "tmp"])
    }

    /// Read-only root, no HOME: nothing can be cached, so every start loads the carried
    /// libraries from memory files, and nothing is written.
    @Test func readOnlyEmptyRootRunsFromMemory() throws {
        let fixture = try Fixture()
        let root = try EmptyRoot()
        try root.install(try fixture.suite(), as: "suite")
        let result = try root.run("/suite", environment: [:], readOnly: true)
        #expect(result.status == 0 && result.stdout == SelfContainedTests.expectedSuiteOutput && result.stderr == "", "\(result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/tmp") == [])
    }

    /// Without /proc a start from the cache works; the first start, which would need
    /// memory files (/proc/self/fd), says why it cannot.
    @Test func withoutProcOnlyTheFirstStartIsRefused() throws {
        let fixture = try Fixture()
        let root = try EmptyRoot()
        let hello = try fixture.bundle("hello.js", writing: "console.log('hello', process.argv[2])\n", as: "hello")
        try root.install(hello, as: "hello")
        let first = try root.run("/hello", arguments: ["1"], environment: [:], mountProc: false)
        #expect(first.status == 69, "\(first)")
        #expect(first.stderr == "/hello: cannot start: no cache directory is usable and /proc is not mounted, so the carried C library cannot be loaded from memory\n")
        #expect(try root.run("/hello", arguments: ["2"], environment: [:]).stdout == "hello 2\n")
        let warm = try root.run("/hello", arguments: ["3"], environment: [:], mountProc: false)
        #expect(warm.status == 0 && warm.stdout == "hello 3\n" && warm.stderr == "", "\(warm)")
    }

    /// The first start runs from memory and leaves base-<digest> behind; a damaged file in
    /// it is noticed by the stage (which then runs from memory) and repaired by the launcher.
    @Test func baseLibraryCacheIsMadeByTheLauncherAndRepaired() throws {
        let fixture = try Fixture()
        let hello = try fixture.bundle("hello.js", writing: "console.log('hello', process.argv[2])\n", as: "hello")
        let home = try makeTemporaryDirectory("bundle-portable-home")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let environment = ["HOME": home, "XDG_CACHE_HOME": "", "TMPDIR": home + "/nonexistent"]
        let first = try run(hello, ["1"], environment: environment)
        #expect(first.status == 0 && first.stdout == "hello 1\n" && first.stderr == "", "\(first)")
        let cache = home + "/.cache/bundle"
        let base = try #require(try FileManager.default.contentsOfDirectory(atPath: cache).first { $0.hasPrefix("base-") })
        let libc = cache + "/" + base + "/files/libc.so.6"
        let size = try SelfContainedTests.size(libc)
        #expect(size > 1 << 20)
        let manifest = try String(contentsOfFile: cache + "/" + base + "/manifest", encoding: .utf8)
        #expect(manifest.contains(" ld-linux-x86-64.so.2\n") && manifest.contains(" libstdc++.so.6\n"), "\(manifest)")

        #expect(truncate(libc, 4096) == 0)
        let repaired = try run(hello, ["2"], environment: environment)
        #expect(repaired.status == 0 && repaired.stdout == "hello 2\n" && repaired.stderr == "", "\(repaired)")
        #expect(try SelfContainedTests.size(libc) == size)
    }

    /// The launcher makes base-<digest> where CacheDirectory.candidateBases says; the stage,
    /// which only looks, must find it there on the next start, for every way the
    /// environment can name (or fail to name) the cache: the two read the same rule. The
    /// app says where its C library was mapped from.
    @Test(arguments: ["xdg", "relative xdg", "unusable xdg", "home", "temporary"])
    func stageFindsTheBaseLibrariesWhereTheLauncherPutThem(layout: String) throws {
        let fixture = try Fixture()
        let app = try fixture.bundle("libc.js", writing: """
            const maps = require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n');
            console.log(maps.find((line) => / \\S*libc\\.so\\.6\\b/.test(line)).replace(/^.* (\\S*libc\\.so\\.6).*$/, '$1'));
            """, as: "libc")
        // As the app shows paths: no doubled slash.
        let scratch = URL(fileURLWithPath: try makeTemporaryDirectory("bundle-portable-cache")).standardizedFileURL.path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let notADirectory = scratch + "/file"
        try "".write(toFile: notADirectory, atomically: true, encoding: .utf8)
        let (environment, expected): ([String: String], String) = switch layout {
        case "xdg": (["XDG_CACHE_HOME": scratch + "/xdg", "HOME": scratch + "/home", "TMPDIR": scratch], scratch + "/xdg/bundle")
        case "relative xdg": (["XDG_CACHE_HOME": "xdg", "HOME": scratch + "/home", "TMPDIR": scratch], scratch + "/home/.cache/bundle")
        case "unusable xdg": (["XDG_CACHE_HOME": notADirectory, "HOME": scratch + "/home", "TMPDIR": scratch], scratch + "/home/.cache/bundle")
        case "home": (["HOME": scratch + "/home", "TMPDIR": scratch], scratch + "/home/.cache/bundle")
        default: (["HOME": "home", "TMPDIR": scratch], scratch + "/bundle-\(getuid())")
        }
        try FileManager.default.createDirectory(atPath: scratch + "/home", withIntermediateDirectories: true)
        let first = try run(app, [], environment: environment)
        #expect(first.status == 0 && first.stdout.hasPrefix("/memfd:"), "the first start runs from memory: \(first)")
        let second = try run(app, [], environment: environment)
        #expect(second.status == 0 && second.stdout.hasPrefix(expected + "/base-"), "expected under \(expected): \(second)")
    }

    /// Docker before 20.10.10 answers clone3 with EPERM, and the carried glibc only falls
    /// back to clone on ENOSYS: the stage makes it say ENOSYS. Checked under a seccomp
    /// filter like that profile's.
    @Test(.enabled(if: hasPython, "needs /usr/bin/python3"))
    func threadsWorkWhereClone3IsRefusedWithEPERM() throws {
        let fixture = try Fixture()
        let suite = try fixture.suite()
        let filtered = try Self.underSeccomp(["clone3-eperm", "435", suite], home: fixture.directory)
        #expect(filtered.status == 0 && filtered.stdout == SelfContainedTests.expectedSuiteOutput && filtered.stderr == "", "\(filtered)")
        // The same filter really stops a program on the system's glibc.
        let plain = try fixture.bundle("hello.js", writing: "console.log('hello')\n", as: "plain", extra: ["--no-portable", "--node", "18"])
        #expect(try Self.underSeccomp(["clone3-eperm", "435", plain], home: fixture.directory).status != 0)
    }

    /// The kernel floor, emulated: a seccomp filter answers ENOSYS for every system call
    /// numbered from `firstMissing` on (x86-64 numbers), as an older kernel would. The
    /// suite passes, from memory (cold) and from the cache (warm), with Linux 4.18's
    /// table (RHEL 8; pidfd_send_signal, 424, came in 5.1) and with 3.17's (bpf, 321,
    /// came in 3.18; memfd_create is 319, getrandom 318).
    @Test(.enabled(if: hasPython, "needs /usr/bin/python3"), arguments: zip([424, 320], ["4.18", "3.17"]))
    func runsWithTheSystemCallsOfAnOlderKernel(firstMissing: Int, kernel: String) throws {
        let fixture = try Fixture()
        let suite = try fixture.suite()
        for attempt in ["cold cache", "warm cache"] {
            let result = try Self.underSeccomp(["enosys-from", "\(firstMissing)", suite], home: fixture.directory)
            #expect(result.status == 0 && result.stdout == SelfContainedTests.expectedSuiteOutput && result.stderr == "",
                    "Linux \(kernel), \(attempt): \(result)")
        }
    }

    /// Below the floor: with 3.16's table (no getrandom) node's OpenSSL cannot seed, and
    /// the output stops with node's own message, even from a warm cache.
    @Test(.enabled(if: hasPython, "needs /usr/bin/python3"))
    func kernelsBefore3_17AreBelowTheFloor() throws {
        let fixture = try Fixture()
        let suite = try fixture.suite()
        #expect(try run(suite, [], environment: ["HOME": fixture.directory]).status == 0)
        let result = try Self.underSeccomp(["enosys-from", "318", suite], home: fixture.directory)
        #expect(result.status != 0 && result.stderr.contains("CSPRNG"), "\(result)")
    }

    static let hasPython = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

    static func underSeccomp(_ arguments: [String], home: String) throws -> Outcome {
        try run("/usr/bin/python3", ["-c", seccomp] + arguments, environment: ["HOME": home, "TMPDIR": home])
    }

    /// `seccomp clone3-eperm 435 program args...`: clone3 fails with EPERM (Docker before
    /// 20.10.10); `seccomp enosys-from N program args...`: every system call numbered N or
    /// more fails with ENOSYS. Then runs the program (python3, through ctypes).
    static let seccomp = """
        import ctypes, os, struct, sys
        libc = ctypes.CDLL(None, use_errno=True)
        mode, number = sys.argv[1], int(sys.argv[2])
        jump, errno = (0x15, 1) if mode == 'clone3-eperm' else (0x35, 38)  # JEQ EPERM, JGE ENOSYS
        code = [(0x20, 0, 0, 0), (jump, 0, 1, number), (0x06, 0, 0, 0x50000 | errno), (0x06, 0, 0, 0x7fff0000)]
        filters = b''.join(struct.pack('HBBI', *c) for c in code)
        buffer = ctypes.create_string_buffer(filters)
        program = struct.pack('HxxxxxxQ', len(code), ctypes.addressof(buffer))
        assert libc.prctl(38, 1, 0, 0, 0) == 0
        assert libc.prctl(22, 2, ctypes.c_char_p(program), 0, 0) == 0, ctypes.get_errno()
        os.execv(sys.argv[3], sys.argv[3:])
        """

    /// Truncated, bit-flipped or appended-to portable outputs: one line, exit 65, before
    /// any of the app runs (the stage checks the trailer, its record, the launcher's
    /// headers and, when it inflates it, the base section).
    @Test(arguments: ["truncate", "flip-trailer", "flip-record", "flip-base", "flip-launcher", "flip-app", "append"])
    func damagedPortableOutputsAreRefused(damage: String) throws {
        let fixture = try Fixture()
        let output = try fixture.bundle("hello.js", writing: "console.log('ran')\n", as: "hello")
        var data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: output)))
        let record = try data.withUnsafeBytes { bytes in
            let trailer = try Trailer(decoding: UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - Format.trailerSize)...]),
                                      fileSize: bytes.count)
            let end = bytes.count - Format.trailerSize
            return try StageRecord(decoding: UnsafeRawBufferPointer(rebasing: bytes[(end - StageRecord.size)..<end]),
                                   fileSize: bytes.count, trailer: trailer)
        }
        switch damage {
        case "truncate": data.removeLast(1000)
        case "flip-trailer": data[data.count - 60] ^= 0x01
        case "flip-record": data[data.count - Format.trailerSize - 40] ^= 0x01
        case "flip-base": data[record.base.offset + 1000] ^= 0x01
        case "flip-launcher": data[record.launcherOffset + 1] ^= 0x01  // the ELF magic
        case "flip-app": data[data.count - Format.trailerSize - StageRecord.size - 100] ^= 0x10
        default: data += Array("appended".utf8)
        }
        try writeExecutable(data, to: output)
        // A fresh cache, so the base section is inflated and checked.
        let result = try run(output, [], environment: ["HOME": fixture.directory, "TMPDIR": fixture.directory])
        #expect(result.status == 65, "\(result)")
        #expect(result.stdout == "")
        #expect(result.stderr.hasPrefix("\(output) is damaged: "), "\(result)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result)")
    }

    @Test func outputLayoutPutsTheLauncherOnAPageAndTheBaseLibrariesAfterIt() throws {
        let fixture = try Fixture()
        let output = try fixture.bundle("hello.js", writing: "console.log('ran')\n", as: "hello")
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: output)))
        let (trailer, record) = try bytes.withUnsafeBytes { buffer in
            let trailer = try Trailer(decoding: UnsafeRawBufferPointer(rebasing: buffer[(buffer.count - Format.trailerSize)...]),
                                      fileSize: buffer.count)
            let end = buffer.count - Format.trailerSize
            return (trailer, try StageRecord(decoding: UnsafeRawBufferPointer(rebasing: buffer[(end - StageRecord.size)..<end]),
                                             fileSize: buffer.count, trailer: trailer))
        }
        #expect(trailer.flags == [.selfContained, .portable])
        #expect(Array(bytes[0..<4]) == [0x7f, 0x45, 0x4c, 0x46])
        #expect(record.launcherOffset % 4096 == 0 && Array(bytes[record.launcherOffset..<record.launcherOffset + 4]) == [0x7f, 0x45, 0x4c, 0x46])
        #expect(record.base.offset + record.base.compressedSize == trailer.runtime.offset)
        let section = Array(bytes[record.base.offset..<record.base.offset + record.base.compressedSize])
        let archive = try record.base.codec.decompress(section, uncompressedSize: record.base.uncompressedSize)
        let names = try archive.withUnsafeBytes { try ArchiveReader($0).entries.map(\.path) }
        #expect(Set(names) == RuntimePack.baseLibraries)
    }

    // MARK: Helpers

    /// Bundles suite.js and the process check, runs both in `root`, and checks what they print.
    func expectSuiteAndProcessWork(_ fixture: Fixture, in root: some TestRoot, environment: [String: String]) throws {
        try root.install(try fixture.suite(), as: "suite")
        try root.install(try fixture.bundle("process.js", writing: Self.processSource, as: "process"), as: "process")
        for attempt in ["cold cache", "warm cache"] {
            let suite = try root.run(root.appPath("suite"), environment: environment)
            #expect(suite.status == 0, "\(attempt): \(suite)")
            #expect(suite.stdout == SelfContainedTests.expectedSuiteOutput, "\(attempt): \(suite)")
            #expect(suite.stderr == "", "\(attempt): \(suite)")
        }
        let app = root.appPath("process")
        let process = try root.run(app, arguments: ["a", "b c"], environment: environment)
        #expect(process.status == 7, "\(process)")
        #expect(process.stdout == "\(app) \(app) a b c \(Self.carriedGlibc)\nchild \(app) \(app) child x\nchild exit 3\n", "\(process)")
        #expect(process.stderr == "", "\(process)")
    }
}

/// A root to chroot into. Every run happens in a private mount namespace (nothing stays
/// mounted afterwards) with /proc mounted and /dev/null and /dev/urandom bound from the
/// host.
protocol TestRoot {
    var path: String { get }
    func install(_ app: String, as name: String) throws
    /// Where an installed app is, inside the root.
    func appPath(_ name: String) -> String
    /// Shell lines run in the namespace before the app (with $R the root).
    func setup(readOnly: Bool) -> String
}

extension TestRoot {
    func run(_ app: String, arguments: [String] = [], environment: [String: String], readOnly: Bool = false,
             mountProc: Bool = true) throws -> Outcome {
        let output = try makeTemporaryDirectory("bundle-root-out")
        defer { try? FileManager.default.removeItem(atPath: output) }
        var script = "set -e\nR=\(shellQuote(path))\nO=\(shellQuote(output))\n" + setup(readOnly: readOnly)
        script += "for d in null urandom; do mount --bind /dev/$d \"$R/dev/$d\"; done\n"
        if mountProc { script += "mount -t proc proc \"$R/proc\"\n" }
        let variables = environment.sorted { $0.key < $1.key }.map { shellQuote("\($0.key)=\($0.value)") }
        let line = (["/usr/bin/env", "-i"] + variables + ["/usr/sbin/chroot", "\"$R\"", shellQuote(app)] + arguments.map(shellQuote))
            .joined(separator: " ")
        script += "set +e\n\(line) >\"$O/out\" 2>\"$O/err\" </dev/null\necho $? >\"$O/rc\"\n"
        let result = try SelfContainedTestsSupport.run("/usr/bin/unshare", ["--mount", "--pid", "--fork", "/bin/sh", "-c", script], in: "/")
        guard result.status == 0 else { throw TestFailure("root setup failed: \(result)") }
        func text(_ name: String) throws -> String { try String(contentsOfFile: output + "/" + name, encoding: .utf8) }
        return Outcome(status: Int32(try text("rc").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1,
                       stdout: try text("out"), stderr: try text("err"))
    }
}

/// Nothing but the apps (at the top), /proc, /dev/null, /dev/urandom and /tmp.
final class EmptyRoot: TestRoot {
    let path: String

    init() throws {
        path = try makeTemporaryDirectory("bundle-empty-root")
        for directory in ["proc", "dev", "tmp"] {
            try FileManager.default.createDirectory(atPath: path + "/" + directory, withIntermediateDirectories: true)
        }
        chmod(path, 0o755)
        chmod(path + "/tmp", 0o1777)
        for device in ["null", "urandom"] {  // mount points for the host's devices
            _ = FileManager.default.createFile(atPath: path + "/dev/" + device, contents: nil)
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func install(_ app: String, as name: String) throws {
        try copyExecutable(app, to: path + "/" + name)
    }

    func appPath(_ name: String) -> String { "/" + name }

    func setup(readOnly: Bool) -> String {
        readOnly ? "mount --bind \"$R\" \"$R\"\nmount -o remount,bind,ro \"$R\"\n" : ""
    }
}

/// A Debian root made once with `debootstrap --variant=minbase` and kept under
/// ~/.cache/bundle-test/<suite>. Runs never change it: /tmp, /root and /opt (where the
/// apps go) are fresh tmpfs mounts in the run's namespace, /dev a tmpfs with the two
/// devices.
final class DebianRoot: TestRoot {
    let path: String
    let apps: String

    private init(path: String) throws {
        self.path = path
        apps = try makeTemporaryDirectory("bundle-debian-apps")
    }

    deinit { try? FileManager.default.removeItem(atPath: apps) }

    /// Debian 11, made on first use (about 30 s and 215 MB). A test that needs it is
    /// cancelled, with the reason, only when the packages cannot be fetched.
    static func bullseye() throws -> DebianRoot {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        let cached = home + "/.cache/bundle-test/bullseye"
        let manager = FileManager.default
        if !manager.fileExists(atPath: cached + "/.bundle-test-complete") {
            guard manager.isExecutableFile(atPath: "/usr/sbin/debootstrap") else {
                throw TestFailure("debootstrap is not installed (Scripts/setup installs it)")
            }
            try manager.createDirectory(atPath: home + "/.cache/bundle-test", withIntermediateDirectories: true)
            let building = cached + ".building-\(getpid())"
            defer { try? manager.removeItem(atPath: building) }
            let made = try SelfContainedTestsSupport.run("/usr/sbin/debootstrap", ["--variant=minbase", "bullseye", building] + aptMirror(), in: "/")
            guard made.status == 0 else {
                let log = (try? String(contentsOfFile: building + "/debootstrap/debootstrap.log", encoding: .utf8)) ?? ""
                let why = (made.stderr + log).split(separator: "\n").last { $0.contains("Failed") || $0.contains("E: ") }
                if let why, why.contains("Failed getting release file") || why.contains("Couldn't download")
                    || why.contains("Failed to download") || why.contains("Could not resolve") {
                    try Test.cancel("cannot fetch Debian 11 packages for the test root: \(why)")
                }
                throw TestFailure("debootstrap bullseye failed: \(made)")
            }
            _ = manager.createFile(atPath: building + "/.bundle-test-complete", contents: nil)
            try? manager.removeItem(atPath: cached)
            try manager.moveItem(atPath: building, toPath: cached)
        }
        return try DebianRoot(path: cached)
    }

    /// The Debian mirror apt uses on this machine, if its sources name one.
    static func aptMirror() -> [String] {
        let directory = "/etc/apt/sources.list.d"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory).sorted()) ?? [] where name.hasSuffix(".sources") {
            let text = (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") where line.hasPrefix("URIs:") {
                let uri = line.dropFirst(5).trimmingCharacters(in: .whitespaces)
                if uri.hasSuffix("/debian") { return [uri] }
            }
        }
        return []
    }

    func install(_ app: String, as name: String) throws {
        try copyExecutable(app, to: apps + "/" + name)
    }

    func appPath(_ name: String) -> String { "/opt/" + name }

    func setup(readOnly: Bool) -> String {
        var lines = ""
        for directory in ["tmp", "root", "opt"] { lines += "mount -t tmpfs -o mode=1777 tmpfs \"$R/\(directory)\"\n" }
        lines += "cp -p \(shellQuote(apps))/* \"$R/opt/\"\n"
        lines += "mount -t tmpfs tmpfs \"$R/dev\"\ntouch \"$R/dev/null\" \"$R/dev/urandom\"\n"
        if readOnly { lines += "mount --bind \"$R\" \"$R\"\nmount -o remount,bind,ro \"$R\"\n" }
        return lines
    }
}

extension Fixture {
    /// Writes `source` as `entry` and bundles it as `name`.
    func bundle(_ entry: String, writing source: String, as name: String, extra: [String] = []) throws -> String {
        try write(entry, source)
        let output = directory + "/" + name
        let result = try run(Self.binaries + "/bundle", [entry, "-o", output] + extra, in: directory)
        guard result.status == 0 else { throw TestFailure("bundle \(entry) failed: \(result)") }
        return output
    }
}

/// Runs an executable with exactly `environment` (plus nothing), from the root directory.
func run(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> Outcome {
    try run("/usr/bin/env", ["-i"] + environment.map { "\($0.key)=\($0.value)" } + [executable] + arguments, in: "/")
}

func shellQuote(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

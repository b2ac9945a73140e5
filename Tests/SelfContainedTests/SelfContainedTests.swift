@testable import BundlerCore
import Foundation
import ProcessTestSupport
import PayloadFormat
import Testing

/// The default output (`--runtime bundled`) runs in a chroot that holds nothing but
/// the base libraries (ld-linux, libc, libm, libstdc++, libgcc_s, libz), /proc, three
/// device nodes and /tmp: no node, libnode, libuv, ICU or OpenSSL, no /usr at all.
/// These tests run the release binaries (`BUNDLE_BIN_DIR`, default
/// `<package>/.build/release`) and need root for unshare, chroot and mount.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root (unshare, chroot, mount)"), .timeLimit(.minutes(5)))
struct SelfContainedTests {
    /// Every feature that needs a library outside the base set, one line per check.
    static let suiteSource = #"""
        'use strict';
        const assert = require('assert');
        const results = [];
        function check(name, fn) {
          return Promise.resolve().then(fn).then(() => results.push('ok ' + name),
            (e) => results.push('FAIL ' + name + ': ' + ((e && e.stack) || e)));
        }
        (async () => {
          await check('hello', () => assert.strictEqual(require('path').basename(__filename), 'suite.js'));
          await check('crypto', () => {
            const crypto = require('crypto');
            assert.strictEqual(crypto.createHash('sha256').update('abc').digest('hex'),
              'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
            const random = crypto.randomBytes(32);
            assert.strictEqual(random.length, 32);
            assert.notDeepStrictEqual(random, Buffer.alloc(32));
          });
          await check('tls', () => {
            const tls = require('tls');
            tls.createSecureContext();
            assert.ok(tls.getCiphers().includes('tls_aes_256_gcm_sha384'));
          });
          await check('intl', () => {
            assert.strictEqual(new Intl.DateTimeFormat('de-DE', { timeZone: 'UTC' }).format(0), '1.1.1970');
            assert.strictEqual((1234567.891).toLocaleString('fr-FR'), '1\u202f234\u202f567,891');
            assert.strictEqual(new TextDecoder('shift_jis').decode(Uint8Array.from([0x82, 0xa0])), '\u3042');
          });
          await check('zlib', () => {
            const zlib = require('zlib');
            const input = Buffer.from('hello '.repeat(1000));
            assert.deepStrictEqual(zlib.gunzipSync(zlib.gzipSync(input)), input);
            assert.deepStrictEqual(zlib.brotliDecompressSync(zlib.brotliCompressSync(input)), input);
          });
          await check('worker', () => new Promise((resolve, reject) => {
            const { Worker } = require('worker_threads');
            const worker = new Worker(`
              const { parentPort } = require('worker_threads');
              parentPort.postMessage(require('crypto').createHash('sha1').update('x').digest('hex') + ' ' +
                new Intl.NumberFormat('de-DE').format(1234.5));`, { eval: true });
            worker.once('message', (message) => {
              try { assert.strictEqual(message, '11f6ad8ec52a2984abaafd7c3b516503785c2072 1.234,5'); resolve(); }
              catch (e) { reject(e); }
            });
            worker.once('error', reject);
          }));
          await check('http', () => new Promise((resolve, reject) => {
            const http = require('http');
            const server = http.createServer((request, response) => response.end('pong ' + request.url));
            server.listen(0, '127.0.0.1', () => {
              http.get({ host: '127.0.0.1', port: server.address().port, path: '/ping' }, (response) => {
                let body = '';
                response.on('data', (chunk) => body += chunk);
                response.on('end', () => {
                  server.close();
                  try { assert.strictEqual(body, 'pong /ping'); resolve(); } catch (e) { reject(e); }
                });
              }).on('error', reject);
            });
          }));
          console.log(results.join('\n'));
          process.exitCode = results.every((line) => line.startsWith('ok ')) ? 0 : 1;
        })();
        """#

    static let expectedSuiteOutput = ["hello", "crypto", "tls", "intl", "zlib", "worker", "http"]
        .map { "ok \($0)\n" }.joined()

    // MARK: The chroot

    @Test func suitePassesWithOnlyTheBaseLibraries() throws {
        let fixture = try Fixture()
        let root = try Chroot()
        try root.install(try fixture.suite(), as: "suite")
        let result = try root.run([Chroot.Command(app: "suite", environment: ["HOME": "/home"])])[0]
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == Self.expectedSuiteOutput, "\(result)")
        #expect(result.stderr == "", "\(result)")
        // It ran from the cache, which now holds the runtime, and wrote nothing to /usr.
        #expect(try root.runtimeDirectories().count == 1)
        #expect(!FileManager.default.fileExists(atPath: root.path + "/usr"))
    }

    @Test func readOnlyRootWithoutHomeRunsFromMemory() throws {
        let fixture = try Fixture()
        let root = try Chroot()
        try root.install(try fixture.suite(), as: "suite")
        let result = try root.run([Chroot.Command(app: "suite", environment: [:])], readOnlyRoot: true)[0]
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == Self.expectedSuiteOutput, "\(result)")
        #expect(result.stderr == "", "\(result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/tmp") == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/home") == [])
    }

    @Test func noexecTemporaryDirectoryFallsBackToMemory() throws {
        let fixture = try Fixture()
        let root = try Chroot()
        try root.install(try fixture.suite(), as: "suite")
        // No HOME: the only cache candidate is /tmp, mounted noexec (dlopen cannot map there).
        let result = try root.run([Chroot.Command(app: "suite", environment: [:])], noexecTemporary: true)[0]
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == Self.expectedSuiteOutput, "\(result)")
        #expect(result.stderr == "", "\(result)")
    }

    @Test func thirtyTwoColdStartsAtOnceAllSucceed() throws {
        let fixture = try Fixture()
        let root = try Chroot()
        try root.install(try fixture.hello(), as: "hello")
        let commands = (1...32).map { Chroot.Command(app: "hello", arguments: ["\($0)"], environment: ["HOME": "/home"]) }
        let results = try root.run(commands)
        for (index, result) in results.enumerated() {
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == "hello \(index + 1)\n", "\(result)")
            #expect(result.stderr == "", "\(result)")
        }
        // One runtime directory, no temporary extraction left behind.
        let base = root.path + "/home/.cache/bundle"
        let names = try FileManager.default.contentsOfDirectory(atPath: base)
        #expect(names.filter { $0.hasPrefix("runtime-") }.count == 1, "\(names)")
        #expect(!names.contains { $0.hasPrefix(".extract-") || $0.hasPrefix(".broken-") }, "\(names)")
    }

    /// hello in a fresh chroot, started once, so that its runtime cache exists.
    struct WarmHello {
        let fixture: Fixture
        let root: Chroot
        let command = Chroot.Command(app: "hello", arguments: ["again"], environment: ["HOME": "/home"])
        let runtime: String

        init() throws {
            fixture = try Fixture()
            root = try Chroot()
            try root.install(try fixture.hello(), as: "hello")
            #expect(try root.run([command])[0].status == 0)
            runtime = try #require(try root.runtimeDirectories().first)
        }

        /// Starts it again: whatever was done to the cache, it says hello and nothing else.
        func startsAgain(sourceLocation: SourceLocation = #_sourceLocation) throws {
            let result = try root.run([command])[0]
            #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
            #expect(result.stdout == "hello again\n", "\(result)", sourceLocation: sourceLocation)
            #expect(result.stderr == "", "\(result)", sourceLocation: sourceLocation)
        }
    }

    @Test func truncatedCacheFileIsDetectedAndRepaired() throws {
        let hello = try WarmHello()
        let libnode = hello.runtime + "/files/lib/libnode.so.108"
        let builtin = hello.runtime + "/files/usr/share/nodejs/acorn/dist/acorn.js"
        let sizes = try [libnode, builtin].map { try Self.size($0) }
        #expect(truncate(libnode, 4096) == 0)
        #expect(truncate(builtin, 10) == 0)

        try hello.startsAgain()
        #expect(try [libnode, builtin].map { try Self.size($0) } == sizes)
    }

    /// The startup snapshot (embed.cc, "Startup snapshot") is made by the first start,
    /// in the chroot, beside the runtime; a damaged one is made again, never used.
    @Test func startupSnapshotIsMadeOnceAndRemadeWhenDamaged() throws {
        let hello = try WarmHello()
        let snapshot = hello.runtime + "/files/startup.blob"
        #expect(try Self.size(snapshot) > 1 << 20)
        let manifest = try String(contentsOfFile: hello.runtime + "/manifest", encoding: .utf8)
        #expect(manifest.contains(" startup.blob\n"), "\(manifest)")
        #expect(truncate(snapshot, 100) == 0)

        try hello.startsAgain()
        #expect(try Self.size(snapshot) > 1 << 20)
    }

    @Test func cacheFileRewrittenWithOtherBytesOfTheSameSizeIsRepaired() throws {
        let hello = try WarmHello()
        let builtin = hello.runtime + "/files/usr/share/nodejs/acorn/dist/acorn.js"
        let original = try Data(contentsOf: URL(fileURLWithPath: builtin))
        try Data(repeating: UInt8(ascii: "x"), count: original.count).write(to: URL(fileURLWithPath: builtin))

        try hello.startsAgain()
        #expect(try Data(contentsOf: URL(fileURLWithPath: builtin)) == original)
    }

    @Test func systemRuntimeOutputNeedsTheSystemLibnode() throws {
        let fixture = try Fixture()
        let root = try Chroot()
        try root.install(try fixture.hello(runtime: "system"), as: "hello")
        let result = try root.run([Chroot.Command(app: "hello", environment: ["HOME": "/home"])])[0]
        #expect(result.status == 69, "\(result)")
        #expect(result.stderr.contains("libnode.so.108"), "\(result)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result)")
    }

    /// Where each distribution keeps its CA bundle: the file, and the links to it.
    static let certificateLayouts: [(name: String, file: String, links: [(path: String, target: String)])] = [
        ("Debian", "/etc/ssl/certs/ca-certificates.crt", []),
        ("Fedora/RHEL", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
         [("/etc/pki/tls/certs/ca-bundle.crt", "../../ca-trust/extracted/pem/tls-ca-bundle.pem")]),
        ("Arch", "/etc/ca-certificates/extracted/tls-ca-bundle.pem",
         [("/etc/ssl/certs/ca-certificates.crt", "../../ca-certificates/extracted/tls-ca-bundle.pem")]),
        ("Alpine", "/etc/ssl/certs/ca-certificates.crt", [("/etc/ssl/cert.pem", "certs/ca-certificates.crt")]),
        ("SUSE", "/var/lib/ca-certificates/ca-bundle.pem", []),
    ]

    /// Debian's node trusts OpenSSL's default store, which Debian's libcrypto looks for
    /// at /usr/lib/ssl/cert.pem; elsewhere the launcher serves the system's bundle there,
    /// following the distribution's links to it, so HTTPS verifies against the system's CAs.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "needs the openssl tool"))
    func httpsTrustsTheSystemCertificateBundleWhereverItLives() throws {
        let fixture = try Fixture()
        let pki = try Certificates(in: fixture.directory)
        try fixture.write("https.js", """
            const https = require('https');
            const server = https.createServer({ key: \(pki.serverKey.debugDescription), cert: \(pki.serverCertificate.debugDescription) },
              (request, response) => response.end('secure'));
            server.listen(0, '127.0.0.1', () => {
              https.get({ host: '127.0.0.1', port: server.address().port }, (response) => {
                let body = '';
                response.on('data', (chunk) => body += chunk);
                response.on('end', () => { console.log(body); server.close(); });
              }).on('error', (error) => { console.log(error.code); server.close(); process.exitCode = 1; });
            });
            """)
        let root = try Chroot()
        try root.install(try fixture.bundle("https.js", as: "https"), as: "https")
        let command = Chroot.Command(app: "https", environment: ["HOME": "/home"])

        let untrusted = try root.run([command])[0]
        #expect(untrusted.status == 1 && untrusted.stdout == "UNABLE_TO_VERIFY_LEAF_SIGNATURE\n", "\(untrusted)")

        for layout in Self.certificateLayouts {
            for top in ["/etc", "/var"] { try? FileManager.default.removeItem(atPath: root.path + top) }
            try root.place(pki.authority, at: layout.file)
            for link in layout.links { try root.link(link.path, to: link.target) }
            let trusted = try root.run([command])[0]
            #expect(trusted.status == 0 && trusted.stdout == "secure\n" && trusted.stderr == "", "\(layout.name): \(trusted)")
        }

        // SSL_CERT_FILE still wins, as with node.
        var elsewhere = command
        elsewhere.environment["SSL_CERT_FILE"] = "/nonexistent.pem"
        #expect(try root.run([elsewhere])[0].stdout == "UNABLE_TO_VERIFY_LEAF_SIGNATURE\n")
    }

    /// NODE_EXTRA_CA_CERTS is applied at the first TLS use, not at startup (support.c),
    /// with node's results: trusted with the CA in the file, from a worker thread too;
    /// untrusted without; node's warning when the file cannot be opened.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "needs the openssl tool"))
    func extraCertificatesApplyAsInNode() throws {
        let fixture = try Fixture()
        let pki = try Certificates(in: fixture.directory)
        try fixture.write("https.js", """
            const https = require('https');
            const { Worker } = require('worker_threads');
            const get = (port) => new Promise((resolve) => {
              https.get({ host: '127.0.0.1', port }, (response) => {
                let body = '';
                response.on('data', (chunk) => body += chunk);
                response.on('end', () => resolve(body));
              }).on('error', (error) => resolve(error.code));
            });
            const server = https.createServer({ key: \(pki.serverKey.debugDescription), cert: \(pki.serverCertificate.debugDescription) },
              (request, response) => response.end('secure'));
            server.listen(0, '127.0.0.1', async () => {
              const port = server.address().port;
              const worker = new Worker(`const https = require('https'); (${get})(${port}).then((r) => require('worker_threads').parentPort.postMessage(r))`, { eval: true });
              const fromWorker = await new Promise((resolve) => worker.once('message', resolve));
              console.log('worker', fromWorker, 'main', await get(port));
              server.close();
            });
            """)
        let app = try fixture.bundle("https.js", as: "https")
        for file in [fixture.directory + "/ca.pem", "/nonexistent/ca.pem"] {
            let node = try run("/usr/bin/node", ["https.js"], in: fixture.directory, environment: ["NODE_EXTRA_CA_CERTS": file])
            let bundled = try run(app, [], in: fixture.directory, environment: ["NODE_EXTRA_CA_CERTS": file])
            #expect(bundled.stdout == node.stdout, "\(bundled)\nnode: \(node)")
            #expect(bundled.stderr == node.stderr, "\(bundled)\nnode: \(node)")
            #expect(bundled.status == node.status, "\(bundled)\nnode: \(node)")
        }
        let trusted = try run(app, [], in: fixture.directory, environment: ["NODE_EXTRA_CA_CERTS": "ca.pem"])
        #expect(trusted.stdout == "worker secure main secure\n", "\(trusted)")
        let untrusted = try run(app, [], in: fixture.directory)
        #expect(untrusted.stdout == "worker UNABLE_TO_VERIFY_LEAF_SIGNATURE main UNABLE_TO_VERIFY_LEAF_SIGNATURE\n", "\(untrusted)")
    }

    // MARK: The output file

    @Test func runtimeSectionHoldsTheClosureInLoadOrder() throws {
        let fixture = try Fixture()
        let (trailer, metadata, entries) = try Self.runtimeArchive(of: try fixture.hello())
        #expect(trailer.flags.contains(.selfContained))
        #expect(trailer.runtime.codec == .zstd)
        #expect(trailer.app.codec == .zstd)

        let order = metadata.split(separator: "\n").map(String.init)
        #expect(order.last == "lib/libBundleEmbed.so")
        let expected: Set<String> = [
            "libuv.so.1", "libbrotlicommon.so.1", "libbrotlidec.so.1", "libbrotlienc.so.1", "libcares.so.2",
            "libnghttp2.so.14", "libcrypto.so.3", "libssl.so.3", "libicudata.so.72", "libicuuc.so.72",
            "libicui18n.so.72", "libnode.so.108", "libBundleEmbed.so",
        ]
        #expect(Set(order.map { String($0.dropFirst(4)) }) == expected)
        func position(_ name: String) -> Int { order.firstIndex(of: "lib/" + name) ?? -1 }
        for (dependency, dependent) in [
            ("libbrotlicommon.so.1", "libbrotlidec.so.1"), ("libbrotlicommon.so.1", "libbrotlienc.so.1"),
            ("libcrypto.so.3", "libssl.so.3"), ("libicudata.so.72", "libicuuc.so.72"),
            ("libicuuc.so.72", "libicui18n.so.72"), ("libicui18n.so.72", "libnode.so.108"),
            ("libssl.so.3", "libnode.so.108"), ("libuv.so.1", "libnode.so.108"),
        ] {
            #expect(position(dependency) < position(dependent), "\(dependency) before \(dependent): \(order)")
        }
        let builtins = entries.filter { $0.kind == .builtin }.map(\.path).sorted()
        #expect(builtins == [
            "/usr/share/nodejs/acorn-walk/dist/walk.js", "/usr/share/nodejs/acorn/dist/acorn.js",
            "/usr/share/nodejs/cjs-module-lexer/dist/lexer.js", "/usr/share/nodejs/cjs-module-lexer/lexer.js",
            "/usr/share/nodejs/undici/undici-fetch.js",
        ])
        #expect(!entries.contains { $0.path.contains("libc.so") || $0.path.contains("libstdc++") || $0.path.contains("libz.so") })
    }

    /// The pack takes each library from where the dynamic linker (ldd) finds it, and
    /// leaves out exactly the base libraries.
    @Test func librariesAreFoundWhereTheDynamicLinkerFindsThem() throws {
        let libnodePath = "/usr/lib/x86_64-linux-gnu/libnode.so.108"
        #expect(LibraryResolver.readCache("/etc/ld.so.cache")["libnode.so.108"] != nil)
        let libnode = try ELFObject.read(libnodePath)
        #expect(libnode.soname == "libnode.so.108")
        #expect(libnode.buildID.count == 20)
        let closure = try RuntimePack.closure(of: libnode, resolver: .system())

        let ldd = try run("/usr/bin/ldd", [libnodePath], in: "/")
        var expected: [String: String] = [:]
        for line in ldd.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count >= 3, parts[1] == "=>" { expected[String(parts[0].trimmingCharacters(in: .whitespaces))] = String(parts[2]) }
        }
        let packed = Dictionary(uniqueKeysWithValues: closure.map { ($0.name, try! realPath($0.object.path)) })
        let wanted = expected.filter { !RuntimePack.baseLibraries.contains($0.key) }.mapValues { try! realPath($0) }
        #expect(packed == wanted)
    }

    @Test func sameInputsGiveTheSameBytes() throws {
        let fixture = try Fixture()
        let first = try fixture.hello()
        let again = try fixture.bundle("hello.js", as: "hello-again", extra: ["--node", "18"])
        #expect(FileManager.default.contentsEqual(atPath: first, andPath: again))
        // And on the default runtime (node 24, whose code caches come from the runtime itself).
        let large = "module.exports = () => [" + (0..<300).map(String.init).joined(separator: ", ") + "];\n"
        try fixture.write("table.js", large)
        try fixture.write("cached.js", "console.log(require('./table')().length)\n")
        let one = try fixture.bundle("cached.js", as: "cached-one")
        let two = try fixture.bundle("cached.js", as: "cached-two")
        #expect(FileManager.default.contentsEqual(atPath: one, andPath: two))
    }

    // MARK: Helpers

    static func size(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
    }

    static func runtimeArchive(of path: String) throws -> (Trailer, String, [ArchiveEntry]) {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let trailer = try bytes.withUnsafeBytes {
            try Trailer(decoding: UnsafeRawBufferPointer(rebasing: $0[($0.count - Format.trailerSize)...]), fileSize: $0.count)
        }
        let section = Array(bytes[trailer.runtime.offset..<trailer.runtime.offset + trailer.runtime.compressedSize])
        #expect(Checksum.crc32(section) == trailer.runtime.crc32)
        let archive = try trailer.runtime.codec.decompress(section, uncompressedSize: trailer.runtime.uncompressedSize)
        return try archive.withUnsafeBytes { buffer in
            let reader = try ArchiveReader(buffer)
            return (trailer, reader.metadataText, reader.entries.map { ArchiveEntry(path: $0.path, kind: $0.kind, data: []) })
        }
    }
}

/// A scratch directory with the test's JS files and the bundles made from them.
final class Fixture: Sendable {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let binaries = ProcessInfo.processInfo.environment["BUNDLE_BIN_DIR"] ?? packageRoot + "/.build/release"

    /// `…/app`: the bundled app shows its files under /proc/self/bundle/app.
    let directory: String
    private let container: String

    init() throws {
        container = try makeTemporaryDirectory("bundle-selfcontained")
        directory = container + "/app"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    }

    deinit { try? FileManager.default.removeItem(atPath: container) }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
    }

    /// hello.js: prints "hello" and its arguments.
    /// hello.js for node 18: the tests of the runtime cache name node 18's files
    /// (libnode.so.108, the startup snapshot the launcher makes for it), and keep node 18's
    /// outputs covered; the rest of the suite runs on the default runtime.
    func hello(runtime: String = "bundled") throws -> String {
        try write("hello.js", "console.log('hello', process.argv.slice(2).join(' '))\n")
        return try bundle("hello.js", as: "hello-" + runtime, runtime: runtime, extra: runtime == "system" ? [] : ["--node", "18"])
    }

    /// suite.js: `SelfContainedTests.suiteSource`.
    func suite() throws -> String {
        try write("suite.js", SelfContainedTests.suiteSource)
        return try bundle("suite.js", as: "suite")
    }

    func bundle(_ entry: String, as name: String, runtime: String = "bundled", extra: [String] = []) throws -> String {
        let output = directory + "/" + name
        // The system runtime on this machine (Debian 12) is node 18's libnode108.
        let node = runtime == "system" ? ["--node", "18"] : []
        let result = try run(Self.binaries + "/bundle", [entry, "-o", output, "--runtime", runtime] + node + extra, in: directory)
        guard result.status == 0 else { throw TestFailure("bundle \(entry) failed: \(result)") }
        return output
    }
}

/// A root directory holding only the base libraries, /proc (mounted per run), /dev
/// nodes, /tmp, an empty /home, and the apps under /app.
final class Chroot {
    struct Command {
        var app: String
        var arguments: [String] = []
        var environment: [String: String]
    }

    static let baseLibraries = ["libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libz.so.1"]

    let path: String

    init() throws {
        path = try makeTemporaryDirectory("bundle-chroot")
        let manager = FileManager.default
        for directory in ["lib/x86_64-linux-gnu", "lib64", "tmp", "proc", "dev", "app", "home"] {
            try manager.createDirectory(atPath: path + "/" + directory, withIntermediateDirectories: true)
        }
        chmod(path, 0o755)
        chmod(path + "/tmp", 0o1777)
        for library in Self.baseLibraries {
            try manager.copyItem(atPath: try realPath("/lib/x86_64-linux-gnu/" + library),
                                 toPath: path + "/lib/x86_64-linux-gnu/" + library)
        }
        try manager.copyItem(atPath: try realPath("/lib64/ld-linux-x86-64.so.2"), toPath: path + "/lib64/ld-linux-x86-64.so.2")
        for (name, minor) in [("null", 3), ("zero", 5), ("urandom", 9)] {
            let result = try SelfContainedTestsSupport.run("/usr/bin/mknod", ["-m", "666", path + "/dev/" + name, "c", "1", "\(minor)"], in: path)
            guard result.status == 0 else { throw TestFailure("mknod: \(result)") }
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func install(_ app: String, as name: String) throws {
        try copyExecutable(app, to: path + "/app/" + name)
    }

    /// Writes a file inside the root (`path` is absolute inside it).
    func place(_ text: String, at path: String) throws {
        try writeTextFile(text, at: self.path + path)
    }

    /// Makes a symbolic link inside the root (`path` absolute inside it).
    func link(_ path: String, to target: String) throws {
        let link = self.path + path
        try FileManager.default.createDirectory(atPath: (link as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
    }

    func runtimeDirectories() throws -> [String] {
        let base = path + "/home/.cache/bundle"
        return try FileManager.default.contentsOfDirectory(atPath: base).filter { $0.hasPrefix("runtime-") }.map { base + "/" + $0 }
    }

    /// Runs the commands at the same time, each chrooted with exactly the environment
    /// given, in a private mount namespace (so nothing stays mounted afterwards).
    func run(_ commands: [Command], readOnlyRoot: Bool = false, noexecTemporary: Bool = false) throws -> [Outcome] {
        let output = try makeTemporaryDirectory("bundle-chroot-out")
        defer { try? FileManager.default.removeItem(atPath: output) }
        var script = "set -e\nR=\(quote(path))\nO=\(quote(output))\n"
        if readOnlyRoot { script += "mount --bind \"$R\" \"$R\"\nmount -o remount,bind,ro \"$R\"\n" }
        script += "mount -t proc proc \"$R/proc\"\n"
        if noexecTemporary { script += "mount -t tmpfs -o noexec,nosuid,mode=1777 tmpfs \"$R/tmp\"\n" }
        script += "set +e\n"
        for (index, command) in commands.enumerated() {
            let environment = command.environment.sorted { $0.key < $1.key }.map { quote("\($0.key)=\($0.value)") }
            let line = (["/usr/bin/env", "-i"] + environment + ["/usr/sbin/chroot", "\"$R\"", quote("/app/" + command.app)]
                        + command.arguments.map(quote)).joined(separator: " ")
            script += "(\(line) >\"$O/\(index).out\" 2>\"$O/\(index).err\"; echo $? >\"$O/\(index).rc\") &\n"
        }
        script += "wait\n"
        let result = try SelfContainedTestsSupport.run("/usr/bin/unshare", ["--mount", "--pid", "--fork", "/bin/sh", "-c", script], in: path)
        guard result.status == 0 else { throw TestFailure("chroot setup failed: \(result)") }
        return try commands.indices.map { index in
            func text(_ suffix: String) throws -> String {
                try String(contentsOfFile: "\(output)/\(index).\(suffix)", encoding: .utf8)
            }
            return Outcome(status: Int32(try text("rc").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1,
                           stdout: try text("out"), stderr: try text("err"))
        }
    }

    private func quote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// A throwaway certificate authority and a server certificate for 127.0.0.1 it signed.
struct Certificates {
    var authority: String
    var serverKey: String
    var serverCertificate: String

    init(in directory: String) throws {
        let steps = [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=bundle test CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "ext"],
        ]
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: directory + "/ext", atomically: true, encoding: .utf8)
        for step in steps {
            let result = try SelfContainedTestsSupport.run("/usr/bin/openssl", step, in: directory)
            guard result.status == 0 else { throw TestFailure("openssl \(step[0]): \(result)") }
        }
        func read(_ name: String) throws -> String { try String(contentsOfFile: directory + "/" + name, encoding: .utf8) }
        authority = try read("ca.pem")
        serverKey = try read("server.key")
        serverCertificate = try read("server.pem")
    }
}

struct Outcome: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum SelfContainedTestsSupport {
    /// Runs a program to completion; output goes through files, so no pipe can fill up.
    static func run(_ executable: String, _ arguments: [String], in directory: String,
                    environment overrides: [String: String] = [:]) throws -> Outcome {
        let scratch = try makeTemporaryDirectory("bundle-run")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        _ = FileManager.default.createFile(atPath: scratch + "/out", contents: nil)
        _ = FileManager.default.createFile(atPath: scratch + "/err", contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment["NODE_EXTRA_CA_CERTS"] = nil
        environment.merge(overrides) { $1 }
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + "/out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + "/err"))
        try process.runOnceNotBusy()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus,
                       stdout: try String(contentsOfFile: scratch + "/out", encoding: .utf8),
                       stderr: try String(contentsOfFile: scratch + "/err", encoding: .utf8))
    }
}

func run(_ executable: String, _ arguments: [String], in directory: String, environment: [String: String] = [:]) throws -> Outcome {
    try SelfContainedTestsSupport.run(executable, arguments, in: directory, environment: environment)
}

func makeTemporaryDirectory(_ prefix: String) throws -> String {
    var template = Array((NSTemporaryDirectory() + "/\(prefix)-XXXXXX").utf8CString)
    guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
        throw TestFailure("mkdtemp: \(String(cString: strerror(errno)))")
    }
    return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

func realPath(_ path: String) throws -> String {
    guard let resolved = realpath(path, nil) else { throw TestFailure("\(path): \(String(cString: strerror(errno)))") }
    defer { free(resolved) }
    return String(cString: resolved)
}

/// Writes `text` to `path`, making the folders it needs.
func writeTextFile(_ text: String, at path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}

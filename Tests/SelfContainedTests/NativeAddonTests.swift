@testable import BundlerCore
import Foundation
import PayloadFormat
import Testing

/// Native addons (`.node`) inside bundled apps: Debian's node-sqlite3 (its
/// node_sqlite3.node NEEDs libsqlite3.so.0, which no base system has, and
/// libnode.so.108) and node-node-expat (node_expat.node NEEDs libexpat.so.1), bundled
/// with their JS dependencies copied into node_modules as npm would lay them out, the
/// source deleted, run from another directory, and in the chroot that holds only the
/// base libraries.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root (unshare, chroot, mount)"),
       .enabled(if: DebianPackages.installed(["sqlite3", "node-expat"]), "needs Debian's node-sqlite3 and node-node-expat"),
       .timeLimit(.minutes(5)))
struct NativeAddonTests {
    /// These tests are about which libraries an addon brings along, seen on node 18:
    /// node_expat.node is built for node 18's C++ ABI, and node 24's runtime carries
    /// libsqlite3 itself. What changes on node 24 has its own test below.
    static let node18 = ["--node", "18"]

    /// Opens an in-memory database, creates a table, inserts, selects.
    static let sqliteSource = #"""
        'use strict';
        const sqlite3 = require('sqlite3');
        const db = new sqlite3.Database(':memory:');
        db.serialize(() => {
          db.run('CREATE TABLE fruit (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
          const insert = db.prepare('INSERT INTO fruit (name) VALUES (?)');
          for (const name of ['apple', 'banana', 'cherry']) insert.run(name);
          insert.finalize();
          db.all('SELECT id, name FROM fruit WHERE id > 1 ORDER BY id', (error, rows) => {
            if (error) throw error;
            console.log(JSON.stringify(rows));
            console.log('sqlite', sqlite3.VERSION);
            db.close();
          });
        });
        """#

    static let sqliteOutput = """
        [{"id":2,"name":"banana"},{"id":3,"name":"cherry"}]
        sqlite 3.40.1

        """

    /// Both addons in the main thread, then sqlite3 again in a worker thread (node-expat
    /// is not context-aware: node refuses it in workers).
    static let twoAddonsSource = #"""
        'use strict';
        const path = require('path');
        const { Worker } = require('worker_threads');
        const expat = require('node-expat');
        const sqlite3 = require('sqlite3');
        const parser = new expat.Parser('UTF-8');
        const elements = [];
        parser.on('startElement', (name, attributes) => elements.push(name + JSON.stringify(attributes)));
        if (!parser.write('<fruits><fruit name="apple"/><fruit name="banana"/></fruits>')) throw parser.getError();
        console.log('expat', elements.join(' '));
        const db = new sqlite3.Database(':memory:');
        db.get('SELECT upper(?) AS shout, 6 * 7 AS answer', ['hello'], (error, row) => {
          if (error) throw error;
          console.log('sqlite', row.shout, row.answer);
          db.close();
          const worker = new Worker(path.join(__dirname, 'worker.js'));
          worker.on('message', (message) => console.log(message));
          worker.on('error', (error) => { console.log('worker failed:', error.stack); process.exitCode = 1; });
        });
        """#

    static let workerSource = #"""
        'use strict';
        const sqlite3 = require('sqlite3');
        const db = new sqlite3.Database(':memory:');
        db.get('SELECT sqlite_version() AS version', (error, row) => {
          require('worker_threads').parentPort.postMessage('worker sqlite ' + (error ? error.message : row.version));
          db.close();
        });
        """#

    static let twoAddonsOutput = """
        expat fruits{} fruit{"name":"apple"} fruit{"name":"banana"}
        sqlite HELLO 42
        worker sqlite 3.40.1

        """

    // MARK: Runs

    /// Node-API is stable across node versions: Debian's node_sqlite3.node, built for
    /// node 18 (NEEDs libnode.so.108), runs bundled for node 24 in the bare root, bound
    /// to node 24's libnode. node_expat.node uses V8's C++ API (node 18's ABI 108): for
    /// node 24 it is one line naming it, its ABI and `--node 18`, and nothing is written.
    @Test func aNodeAPIAddonForNode18RunsOnNode24AndACxxABIAddonIsRefused() throws {
        let fixture = try Fixture()
        try fixture.sqliteApp()
        let root = try Chroot()
        try root.install(try fixture.bundle("app.js", as: "sqlite", extra: ["--node", "24"]), as: "sqlite")
        let result = try root.run([Chroot.Command(app: "sqlite", environment: ["HOME": "/home"])])[0]
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == Self.sqliteOutput, "\(result)")
        #expect(result.stderr == "", "\(result)")

        let expat = try Fixture()
        try expat.twoAddonsApp()
        let refused = try run(Fixture.binaries + "/bundle", ["app.js", "-o", expat.directory + "/two", "--node", "24"], in: expat.directory)
        #expect(refused.status == 1)
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused)")
        #expect(refused.stderr.contains("node_expat.node cannot load: it was built for node's C++ ABI 108"), "\(refused)")
        #expect(refused.stderr.contains("--node 18"), "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: expat.directory + "/two"))
    }

    @Test func sqliteRunsWithItsSourceDeletedFromAnotherDirectory() throws {
        let fixture = try Fixture()
        let source = try fixture.sqliteApp()
        #expect(try run(Self.node, ["app.js"], in: fixture.directory).stdout == Self.sqliteOutput)
        let app = try fixture.bundle("app.js", as: "sqlite", extra: Self.node18)
        let moved = try Scratch()
        let output = moved.path + "/sqlite"
        try FileManager.default.moveItem(atPath: app, toPath: output)
        try FileManager.default.removeItem(atPath: source)

        let home = try Scratch()
        let elsewhere = try Scratch()
        let result = try run("/usr/bin/env", ["-i", "HOME=" + home.path, output], in: elsewhere.path)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == Self.sqliteOutput, "\(result)")
        #expect(result.stderr == "", "\(result)")
        // The addon and libsqlite3 went to the cache, next to the runtime.
        let cache = home.path + "/.cache/bundle"
        let addons = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasPrefix("addons-") }
        #expect(addons.count == 1)
        let files = try FileManager.default.subpathsOfDirectory(atPath: cache + "/" + addons[0] + "/files")
        #expect(files.contains(".bundle-native/lib/libsqlite3.so.0"), "\(files)")
        #expect(files.contains("app/node_modules/sqlite3/lib/binding/napi-v6-linux-glibc-x64/node_sqlite3.node"), "\(files)")
    }

    @Test func sqliteRunsInTheChrootWithOnlyTheBaseLibraries() throws {
        let fixture = try Fixture()
        try fixture.sqliteApp()
        let root = try Chroot()
        try root.install(try fixture.bundle("app.js", as: "sqlite", extra: Self.node18), as: "sqlite")
        #expect(!FileManager.default.fileExists(atPath: root.path + "/lib/x86_64-linux-gnu/libsqlite3.so.0"))
        let result = try root.run([Chroot.Command(app: "sqlite", environment: ["HOME": "/home"])])[0]
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == Self.sqliteOutput, "\(result)")
        #expect(result.stderr == "", "\(result)")
        let cache = root.path + "/home/.cache/bundle"
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasPrefix("addons-") }.count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/tmp") == [])
    }

    @Test func readOnlyRootWithoutHomeLoadsAddonsFromMemory() throws {
        let fixture = try Fixture()
        try fixture.sqliteApp()
        let root = try Chroot()
        try root.install(try fixture.bundle("app.js", as: "sqlite", extra: Self.node18), as: "sqlite")
        let result = try root.run([Chroot.Command(app: "sqlite", environment: [:])], readOnlyRoot: true)[0]
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == Self.sqliteOutput, "\(result)")
        #expect(result.stderr == "", "\(result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/tmp") == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/home") == [])
    }

    /// Two addons and two libraries from the cache, then all four from memory files,
    /// where each must get its own /proc/self/fd path (dlopen knows objects by path).
    @Test func twoAddonsInOneApp() throws {
        let fixture = try Fixture()
        try fixture.twoAddonsApp()
        #expect(try run(Self.node, ["app.js"], in: fixture.directory).stdout == Self.twoAddonsOutput)
        let root = try Chroot()
        try root.install(try fixture.bundle("app.js", as: "two", extra: Self.node18), as: "two")
        #expect(!FileManager.default.fileExists(atPath: root.path + "/lib/x86_64-linux-gnu/libexpat.so.1"))
        let results = try root.run([
            Chroot.Command(app: "two", environment: ["HOME": "/home"]),
            Chroot.Command(app: "two", environment: ["HOME": "/home", "BUNDLE_RUNTIME_CACHE": "off"]),
        ])
        for result in results {
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == Self.twoAddonsOutput, "\(result)")
            #expect(result.stderr == "", "\(result)")
        }
    }

    /// A warm start writes nothing: not in /tmp, not in the cache.
    @Test func warmRunLeavesNoNewFiles() throws {
        let fixture = try Fixture()
        try fixture.sqliteApp()
        let root = try Chroot()
        try root.install(try fixture.bundle("app.js", as: "sqlite", extra: Self.node18), as: "sqlite")
        let command = Chroot.Command(app: "sqlite", environment: ["HOME": "/home"])
        #expect(try root.run([command])[0].stdout == Self.sqliteOutput)
        let before = try Self.listing(root.path)
        let result = try root.run([command, command])
        #expect(result.allSatisfy { $0.status == 0 && $0.stdout == Self.sqliteOutput && $0.stderr == "" }, "\(result)")
        #expect(try Self.listing(root.path) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/tmp") == [])
    }

    /// A damaged cached addon is noticed and rewritten, as the runtime's files are.
    @Test func truncatedCachedAddonIsRepaired() throws {
        let fixture = try Fixture()
        try fixture.sqliteApp()
        let root = try Chroot()
        try root.install(try fixture.bundle("app.js", as: "sqlite", extra: Self.node18), as: "sqlite")
        let command = Chroot.Command(app: "sqlite", environment: ["HOME": "/home"])
        #expect(try root.run([command])[0].status == 0)
        let cache = root.path + "/home/.cache/bundle"
        let directory = try #require(try FileManager.default.contentsOfDirectory(atPath: cache).first { $0.hasPrefix("addons-") })
        let library = cache + "/" + directory + "/files/.bundle-native/lib/libsqlite3.so.0"
        let size = try SelfContainedTests.size(library)
        #expect(truncate(library, 4096) == 0)
        let result = try root.run([command])[0]
        #expect(result.status == 0 && result.stdout == Self.sqliteOutput && result.stderr == "", "\(result)")
        #expect(try SelfContainedTests.size(library) == size)
    }

    /// `--runtime system`: libnode and its libraries are the system's, the addons'
    /// libraries still come from the output. An ES module main imports sqlite3 and
    /// requires node-expat through createRequire.
    @Test func systemRuntimeOutputAndAnESModuleMain() throws {
        let fixture = try Fixture()
        try fixture.twoAddonsApp()
        try fixture.write("main.mjs", #"""
            import sqlite3 from 'sqlite3';
            import { createRequire } from 'module';
            const require = createRequire(import.meta.url);
            const expat = require('node-expat');
            const parser = new expat.Parser('UTF-8');
            let count = 0;
            parser.on('startElement', () => count++);
            parser.write('<a><b/></a>');
            const db = new sqlite3.Database(':memory:');
            db.get('SELECT 40 + 2 AS answer', (error, row) => { console.log(count, row.answer, import.meta.url); db.close(); });
            """#)
        let output = try fixture.bundle("main.mjs", as: "esm", runtime: "system")
        let home = try Scratch()
        for cache in ["on", "off"] {
            let result = try run("/usr/bin/env", ["-i", "HOME=" + home.path, "BUNDLE_RUNTIME_CACHE=" + cache, output], in: home.path)
            #expect(result.status == 0 && result.stderr == "", "\(result)")
            #expect(result.stdout == "2 42 file:///proc/self/bundle/app/main.mjs\n", "\(result)")
        }
    }

    // MARK: The output file

    @Test func appArchiveCarriesAddonsAndOnlyTheLibrariesTheRuntimeLacks() throws {
        let fixture = try Fixture()
        try fixture.twoAddonsApp()
        for runtime in ["bundled", "system"] {
            let entries = try Self.appArchive(of: try fixture.bundle("app.js", as: "two-" + runtime, runtime: runtime, extra: runtime == "system" ? [] : Self.node18))
            let addons = entries.filter { $0.kind == .addon }.map(\.path)
            #expect(addons == [
                "app/node_modules/node-expat/build/Release/node_expat.node",
                "app/node_modules/sqlite3/lib/binding/napi-v3-linux-glibc-x64/node_sqlite3.node",
                "app/node_modules/sqlite3/lib/binding/napi-v6-linux-glibc-x64/node_sqlite3.node",
            ])
            let libraries = entries.filter { $0.kind == .library }.map(\.path)
            #expect(libraries == [".bundle-native/lib/libexpat.so.1", ".bundle-native/lib/libsqlite3.so.0"], "\(runtime)")
            let index = try #require(entries.first { $0.kind == .nativeIndex })
            #expect(index.path == NativeIndex.path)
            let decoded = try #require(index.bytes).withUnsafeBytes { try NativeIndex(decoding: $0) }
            #expect(Set(decoded.libraries) == Set(libraries))
            #expect(decoded.digest == NativeAddons.digest(of: entries.filter { $0.kind == .addon || $0.kind == .library }))
        }
        // An app without addons gets none of this.
        let plain = try Self.appArchive(of: try fixture.hello())
        #expect(!plain.contains { $0.kind == .addon || $0.kind == .library || $0.kind == .nativeIndex })
    }

    @Test func nativeIndexRoundTripsAndRefusesGarbage() throws {
        let index = NativeIndex(digest: Array(0..<32), libraries: [".bundle-native/lib/libfoo.so.1", ".bundle-native/lib/libbar.so"])
        let encoded = index.encoded()
        #expect(String(decoding: encoded, as: UTF8.self).hasPrefix("bundle-native 1\ndigest 000102"))
        #expect(try encoded.withUnsafeBytes { try NativeIndex(decoding: $0) } == index)
        for bad in ["", "bundle-native 1\n", "bundle-native 2\ndigest \(String(repeating: "0", count: 64))\n",
                    "bundle-native 1\ndigest \(String(repeating: "g", count: 64))\n",
                    "bundle-native 1\ndigest \(String(repeating: "0", count: 64))\nlibrary ../x\n",
                    "bundle-native 1\ndigest \(String(repeating: "0", count: 64))\nother x\n",
                    "bundle-native 1\ndigest \(String(repeating: "0", count: 64))"] {
            #expect(throws: FormatError.self, "\(bad)") { try Array(bad.utf8).withUnsafeBytes { try NativeIndex(decoding: $0) } }
        }
    }

    // MARK: Helpers

    static let node = "/usr/bin/node"

    /// Every path below `root` with its size, skipping /proc.
    static func listing(_ root: String) throws -> [String] {
        let manager = FileManager.default
        return try manager.subpathsOfDirectory(atPath: root).filter { !$0.hasPrefix("proc/") }.sorted().map { path in
            let attributes = try manager.attributesOfItem(atPath: root + "/" + path)
            return "\(path) \(attributes[.size] as? NSNumber ?? 0)"
        }
    }

    static func appArchive(of path: String) throws -> [ArchiveEntry] {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let trailer = try bytes.withUnsafeBytes {
            try Trailer(decoding: UnsafeRawBufferPointer(rebasing: $0[($0.count - Format.trailerSize)...]), fileSize: $0.count)
        }
        let section = Array(bytes[trailer.app.offset..<trailer.app.offset + trailer.app.compressedSize])
        let archive = try trailer.app.codec.decompress(section, uncompressedSize: trailer.app.uncompressedSize)
        return try archive.withUnsafeBytes { buffer in
            try ArchiveReader(buffer).entries.map { ArchiveEntry(path: $0.path, kind: $0.kind, data: Array($0.data)) }
        }
    }
}

extension Fixture {
    /// app.js (`NativeAddonTests.sqliteSource`) with sqlite3 in node_modules. Returns
    /// the folder to delete to remove the source.
    @discardableResult
    func sqliteApp() throws -> String {
        try write("app.js", NativeAddonTests.sqliteSource)
        try DebianPackages.install(["sqlite3"], into: directory)
        return directory
    }

    /// app.js and worker.js using sqlite3 and node-expat, in a package folder.
    func twoAddonsApp() throws {
        try write("package.json", #"{ "name": "two-addons", "version": "1.0.0", "private": true }"#)
        try write("app.js", NativeAddonTests.twoAddonsSource)
        try write("worker.js", NativeAddonTests.workerSource)
        try DebianPackages.install(["sqlite3", "node-expat"], into: directory)
    }
}

/// Debian-packaged node modules, copied into an app's node_modules with every package
/// they depend on, flat, as npm would lay them out.
enum DebianPackages {
    static let roots = ["/usr/share/nodejs", "/usr/lib/nodejs", "/usr/lib/x86_64-linux-gnu/nodejs"]

    static func directory(of name: String) -> String? {
        roots.map { $0 + "/" + name }.first { FileManager.default.fileExists(atPath: $0 + "/package.json") }
    }

    static func installed(_ names: [String]) -> Bool {
        names.allSatisfy { directory(of: $0) != nil }
    }

    static func install(_ names: [String], into app: String) throws {
        var pending = names, seen: Set<String> = []
        while let next = pending.popLast() {
            guard seen.insert(next).inserted, let source = directory(of: next) else { continue }
            let target = app + "/node_modules/" + next
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            let copy = try run("/bin/cp", ["-rL", source, target], in: app)
            guard copy.status == 0 else { throw TestFailure("cp \(source): \(copy)") }
            guard let data = FileManager.default.contents(atPath: source + "/package.json"),
                  let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
            // Debian ships some dependencies inside the package's own node_modules.
            pending += (json["dependencies"] as? [String: Any] ?? [:]).keys.sorted()
                .filter { !FileManager.default.fileExists(atPath: source + "/node_modules/" + $0) }
        }
    }
}

/// A temporary directory removed when the value goes away.
final class Scratch {
    let path: String

    init() throws { path = try makeTemporaryDirectory("bundle-addons") }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

import BundlerCore
import Foundation
import Testing

/// `bundle --node <major>`: every runtime Runtimes/ has a recipe for is prepared by
/// Scripts/setup, and an output runs exactly its runtime's node, compared with that
/// runtime's own `node` (Scripts/with-runtime: the runtime as if installed).
@Suite struct NodeRuntimesTests {
    static func runtime(_ major: Int) throws -> NodeRuntime {
        try NodeRuntime.locate("node\(major)", in: Tools.binDirectory)
    }

    /// The runtime's own node on `entry` in the fixture's folder: the baseline.
    static func runtimeNode(_ runtime: NodeRuntime, _ fixture: Fixture, _ entry: String) throws -> Outcome {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "NODE_EXTRA_CA_CERTS")
        environment.removeValue(forKey: "NODE_OPTIONS")
        let node = Tools.referenceNode([entry], runtime: runtime)
        return try run(node.executable, node.arguments, in: fixture.directory, environment: environment)
    }

    /// A child of a node 24 app given -e or stdin code with module syntax runs it as a
    /// module, as node 24 detects it, unless --input-type says otherwise.
    @Test func childrenDetectModuleSyntaxOnNode24() throws {
        let runtime = try Self.runtime(24)
        let fixture = try Fixture(["app.js": """
            const { spawnSync } = require('child_process');
            const show = (args, input) => {
              const r = spawnSync(process.execPath, args, { input, encoding: 'utf8' });
              console.log(r.status, r.stdout.trim(), (r.stderr.match(/SyntaxError: .*/) ?? [''])[0]);
            };
            show(['-e', 'import os from "node:os"; console.log(typeof os.cpus)']);
            show(['-e', 'await Promise.resolve(); console.log("top-level await")']);
            show([], 'export const x = 1; console.log(import.meta.url.startsWith("file:"))');
            show(['-e', 'console.log(typeof require, typeof module)']);
            show(['--input-type=commonjs', '-e', 'import os from "node:os"']);
            """])
        let node = try Self.runtimeNode(runtime, fixture, "app.js")
        #expect(node.stdout == [
            "0 function ", "0 top-level await ", "0 true ", "0 function object ",
            "1  SyntaxError: Cannot use import statement outside a module", "",
        ].joined(separator: "\n"), "\(node)")
        let output = try fixture.bundle("app.js", extra: ["--node", "24"])
        try fixture.removeSource()
        #expect(try run(output, in: "/").stdout == node.stdout)
    }

    /// node 24's REPL in a child of the app (`process.execPath -i`) keeps its history in
    /// ~/.node_repl_history on a terminal, as node 24's own does: newest first, `.exit`
    /// too (what node 24's own node wrote, given the same input on a quiet machine; not
    /// compared here, since node itself loses the lines typed before it has read its
    /// history file when the machine is busy).
    @Test func theReplKeepsHistoryAsNode24Does() throws {
        let fixture = try Fixture(["app.js": "require('child_process').spawnSync(process.execPath, ['-i'], { stdio: 'inherit' });\n"])
        let output = try fixture.bundle("app.js", extra: ["--node", "24"])
        // script(1) gives the REPL a terminal, where node keeps history.
        func history(_ command: [String]) throws -> String {
            let home = try fixture.scratchDirectory("home")
            var environment = ProcessInfo.processInfo.environment
            environment["HOME"] = home
            for name in ["NODE_REPL_HISTORY", "NODE_REPL_HISTORY_SIZE", "NODE_EXTRA_CA_CERTS"] { environment.removeValue(forKey: name) }
            let result = try run("/usr/bin/script", ["-qfc", command.joined(separator: " "), "/dev/null"],
                                 stdin: "6*7\r\"second\"\r.exit\r", environment: environment)
            return (try? String(contentsOfFile: home + "/.node_repl_history", encoding: .utf8)) ?? "no history: \(result)"
        }
        #expect(try history([output]) == ".exit\n\"second\"\n6*7")
    }

    /// The first start of an output on a machine (a cold runtime cache) forks no helper
    /// on node 24, which starts from node's built-in snapshot; node 18's outputs fork one
    /// then, to make the launcher's snapshot. Processes counted with strace: the forks
    /// that are not threads.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "needs strace (Scripts/setup)"),
          arguments: [24, 18])
    func aColdStartForksAHelperOnlyOnNode18(major: Int) throws {
        let fixture = try Fixture(["app.js": "console.log('started');\n"])
        let output = try fixture.bundle("app.js", extra: ["--node", String(major)])
        let home = try fixture.scratchDirectory("home"), log = try fixture.scratchDirectory("strace") + "/log"
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = home
        environment.removeValue(forKey: "XDG_CACHE_HOME")
        environment.removeValue(forKey: "NODE_EXTRA_CA_CERTS")
        let result = try run("/usr/bin/strace", ["-f", "-qq", "-o", log, "-e", "trace=clone,clone3,fork,vfork", output],
                             environment: environment, timeout: 120)
        #expect(result.stdout == "started\n", "\(result)")
        let forks = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            .filter { $0.contains("SIGCHLD") && !$0.contains("CLONE_THREAD") && !$0.contains("--- SIGCHLD") }
        #expect(forks.count == (major == 24 ? 0 : 1), "\(forks)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: home + "/.cache/bundle").contains { $0.hasPrefix("runtime-") })
    }

    /// What apps written for current node use, bundled for node 24, with the source gone:
    /// the same output as node 24's own node on the source.
    @Test func currentNodeAPIsRunBundledOnNode24() throws {
        let runtime = try Self.runtime(24)
        let fixture = try Fixture([
            "package.json": #"{ "name": "modern", "files": ["app.js", "lib/"] }"#,
            "app.js": """
                const results = {};
                const attempt = (name, f) => { try { results[name] = f(); } catch (e) { results[name] = `threw ${e.code} ${e.message}`; } };
                attempt('groupBy', () => Object.groupBy([1, 2, 3, 4], (n) => (n % 2 ? 'odd' : 'even')));
                attempt('withResolvers', () => typeof Promise.withResolvers().resolve);
                attempt('setUnion', () => [...new Set([1, 2]).union(new Set([2, 3]))]);
                attempt('iteratorHelpers', () => [1, 2, 3].values().map((n) => n * 2).toArray());
                attempt('sqlite', () => {
                  const { DatabaseSync } = require('node:sqlite');
                  const db = new DatabaseSync(':memory:');
                  db.exec('create table t(x)');
                  db.prepare('insert into t values (?)').run(42);
                  return db.prepare('select x from t').all();
                });
                attempt('cryptoHash', () => require('node:crypto').hash('sha256', 'bundle'));
                attempt('parseEnv', () => require('node:util').parseEnv('A=1\\nB=two'));
                attempt('globSync', () => require('node:fs').globSync('lib/*.js', { cwd: __dirname }).sort());
                attempt('requireOfAnESModule', () => require('./lib/answer.mjs').answer);
                attempt('globals', () => [typeof fetch, typeof WebSocket, typeof navigator.hardwareConcurrency]);
                attempt('version', () => process.version);
                console.log(JSON.stringify(results));
                """,
            "lib/a.js": "module.exports = 1;\n",
            "lib/b.js": "module.exports = 2;\n",
            "lib/answer.mjs": "export const answer = 42;\n",
        ])
        let expected = try Self.runtimeNode(runtime, fixture, "app.js")
        #expect(expected.status == 0, "\(expected)")
        #expect(expected.stdout.contains(#""version":"\#(runtime.nodeVersion)""#), "\(expected)")
        #expect(!expected.stdout.contains("threw"), "the baseline itself lacks an API: \(expected)")
        #expect(expected.stdout.contains(#""globals":["function","function","number"]"#), "\(expected)")

        let output = try fixture.bundle("app.js", extra: ["--node", "24"])
        try fixture.removeSource()
        let bundled = try run(output, in: try fixture.scratchDirectory("cwd"))
        #expect(bundled.stdout == expected.stdout)
        #expect(bundled.status == 0, "\(bundled)")
    }

    /// Each runtime's output is that node: version, and the runtime named where the user
    /// looks (`--version`, the summary, `inspect`).
    @Test(arguments: [24, 18])
    func eachRuntimeIsNamedAndRunsItsOwnNode(major: Int) throws {
        let runtime = try Self.runtime(major)
        let fixture = try Fixture(["app.js": "console.log(process.version, process.versions.modules)\n"])
        let output = try fixture.scratchDirectory("out") + "/app"
        let bundled = try run(Tools.bundle, ["app.js", "-o", output, "--node", String(major)], in: fixture.directory)
        #expect(bundled.status == 0, "\(bundled)")
        #expect(bundled.stderr.contains("node \(runtime.nodeVersion) "), "the summary names the runtime: \(bundled.stderr)")
        let ran = try run(output)
        #expect(ran.stdout.hasPrefix("\(runtime.nodeVersion) "), "\(ran)")
        let inspected = try run(Tools.bundle, ["inspect", output])
        #expect(inspected.stdout.contains(runtime.nodeVersion), "\(inspected)")
        let version = try run(Tools.bundle, ["--version"])
        #expect(version.stdout.contains("node \(runtime.nodeVersion)"), "\(version)")
    }

    /// A runtime with no recipe, or a malformed value: one line naming it and the
    /// runtimes there are; nothing written.
    @Test(arguments: ["22", "node99", "latest"])
    func anUnknownRuntimeIsOneLineAndWritesNothing(value: String) throws {
        let fixture = try Fixture(["app.js": "console.log(1)\n"])
        let outputDirectory = try fixture.scratchDirectory("out")
        let result = try run(Tools.bundle, ["app.js", "-o", outputDirectory + "/app", "--node", value], in: fixture.directory)
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result)")
        #expect(result.stderr.contains("no runtime \(NodeRuntime.name(forOption: value))"), "\(result)")
        #expect(result.stderr.contains("node24") && result.stderr.contains("node18"), "\(result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outputDirectory) == [])
    }
}

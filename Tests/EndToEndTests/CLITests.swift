import BundlerCore
import Foundation
import Testing

/// The CLI as a user meets it: summary, inspect, extract, baked options, packages.
@Suite struct CLITests {
    func bundle(_ arguments: [String], in directory: String, environment: [String: String]? = nil) throws -> Outcome {
        try run(Tools.bundle, arguments, in: directory, environment: environment)
    }

    @Test func summaryNamesTheOutputSizesAndFilesWithoutColourOffATerminal() throws {
        let fixture = try Fixture(["app.js": "require('./big')", "big.js": String(repeating: "//x\n", count: 5000)])
        let result = try bundle(["app.js", "-o", "out", "--runtime", "system", "--node", "18"], in: fixture.directory)
        #expect(result.status == 0)
        #expect(result.stderr.contains("out  "))
        #expect(result.stderr.contains("launcher "))
        #expect(result.stderr.contains("2 files; largest: app/big.js 20.0 kB, app/app.js 16 B"))
        #expect(result.stderr.contains("done in "))
        #expect(!result.stderr.contains("\u{1B}["))
        #expect(result.stdout == "")
        let quiet = try bundle(["app.js", "-o", "out", "--runtime", "system", "--node", "18", "--quiet"], in: fixture.directory)
        #expect(quiet.status == 0 && quiet.stderr == "")
        let verbose = try bundle(["app.js", "-o", "out", "--runtime", "system", "--node", "18", "--verbose"], in: fixture.directory)
        #expect(verbose.stderr.contains("20.0 kB   app/big.js"))
    }

    @Test func unresolvedRequiresAreWarningsWithFileAndLine() throws {
        let fixture = try Fixture(["app.js": "// optional\ntry { require('optional-dep') } catch {}\nconsole.log('ok')\n"])
        let result = try bundle(["app.js", "-o", "out", "--runtime", "system", "--node", "18"], in: fixture.directory)
        #expect(result.status == 0)
        #expect(result.stderr.hasPrefix("\(fixture.directory)/app.js:2: warning: cannot resolve 'optional-dep'; it will fail at run time if reached\n"))
        #expect(try run(fixture.directory + "/out").stdout == "ok\n")
    }

    @Test func inspectShowsHowTheAppStartsAndWhatIsInside() throws {
        let fixture = try Fixture(["src/app.js": "require('./data.json')", "src/data.json": "{}"])
        #expect(try bundle(["src/app.js", "-o", "app", "--node-option=--max-old-space-size=64", "--runtime", "system", "--node", "18"],
                           in: fixture.directory).status == 0)
        let result = try run(Tools.bundle, ["inspect", "app"], in: fixture.directory)
        #expect(result.status == 0)
        #expect(result.stdout.contains("node:         v18."))
        #expect(result.stdout.contains("runtime:      system"))
        #expect(result.stdout.contains("entry:        /proc/self/bundle/src/app.js"))
        #expect(result.stdout.contains("node options: --max-old-space-size=64"))
        #expect(result.stdout.contains("checksums:    ok"))
        #expect(result.stdout.contains("         2  reached   src/data.json"))
    }

    @Test func inspectAndExtractRefuseFilesThatAreNotBundles() throws {
        let fixture = try Fixture(["app.js": "1"])
        for command in [["inspect", "app.js"], ["extract", "app.js", "-o", "x"], ["inspect", "missing"]] {
            let result = try run(Tools.bundle, command, in: fixture.directory)
            #expect(result.status == 1)
            #expect(result.stderr == "bundle: error: \(command[1]) \(command[1] == "missing" ? "does not exist" : "is not a bundled app")\n")
        }
    }

    @Test func inspectAndExtractRefuseDamagedAppsAndWriteNothing() throws {
        let fixture = try Fixture(["app.js": "console.log('ran')\n"])
        #expect(try bundle(["app.js", "-o", "app", "--runtime", "system", "--node", "18"], in: fixture.directory).status == 0)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: fixture.directory + "/app")))
        bytes[bytes.count - 200] ^= 0x10  // in the app section
        try Data(bytes).write(to: URL(fileURLWithPath: fixture.directory + "/app"))
        for command in [["inspect", "app"], ["extract", "app", "-o", "files"]] {
            let result = try run(Tools.bundle, command, in: fixture.directory)
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("bundle: error: app is damaged: "), "\(result)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.directory + "/files"))
    }

    @Test func extractWritesTheFilesBackAndNeverIntoAFullDirectory() throws {
        // Identical files share their bytes in the archive; each comes back whole.
        let files = ["app.js": "require('./lib/x'); require('./copy/x')", "lib/x.js": "module.exports = 1\n",
                     "copy/x.js": "module.exports = 1\n", "empty.txt": "", "data/ü ñ.txt": "unicode", "package.json": "{}"]
        let fixture = try Fixture(files)
        #expect(try bundle(["app.js", "-o", "app", "--runtime", "system", "--node", "18"], in: fixture.directory).status == 0)
        let extract = try run(Tools.bundle, ["extract", "app", "-o", "files"], in: fixture.directory)
        #expect(extract.status == 0, "\(extract)")
        for (path, text) in files {
            #expect(try String(contentsOfFile: fixture.directory + "/files/app/" + path, encoding: .utf8) == text, "\(path)")
        }
        let again = try run(Tools.bundle, ["extract", "app", "-o", "files"], in: fixture.directory)
        #expect(again.status == 1)
        #expect(again.stderr.contains("files is not empty"))
    }

    @Test func bakedNodeOptionsApplyAndUnsafeOnesAreRefused() throws {
        let fixture = try Fixture(["app.js": "console.log(require('v8').getHeapStatistics().heap_size_limit < 400e6)\n"])
        let plain = try fixture.bundle("app.js")
        #expect(try run(plain).stdout == "false\n")
        let small = try fixture.bundle("app.js", extra: ["--node-option=--max-old-space-size=64"])
        #expect(try run(small).stdout == "true\n")
        // A flag node 24 no longer has would make every start fail: refused for node 24,
        // still fine for node 18.
        let gone = try bundle(["app.js", "-o", "gone", "--node", "24", "--node-option=--no-experimental-fetch"], in: fixture.directory)
        #expect(gone.status == 1)
        #expect(gone.stderr == "bundle: error: node option '--no-experimental-fetch' no longer exists in node 24 (node refuses to start with it from 24 on); it applies to older runtimes, such as --node 18\n", "\(gone)")
        #expect(!FileManager.default.fileExists(atPath: fixture.directory + "/gone"))
        let older = try fixture.bundle("app.js", extra: ["--node", "18", "--node-option=--no-experimental-fetch"])
        #expect(try run(older).status == 0)
        for unsafe in ["--require=x.js", "--inspect", "-e", "--max-old-space-size", "--no-such-flag"] {
            let result = try bundle(["app.js", "-o", "bad", "--node-option=\(unsafe)"], in: fixture.directory)
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("bundle: error: node option '\(unsafe)'"), "\(result)")
            #expect(!FileManager.default.fileExists(atPath: fixture.directory + "/bad"))
        }
    }

    @Test func nodeOptionsFromTheEnvironmentApplyOnlyWhenTheAuthorAllows() throws {
        let fixture = try Fixture(["app.js": "console.log(require('v8').getHeapStatistics().heap_size_limit < 400e6)\n"])
        var environment = ProcessInfo.processInfo.environment
        environment["NODE_OPTIONS"] = "--max-old-space-size=64"
        let closed = try fixture.bundle("app.js")
        #expect(try run(closed, environment: environment).stdout == "false\n")
        let open = try fixture.bundle("app.js", extra: ["--allow-node-options"])
        #expect(try run(open, environment: environment).stdout == "true\n")
    }

    @Test func aPackageDirectoryUsesItsBinAndNamesTheOutputAfterIt() throws {
        let fixture = try Fixture([
            "tool/package.json": #"{ "name": "@acme/tool", "bin": { "acme": "./cli.js" }, "main": "lib.js" }"#,
            "tool/cli.js": "console.log('cli', require('./lib'))\n",
            "tool/lib.js": "module.exports = 'lib'\n",
            "plain/package.json": #"{ "name": "plain", "main": "main.js" }"#,
            "plain/main.js": "console.log('main')\n",
            "two/package.json": #"{ "name": "two", "bin": { "a": "a.js", "b": "b.js" } }"#,
        ])
        #expect(try bundle(["tool", "--runtime", "system", "--node", "18"], in: fixture.directory).status == 0)
        #expect(try run(fixture.directory + "/acme").stdout == "cli lib\n")
        // Named after the package, which here is also the folder's name: a clear error.
        let clash = try bundle(["./plain", "--runtime", "system", "--node", "18"], in: fixture.directory)
        #expect(clash.stderr == "bundle: error: output \(fixture.directory)/plain is a directory; name a file with -o\n")
        #expect(try bundle([".", "--runtime", "system", "--node", "18"], in: fixture.directory + "/plain").status == 0)
        #expect(try run(fixture.directory + "/plain/plain").stdout == "main\n")
        let two = try bundle(["two"], in: fixture.directory)
        #expect(two.status == 1)
        #expect(two.stderr.contains("names 2 bins (a, b)"))
    }

    @Test func includeAddsAssetsAndPluginsExcludeLeavesFilesOut() throws {
        let fixture = try Fixture([
            "app.js": """
                const fs = require('fs'), path = require('path');
                console.log(fs.readFileSync(path.join(__dirname, 'assets/a.txt'), 'utf8').trim());
                console.log(fs.readdirSync(path.join(__dirname, 'plugins')).join(','));
                const name = ['one'][0];
                console.log(require('./plugins/' + name).id);
                console.log(fs.existsSync(path.join(__dirname, 'assets/secret.key')));
                """,
            "assets/a.txt": "asset\n",
            "assets/secret.key": "k",
            "plugins/one.js": "module.exports = { id: require('./shared').id }\n",
            "plugins/shared.js": "exports.id = 'plugin-one'\n",
        ])
        let expected = try fixture.node("app.js")
        #expect(expected.stdout == "asset\none.js,shared.js\nplugin-one\ntrue\n")
        let output = try fixture.bundle("app.js", extra: ["--include", "assets/**", "--include", "plugins/one.js", "--exclude", "**/*.key"])
        try fixture.removeSource()
        #expect(try run(output).stdout == "asset\none.js,shared.js\nplugin-one\nfalse\n")
    }

    @Test func anIncludeThatMatchesNothingIsAnError() throws {
        let fixture = try Fixture(["app.js": "1"])
        let result = try bundle(["app.js", "-o", "out", "--include", "nope/**"], in: fixture.directory)
        #expect(result.status == 1)
        #expect(result.stderr == "bundle: error: --include 'nope/**' matches no file\n")
    }

    @Test func versionNamesTheNodeRuntime() throws {
        let result = try run(Tools.bundle, ["--version"])
        let byDefault = try NodeRuntime.locate(NodeRuntime.defaultName, in: Tools.binDirectory)
        #expect(result.stdout.hasPrefix("bundle 0.1.0 (node \(byDefault.nodeVersion) by default, "), "\(result)")
        #expect(result.stdout.contains("node v18.20.4: --node 18") || byDefault.major == 18, "\(result)")
    }

    @Test func helpHasExamplesAndCompletionsAreGenerated() throws {
        #expect(try run(Tools.bundle, ["--help"]).stdout.contains("bundle app.js -o app"))
        #expect(try run(Tools.bundle, ["--generate-completion-script", "bash"]).stdout.contains("_bundle"))
    }
}

import Foundation
import ProcessTestSupport
import Testing

/// A bundled module finds packages only in the bundle: nothing planted on the host can
/// stand in for a dependency that was not bundled.
struct HostIsolationTests {
    @Test func requiresThatAreNotBundledNeverReachTheHost() throws {
        let fixture = try Fixture([
            "app.js": """
                const tryRequire = (name) => { try { require(name); return 'LOADED'; } catch (e) { return e.code; } };
                console.log(['optional-a', 'optional-b', 'optional-c', 'optional-d'].map(tryRequire).join(' '));
                import('optional-a').then(() => console.log('import LOADED'), (e) => console.log('import', e.code));
                """,
        ])
        let output = try fixture.bundle("app.js")
        try fixture.removeSource()
        // The output at <scratch>/bin/app: node's global folders are <scratch>/lib/node,
        // Debian's <scratch>/share/nodejs, ~/.node_modules, ~/.node_libraries and NODE_PATH.
        let scratch = try fixture.scratchDirectory("host")
        try FileManager.default.createDirectory(atPath: scratch + "/bin", withIntermediateDirectories: true)
        try copyExecutable(output, to: scratch + "/bin/app")
        let planted = "console.log('PLANTED CODE RAN'); module.exports = 1;\n"
        for folder in ["lib/node/optional-a", "share/nodejs/optional-a", "home/.node_modules/optional-b",
                       "home/.node_libraries/optional-c", "nodepath/optional-d", "node_modules/optional-a"] {
            try FileManager.default.createDirectory(atPath: scratch + "/" + folder, withIntermediateDirectories: true)
            try planted.write(toFile: scratch + "/" + folder + "/index.js", atomically: true, encoding: .utf8)
        }
        let result = try run("/usr/bin/env", ["-i", "HOME=\(scratch)/home", "NODE_PATH=\(scratch)/nodepath", scratch + "/bin/app"],
                             in: scratch)
        #expect(result.stdout == "MODULE_NOT_FOUND MODULE_NOT_FOUND MODULE_NOT_FOUND MODULE_NOT_FOUND\nimport ERR_MODULE_NOT_FOUND\n", "\(result)")
    }

    /// `process.chdir(__dirname)`, then relative reads: a common start of servers and CLIs.
    @Test func chdirIntoTheBundleThenRelativePaths() throws {
        let fixture = try Fixture([
            "app.js": """
                const fs = require('fs');
                const path = require('path');
                process.chdir(__dirname);
                console.log(path.basename(process.cwd()), fs.readFileSync('views/index.html', 'utf8').trim(),
                  fs.readdirSync('views').join(), path.relative(__dirname, path.resolve('views')), fs.existsSync('./views/index.html'));
                process.chdir('views');
                console.log(path.basename(process.cwd()), fs.statSync('index.html').size);
                require('child_process').execFileSync('/bin/true');
                console.log('child started');
                """,
            "views/index.html": "<h1>hi</h1>\n",
            "package.json": #"{ "name": "server" }"#,  // the app's folder, views included
        ])
        _ = try expectSameAsNode(fixture)
    }
}

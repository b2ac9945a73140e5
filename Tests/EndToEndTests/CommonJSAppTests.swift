import Foundation
import Testing

/// Bundled CommonJS apps behave like `node app.js` on their source, with the source
/// deleted and the output started from another directory.
@Suite(.serialized) struct CommonJSAppTests {
    @Test func helloWorld() throws {
        let fixture = try Fixture(["app.js": "console.log('hello from', require('path').basename(__filename))\n"])
        let (node, bundled) = try expectSameAsNode(fixture)
        #expect(node.stdout == "hello from app.js\n")
        #expect(bundled.stderr == "")
    }

    @Test(arguments: [
        ["--version"], ["--", "-e", "x"], ["-e", "process.exit(9)"], ["--inspect", "--port", "8080"],
        ["héllo wörld", "日本語", "emoji 🎉"], ["", "two words", "--"], [],
    ])
    func argumentsReachTheAppUntouched(arguments: [String]) throws {
        let fixture = try Fixture(["app.js": "console.log(JSON.stringify(process.argv.slice(2)))\n"])
        let (node, _) = try expectSameAsNode(fixture, arguments: arguments)
        #expect(node.stdout == String(decoding: try JSONEncoder().encode(arguments), as: UTF8.self) + "\n")
    }

    @Test func processIdentityIsConsistent() throws {
        let fixture = try Fixture(["src/app.js": """
            const path = require('path');
            console.log(require.main === module, module.id, path.basename(process.argv[1]));
            console.log(process.argv[1] === __filename, __dirname === path.dirname(__filename));
            console.log(require.resolve('./lib') === path.join(__dirname, 'lib.js'));
            console.log(process.argv0 !== undefined, typeof process.execPath);
            console.log(require('./lib').isMain);
            """, "src/lib.js": "exports.isMain = require.main === module\n"])
        let (_, bundled) = try expectSameAsNode(fixture, entry: "src/app.js")
        #expect(bundled.stdout == "true . app.js\ntrue true\ntrue\ntrue string\nfalse\n")
    }

    @Test func execPathIsTheBundledFile() throws {
        let fixture = try Fixture(["app.js": "console.log(process.execPath)\n"])
        let output = try fixture.bundle("app.js")
        try fixture.removeSource()
        #expect(try run(output).stdout == output + "\n")
    }

    @Test func multipleFilesJSONAndPackageMain() throws {
        let fixture = try Fixture([
            "app.js": """
                const config = require('./config.json');
                const { greet } = require('./lib');
                const pad = require('left-pad');
                const scoped = require('@acme/util/sub');
                console.log(greet(config.name), pad('x', 3), scoped);
                """,
            "config.json": #"{ "name": "bundle" }"#,
            "lib/index.js": "exports.greet = (n) => `hello ${n}` + require('../lib/helper').bang\n",
            "lib/helper.js": "exports.bang = '!'\n",
            "node_modules/left-pad/package.json": #"{ "name": "left-pad", "main": "./src/pad" }"#,
            "node_modules/left-pad/src/pad.js": "module.exports = (s, n) => s.padStart(n, '.')\n",
            "node_modules/@acme/util/package.json": #"{ "name": "@acme/util", "exports": { "./sub": { "require": "./cjs/sub.js", "import": "./esm/sub.mjs" } } }"#,
            "node_modules/@acme/util/cjs/sub.js": "module.exports = 'scoped-cjs'\n",
            "node_modules/@acme/util/esm/sub.mjs": "export default 'scoped-esm'\n",
        ])
        let (node, _) = try expectSameAsNode(fixture)
        #expect(node.stdout == "hello bundle! ..x scoped-cjs\n")
    }

    @Test(arguments: [
        ("process.exitCode = 3", Int32(3)),
        ("process.exit(42)", Int32(42)),
        ("setTimeout(() => process.exit(5), 10)", Int32(5)),
        ("process.on('exit', (c) => { console.log('exit', c); process.exitCode = 7 })", Int32(7)),
    ])
    func exitCodes(source: String, expected: Int32) throws {
        let fixture = try Fixture(["app.js": source + "\n"])
        let (node, _) = try expectSameAsNode(fixture)
        #expect(node.status == expected)
    }

    @Test func uncaughtExceptionPrintsLikeNodeAndExitsOne() throws {
        let fixture = try Fixture(["app.js": "function fail() { throw new Error('boom') }\nfail()\n"])
        let (node, bundled) = try expectSameAsNode(fixture)
        #expect(node.status == 1)
        #expect(bundled.stderr.contains("Error: boom"))
        #expect(bundled.stderr.contains("\(bundledApp)/app.js:1"))
        #expect(bundled.stderr.contains("throw new Error('boom')"))
    }

    @Test func unhandledRejectionExitsOne() throws {
        let fixture = try Fixture(["app.js": "Promise.reject(new Error('nope'))\n"])
        let (_, bundled) = try expectSameAsNode(fixture)
        #expect(bundled.stderr.contains("Error: nope"))
    }

    @Test func missingModuleAtRunTimeNamesTheRequireStack() throws {
        let fixture = try Fixture([
            "app.js": "require('./a')\n",
            "a.js": "try { require('not-installed') } catch (e) { console.log(e.code); console.log(e.message) }\n",
        ])
        let output = try fixture.bundle("app.js")
        try fixture.removeSource()
        let result = try run(output)
        #expect(result.stdout == "MODULE_NOT_FOUND\nCannot find module 'not-installed'\nRequire stack:\n- \(bundledApp)/a.js\n- \(bundledApp)/app.js\n")
    }

    @Test func stdinIsReadLikeNode() throws {
        let fixture = try Fixture(["app.js": """
            let data = '';
            process.stdin.setEncoding('utf8');
            process.stdin.on('data', (chunk) => data += chunk);
            process.stdin.on('end', () => console.log(data.toUpperCase().trim(), data.length));
            """])
        let (node, _) = try expectSameAsNode(fixture, stdin: "line one\nline two\n" + String(repeating: "x", count: 200_000))
        #expect(node.stdout.hasPrefix("LINE ONE\nLINE TWO\nXXX"))
    }

    @Test func nodeOptionsDoNotReachTheApp() throws {
        let fixture = try Fixture(["app.js": "console.log('app ran')\n", "evil.js": "console.log('injected')\n"])
        let output = try fixture.bundle("app.js")
        var environment = ProcessInfo.processInfo.environment
        environment["NODE_OPTIONS"] = "--require \(fixture.directory)/evil.js"
        #expect(try run(output, environment: environment).stdout == "app ran\n")
    }

    @Test func expressServerAnswersARequest() throws {
        let fixture = try Fixture(["app.js": """
            const express = require('express');
            const http = require('http');
            const app = express();
            app.get('/hello/:name', (req, res) => res.json({ hello: req.params.name, agent: req.get('x-test') }));
            const server = app.listen(0, '127.0.0.1', () => {
              const { port } = server.address();
              http.get({ host: '127.0.0.1', port, path: '/hello/world', headers: { 'x-test': 'yes' } }, (res) => {
                let body = '';
                res.on('data', (c) => body += c);
                res.on('end', () => { console.log(res.statusCode, res.headers['content-type'], body); server.close(); });
              });
            });
            """])
        try fixture.installDebianPackage("express")
        let (node, _) = try expectSameAsNode(fixture)
        #expect(node.stdout == "200 application/json; charset=utf-8 {\"hello\":\"world\",\"agent\":\"yes\"}\n")
    }

    @Test func lodashFromDebian() throws {
        let fixture = try Fixture(["app.js": "const _ = require('lodash'); console.log(_.chunk([1,2,3,4,5], 2), _.kebabCase('Hello World'))\n"])
        try fixture.installDebianPackage("lodash")
        _ = try expectSameAsNode(fixture)
    }
}

import Foundation
import Testing

/// The README's "What gets bundled": files the app needs though no literal require
/// names them, each checked against `node app.js` with the source gone.
@Suite struct WhatGetsBundledTests {
    @Test func dependenciesOfTheAppNamedOnlyAtRunTimeShipWhole() throws {
        let fixture = try Fixture([
            "app.js": """
                const names = ['delta', 'optional-one'];
                for (const name of names) console.log(require(name));
                """,
            "package.json": #"{ "name": "app", "dependencies": { "delta": "1.0.0" }, "optionalDependencies": { "optional-one": "1" }, "devDependencies": { "dev-only": "1" } }"#,
            "node_modules/delta/package.json": #"{ "name": "delta", "main": "lib/main.js" }"#,
            "node_modules/delta/lib/main.js": "module.exports = 'delta ' + require('fs').readFileSync(__dirname + '/../data.txt', 'utf8').trim()\n",
            "node_modules/delta/data.txt": "with its data\n",
            "node_modules/optional-one/index.js": "module.exports = 'optional-one'\n",
            "node_modules/dev-only/index.js": "module.exports = 'dev'\n",
        ])
        let output = try fixture.bundle("app.js")
        let (node, _) = try expectSameAsNode(fixture)
        #expect(node.stdout == "delta with its data\noptional-one\n")
        let listing = try run(Tools.bundle, ["inspect", output])
        #expect(listing.status == 0 && listing.stdout.contains("node_modules/delta/data.txt"), "\(listing)")
        #expect(!listing.stdout.contains("dev-only"), "devDependencies are never bundled: \(listing)")
    }

    @Test func aLiteralFirstArgumentOfRequireWithMoreArgumentsIsFollowed() throws {
        let fixture = try Fixture(["app.js": "console.log(require('./b.js', 'ignored'))\n", "b.js": "module.exports = 'b'\n"])
        let (node, _) = try expectSameAsNode(fixture)
        #expect(node.stdout == "b\n")
    }

    /// An entry without package.json reading files beside it, in each shape pkg finds.
    @Test func filesReadBesideTheEntryAreBundled() throws {
        let fixture = try Fixture([
            "app.js": """
                const fs = require('fs'), path = require('path');
                console.log(fs.readFileSync(__dirname + '/lib/r.bin', 'utf8').trim());
                console.log(fs.readFileSync(path.join(__dirname, 'data', 'a.txt'), 'utf8').trim());
                console.log(fs.readFileSync(`${__dirname}/data/b.txt`, 'utf8').trim());
                console.log(fs.readdirSync(path.resolve(__dirname, 'views')).join(','));
                console.log(fs.readFileSync(path.join(__dirname, 'views/deep/page.html'), 'utf8').trim());
                import('./esm.mjs');
                """,
            "esm.mjs": """
                import { readFileSync } from 'fs';
                console.log(readFileSync(new URL('./data/c.txt', import.meta.url), 'utf8').trim());
                """,
            "lib/r.bin": "r\n", "data/a.txt": "a\n", "data/b.txt": "b\n", "data/c.txt": "c\n",
            "views/index.html": "<i>\n", "views/deep/page.html": "<p>\n",
        ])
        let (node, _) = try expectSameAsNode(fixture)
        #expect(node.stdout == "r\na\nb\ndeep,index.html\n<p>\nc\n")
    }

    @Test func aReadTheScannerCannotResolveIsAWarningNamingTheInclude() throws {
        let fixture = try Fixture([
            "src/app.js": """
                const fs = require('fs'), path = require('path');
                const name = process.argv[2] || 'en.json';
                console.log(fs.readFileSync(path.join(__dirname, 'locales', name), 'utf8').trim());
                """,
            "src/locales/en.json": "{}\n",
        ])
        var environment = ProcessInfo.processInfo.environment
        environment["NODE_EXTRA_CA_CERTS"] = nil
        let output = try fixture.scratchDirectory("output") + "/app"
        let result = try run(Tools.bundle, ["src/app.js", "-o", output], in: fixture.directory, environment: environment)
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.contains("\(fixture.directory)/src/app.js:3: warning: reads a path built at run time; " +
                                       "if it names files of the app, add them with --include 'src/locales/**'\n"), "\(result)")
        // The --include it names makes the app work.
        let included = try fixture.bundle("src/app.js", extra: ["--include", "src/locales/**"])
        try fixture.removeSource()
        #expect(try run(output).status != 0)
        #expect(try run(included).stdout == "{}\n")
    }

    /// pnpm's layout: node_modules/foo links into .pnpm, and foo's dependency bar lies
    /// beside its real folder. node loads foo by its real path and resolves bar from there;
    /// the bundle does the same, with the links shown as links.
    @Test func aPnpmLayoutRunsAsUnderNode() throws {
        let fixture = try Fixture([
            "app.js": """
                const fs = require('fs');
                const path = require('path');
                const link = path.join(__dirname, 'node_modules/foo');
                console.log(require('foo'), path.relative(__dirname, require.resolve('foo')));
                console.log(path.relative(__dirname, fs.realpathSync(link)), fs.lstatSync(link).isSymbolicLink(), fs.statSync(link).isDirectory(),
                  fs.readlinkSync(link), fs.readdirSync(path.join(__dirname, 'node_modules'), { withFileTypes: true }).map((d) => d.name + ':' + d.isSymbolicLink()).join());
                import('foo').then((m) => console.log('import', m.default), (e) => console.log('import failed', e.code));
                """,
            "package.json": #"{ "name": "app", "dependencies": { "foo": "1.0.0" } }"#,
            "node_modules/.pnpm/foo@1.0.0/node_modules/foo/index.js": "module.exports = 'foo+' + require('bar')\n",
            "node_modules/.pnpm/foo@1.0.0/node_modules/foo/package.json": #"{ "name": "foo", "dependencies": { "bar": "2.0.0" } }"#,
            "node_modules/.pnpm/bar@2.0.0/node_modules/bar/index.js": "module.exports = 'bar'\n",
        ])
        let files = FileManager.default
        try files.createSymbolicLink(atPath: fixture.directory + "/node_modules/foo", withDestinationPath: ".pnpm/foo@1.0.0/node_modules/foo")
        try files.createSymbolicLink(atPath: fixture.directory + "/node_modules/.pnpm/foo@1.0.0/node_modules/bar",
                                     withDestinationPath: "../../bar@2.0.0/node_modules/bar")
        let (node, bundled) = try expectSameAsNode(fixture)
        #expect(node.stdout.hasPrefix("foo+bar node_modules/.pnpm/foo@1.0.0/node_modules/foo/index.js\n"), "\(node)")
        #expect(!bundled.stderr.contains("Error"), "\(bundled)")
    }
}

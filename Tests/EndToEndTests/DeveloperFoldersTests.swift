import Foundation
import Testing

/// What goes into an output from the developer's folders: npm's publish rules, never a
/// secret or a stray executable unless named, always what the code reaches. Checked on
/// the output itself with `bundle extract`.
@Suite struct DeveloperFoldersTests {
    /// Bundles (system runtime: small and quick) and returns the result and the files the
    /// output holds, as `bundle extract` writes them back, relative to the fixture (also
    /// where the virtual root keeps the app folder's name).
    func bundleAndExtract(_ fixture: Fixture, _ arguments: [String] = ["app.js"]) throws -> (result: Outcome, files: [String]) {
        let output = try fixture.scratchDirectory("output") + "/app"
        let result = try run(Tools.bundle, arguments + ["-o", output, "--runtime", "system", "--node", "18"], in: fixture.directory, environment: environment)
        guard result.status == 0 else { throw FixtureError("bundle failed: \(result)") }
        let extracted = try fixture.scratchDirectory("extracted") + "/files"
        let extract = try run(Tools.bundle, ["extract", output, "-o", extracted])
        guard extract.status == 0 else { throw FixtureError("extract failed: \(extract)") }
        let files = try FileManager.default.subpathsOfDirectory(atPath: extracted).filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: extracted + "/" + path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
        let folder = (fixture.directory as NSString).lastPathComponent + "/"
        return (result, files.map { $0.hasPrefix(folder) ? String($0.dropFirst(folder.count)) : $0 }.sorted())
    }

    /// This machine's NODE_EXTRA_CA_CERTS names a missing file; nothing here needs it.
    var environment: [String: String] {
        ProcessInfo.processInfo.environment.filter { $0.key != "NODE_EXTRA_CA_CERTS" }
    }

    /// Issue 18's scenario: only app.js and package.json are shipped.
    @Test func aFilesListShipsNoSecretsTestsOrCoverage() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "shop", "files": ["app.js"] }"#, "app.js": "console.log('served')\n",
            ".env": "SECRET=hunter2\n", ".npmrc": "//registry.npmjs.org/:_authToken=npm_abcdef\n", ".gitignore": "coverage/\n",
            "test/a.test.js": "require('assert')\n", "coverage/big.bin": String(repeating: "c", count: 1 << 20),
        ])
        let (result, files) = try bundleAndExtract(fixture)
        #expect(files == ["app.js", "package.json"])
        #expect(!result.stderr.contains("warning"), "\(result)")
    }

    /// An app that lists its own folder (`readdirSync(__dirname)`) gets that folder's files
    /// as assets, but not the secrets in it: a listing names no file in particular.
    @Test func listingTheAppsFolderShipsNoSecrets() throws {
        let fixture = try Fixture([
            "app.js": "console.log(require('fs').readdirSync(__dirname).length)\n", "page.html": "<p>\n",
            ".env": "SECRET=hunter2\n", ".npmrc": "//registry.npmjs.org/:_authToken=npm_abcdef\n",
        ])
        let (result, files) = try bundleAndExtract(fixture)
        #expect(files == ["app.js", "page.html"], "\(result)")
        #expect(result.stderr.contains("left out .env: ") && result.stderr.contains("--include '.env'"), "\(result)")
    }

    @Test func secretsAreLeftOutUnlessAnIncludeNamesThem() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "shop" }"#, "app.js": "console.log('served')\n", "public/site.css": "body {}\n",
            ".env": "SECRET=hunter2\n", ".env.production": "SECRET=prod\n", "certs/server.pem": "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n",
            "certs/ca.pem": "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n", "deploy/id_rsa": "key\n", ".netrc": "machine x\n",
        ])
        let (result, files) = try bundleAndExtract(fixture)
        #expect(files == ["app.js", "certs/ca.pem", "package.json", "public/site.css"])
        for (path, hint) in [(".env", "--include '.env'"), ("certs/server.pem", "--include 'certs/server.pem'"), ("deploy/id_rsa", "--include 'deploy/id_rsa'")] {
            #expect(result.stderr.contains("left out \(path): ") && result.stderr.contains(hint), "\(result)")
        }
        // A pattern that names them ships them; one that matches everything does not.
        #expect(try bundleAndExtract(fixture, ["app.js", "--include", ".env.*"]).files.contains(".env.production"))
        let everything = try bundleAndExtract(fixture, ["app.js", "--include", "**"]).files
        #expect(!everything.contains(".env") && !everything.contains("certs/server.pem") && everything.contains("public/site.css"))
    }

    @Test func aSecretTheCodeReachesIsBundledWithAWarning() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "shop" }"#, "app.js": "console.log(require('./.env.json').token)\n", ".env.json": #"{ "token": "t0k" }"#,
        ])
        let (result, files) = try bundleAndExtract(fixture)
        #expect(files == [".env.json", "app.js", "package.json"])
        #expect(result.stderr.contains("/.env.json:1: warning: looks like an environment file (.env*) but the code reaches it"), "\(result)")
        #expect(try expectSameAsNode(fixture).bundled.stdout == "t0k\n")
    }

    @Test func nestedGitignoreAndAFilesListWithGlobsAndNegation() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "shop", "files": ["app.js", "lib/**/*.js", "!lib/**/*.test.js", "views"] }"#,
            "app.js": "require('./lib/util')\n", "lib/util.js": "", "lib/deep/more.js": "", "lib/util.test.js": "", "lib/notes.md": "",
            "views/page.html": "<p>", "views/.gitignore": "*.cache\n!keep.cache\n", "views/page.cache": "", "views/keep.cache": "",
            "scripts/release.sh": "",
        ])
        #expect(try bundleAndExtract(fixture).files == ["app.js", "lib/deep/more.js", "lib/util.js", "package.json", "views/keep.cache", "views/page.html"])
    }

    @Test func aReachedFileAGitignoreDropsIsBundledWithAWarning() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "shop" }"#, ".gitignore": "build/\n", "app.js": "console.log(require('./build/version'))\n",
            "build/version.js": "module.exports = 'v1'\n", "build/unused.js": "",
        ])
        let (result, files) = try bundleAndExtract(fixture)
        #expect(files == ["app.js", "build/version.js", "package.json"])
        #expect(result.stderr.contains("/build/version.js:1: warning: bundled because the code reaches it, though .gitignore:1 'build/' leaves it out"), "\(result)")
    }

    /// Programs, core dumps and earlier outputs left in the folder: a warning naming each
    /// and its size. The output being replaced is not warned about.
    @Test func strayExecutablesAreLeftOutWithAWarning() throws {
        let fixture = try Fixture(["package.json": #"{ "name": "shop" }"#, "app.js": "console.log('served')\n"])
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: fixture.directory + "/helper")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: "/bin/true")[.size] as? Int)
        let previous = try run(Tools.bundle, ["app.js", "-o", "old-build", "--runtime", "system", "--node", "18"], in: fixture.directory, environment: environment)
        #expect(previous.status == 0, "\(previous)")
        let (result, files) = try bundleAndExtract(fixture)
        #expect(files == ["app.js", "package.json"])
        #expect(result.stderr.contains("/helper:1: warning: left out: an ELF program of \(String(format: "%.1f kB", Double(size) / 1000)), not code the app loads; to ship it: --include 'helper'"), "\(result)")
        #expect(result.stderr.contains("/old-build:1: warning: left out: an ELF program of "), "\(result)")
        let again = try run(Tools.bundle, ["app.js", "-o", "old-build", "--runtime", "system", "--node", "18"], in: fixture.directory, environment: environment)
        #expect(again.status == 0 && !again.stderr.contains("old-build:1"), "\(again)")
        #expect(try bundleAndExtract(fixture, ["app.js", "--include", "helper"]).files == ["app.js", "helper", "package.json"])
    }

    /// A package.json in a folder above (say $HOME) whose main or bin is not the entry.
    @Test func aStrayPackageJSONAboveTheEntryDoesNotShipItsFolder() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "home" }"#, "Documents/taxes.txt": "private", "video.mp4": String(repeating: "v", count: 1 << 20),
            "projects/tool/app.js": "require('./lib')\n", "projects/tool/lib.js": "",
        ])
        let (result, files) = try bundleAndExtract(fixture, ["projects/tool/app.js"])
        #expect(files == ["package.json", "projects/tool/app.js", "projects/tool/lib.js"])
        #expect(result.stderr.contains("/package.json:1: warning: its folder is not taken as the app's"), "\(result)")
    }

    /// A workspace package (node_modules/x links to the developer's folder) publishes
    /// what npm would; a package installed from the registry is bundled whole.
    @Test func linkedLocalPackagesFollowThePublishRules() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "shop", "workspaces": ["packages/*"], "files": ["app.js"] }"#, "app.js": "require('ui'); require('dep')\n",
            "packages/ui/package.json": #"{ "name": "ui", "files": ["index.js"] }"#, "packages/ui/index.js": "",
            "packages/ui/.env": "SECRET=ui\n", "packages/ui/test/x.test.js": "",
            "node_modules/dep/package.json": #"{ "name": "dep" }"#, "node_modules/dep/index.js": "", "node_modules/dep/docs/a.md": "",
        ])
        try FileManager.default.createSymbolicLink(atPath: fixture.directory + "/node_modules/ui", withDestinationPath: "../packages/ui")
        let files = try bundleAndExtract(fixture).files
        #expect(files == [
            "app.js", "node_modules/dep/docs/a.md", "node_modules/dep/index.js", "node_modules/dep/package.json",
            "node_modules/ui/index.js", "node_modules/ui/package.json", "package.json",
        ])
    }

    @Test func inspectAndDryRunSayWhyEachFileIsIn() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "shop" }"#, "app.js": "require('./lib')\n", "lib.js": "", "public/site.css": "body {}\n",
            "extra/notes.txt": "n\n", ".env": "S=1\n",
        ])
        let dryRun = try run(Tools.bundle, ["app.js", "-o", "out", "--include", "extra/*", "--dry-run"], in: fixture.directory, environment: environment)
        #expect(dryRun.status == 0, "\(dryRun)")
        #expect(dryRun.stdout == """
                      17  reached   app/app.js
                       2  included  app/extra/notes.txt
                       0  reached   app/lib.js
                      18  reached   app/package.json
                       8  package   app/public/site.css

            """, "\(dryRun)")
        #expect(dryRun.stderr.contains("left out .env: an environment file (.env*); to ship it: --include '.env'"), "\(dryRun)")
        #expect(!FileManager.default.fileExists(atPath: fixture.directory + "/out"))
        #expect(try run(Tools.bundle, ["app.js", "-o", "out", "--include", "extra/*", "--runtime", "system", "--node", "18", "-q"], in: fixture.directory).status == 0)
        let inspect = try run(Tools.bundle, ["inspect", "out"], in: fixture.directory)
        #expect(inspect.stdout.hasSuffix(dryRun.stdout), "\(inspect)")
    }
}

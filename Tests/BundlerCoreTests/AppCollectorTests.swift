import Testing
@testable import BundlerCore

@Suite struct AppCollectorTests {
    @Test func followsRequiresAndIncludesUsedPackagesWhole() throws {
        let fs = InMemoryFileSystem([
            "/p/src/app.js": "require('./util'); require('used'); require('./gone')\n",
            "/p/src/util.js": "module.exports = require('../package.json').name\n",
            "/p/package.json": #"{ "name": "p", "main": "src/app.js" }"#,
            "/p/assets/logo.txt": "logo",
            "/p/.git/HEAD": "ref",
            "/p/node_modules/used/index.js": "require(dynamicName)\n",
            "/p/node_modules/used/templates/page.html": "<p>",
            "/p/node_modules/used/package.json": #"{ "dependencies": { "dep": "*" } }"#,
            "/p/node_modules/dep/index.js": "",
            "/p/node_modules/dep/node_modules/nested/index.js": "",
            "/p/node_modules/unused/index.js": "",
        ])
        let app = try AppCollector(fileSystem: fs).collect(entry: "/p/src/app.js")
        #expect(app.root == "/")  // the app folder /p keeps its name: p/src/app.js
        #expect(app.files == [
            "/p/assets/logo.txt", "/p/node_modules/dep/index.js", "/p/node_modules/used/index.js",
            "/p/node_modules/used/package.json", "/p/node_modules/used/templates/page.html",
            "/p/package.json", "/p/src/app.js", "/p/src/util.js",
        ])
        #expect(app.diagnostics == [Diagnostic(file: "/p/src/app.js", line: 1, message: "cannot resolve './gone'; it will fail at run time if reached")])
    }

    @Test func withoutPackageJSONOnlyReachedFilesAreIncluded() throws {
        let fs = InMemoryFileSystem(["/t/app.js": "require('./a.js')", "/t/a.js": "", "/t/other.js": ""])
        let app = try AppCollector(fileSystem: fs).collect(entry: "/t/app.js")
        #expect(app.files == ["/t/a.js", "/t/app.js"])
    }

    @Test func malformedPackageJSONIsAWarningNamingTheFile() throws {
        let fs = InMemoryFileSystem([
            "/q/app.js": "require('broken')", "/q/package.json": "{ nope",
            "/q/node_modules/broken/index.js": "", "/q/node_modules/broken/package.json": "[1]",
        ])
        let app = try AppCollector(fileSystem: fs).collect(entry: "/q/app.js")
        #expect(app.diagnostics.map(\.file) == ["/q/package.json", "/q/node_modules/broken/package.json"])
        #expect(app.files.contains("/q/node_modules/broken/index.js"))
    }

    /// The issue's scenario: a `files` list leaves out the secrets, tests and coverage.
    @Test func aFilesListLeavesOutEverythingElse() throws {
        let fs = InMemoryFileSystem([
            "/a/package.json": #"{ "name": "a", "files": ["app.js"] }"#, "/a/app.js": "console.log(1)",
            "/a/.env": "SECRET=hunter2", "/a/.npmrc": "//registry.npmjs.org/:_authToken=abc", "/a/.gitignore": "coverage/\n",
            "/a/test/a.test.js": "", "/a/coverage/big.bin": String(repeating: "x", count: 1 << 20),
        ])
        let app = try AppCollector(fileSystem: fs).collect(entry: "/a/app.js")
        #expect(app.files == ["/a/app.js", "/a/package.json"])
        #expect(app.diagnostics.isEmpty)
    }

    @Test func secretsThePublishRulesKeepAreLeftOutAndNamed() throws {
        let fs = InMemoryFileSystem([
            "/a/package.json": #"{ "name": "a" }"#, "/a/app.js": "", "/a/.env.local": "S=1", "/a/keys/id_rsa": "k", "/a/public/x.css": "",
        ])
        let app = try AppCollector(fileSystem: fs).collect(entry: "/a/app.js")
        #expect(app.files == ["/a/app.js", "/a/package.json", "/a/public/x.css"])
        #expect(app.leftOut.map(\.path) == ["/a/.env.local", "/a/keys/id_rsa"])
        #expect(app.leftOut.first?.includeOption(from: "/a") == "--include '.env.local'")
        #expect(app.reasons == ["/a/app.js": .reached, "/a/package.json": .reached, "/a/public/x.css": .package])
    }

    @Test func aSecretTheCodeReachesIsKeptWithAWarning() throws {
        let fs = InMemoryFileSystem(["/a/package.json": "{}", "/a/app.js": "require('./.env.json')", "/a/.env.json": "{}"])
        let app = try AppCollector(fileSystem: fs).collect(entry: "/a/app.js")
        #expect(app.files.contains("/a/.env.json"))
        #expect(app.leftOut.isEmpty)
        #expect(app.diagnostics == [Diagnostic(file: "/a/.env.json", line: 1, message:
            "looks like an environment file (.env*) but the code reaches it, so it is bundled: anyone who has the executable can read it")])
    }

    @Test func aReachedFileAnIgnoreRuleDropsIsKeptWithOneWarningPerRule() throws {
        let fs = InMemoryFileSystem([
            "/a/package.json": "{}", "/a/.gitignore": "generated/\n", "/a/app.js": "require('./generated/a'); require('./generated/b')",
            "/a/generated/a.js": "", "/a/generated/b.js": "", "/a/generated/unused.js": "",
        ])
        let app = try AppCollector(fileSystem: fs).collect(entry: "/a/app.js")
        #expect(app.files == ["/a/app.js", "/a/generated/a.js", "/a/generated/b.js", "/a/package.json"])
        #expect(app.diagnostics == [Diagnostic(file: "/a/generated/a.js", line: 1, message:
            "bundled because the code reaches it, though .gitignore:1 'generated/' leaves it out (and 1 more the code reaches); the app would break without it")])
    }

    @Test func aReachedFileInADotFolderIsKeptWithAWarningAndTheRestOfItStaysOut() throws {
        let fs = InMemoryFileSystem([
            "/a/package.json": "{}", "/a/app.js": "require('./.config/settings')", "/a/.config/settings.js": "", "/a/.config/cache.db": "",
        ])
        let app = try AppCollector(fileSystem: fs).collect(entry: "/a/app.js")
        #expect(app.files == ["/a/.config/settings.js", "/a/app.js", "/a/package.json"])
        #expect(app.diagnostics.map(\.message) == [
            "bundled because the code reaches it, though the rule for dot-folders leaves it out; the app would break without it",
        ])
    }

    @Test func includedSecretsNeedAPatternThatNamesThem() throws {
        let fs = InMemoryFileSystem(["/a/app.js": "", "/a/.env": "S=1", "/a/.env.defaults": "D=1", "/a/data.txt": ""])
        let app = try AppCollector(fileSystem: fs).collect(entry: "/a/app.js", including: ["/a/.env", "/a/.env.defaults", "/a/data.txt"],
                                                           named: ["/a/.env.defaults"])
        #expect(app.files == ["/a/.env.defaults", "/a/app.js", "/a/data.txt"])
        #expect(app.reasons["/a/data.txt"] == .included)
        #expect(app.leftOut.map(\.path) == ["/a/.env"])
    }

    /// A package.json in $HOME does not make the home folder the app's.
    @Test func aStrayPackageJSONAboveTheEntryDoesNotTakeInItsFolder() throws {
        var files = [
            "/home/me/package.json": #"{ "name": "stray" }"#, "/home/me/Documents/letter.txt": "dear", "/home/me/video.mp4": "…",
            "/home/me/proj/app.js": "require('./lib')", "/home/me/proj/lib.js": "", "/home/me/proj/notes.txt": "",
        ]
        let stray = try AppCollector(fileSystem: InMemoryFileSystem(files)).collect(entry: "/home/me/proj/app.js")
        #expect(stray.files == ["/home/me/package.json", "/home/me/proj/app.js", "/home/me/proj/lib.js"])
        #expect(stray.diagnostics.map(\.file) == ["/home/me/package.json"])
        files["/home/me/package.json"] = #"{ "name": "proj", "bin": { "proj": "proj/app.js" } }"#
        let own = try AppCollector(fileSystem: InMemoryFileSystem(files)).collect(entry: "/home/me/proj/app.js")
        #expect(own.files.contains("/home/me/Documents/letter.txt") && own.files.contains("/home/me/proj/notes.txt"))
        #expect(own.diagnostics.isEmpty)
    }

    @Test func aLargeOwnFolderIsAWarning() throws {
        var files = ["/a/package.json": "{}", "/a/app.js": ""]
        for index in 0...AppCollector.ownFolderWarningCount { files["/a/photos/\(index).jpg"] = "" }
        let app = try AppCollector(fileSystem: InMemoryFileSystem(files)).collect(entry: "/a/app.js")
        #expect(app.files.count == AppCollector.ownFolderWarningCount + 3)
        #expect(app.diagnostics.map(\.message) == [
            "its folder adds \(AppCollector.ownFolderWarningCount + 1) files (0 B) the code does not reach; if they are not the app's, limit them with a \"files\" list or .npmignore (bundle --dry-run lists them)",
        ])
    }

    /// Workspaces and `npm link`: node_modules/ws is a link to the developer's folder.
    @Test func localPackagesFollowThePublishRulesAndRegistryPackagesStayWhole() throws {
        let fs = InMemoryFileSystem([
            "/a/app.js": "require('ws'); require('checkout'); require('registry')",
            "/a/node_modules/ws/package.json": #"{ "name": "ws" }"#, "/a/node_modules/ws/index.js": "",
            "/a/node_modules/ws/.env": "S=1", "/a/node_modules/ws/.gitignore": "tmp/\n", "/a/node_modules/ws/tmp/x": "",
            "/a/node_modules/checkout/index.js": "", "/a/node_modules/checkout/.git/HEAD": "", "/a/node_modules/checkout/.npmrc": "t",
            "/a/node_modules/registry/index.js": "", "/a/node_modules/registry/test/fixture.key": "k",
        ])
        let links = ["/a/node_modules/ws": "/a/packages/ws"]
        let collector = AppCollector(fileSystem: fs, canonicalPath: { links[$0] ?? $0 })
        #expect(collector.isLocalPackage("/a/node_modules/ws") && collector.isLocalPackage("/a/node_modules/checkout"))
        #expect(!collector.isLocalPackage("/a/node_modules/registry"))
        let app = try collector.collect(entry: "/a/app.js")
        #expect(app.files == [
            "/a/app.js", "/a/node_modules/checkout/index.js", "/a/node_modules/registry/index.js",
            "/a/node_modules/registry/test/fixture.key", "/a/node_modules/ws/index.js", "/a/node_modules/ws/package.json",
        ])
        #expect(app.leftOut.map(\.path) == ["/a/node_modules/ws/.env"])
    }

    @Test func packageDirectoryOfAFile() {
        #expect(AppCollector.packageDirectory(of: "/a/node_modules/x/lib/y.js") == "/a/node_modules/x")
        #expect(AppCollector.packageDirectory(of: "/a/node_modules/@s/x/y.js") == "/a/node_modules/@s/x")
        #expect(AppCollector.packageDirectory(of: "/a/node_modules/x/node_modules/z/i.js") == "/a/node_modules/x/node_modules/z")
        #expect(AppCollector.packageDirectory(of: "/a/src/y.js") == nil)
    }

    /// npm installs every dependency the app declares; code may name them only at run
    /// time (`require(name)`), so they ship whole. devDependencies never do.
    @Test func theAppsOwnDependenciesAreIncludedWhole() throws {
        let fs = InMemoryFileSystem([
            "/a/app.js": "const n = 'delta'; require(n)\n",
            "/a/package.json": #"{ "dependencies": { "delta": "1" }, "optionalDependencies": { "opt": "1", "absent": "1" }, "devDependencies": { "dev": "1" } }"#,
            "/a/node_modules/delta/package.json": #"{ "main": "lib/delta.js", "dependencies": { "epsilon": "1" } }"#,
            "/a/node_modules/delta/lib/delta.js": "",
            "/a/node_modules/delta/data/table.txt": "",
            "/a/node_modules/epsilon/index.js": "",
            "/a/node_modules/opt/index.js": "",
            "/a/node_modules/dev/index.js": "",
        ])
        let app = try AppCollector(fileSystem: fs).collect(entry: "/a/app.js")
        #expect(app.files == [
            "/a/app.js", "/a/node_modules/delta/data/table.txt", "/a/node_modules/delta/lib/delta.js",
            "/a/node_modules/delta/package.json", "/a/node_modules/epsilon/index.js", "/a/node_modules/opt/index.js",
            "/a/package.json",
        ])
        #expect(app.diagnostics == [])
    }

    @Test func aDependencyThatIsNotInstalledIsAWarningOnItsLine() throws {
        let fs = InMemoryFileSystem([
            "/b/app.js": "",
            "/b/package.json": "{\n  \"name\": \"gamma\",\n  \"dependencies\": {\n    \"gamma\": \"1\"\n  },\n  \"optionalDependencies\": { \"opt\": \"1\" }\n}\n",
        ])
        let app = try AppCollector(fileSystem: fs).collect(entry: "/b/app.js")
        #expect(app.diagnostics == [Diagnostic(file: "/b/package.json", line: 4, message:
            "dependency 'gamma' is not installed, so it is not bundled (run npm install first)")])
    }

    @Test func filesTheAppReadsBesideItselfAreIncluded() throws {
        let fs = InMemoryFileSystem([
            "/w/app.js": """
                const fs = require('fs'), path = require('path');
                fs.readFileSync(__dirname + '/lib/r.bin');
                fs.readdirSync(path.join(__dirname, 'views'));
                fs.readFileSync(path.join(__dirname, 'missing.txt'));
                fs.readFileSync(path.join(__dirname, 'templates', name));
                fs.readdirSync(path.join(__dirname, '..'));
                if (fs.existsSync(path.join(__dirname, 'local.json'))) console.log('optional file');
                """,
            "/w/lib/r.bin": "r", "/w/views/a.html": "a", "/w/views/deep/b.html": "b", "/w/templates/t.txt": "t",
            "/w/unrelated.txt": "u", "/outside.txt": "o",
        ])
        let app = try AppCollector(fileSystem: fs, currentDirectory: "/w").collect(entry: "/w/app.js")
        #expect(app.files == ["/w/app.js", "/w/lib/r.bin", "/w/views/a.html", "/w/views/deep/b.html"])
        #expect(app.diagnostics == [
            Diagnostic(file: "/w/app.js", line: 4, message: "reads missing.txt, which does not exist; it will be missing at run time unless added with --include 'missing.txt'"),
            Diagnostic(file: "/w/app.js", line: 5, message: "reads a path built at run time; if it names files of the app, add them with --include 'templates/**'"),
            Diagnostic(file: "/w/app.js", line: 6, message: "reads the directory /, outside the app's folder, so it is not bundled; add it with --include '/**'"),
        ])
    }

    @Test func aDirectoryWithTooManyFilesIsNotBundledUnasked() throws {
        var files = ["/home/u/app.js": "fs.readdirSync(__dirname)"]
        for n in 0..<AppCollector.directoryReadLimit { files["/home/u/Downloads/f\(n)"] = "" }
        let app = try AppCollector(fileSystem: InMemoryFileSystem(files), currentDirectory: "/home/u").collect(entry: "/home/u/app.js")
        #expect(app.files == ["/home/u/app.js"])
        #expect(app.diagnostics.map(\.message) == ["reads the directory /home/u, which holds 1001 files: too many to be sure they are the app's, " +
                                                 "so it is not bundled; add it with --include '**'"])
    }

    /// Packages ship whole, so their computed reads are no news; a user could not act on them.
    @Test func packagesComputedReadsAreNotWarnedAbout() throws {
        let fs = InMemoryFileSystem([
            "/v/app.js": "require('pkg')",
            "/v/node_modules/pkg/index.js": "fs.readFileSync(path.join(__dirname, 'locales', lang)); fs.readFileSync(__dirname + '/gone')",
            "/v/node_modules/pkg/locales/en.json": "{}",
        ])
        let app = try AppCollector(fileSystem: fs).collect(entry: "/v/app.js")
        #expect(app.diagnostics == [])
        #expect(app.files.contains("/v/node_modules/pkg/locales/en.json"))
    }

    /// In a pnpm layout a package's dependencies lie beside its real directory, not
    /// below the link the app reaches it through.
    /// pnpm: files are bundled at their real paths, as node loads them, so foo finds bar
    /// beside it; the links the graph passed through are recorded for the run time.
    @Test func aPnpmStoreIsBundledAtRealPathsWithItsLinks() throws {
        let fs = InMemoryFileSystem([
            "/r/app.js": "require('foo')",
            "/r/node_modules/.pnpm/foo@1.0.0/node_modules/foo/index.js": "require('bar')",
            "/r/node_modules/.pnpm/bar@2.0.0/node_modules/bar/index.js": "",
        ], links: [
            "/r/node_modules/foo": ".pnpm/foo@1.0.0/node_modules/foo",
            "/r/node_modules/.pnpm/foo@1.0.0/node_modules/bar": "../../bar@2.0.0/node_modules/bar",
        ])
        let app = try AppCollector(fileSystem: fs, currentDirectory: "/r").collect(entry: "/r/app.js")
        #expect(app.files == ["/r/app.js", "/r/node_modules/.pnpm/bar@2.0.0/node_modules/bar/index.js",
                              "/r/node_modules/.pnpm/foo@1.0.0/node_modules/foo/index.js"])
        #expect(app.diagnostics == [])
        #expect(app.links == ["/r/node_modules/foo": "/r/node_modules/.pnpm/foo@1.0.0/node_modules/foo",
                              "/r/node_modules/.pnpm/foo@1.0.0/node_modules/bar": "/r/node_modules/.pnpm/bar@2.0.0/node_modules/bar"])
    }

    @Test func inMemoryLinksResolveAsTheKernelDoes() throws {
        let fs = InMemoryFileSystem(["/x/real/a.txt": "a"], links: ["/x/link": "real", "/x/abs": "/x/link", "/loop": "/loop"])
        #expect(fs.realPath(of: "/x/abs/a.txt") == "/x/real/a.txt")
        #expect(fs.kind(of: "/x/link") == .directory)
        #expect(try fs.children(of: "/x") == ["abs", "link", "real"])
        #expect(try fs.contents(of: "/x/link/a.txt") == Array("a".utf8))
        #expect(fs.realPath(of: "/loop") == nil)
        #expect(fs.realPath(of: "/x/none") == nil)
    }
}

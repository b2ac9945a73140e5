import Testing
@testable import BundlerCore

@Suite struct AppCollectorTests {
    @Test func followsRequiresAndIncludesUsedPackagesWhole() throws {
        let fs = InMemoryFileSystem([
            "/p/src/app.js": "require('./util'); require('used'); require('./gone')\n",
            "/p/src/util.js": "module.exports = require('../package.json').name\n",
            "/p/package.json": #"{ "name": "p" }"#,
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

    @Test func packageDirectoryOfAFile() {
        #expect(AppCollector.packageDirectory(of: "/a/node_modules/x/lib/y.js") == "/a/node_modules/x")
        #expect(AppCollector.packageDirectory(of: "/a/node_modules/@s/x/y.js") == "/a/node_modules/@s/x")
        #expect(AppCollector.packageDirectory(of: "/a/node_modules/x/node_modules/z/i.js") == "/a/node_modules/x/node_modules/z")
        #expect(AppCollector.packageDirectory(of: "/a/src/y.js") == nil)
    }
}

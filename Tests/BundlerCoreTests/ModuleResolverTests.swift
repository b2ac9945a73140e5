import Testing
@testable import BundlerCore

@Suite struct ModuleResolverTests {
    let fs = InMemoryFileSystem([
        "/app/main.js": "",
        "/app/lib/index.js": "",
        "/app/data.json": "{}",
        "/app/package.json": ##"{ "name": "my-app", "exports": { ".": "./main.js", "./feature": "./lib/index.js" }, "imports": { "#db": { "node": "./lib/index.js" }, "#utils/*": "./lib/*.js" } }"##,
        "/app/lib/strings.js": "",
        "/app/node_modules/plain/package.json": #"{ "main": "dist/entry" }"#,
        "/app/node_modules/plain/dist/entry.js": "",
        "/app/node_modules/plain/extra.js": "",
        "/app/node_modules/noindex/index.js": "",
        "/app/node_modules/@scope/pkg/package.json": #"{ "exports": { ".": { "import": "./esm.mjs", "require": "./cjs.js" }, "./features/*.js": "./src/features/*.js", "./private/*": null } }"#,
        "/app/node_modules/@scope/pkg/cjs.js": "",
        "/app/node_modules/@scope/pkg/esm.mjs": "",
        "/app/node_modules/@scope/pkg/src/features/x.js": "",
        "/node_modules/top/index.js": "",
    ])

    func resolve(_ specifier: String, from directory: String = "/app/lib", esm: Bool = false) -> ModuleResolver.Resolution {
        ModuleResolver(fileSystem: fs).resolve(specifier, from: directory, esm: esm)
    }

    @Test func builtins() {
        #expect(resolve("fs") == .builtin)
        #expect(resolve("node:test") == .builtin)
        #expect(resolve("fs/promises") == .builtin)
    }

    @Test func relativeFilesExtensionsAndDirectories() {
        #expect(resolve("./strings") == .file("/app/lib/strings.js"))
        #expect(resolve("../data") == .file("/app/data.json"))
        #expect(resolve("..", from: "/app/lib/") == .notFound)  // /app has package.json without main, no index
        #expect(resolve("./", from: "/app/lib") == .file("/app/lib/index.js"))
        #expect(resolve("/app/main") == .file("/app/main.js"))
        #expect(resolve("./missing") == .notFound)
    }

    @Test func packagesMainAndIndex() {
        #expect(resolve("plain") == .file("/app/node_modules/plain/dist/entry.js"))
        #expect(resolve("plain/extra") == .file("/app/node_modules/plain/extra.js"))
        #expect(resolve("noindex") == .file("/app/node_modules/noindex/index.js"))
        #expect(resolve("top") == .file("/node_modules/top/index.js"))
        #expect(resolve("absent") == .notFound)
    }

    @Test func exportsConditionsPatternsAndNull() {
        #expect(resolve("@scope/pkg") == .file("/app/node_modules/@scope/pkg/cjs.js"))
        #expect(resolve("@scope/pkg", esm: true) == .file("/app/node_modules/@scope/pkg/esm.mjs"))
        #expect(resolve("@scope/pkg/features/x.js") == .file("/app/node_modules/@scope/pkg/src/features/x.js"))
        #expect(resolve("@scope/pkg/private/secret") == .notFound)
        #expect(resolve("@scope/pkg/cjs.js") == .notFound)  // not exported
    }

    @Test func importsAndSelfReference() {
        #expect(resolve("#db") == .file("/app/lib/index.js"))
        #expect(resolve("#utils/strings") == .file("/app/lib/strings.js"))
        #expect(resolve("my-app/feature") == .file("/app/lib/index.js"))
    }
}

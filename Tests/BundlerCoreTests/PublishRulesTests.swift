import Testing
@testable import BundlerCore

/// npm's rule for what a package folder publishes, as the app's own folder uses it.
@Suite struct PublishRulesTests {
    func published(_ files: [String: String], alwaysIncluded: Set<String> = []) -> [String] {
        let fs = InMemoryFileSystem(Dictionary(uniqueKeysWithValues: files.map { ("/p/" + $0.key, $0.value) }))
        return PublishRules(fs: fs, canonical: { $0 }).select("/p", alwaysIncluded: alwaysIncluded).published
            .map { String($0.dropFirst(3)) }
    }

    @Test func filesListWithGlobsAndNegation() {
        let files = published([
            "package.json": #"{ "files": ["lib/**/*.js", "!lib/**/*.test.js", "bin/", "./assets/*.png"] }"#,
            "lib/a.js": "", "lib/sub/b.js": "", "lib/a.test.js": "", "lib/sub/c.test.js": "", "lib/notes.md": "",
            "bin/cli.js": "", "bin/more/x.sh": "", "assets/logo.png": "", "assets/logo.svg": "", "assets/deep/y.png": "",
            "README.md": "", "LICENSE": "", "src/x.js": "", "other.js": "",
        ])
        #expect(files == ["LICENSE", "README.md", "assets/logo.png", "bin/cli.js", "bin/more/x.sh", "lib/a.js", "lib/sub/b.js", "package.json"])
    }

    @Test func aFilesEntryNamingAFileTakesOnlyThatFileAtTheRoot() {
        #expect(published([
            "package.json": #"{ "files": ["app.js"] }"#, "app.js": "", "lib/app.js": "", ".env": "", "test/a.test.js": "",
        ]) == ["app.js", "package.json"])
    }

    @Test func nestedGitignoreAppliesBelowItsFolderAndNegationTakesBack() {
        let files = published([
            ".gitignore": "# logs\n*.log\n/build\ncoverage/\n",
            "sub/.gitignore": "local.json\n!keep.log\n",
            "app.log": "", "sub/x.log": "", "sub/keep.log": "", "sub/local.json": "", "local.json": "",
            "build/out.js": "", "src/build/y.js": "", "coverage/big.bin": "", "src/coverage": "a file, not a folder",
        ])
        #expect(files == ["local.json", "src/build/y.js", "src/coverage", "sub/keep.log"])
    }

    @Test func npmignoreReplacesGitignoreInItsFolder() {
        let files = published([".npmignore": "test/\n", ".gitignore": "dist/\n", "dist/a.js": "", "test/t.js": "", "lib/.gitignore": "*.tmp\n", "lib/x.tmp": ""])
        #expect(files == ["dist/a.js"])
    }

    @Test func withAFilesListTheRootIgnoreFileDoesNotApplyButNestedOnesDo() {
        let files = published([
            "package.json": #"{ "files": ["lib"] }"#, ".npmignore": "lib/a.js\n", "lib/.npmignore": "b.js\n",
            "lib/a.js": "", "lib/b.js": "", "lib/c.js": "",
        ])
        #expect(files == ["lib/a.js", "lib/c.js", "package.json"])
    }

    @Test func neverPublishedFilesStayOutUnlessARuleNamesThem() {
        let files = published([
            "package.json": #"{ "files": ["lib", "package-lock.json"] }"#,
            "lib/a.js": "", "lib/.DS_Store": "", "lib/a.js.orig": "", "lib/npm-debug.log": "", "lib/.a.js.swp": "",
            "package-lock.json": "{}", "yarn.lock": "", ".git/HEAD": "", "lib/node_modules/x/index.js": "",
        ])
        #expect(files == ["lib/a.js", "package-lock.json", "package.json"])
        #expect(published([".DS_Store": "", "x.orig": "", "npm-debug.log": "", ".gitignore": "*.tmp\n", "a.js": ""]) == ["a.js"])
    }

    @Test func dotFoldersAreLeftOutUnlessNamed() {
        #expect(published([".cache/x": "", ".vscode/settings.json": "", "a.js": "", ".eslintrc": ""]) == [".eslintrc", "a.js"])
        #expect(published([".npmignore": "!.next/\n", ".next/page.js": "", ".cache/x": ""]) == [".next/page.js"])
        #expect(published(["package.json": #"{ "files": [".well-known"] }"#, ".well-known/a": ""]) == [".well-known/a", "package.json"])
    }

    @Test func mainBinReadmeAndLicenseArePublishedWhateverTheRules() {
        let files = published([
            "package.json": #"{ "files": ["nothing"] }"#, ".gitignore": "dist/\n", "dist/index.js": "", "dist/other.js": "",
            "readme.markdown": "", "LICENCE.txt": "", "docs/README.md": "",
        ], alwaysIncluded: ["/p/dist/index.js"])
        #expect(files == ["LICENCE.txt", "dist/index.js", "package.json", "readme.markdown"])
    }

    @Test func aDecisionNamesTheRuleEvenForAFileInAFolderLeftOutWhole() {
        let fs = InMemoryFileSystem(["/p/.gitignore": "\n\ngenerated/\n", "/p/generated/table.js": "", "/p/app.js": ""])
        let selection = PublishRules(fs: fs, canonical: { $0 }).select("/p", alwaysIncluded: [])
        #expect(selection.decision(for: "/p/generated/table.js") == .init(published: false, origin: ".gitignore:3 'generated/'"))
        #expect(selection.decision(for: "/p/app.js")?.published == true)
    }

    @Test func aFilesEntryNamingASecretIsExplicitButAFolderOrAGlobIsNot() {
        let fs = InMemoryFileSystem([
            "/p/package.json": #"{ "files": [".env.defaults", "config", "*.pem"] }"#, "/p/.env.defaults": "", "/p/config/.env": "", "/p/a.pem": "",
        ])
        let selection = PublishRules(fs: fs, canonical: { $0 }).select("/p", alwaysIncluded: [])
        #expect(selection.decisions["/p/.env.defaults"]?.namedByFilesEntry == true)
        #expect(selection.decisions["/p/config/.env"]?.namedByFilesEntry == false)
        #expect(selection.decisions["/p/a.pem"]?.namedByFilesEntry == false)
    }
}

@Suite struct SensitiveFileTests {
    /// A 64-bit little-endian ELF header of `type`, with one program header of `segment`.
    func elf(type: UInt16, segment: UInt32 = 1) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 64 + 56)
        bytes.replaceSubrange(0..<6, with: [0x7f, 0x45, 0x4c, 0x46, 2, 1])
        bytes[16] = UInt8(type)
        bytes[32] = 64  // e_phoff
        bytes[54] = 56  // e_phentsize
        bytes[56] = 1  // e_phnum
        bytes[64] = UInt8(segment)
        return bytes
    }

    @Test func secretsAreKnownByNameAndPrivateKeysByContent() {
        let fs = InMemoryFileSystem([
            "/a/.env": "", "/a/.env.production": "", "/a/.npmrc": "", "/a/.netrc": "", "/a/.git-credentials": "", "/a/id_rsa": "",
            "/a/id_ed25519.pub": "", "/a/server.key": "",
            "/a/key.pem": "-----BEGIN RSA PRIVATE KEY-----\nMII\n-----END RSA PRIVATE KEY-----\n",
            "/a/cert.pem": "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n", "/a/app.js": "", "/a/environment.js": "",
        ])
        for name in [".env", ".env.production", ".npmrc", ".netrc", ".git-credentials", "id_rsa", "id_ed25519.pub", "server.key", "key.pem"] {
            guard case .secret? = SensitiveFile.classify("/a/" + name, fs: fs) else {
                Issue.record("\(name) is not seen as a secret")
                continue
            }
        }
        for name in ["cert.pem", "app.js", "environment.js"] { #expect(SensitiveFile.classify("/a/" + name, fs: fs) == nil, "\(name)") }
    }

    @Test func programsCoreDumpsAndObjectFilesAreExecutablesButAddonsAndLibrariesAreNot() {
        #expect(SensitiveFile.executableKind(elf(type: 2), name: "tool") == "an ELF program")
        #expect(SensitiveFile.executableKind(elf(type: 3, segment: 3), name: "app") == "an ELF program")
        #expect(SensitiveFile.executableKind(elf(type: 3), name: "app") == "an ELF program")
        #expect(SensitiveFile.executableKind(elf(type: 4), name: "core") == "a core dump")
        #expect(SensitiveFile.executableKind(elf(type: 1), name: "x.o") == "an ELF object file")
        #expect(SensitiveFile.executableKind(elf(type: 3), name: "addon.node") == nil)
        #expect(SensitiveFile.executableKind(elf(type: 3), name: "libfoo.so.1") == nil)
        #expect(SensitiveFile.executableKind(Array("#!/bin/sh\n".utf8) + [UInt8](repeating: 32, count: 100), name: "run") == nil)
    }
}

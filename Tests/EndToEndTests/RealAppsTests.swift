import Foundation
import Testing

/// Real programs from Debian's packages, bundled, their source deleted, compared with
/// `node app.js` on the source.
@Suite struct RealAppsTests {
    @Test func typescriptTranspileModule() throws {
        let fixture = try Fixture(["app.js": """
            const ts = require('typescript');
            const out = ts.transpileModule('enum Color { Red, Green }\\nconst c: Color = Color.Green;\\nexport default c;',
              { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2017 } });
            console.log(ts.version.split('.')[0] > 3, out.outputText);
            """])
        try fixture.installDebianPackage("typescript")
        let (node, _) = try expectSameAsNode(fixture)
        #expect(node.stdout.contains("Color[Color[\"Green\"] = 1] = \"Green\""))
    }

    /// typescript.js compiles from the V8 code cache made at bundle time (NODE_DEBUG=bundle
    /// says so). Under a baked V8 flag V8 refuses the cache, and the app runs the same,
    /// compiled from source.
    @Test func typescriptCompilesFromItsCodeCacheOrWithoutIt() throws {
        let fixture = try Fixture(["app.js": "const ts = require('typescript');\nconsole.log(ts.transpileModule('let x: number = 1', {}).outputText);\n"])
        try fixture.installDebianPackage("typescript")
        let expected = try fixture.node("app.js")
        let plain = try fixture.bundle("app.js")
        // A flag V8 checks caches against on every runtime (node 24 no longer counts heap sizes).
        let tuned = try fixture.bundle("app.js", extra: ["--node-option=--jitless"])
        try fixture.removeSource()
        var environment = ProcessInfo.processInfo.environment
        environment["NODE_DEBUG"] = "bundle"
        let typescript = "\(bundledApp)/node_modules/typescript/lib/typescript.js"
        let used = try run(plain, environment: environment)
        #expect(used.stdout == expected.stdout && used.status == 0, "\(used)")
        #expect(used.stderr.contains("code cache used for \(typescript)"), "\(used.stderr)")
        let refused = try run(tuned, environment: environment)
        #expect(refused.stdout == expected.stdout && refused.status == 0, "\(refused)")
        #expect(refused.stderr.contains("code cache rejected for \(typescript)"), "\(refused.stderr)")
    }

    /// A full program whose compiler host reads the project and lib.d.ts files from
    /// inside the bundle through fs (ts.sys), as tsc does.
    @Test func typescriptCreateProgramReadsLibFilesFromTheBundle() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "tsc-app", "private": true }"#,
            "app.js": """
                const ts = require('typescript');
                const path = require('path');
                const files = ['main.ts', 'util.ts'].map((f) => path.join(__dirname, 'project', f));
                const options = { target: ts.ScriptTarget.ES2017, module: ts.ModuleKind.CommonJS, strict: true, lib: ['lib.es2017.d.ts'] };
                const host = ts.createCompilerHost(options);
                const emitted = {};
                host.writeFile = (name, text) => { emitted[path.basename(name)] = text; };
                const program = ts.createProgram(files, options, host);
                const result = program.emit();
                const diagnostics = ts.getPreEmitDiagnostics(program).concat(result.diagnostics)
                  .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\\n'));
                console.log(program.getSourceFiles().some((f) => /lib\\.es2017\\.d\\.ts$/.test(f.fileName)));
                console.log(diagnostics);
                console.log(Object.keys(emitted).sort(), emitted['main.js']);
                """,
            "project/main.ts": "import { twice } from './util';\nconst n: number = twice(21);\nexport const included = [1, 2].includes(n);\nexport const answer = n;\n",
            "project/util.ts": "export function twice(x: number): number { return x * 2; }\nexport const bad: string = 'ok';\n",
        ])
        try fixture.installDebianPackage("typescript")
        let (node, _) = try expectSameAsNode(fixture)
        #expect(node.stdout.hasPrefix("true\n[]\n[ 'main.js', 'util.js' ]"))
    }

    @Test func markedAndJsYaml() throws {
        let fixture = try Fixture(["app.js": """
            const { marked } = require('marked');
            const yaml = require('js-yaml');
            const doc = yaml.load('title: Hello\\nitems: [1, two, {three: 3}]\\n');
            console.log(JSON.stringify(doc));
            console.log(yaml.dump({ a: [1, 'b'], c: { d: null } }));
            console.log(marked.parse(`# ${doc.title}\\n\\n- *one*\\n- **two**\\n\\n\\`code\\``));
            """])
        try fixture.installDebianPackage("marked")
        try fixture.installDebianPackage("js-yaml")
        let (node, _) = try expectSameAsNode(fixture)
        #expect(node.stdout.contains("<h1 id=\"hello\">Hello</h1>"))
    }

    @Test func eslintLinter() throws {
        let fixture = try Fixture(["app.js": """
            const { Linter } = require('eslint');
            const linter = new Linter();
            const messages = linter.verify('var x = 1;\\nif (x == 2) { debugger }\\n',
              { rules: { eqeqeq: 'error', 'no-debugger': 'error', 'no-unused-vars': 'warn' } });
            console.log(messages.map((m) => `${m.line}:${m.column} ${m.ruleId} ${m.message}`).join('\\n'));
            console.log(linter.getRules().size > 200);
            """])
        try fixture.installDebianPackage("eslint")
        let (node, _) = try expectSameAsNode(fixture)
        #expect(node.stdout.contains("2:7 eqeqeq"))
    }
}

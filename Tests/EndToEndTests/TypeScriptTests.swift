import Foundation
import Testing

/// TypeScript entries and imports, transpiled at bundle time (esbuild, no type checks),
/// with stack traces that name the .ts file and line.
@Suite struct TypeScriptTests {
    /// A CommonJS project (no "type"): its build kept in package.json, files that import
    /// each other as TypeScript projects write it (no extension, `.js` for a .ts file,
    /// `import x = require()`), what needs more than erasing types (enums, namespaces,
    /// parameter properties, decorators with tsconfig's experimentalDecorators), and a
    /// package in node_modules written in TypeScript.
    static let commonJSProject: [String: String] = [
        "package.json": #"{ "name": "tsapp", "version": "1.0.0", "bundle": { "entry": "src/main.ts", "output": "tsapp" } }"#,
        "tsconfig.json": #"{ "compilerOptions": { "experimentalDecorators": true, "strict": true } }"#,
        "src/main.ts": """
            import { Greeter, Mood } from './greeter';
            import { total } from './math/index.js';
            import type { Shape } from './types';
            import fs = require('fs');
            import { twice } from 'tslib-local';

            namespace Config { export const name = 'app'; }
            const shape: Shape = { sides: 4 };
            console.log(new Greeter('ts').greet(Mood.Happy), total([1, 2, 3]), shape.sides, Config.name);
            console.log(twice(21), typeof fs.readFileSync, require('path').basename(__filename));
            """,
        "src/greeter.ts": """
            export enum Mood { Sad, Happy }
            function logged(_target: object, key: string, descriptor: PropertyDescriptor) {
              const original = descriptor.value;
              descriptor.value = function (this: unknown, ...args: unknown[]) { return `[${key}] ` + original.apply(this, args); };
            }
            export class Greeter {
              constructor(private readonly name: string) {}
              @logged greet(mood: Mood): string { return `hello ${this.name}, ${Mood[mood]}`; }
            }
            """,
        "src/math/index.ts": "export const total = (values: number[]): number => values.reduce((a, b) => a + b, 0);\n",
        "src/types.d.ts": "export interface Shape { sides: number }\n",
        "src/fail.ts": """
            export function fail(reason: string): never {
              const detail: string = `failed: ${reason}`;
              throw new Error(detail);
            }
            """,
        "node_modules/tslib-local/package.json": #"{ "name": "tslib-local", "version": "1.0.0", "main": "index.ts" }"#,
        "node_modules/tslib-local/index.ts": """
            interface Options { factor: number }
            const defaults: Options = { factor: 2 };
            export function twice(n: number, options: Options = defaults): number {
              if (n < 0) throw new RangeError(`negative: ${n}`);
              return n * options.factor;
            }
            """,
    ]

    @Test func aTypeScriptProjectBundlesFromItsPackageJSON() throws {
        let fixture = try Fixture(Self.commonJSProject)
        let result = try run(Tools.bundle, ["-q"] + Tools.runtimeArguments, in: fixture.directory, timeout: 300)
        #expect(result.status == 0, "\(result)")
        let moved = try fixture.scratchDirectory("moved") + "/tsapp"
        try FileManager.default.moveItem(atPath: fixture.directory + "/tsapp", toPath: moved)
        try fixture.removeSource()
        let ran = try run(moved, in: "/")
        #expect(ran == Outcome(stdout: "[greet] hello ts, Happy 6 4 app\n42 function main.ts\n", stderr: "", status: 0))
    }

    /// Errors thrown in .ts files, the app's and a package's, name the .ts line and column.
    @Test func stackTracesNameTheTypeScriptLine() throws {
        var files = Self.commonJSProject
        files["src/main.ts"] = """
            import { fail } from './fail';
            import { twice } from 'tslib-local';
            type Where = 'package' | 'app';
            const where: Where = process.argv[2] === 'package' ? 'package' : 'app';
            try {
              if (where === 'package') twice(-1);
              fail('on purpose');
            } catch (error) {
              console.log(String((error as Error).stack).split('\\n').slice(0, 2).join('\\n'));
            }
            fail('uncaught');
            """
        let fixture = try Fixture(files)
        let output = try fixture.bundle("src/main.ts")
        let caught = try run(output, ["app"], in: "/")
        #expect(caught.stdout == "Error: failed: on purpose\n    at fail (\(bundledApp)/src/fail.ts:3:9)\n", "\(caught)")
        #expect(caught.status == 1)
        // node's report of an uncaught error: the .ts line and its text, then the trace.
        #expect(caught.stderr.hasPrefix("\(bundledApp)/src/fail.ts:3\n  throw new Error(detail);\n  ^\n"), "\(caught)")
        #expect(caught.stderr.contains("at Object.<anonymous> (\(bundledApp)/src/main.ts:11:1)"), "\(caught)")
        let inPackage = try run(output, ["package"], in: "/")
        #expect(inPackage.stdout == "RangeError: negative: -1\n    at twice (\(bundledApp)/node_modules/tslib-local/index.ts:4:20)\n",
                "\(inPackage)")
    }

    /// An ES module project ("type": "module"): `.js` paths that name .ts files,
    /// top-level await, import.meta, and .mts/.cts beside them.
    @Test func anESModuleProject() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "tsesm", "type": "module" }"#,
            "main.ts": """
                import { add } from './math.js';
                import { scale } from './scale.mjs';
                import legacy from './legacy.cjs';
                const value: number = await Promise.resolve(add(2, 3));
                console.log(value, scale(value), legacy.kind, import.meta.filename.endsWith('/main.ts'), typeof require);
                """,
            "math.ts": "export const add = (a: number, b: number): number => a + b;\n",
            "scale.mts": "export function scale(n: number, by: number = 10): number { return n * by; }\n",
            "legacy.cts": "const kind: string = typeof module;\nexport = { kind };\n",
        ])
        let output = try fixture.bundle("main.ts")
        try fixture.removeSource()
        #expect(try run(output, in: "/") == Outcome(stdout: "5 50 object true undefined\n", stderr: "", status: 0))
    }

    /// tsconfig `paths` (with `baseUrl`, an `extends`, comments and trailing commas, as
    /// tsconfig files are written): aliases resolve at bundle time, for CommonJS and ES
    /// module importers, and a real package of the same name stays a package.
    @Test func tsconfigPathsAliasesResolve() throws {
        let fixture = try Fixture([
            "tsconfig.base.json": """
                {
                  // shared settings
                  "compilerOptions": { "baseUrl": "./src", "paths": { "@/*": ["*"], "settings": ["config/index.ts"], }, },
                }
                """,
            "tsconfig.json": #"{ "extends": "./tsconfig.base.json", /* the app's own */ "include": ["src"] }"#,
            "src/main.ts": """
                import { db } from '@/services/db';
                import settings from 'settings';
                import { answer } from './esm.mjs';
                import { twice } from 'tslib-local';
                console.log(db(), settings.name, twice(answer));
                """,
            "src/services/db.ts": "export const db = (): string => 'db ok';\n",
            "src/config/index.ts": "export default { name: 'configured' };\n",
            "src/esm.mts": "import { half } from '@/math/half';\nexport const answer: number = half(42);\n",
            "src/math/half.ts": "export const half = (n: number): number => n / 2;\n",
            "node_modules/tslib-local/package.json": #"{ "name": "tslib-local", "main": "index.js" }"#,
            "node_modules/tslib-local/index.js": "exports.twice = (n) => n * 2;\n",
        ])
        let output = try fixture.bundle("src/main.ts")
        try fixture.removeSource()
        #expect(try run(output, in: "/") == Outcome(stdout: "db ok configured 42\n", stderr: "", status: 0))
    }

    /// A syntax error: one line with file:line:column, and no output.
    @Test func aSyntaxErrorIsOneLineWithItsPosition() throws {
        let fixture = try Fixture(["main.ts": "import { a } from './broken';\nconsole.log(a);\n",
                                   "broken.ts": "export const a: number = 1;\nexport const b = (x: number => x;\n"])
        let result = try run(Tools.bundle, ["main.ts", "-o", "out"] + Tools.runtimeArguments, in: fixture.directory, timeout: 120)
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result)")
        #expect(result.stderr.hasPrefix("bundle: error: broken.ts:2:29: "), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: fixture.directory + "/out"))
    }

    /// The project's other TypeScript files are transpiled ahead, in the same esbuild run,
    /// but one the app does not reach cannot fail the bundle.
    @Test func aBrokenFileTheAppDoesNotReachIsNoError() throws {
        let fixture = try Fixture(["package.json": #"{ "name": "x", "files": ["src"] }"#,
                                   "src/main.ts": "import { a } from './a';\nconsole.log(a satisfies number);\n",
                                   "src/a.ts": "export const a: number = 7;\n",
                                   "scratch/draft.ts": "export const = ;\n"])
        let output = try fixture.bundle("src/main.ts")
        #expect(try run(output, in: "/") == Outcome(stdout: "7\n", stderr: "", status: 0))
    }

    /// Source maps cost nothing where there is no TypeScript: node's support stays off.
    @Test func sourceMapsStayOffForJavaScriptApps() throws {
        let fixture = try Fixture(["app.js": "console.log(process.sourceMapsEnabled)\n", "lib.ts": "export const unused = 1;\n"])
        #expect(try run(try fixture.bundle("app.js"), in: "/").stdout == "false\n")
        let typed = try Fixture(["app.ts": "console.log(process.sourceMapsEnabled as boolean)\n"])
        #expect(try run(try typed.bundle("app.ts"), in: "/").stdout == "true\n")
    }
}

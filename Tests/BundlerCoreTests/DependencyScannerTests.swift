import Testing
@testable import BundlerCore

@Suite struct DependencyScannerTests {
    func specifiers(_ source: String) -> [String] {
        DependencyScanner.scan(Array(source.utf8)).map(\.specifier)
    }

    @Test func findsRequiresAndImports() {
        let source = """
            #!/usr/bin/env node
            const a = require('a');
            const b = require ( "b" );
            require.resolve('c');
            import d from 'd';
            import { e1, e2 } from "e";
            import * as f from 'f';
            import 'g';
            export { h } from 'h';
            export * from 'i';
            const j = await import('j');
            const k = require(`k`);
            """
        #expect(specifiers(source) == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"])
    }

    /// Files that may call import() get no V8 code cache (CodeCache explains why).
    @Test func tellsWhichFilesMayImportDynamically() {
        func imports(_ source: String) -> Bool { DependencyScanner.analyze(Array(source.utf8)).importsDynamically }
        #expect(imports("const m = await import(name);"))
        #expect(imports("load(() => import ('./x.mjs'));"))
        #expect(imports("const dynamicImport = new Function('s', 'return import(s)');"))
        #expect(imports("const f = globalThis.Function(\"s\", \"return import(s)\");"))
        #expect(imports("(0, eval)(`import(${JSON.stringify(x)})`);"))
        // Text about import() is not code when nothing in the file turns text into code.
        #expect(!imports("throw new Error('Use import(\"x\") instead'); // import(y)"))
        #expect(!imports("if (value instanceof Function) return isFunction(value);\nconst hint = `import(x)`;"))
        #expect(!imports("module.exports = { importer: require('./a') };"))
    }

    @Test func reportsLineNumbers() {
        let references = DependencyScanner.scan(Array("\n\nrequire('x')\n/* a\nb */ require('y')".utf8))
        #expect(references.map(\.line) == [3, 5])
    }

    @Test func ignoresCommentsStringsTemplatesAndRegexes() {
        let source = """
            // require('comment')
            /* require('block') */
            const s = "require('string')";
            const t = `require('template') ${ require('inside-template') }`;
            const r = /require\\('regex'\\)/g;
            const ratio = a / b / require('after-division');
            obj.require('method');
            const dynamic = require(name);
            const tpl = require(`./x/${name}`);
            export const value = 'not-a-module';
            export default function () { return 'nope' }
            const m = import.meta.url;
            """
        #expect(specifiers(source) == ["inside-template", "after-division"])
    }
}

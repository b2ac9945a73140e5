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

    /// node ignores arguments after the first: `require('./b.js', 'x')` loads ./b.js.
    @Test func followsALiteralFirstArgumentWithMoreArguments() {
        #expect(specifiers("require('./b.js', 'x'); require.resolve('c', { paths: [require('d')] }); import('e', { assert: {} })")
                == ["./b.js", "c", "d", "e"])
        #expect(specifiers("require('a' + b, 'x'); require(name, 'y')") == [])
    }

    func assetReads(_ source: String) -> [String] {
        DependencyScanner.analyze(Array(source.utf8)).assetReads.map {
            "\($0.path) \($0.isComplete ? "complete" : "partial")\($0.checksExistence ? " check" : "") @\($0.line)"
        }
    }

    @Test func findsFsReadsOfPathsBuiltFromTheFilesLocation() {
        let source = """
            fs.readFileSync(path.join(__dirname, 'data', 'a.txt'), 'utf8');
            fs.createReadStream(path.resolve(__dirname, '../shared/b.bin'));
            readdirSync(__dirname + '/views');
            fs.promises.readFile(`${__dirname}/c.json`);
            fs.existsSync(new URL('./d.txt', import.meta.url));
            fs.statSync(path.join(__dirname));
            fs.readFileSync(join(__dirname, '/e.txt',));
            fs.readFileSync(path.resolve(__dirname, '/etc/hosts'));
            """
        #expect(assetReads(source) == [
            "data/a.txt complete @1", "../shared/b.bin complete @2", "./views complete @3", "./c.json complete @4",
            "./d.txt complete check @5", ". complete check @6", "./e.txt complete @7", "/etc/hosts complete @8",
        ])
    }

    @Test func pathsWithAComputedPartGiveTheDirectoryTheyLieIn() {
        let source = """
            fs.readFileSync(path.join(__dirname, 'views', name));
            fs.readFileSync(__dirname + '/lib/page-' + name + '.html');
            fs.readFileSync(`${__dirname}/templates/${name}`);
            fs.readFileSync(path.join(__dirname, 'icons/' + name));
            fs.readFileSync(path.join(__dirname, 'x.txt').replace('x', y));
            """
        #expect(assetReads(source) == [
            "views partial @1", "./lib/ partial @2", "./templates/ partial @3", "icons/ partial @4", " partial @5",
        ])
    }

    @Test func ignoresReadsThatAreNotBuiltFromTheFilesLocation() {
        let source = """
            fs.readFileSync(process.argv[2]);
            fs.readFileSync('relative-to-cwd.txt');
            fs.readFileSync(path.join(process.cwd(), 'x'));
            fs.writeFileSync(path.join(__dirname, 'out.txt'), data);
            // fs.readFileSync(path.join(__dirname, 'comment.txt'))
            const s = "fs.readFileSync(path.join(__dirname, 'string.txt'))";
            fs.readFileSync(__dirname + 'no-separator');
            """
        #expect(assetReads(source) == [])
    }
}

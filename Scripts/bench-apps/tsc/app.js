// A full compile: writes a 3-file project to a temporary directory, then
// ts.createProgram with the default compiler host (which reads the lib .d.ts files
// next to typescript.js: lib.es2017 and the files it references; the DOM lib is left
// out, which only halves the run time), type-checks and emits JavaScript and
// declarations.
// Prints the emitted files and the diagnostics, with paths relative to the project.
const fs = require('fs');
const os = require('os');
const path = require('path');
const ts = require('typescript');

const files = {
  'src/shapes.ts': `
export interface Shape { readonly kind: string; area(): number }
export class Circle implements Shape {
  readonly kind = 'circle';
  constructor(readonly radius: number) {}
  area(): number { return Math.PI * this.radius ** 2; }
}
export class Rect implements Shape {
  readonly kind = 'rect';
  constructor(readonly width: number, readonly height: number) {}
  area(): number { return this.width * this.height; }
}
`,
  'src/util.ts': `
export function groupBy<T, K extends PropertyKey>(items: readonly T[], key: (item: T) => K): Record<K, T[]> {
  const groups = {} as Record<K, T[]>;
  for (const item of items) (groups[key(item)] ??= []).push(item);
  return groups;
}
export const sum = (values: Iterable<number>): number => [...values].reduce((a, b) => a + b, 0);
`,
  'src/main.ts': `
import { Circle, Rect, Shape } from './shapes';
import { groupBy, sum } from './util';
declare const console: { log(...data: unknown[]): void };
const shapes: Shape[] = [new Circle(1), new Rect(2, 3), new Circle(2)];
const byKind = groupBy(shapes, (s) => s.kind);
export const report = Object.entries(byKind).map(([kind, list]) => \`\${kind}: \${sum(list.map((s) => s.area())).toFixed(2)}\`);
console.log(report.join('\\n'));
`,
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tsc-'));
try {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  const options = {
    target: ts.ScriptTarget.ES2017,
    module: ts.ModuleKind.CommonJS,
    strict: true,
    declaration: true,
    rootDir: path.join(dir, 'src'),
    outDir: path.join(dir, 'out'),
    types: [],
    lib: ['lib.es2017.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const program = ts.createProgram(Object.keys(files).map((name) => path.join(dir, name)), options, host);
  const emitted = [];
  const result = program.emit(undefined, (fileName, text) => emitted.push([path.relative(dir, fileName), text]));
  const diagnostics = ts.getPreEmitDiagnostics(program).concat(result.diagnostics);
  const libs = program.getSourceFiles().filter((f) => program.isSourceFileDefaultLibrary(f)).length;
  for (const [name, text] of emitted.sort(([a], [b]) => (a < b ? -1 : 1))) {
    console.log(`// ${name}\n${text}`);
  }
  console.log(`// typescript ${ts.version}: ${emitted.length} files emitted, ${libs} lib files read, ${diagnostics.length} diagnostics`);
  for (const d of diagnostics) {
    console.log(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  }
  if (diagnostics.length > 0) process.exitCode = 1;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

// Loads the TypeScript compiler (10 MB of JavaScript) and transpiles one small module.
const ts = require('typescript');

const source = `
enum Color { Red, Green, Blue }
interface Point { x: number; y: number }
export class Shape<T extends Point> {
  constructor(private readonly points: T[], public color: Color = Color.Red) {}
  get size(): number { return this.points.length; }
  async *walk(): AsyncGenerator<T> { for (const p of this.points) yield p; }
}
export const area = (w: number, h?: number): number => w * (h ?? w);
`;

const result = ts.transpileModule(source, {
  compilerOptions: { target: ts.ScriptTarget.ES2017, module: ts.ModuleKind.CommonJS },
  fileName: 'shape.ts',
  reportDiagnostics: true,
});
process.stdout.write(result.outputText);
console.log(`// typescript ${ts.version}, ${result.diagnostics.length} diagnostics`);

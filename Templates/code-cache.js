'use strict';
// Compiles an app's CommonJS files at bundle time, to report syntax errors and to make
// V8 code caches. `bundle` runs it with the node of the libnode it packs (so V8's
// version and flags are the ones the app will run with) as
// `node code-cache.js <expected node version>`.
//   stdin   for each file: a 4-byte little-endian length and the path it will have at
//           run time (under Format.virtualRoot), one byte (1: make a code cache), a 4-byte length
//           and the file's bytes
//   stdout  for each file, in order: one byte (0: nothing, 1: a code cache, 2: a syntax
//           error), a 4-byte length, then the cache, or "<line>\n<message>"
// Exit status 3: this node is not the expected version (then nothing is written).
//
// Each file is compiled exactly as node's CommonJS loader compiles it at run time
// (vm.compileFunction over the UTF-8 text with the loader's five parameters, under the
// same file name: V8 10.2 keeps the name a cache was made with, for stack traces), and
// the cache is taken before anything runs: it holds what V8 compiles eagerly (top-level
// code and the functions it calls at once), not what only running would compile.
const fs = require('fs');
const vm = require('vm');

if (process.version !== process.argv[2]) process.exit(3);

const NOTHING = 0;
const CACHE = 1;
const SYNTAX_ERROR = 2;
const input = fs.readFileSync(0);
const parameters = ['exports', 'require', 'module', '__filename', '__dirname'];
const output = [];
const put = (kind, payload) => {
  const header = Buffer.alloc(5);
  header.writeUInt8(kind, 0);
  header.writeUInt32LE(payload.length, 1);
  output.push(header, payload);
};
const field = (offset) => [input.readUInt32LE(offset), offset + 4];
for (let offset = 0; offset < input.length;) {
  const [nameLength, nameStart] = field(offset);
  const filename = input.toString('utf8', nameStart, nameStart + nameLength);
  const wantsCache = input[nameStart + nameLength] === 1;
  const [length, start] = field(nameStart + nameLength + 1);
  const source = input.toString('utf8', start, start + length);
  offset = start + length;
  try {
    const compiled = vm.compileFunction(source, parameters, { filename, produceCachedData: wantsCache });
    if (wantsCache && compiled.cachedDataProduced) put(CACHE, compiled.cachedData);
    else put(NOTHING, Buffer.alloc(0));
  } catch (error) {
    if (!(error instanceof SyntaxError)) {
      put(NOTHING, Buffer.alloc(0));
      continue;
    }
    // node's decorated stack starts with "<filename>:<line>".
    const line = /:(\d+)$/.exec(String(error.stack).split('\n')[0])?.[1] ?? '1';
    put(SYNTAX_ERROR, Buffer.from(`${line}\n${error.message}`));
  }
}
fs.writeFileSync(1, Buffer.concat(output));

'use strict';
// Makes V8 code caches for an app's CommonJS files, at bundle time. `bundle` runs it
// with the node of the libnode it packs (so V8's version and flags are the ones the
// app will run with) as `node code-cache.js <expected node version>`.
//   stdin   the files: for each, a 4-byte little-endian length and the path it will
//           have at run time (/$bundle/...), then a 4-byte length and its bytes
//   stdout  for each file, in order: a 4-byte length, then the code cache (length 0:
//           none; the file is not a CommonJS function body, e.g. an ES module)
// Exit status 3: this node is not the expected version (then nothing is written).
//
// Each file is compiled exactly as node's CommonJS loader compiles it at run time
// (vm.compileFunction over the UTF-8 text with the loader's five parameters, under the
// same file name: V8 10.2 keeps the name a cache was made with, for stack traces), and the
// cache is taken before anything runs: it holds what V8 compiles eagerly (top-level
// code and the functions it calls at once), not what only running would compile.
const fs = require('fs');
const vm = require('vm');

if (process.version !== process.argv[2]) process.exit(3);

const input = fs.readFileSync(0);
const parameters = ['exports', 'require', 'module', '__filename', '__dirname'];
const header = Buffer.alloc(4);
const output = [];
const field = (offset) => [input.readUInt32LE(offset), offset + 4];
for (let offset = 0; offset < input.length;) {
  const [nameLength, nameStart] = field(offset);
  const filename = input.toString('utf8', nameStart, nameStart + nameLength);
  const [length, start] = field(nameStart + nameLength);
  const source = input.toString('utf8', start, start + length);
  offset = start + length;
  let cache = Buffer.alloc(0);
  try {
    const compiled = vm.compileFunction(source, parameters, { filename, produceCachedData: true });
    if (compiled.cachedDataProduced) cache = compiled.cachedData;
  } catch {
    // not a CommonJS body (an ES module, a syntax error): node reports it at run time
  }
  const size = Buffer.from(header);
  size.writeUInt32LE(cache.length);
  output.push(size, cache);
}
fs.writeFileSync(1, Buffer.concat(output));

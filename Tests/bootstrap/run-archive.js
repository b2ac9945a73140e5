'use strict';
// Runs an app as if bundled, under plain node:
//   node run-archive.js <dir> <entry-rel> [args...]    packs every file under <dir>
//   node run-archive.js --archive <file> [args...]     runs an archive written earlier
// then calls Templates/bootstrap.js the way the launcher does, with the real process,
// this file's `require` as internalRequire, and the archive as an ArrayBuffer.
// The tests use --archive so that the source directory is gone when the app runs.

const fs = require('node:fs');
const path = require('node:path');
const { buildArchive, readTree, compileBootstrap, toArrayBuffer } = require('./archive.js');

function main(argv) {
  let archive;
  let userArgs;
  if (argv[0] === '--archive') {
    archive = toArrayBuffer(fs.readFileSync(argv[1]));
    userArgs = argv.slice(2);
  } else {
    if (argv.length < 2) {
      process.stderr.write('usage: run-archive.js <dir> <entry-rel> [args...] | --archive <file> [args...]\n');
      process.exit(2);
    }
    archive = buildArchive(readTree(path.resolve(argv[0])), argv[1]);
    userArgs = argv.slice(2);
  }
  // The launcher hands the bootstrap [execPath, ...userArgs].
  process.argv.splice(1, process.argv.length - 1, ...userArgs);
  compileBootstrap()(process, require, archive);
}

main(process.argv.slice(2));

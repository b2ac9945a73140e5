'use strict';
// Builds app archives in memory the way the `bundle` CLI writes them
// (Sources/PayloadFormat/Format.swift, "Archive"), for the bootstrap tests.

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const BOOTSTRAP_DIR = path.join(__dirname, '..', '..', 'Templates', 'bootstrap');
const FORMAT_HEADER = path.join(__dirname, '..', '..', 'Sources', 'CPayloadFormat', 'include', 'payload_format.h');
const FORMAT_PART = '<format>'; // the manifest's line for BootstrapFormat.swift's part

/**
 * The payload format's constants as the toolkit writes them into the bootstrap
 * (Sources/BundlerCore/BootstrapFormat.swift, from PayloadFormat), read here from the
 * header PayloadFormat reads: BUNDLE_ARCHIVE_MAGIC becomes archiveMagic (with the
 * magic's NUL), BUNDLE_KIND_CODE_CACHE kinds.codeCache. BootstrapScriptTests checks that
 * the toolkit writes the same values.
 */
function headerFormat() {
  const format = { kinds: {} };
  const camel = (name) => name.toLowerCase().replace(/_([a-z])/g, (_, letter) => letter.toUpperCase());
  for (const line of fs.readFileSync(FORMAT_HEADER, 'utf8').split('\n')) {
    const text = /^#define BUNDLE_(\w+) "(.*)"$/.exec(line);
    const number = /^\s*BUNDLE_(\w+) = (\d+),$/.exec(line);
    if (text !== null) format[camel(text[1])] = text[1].endsWith('_MAGIC') ? `${text[2]}\0` : text[2];
    else if (number !== null && number[1].startsWith('KIND_')) format.kinds[camel(number[1].slice(5))] = Number(number[2]);
    else if (number !== null) format[camel(number[1])] = Number(number[2]);
  }
  return format;
}
const FORMAT = headerFormat();
const KIND = FORMAT.kinds;

/** The parts Templates/bootstrap/manifest lists, in its order (comment and empty lines skipped). */
function bootstrapParts() {
  return fs.readFileSync(path.join(BOOTSTRAP_DIR, 'manifest'), 'utf8').split('\n')
    .map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
}

/** The one script the launcher gets: the parts joined as Toolkit.swift joins them. */
function bootstrapSource(parts = bootstrapParts()) {
  return parts.map((part) => (part === FORMAT_PART
    ? `const FORMAT = ${JSON.stringify(FORMAT)};\n`
    : fs.readFileSync(path.join(BOOTSTRAP_DIR, part), 'utf8'))).join('\n');
}

/**
 * files: { 'rel/path.js': string | Buffer }; entry: relative path of the entry.
 * options.extraEntries: [{ kind, path, data }] added as they are (to test that the
 * bootstrap ignores other kinds); options.metadata replaces the metadata object;
 * options.withBootstrap adds the bootstrap (bootstrapSource) as the bundler does (worker threads
 * and the module.register fallback compile it from there).
 * Returns an ArrayBuffer holding exactly the archive.
 */
function buildArchive(files, entry, options = {}) {
  const entries = Object.entries(files).map(([relative, data]) => ({ kind: KIND.file, path: relative, data }));
  entries.push(...(options.extraEntries ?? []));
  if (options.withBootstrap) {
    entries.push({ kind: KIND.bootstrap, path: '.bundle-bootstrap.js', data: Buffer.from(bootstrapSource()) });
  }
  const records = entries
    .map(({ kind, path: relative, data }) => ({
      kind,
      path: Buffer.from(relative, 'utf8'),
      data: Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8'),
      mode: data?.mode ?? 0, // readTree's, as the bundler records them
    }))
    .sort((a, b) => Buffer.compare(a.path, b.path));
  const metadata = Buffer.from(JSON.stringify(options.metadata ?? { entry }), 'utf8');

  const recordsSize = records.reduce((sum, record) => sum + FORMAT.entryRecordSize + record.path.length, 0);
  let dataOffset = FORMAT.archiveHeaderSize + metadata.length + recordsSize;
  const dataSize = records.reduce((sum, record) => sum + record.data.length, 0);
  const out = Buffer.alloc(dataOffset + dataSize);

  out.write(FORMAT.archiveMagic, 0, 'latin1');
  out.writeUInt32LE(FORMAT.archiveVersion, 8);
  out.writeUInt32LE(records.length, 12);
  out.writeUInt32LE(metadata.length, 16);
  metadata.copy(out, FORMAT.archiveHeaderSize);
  let offset = FORMAT.archiveHeaderSize + metadata.length;
  for (const record of records) {
    out.writeUInt8(record.kind, offset);
    out.writeUInt16LE(record.mode, offset + 1);
    out.writeUInt32LE(record.path.length, offset + 4);
    out.writeBigUInt64LE(BigInt(dataOffset), offset + 8);
    out.writeBigUInt64LE(BigInt(record.data.length), offset + 16);
    record.path.copy(out, offset + FORMAT.entryRecordSize);
    record.data.copy(out, dataOffset);
    offset += FORMAT.entryRecordSize + record.path.length;
    dataOffset += record.data.length;
  }
  return toArrayBuffer(out);
}

/** Every file under dir, as { 'rel/path': Buffer }, each with the `mode` the bundler
 * records (0644, or 0755 with an executable bit). */
function readTree(dir) {
  const files = {};
  const walk = (relative) => {
    for (const dirent of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${dirent.name}` : dirent.name;
      if (dirent.isDirectory()) walk(child);
      else if (dirent.isFile()) {
        files[child] = fs.readFileSync(path.join(dir, child));
        files[child].mode = fs.statSync(path.join(dir, child)).mode & 0o111 ? 0o755 : 0o644;
      }
    }
  };
  walk('');
  return files;
}

/** Compiles the bootstrap exactly as the launcher does. */
function compileBootstrap() {
  return vm.compileFunction(bootstrapSource(), ['process', 'internalRequire', 'archive'], {
    filename: 'bundle:bootstrap.js',
  });
}

/**
 * Some parts of the bootstrap on their own, to test one concern: prelude.js, FORMAT, the
 * named parts and `code` (which may use what they declare), compiled as the launcher compiles
 * the whole; calling the result with (process, internalRequire, archive, launch) returns
 * what `code` returns.
 */
function compileParts(parts, code) {
  return vm.compileFunction(`${bootstrapSource(['prelude.js', FORMAT_PART, ...parts])}\n${code}`,
    ['process', 'internalRequire', 'archive'], { filename: `bundle:parts(${parts.join(',')})` });
}

function toArrayBuffer(buffer) {
  const copy = new ArrayBuffer(buffer.length);
  new Uint8Array(copy).set(buffer);
  return copy;
}

/** What the launcher passes: the archive in memory shared with worker threads. */
function toSharedArrayBuffer(buffer) {
  const copy = new SharedArrayBuffer(buffer.length);
  new Uint8Array(copy).set(buffer);
  return copy;
}

module.exports = { buildArchive, readTree, compileBootstrap, toArrayBuffer, toSharedArrayBuffer, FORMAT, KIND, BOOTSTRAP_DIR, bootstrapParts, bootstrapSource, compileParts };

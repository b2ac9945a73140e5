// The app archive: parsing its index (layout in Sources/PayloadFormat/Format.swift,
// "Archive") and sharing it with other threads.

// MARK: - Archive

function parseArchive(buffer) {
  // FORMAT: the payload format's constants, written in by the toolkit (manifest: <format>).
  // Of the entry kinds this reads file and addon (a file the launcher also makes loadable,
  // loadNativeAddon), bootstrap (this script, which worker threads compile again) and
  // codeCache (V8 code cache of the file at the rest of the path, code-cache.js).
  const { kinds, archiveHeaderSize: headerSize, entryRecordSize: recordSize } = FORMAT;
  const isArrayBuffer = buffer instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer === 'function' && buffer instanceof SharedArrayBuffer);
  if (!isArrayBuffer) throw corruptArchive('expected an ArrayBuffer');
  const size = buffer.byteLength;
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  // `what` and `index` name the part; the message is only built when it is needed.
  const need = (offset, length, what, index = '') => {
    if (offset + length > size) {
      throw corruptArchive(`truncated (${what}${index} needs bytes ${offset}..<${offset + length}, ` +
        `the archive has ${size})`);
    }
  };
  const readUint64 = (offset) =>
    view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 2 ** 32;

  need(0, headerSize, 'header');
  if (Buffer.from(buffer, 0, FORMAT.archiveMagic.length).toString('latin1') !== FORMAT.archiveMagic) {
    throw corruptArchive('bad magic, not a bundle archive');
  }
  const version = view.getUint32(8, true);
  if (version !== FORMAT.archiveVersion) {
    throw corruptArchive(`unsupported archive version ${version} (this bootstrap reads ${FORMAT.archiveVersion})`);
  }
  const count = view.getUint32(12, true);
  const metadataLength = view.getUint32(16, true);
  need(headerSize, metadataLength, 'metadata');
  const metadata = parseMetadata(bytes.subarray(headerSize, headerSize + metadataLength));

  let offset = headerSize + metadataLength;
  // Records are at least recordSize bytes each: a garbage count fails here, not after a long loop.
  need(offset, count * recordSize, `${count} entry records`);
  // Runs once per file of the app (thousands): no allocation per record but the path
  // string and its index entry. Paths are unique (checked by the index); their order,
  // which the format also promises, is not something this reader relies on.
  const text = Buffer.from(buffer, 0, size);
  const files = [];
  let bootstrap = null; // { offset, length } of this script in the archive
  const codeCaches = new Map(); // virtual path -> { offset, length }
  for (let i = 0; i < count; i++) {
    need(offset, recordSize, 'entry record ', i);
    const kind = view.getUint8(offset);
    const mode = view.getUint16(offset + 1, true) & 0o7777; // 0: not recorded
    const pathStart = offset + recordSize;
    const pathLength = view.getUint32(offset + 4, true);
    const dataOffset = readUint64(offset + 8);
    const dataLength = readUint64(offset + 16);
    need(pathStart, pathLength, 'path of entry ', i);
    need(dataOffset, dataLength, 'data of entry ', i);
    offset = pathStart + pathLength;
    if (kind === kinds.bootstrap) bootstrap = { offset: dataOffset, length: dataLength };
    if (kind === kinds.codeCache) {
      const cachePath = text.toString('utf8', pathStart, offset);
      if (cachePath.startsWith(FORMAT.codeCachePrefix)) {
        codeCaches.set(`${VIRTUAL_ROOT}/${cachePath.slice(FORMAT.codeCachePrefix.length)}`, { offset: dataOffset, length: dataLength });
      }
      continue;
    }
    if (kind !== kinds.file && kind !== kinds.addon) continue;
    const relative = text.toString('utf8', pathStart, offset);
    // toString replaces bad UTF-8 with U+FFFD; only then is the strict decoder needed.
    if (relative.includes('\uFFFD')) decodeUtf8(bytes.subarray(pathStart, offset), `path of entry ${i}`);
    checkRelativePath(relative, 'path of entry ', i);
    files.push({ kind: FILE, relative, offset: dataOffset, size: dataLength, ino: files.length + 1, mode: mode || 0o444 });
  }
  if (!files.some((file) => file.relative === metadata.entry)) {
    throw corruptArchive(`the entry '${metadata.entry}' is not a file of the archive`);
  }
  const sourceMaps = ['app', 'all'].includes(metadata.sourceMaps) ? metadata.sourceMaps : null;
  return {
    entry: metadata.entry, files, bootstrap, codeCaches, links: new Map(Object.entries(metadata.links ?? {})), sourceMaps,
    aliases: parseAliases(metadata.aliases ?? {}),
    processWideNodeOptions: new Set(metadata.processWideNodeOptions ?? []),
  };
}

// Imports of TypeScript files that tsconfig `paths` resolved at bundle time: virtual path
// of the importing file -> Map of specifier -> virtual path of the file (AppMetadata.aliases).
function parseAliases(aliases) {
  if (aliases === null || typeof aliases !== 'object') throw corruptArchive('metadata "aliases" is not an object');
  const parsed = new Map();
  for (const [importer, names] of Object.entries(aliases)) {
    checkRelativePath(importer, 'an importer in metadata "aliases"');
    if (names === null || typeof names !== 'object') throw corruptArchive(`metadata "aliases" of ${importer} is not an object`);
    const targets = new Map();
    for (const [specifier, target] of Object.entries(names)) {
      if (typeof target !== 'string') throw corruptArchive(`metadata "aliases" names no file for ${specifier}`);
      checkRelativePath(target, 'a file in metadata "aliases"');
      targets.set(specifier, `${VIRTUAL_ROOT}/${target}`);
    }
    parsed.set(`${VIRTUAL_ROOT}/${importer}`, targets);
  }
  return parsed;
}

function parseMetadata(bytes) {
  let metadata;
  try {
    metadata = JSON.parse(decodeUtf8(bytes, 'metadata'));
  } catch (err) {
    if (err.message.startsWith('bundle:')) throw err;
    throw corruptArchive(`metadata is not JSON (${err.message})`);
  }
  if (metadata === null || typeof metadata !== 'object' || typeof metadata.entry !== 'string') {
    throw corruptArchive('metadata names no "entry"');
  }
  checkRelativePath(metadata.entry, 'metadata "entry"');
  const links = metadata.links ?? {};
  if (links === null || typeof links !== 'object') throw corruptArchive('metadata "links" is not an object');
  for (const [from, to] of Object.entries(links)) {
    if (typeof to !== 'string') throw corruptArchive(`metadata "links" names no target for ${from}`);
    checkRelativePath(from, 'a link in metadata "links"');
    checkRelativePath(to, 'a link target in metadata "links"');
  }
  const processWide = metadata.processWideNodeOptions ?? [];
  if (!Array.isArray(processWide) || processWide.some((option) => typeof option !== 'string')) {
    throw corruptArchive('metadata "processWideNodeOptions" is not a list of strings');
  }
  return metadata;
}

function checkRelativePath(relative, what, index = '') {
  // An empty, "." or ".." part anywhere, or a NUL.
  if (/(?:^|\/)\.{0,2}(?:\/|$)|\0/.test(relative)) {
    throw corruptArchive(`${what}${index} is not a relative path: ${JSON.stringify(relative)}`);
  }
}

function decodeUtf8(bytes, what) {
  try {
    return utf8.decode(bytes);
  } catch {
    throw corruptArchive(`${what} is not UTF-8`);
  }
}

function corruptArchive(what) {
  return new Error(`bundle: corrupt archive: ${what}`);
}

// The archive as a SharedArrayBuffer, to give to other threads without a copy. The
// launcher already passes one; an ArrayBuffer (older launchers) is copied once.
function sharedArchive() {
  if (sharedArchiveBuffer === null) {
    ensureArchive(0, archive.byteLength); // threads read it without asking
    if (archive instanceof SharedArrayBuffer) {
      sharedArchiveBuffer = archive;
    } else {
      sharedArchiveBuffer = new SharedArrayBuffer(archive.byteLength);
      new Uint8Array(sharedArchiveBuffer).set(new Uint8Array(archive));
    }
  }
  return sharedArchiveBuffer;
}

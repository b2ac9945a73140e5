// The public `fs` module answering virtual paths from the virtual file system.

// MARK: - fs patches

// Every patched function keeps the original's behaviour for real paths and answers
// virtual ones from `vfs`. One implementation per operation; `install` wraps it in the
// flavours node offers: fs.xSync, fs.x(…, callback), fs.promises.x.
function patchFs(vfs) {
  const VIRTUAL_FD_BASE = 0x60000000; // far above real fds (Linux caps them at fs.nr_open, 2^20 by default)
  const openFiles = new Map();
  let nextFd = VIRTUAL_FD_BASE;
  const writeRealFile = fs.writeFileSync; // copyFile out of the archive, before the patch

  // Which arguments make a call ours; null sends it to the original function.
  const firstPath = (args) => virtualTarget(args[0]);
  // A virtual fd, or a FileHandle of fs.promises.open on a bundled file (bundledFileHandle).
  const BUNDLED_FD = Symbol('bundle:fd');
  const virtualFd = (args) => openFiles.get(args[0]?.[BUNDLED_FD] ?? args[0]) ?? null;
  const pathOrFd = (args) => firstPath(args) ?? virtualFd(args);
  const bothPaths = (args) => ({
    source: virtualTarget(args[0]),
    dest: virtualTarget(args[1]),
    shown: [pathString(args[0]), pathString(args[1])],
  });
  const eitherPath = (args) => {
    const paths = bothPaths(args);
    return paths.source || paths.dest ? paths : null;
  };
  const secondPath = (args) => (virtualTarget(args[1]) ? bothPaths(args) : null); // symlink(target, path)
  // A change to a bundled path fails as on a read-only mount (vfs.changeError).
  const refused = (syscall, needs) => (target) => {
    throw vfs.changeError(target.path, target.shown, syscall, needs);
  };
  // Two paths: within the bundle as above; between the bundle and the disk, EXDEV, as
  // between two mounts (rename, link).
  const refusedTwoPaths = (syscall, needs) => ({ source, dest, shown }) => {
    if (source === null || dest === null) throw systemError('EXDEV', syscall, shown[0], shown[1]);
    if (needs === 'new') {
      vfs.lookup(source.path, source.shown, syscall); // link: the source must exist
    }
    throw systemError(vfs.changeError(dest.path, dest.shown, syscall, needs).code, syscall, shown[0], shown[1]);
  };

  const operations = {
    readFile(target, [, options]) {
      const { encoding, flag = 'r' } = typeof options === 'string' ? { encoding: options } : options ?? {};
      if (isWriteFlag(flag) && target.fd === undefined) throw vfs.changeError(target.path, target.shown, 'open', 'create');
      if (isWriteFlag(flag)) throw systemError('EBADF', 'read');
      // On an fd, readFile reads from where the fd is, like read(2).
      const file = target.fd === undefined ? vfs.fileAt(target.path, target.shown) : target.node;
      if (file.kind !== FILE) throw systemError('EISDIR', 'read');
      const start = target.fd === undefined ? 0 : Math.min(target.position, file.size);
      if (target.fd !== undefined) target.position = Math.max(target.position, file.size);
      if (!encoding || encoding === 'buffer') return vfs.copyOut(file, start);
      // Decoding copies: the archive's bytes can go once the text is made.
      const text = vfs.slice(file, start, file.size).toString(encoding);
      vfs.giveBack(file, start);
      if (target.fd === undefined && app.codeCaches.has(target.path)) sourcesRead.set(target.path, text);
      return text;
    },
    stat: statAs('stat'),
    lstat(target, args, flavour) {
      const link = vfs.linkAt(target.path);
      if (link === undefined) return statAs('lstat')(target, args, flavour);
      return vfs.statsOf({ kind: LINK, size: Buffer.byteLength(link), ino: 0 }, args[1]?.bigint === true);
    },
    readdir(target, [, options]) {
      const { encoding, withFileTypes, recursive } = typeof options === 'string' ? { encoding: options } : options ?? {};
      const entries = recursive ? vfs.readdirRecursive(target.path, target.shown)
        : vfs.readdir(target.path, target.shown).map((entry) => ({ ...entry, parent: target.shown }));
      return entries.map(({ name, isDirectory, isSymbolicLink, parent }) => {
        const shownName = encoding === 'buffer' ? Buffer.from(name) : name;
        if (!withFileTypes) return shownName;
        const type = isSymbolicLink ? fs.constants.UV_DIRENT_LINK
          : isDirectory ? fs.constants.UV_DIRENT_DIR : fs.constants.UV_DIRENT_FILE;
        const direntName = recursive ? path.basename(name) : name;
        return new fs.Dirent(encoding === 'buffer' ? Buffer.from(direntName) : direntName, type, parent, parent);
      });
    },
    // No symlinks in the archive: the real path is the normalized path.
    realpath: (target, [, options]) => realpath(target, options, 'lstat'),
    realpathNative: (target, [, options]) => realpath(target, options, 'realpath'),
    readlink(target) {
      const link = vfs.linkAt(target.path);
      if (link !== undefined) return link;
      vfs.lookup(target.path, target.shown, 'readlink');
      throw systemError('EINVAL', 'readlink', target.shown); // not a symlink
    },
    access(target, [, mode = fs.constants.F_OK]) {
      const node = vfs.lookup(target.path, target.shown, 'access');
      if (mode & fs.constants.W_OK) throw systemError('EROFS', 'access', target.shown);
      const executable = node.kind === DIRECTORY || (node.mode & 0o111) !== 0;
      if (mode & fs.constants.X_OK && !executable) throw systemError('EACCES', 'access', target.shown);
    },
    exists(target) {
      try {
        vfs.lookup(target.path, target.shown, 'access');
        return true;
      } catch {
        return false;
      }
    },
    open(target, [, flags = 'r']) {
      if (isWriteFlag(flags)) throw vfs.changeError(target.path, target.shown, 'open', 'create');
      const node = vfs.lookup(target.path, target.shown, 'open');
      const fd = nextFd++;
      openFiles.set(fd, { fd, node, position: 0 });
      return fd;
    },
    openHandle: (target, args) => bundledFileHandle(operations.open(target, args)),
    openAsBlob: (target) => new Blob([vfs.copyOut(vfs.fileAt(target.path, target.shown))]),
    read: (file, args) => readFromFile(file, readRequest(args.slice(1))),
    readv: (file, [, buffers, position]) => readIntoBuffers(file, buffers, position),
    fstat: (file, [, options]) => vfs.statsOf(file.node, options?.bigint === true),
    close(file) {
      openFiles.delete(file.fd);
    },
    // Writes through a descriptor opened read-only, as the kernel answers them.
    writeToFd: () => { throw systemError('EBADF', 'write'); },
    syncFd: () => undefined, // nothing is pending on a read-only file
    truncateFd: () => { throw systemError('EINVAL', 'ftruncate'); },
    changeFd: (syscall) => () => { throw systemError('EROFS', syscall); },
    mkdir(target, [, options]) {
      const recursive = typeof options === 'object' && options?.recursive;
      if (recursive && vfs.isDirectory(target.path)) return undefined; // `mkdir -p` of what exists
      if (recursive) {
        // node's recursive mkdir reports a folder it cannot make as missing (measured).
        const error = vfs.changeError(target.path, target.shown, 'mkdir', 'new');
        throw error.code === 'EROFS' || error.code === 'EEXIST' ? systemError('ENOENT', 'mkdir', target.shown) : error;
      }
      throw vfs.changeError(target.path, target.shown, 'mkdir', 'new');
    },
    copyFile({ source, dest, shown }, [, , mode = 0]) {
      if (dest !== null) throw systemError('EROFS', 'copyfile', shown[0], shown[1]);
      const flag = mode & fs.constants.COPYFILE_EXCL ? 'wx' : 'w';
      writeRealFile(shown[1], vfs.copyOut(vfs.fileAt(source.path, source.shown)), { flag });
    },
    cp: (paths, [, , options]) => copyTree(paths, options ?? {}),
    rm(target, [, options]) {
      const node = vfs.find(target.path);
      if (node === undefined) {
        if (options?.force) return undefined;
        throw systemError('ENOENT', 'lstat', target.shown);
      }
      if (node.kind === DIRECTORY && !options?.recursive) {
        throw nodeError(Error, 'ERR_FS_EISDIR', `Path is a directory: rm returned EISDIR (is a directory) ${target.shown}`);
      }
      throw systemError('EROFS', node.kind === DIRECTORY ? 'rmdir' : 'unlink', target.shown);
    },
    opendir(target) {
      if (vfs.lookup(target.path, target.shown, 'opendir').kind !== DIRECTORY) {
        throw systemError('ENOTDIR', 'opendir', runtime.opendirErrorHasPath ? target.shown : undefined);
      }
      return bundledDir(target.shown, operations.readdir(target, [undefined, { withFileTypes: true }]));
    },
    // Bundled files never change: a watcher that is never told of a change.
    watch: () => quietWatcher(),
    watchFile: () => quietWatcher(),
    unwatchFile: () => undefined,
    statfs(target) {
      vfs.lookup(target.path, target.shown, 'statfs');
      throw nodeError(Error, 'ERR_BUNDLE_UNSUPPORTED', `fs.statfs is not available for the bundled ${target.shown}`);
    },
  };

  // An FSWatcher or StatWatcher that never emits.
  function quietWatcher() {
    return Object.assign(new (internalRequire('events'))(), { close() {}, ref() { return this; }, unref() { return this; } });
  }

  // Only statSync and lstatSync know throwIfNoEntry.
  function statAs(syscall) {
    return (target, [, options], flavour) => {
      if (flavour === 'sync' && options?.throwIfNoEntry === false && !vfs.find(target.path)) return undefined;
      return vfs.stat(target.path, target.shown, syscall, options?.bigint === true);
    };
  }

  function realpath(target, options, syscall) {
    vfs.lookup(target.path, target.shown, syscall);
    const real = vfs.realpath(target.path);
    const encoding = typeof options === 'string' ? options : options?.encoding;
    return encoding === 'buffer' ? Buffer.from(real) : real;
  }

  function readFromFile(file, { buffer, offset, length, position }) {
    if (file.node.kind !== FILE) throw systemError('EISDIR', 'read');
    const sequential = position === null || position === undefined || position === -1;
    const start = sequential ? file.position : Number(position);
    const count = Math.max(0, Math.min(length, file.node.size - start));
    if (count === 0) return 0;
    new Uint8Array(buffer.buffer, buffer.byteOffset + offset, count).set(vfs.slice(file.node, start, start + count));
    vfs.giveBack(file.node, start, start + count);
    if (sequential) file.position += count;
    return count;
  }

  // readv(fd, buffers[, position]): fills the buffers in turn, like readv(2).
  function readIntoBuffers(file, buffers, position) {
    let total = 0;
    let at = typeof position === 'number' ? position : null;
    for (const buffer of buffers) {
      const count = readFromFile(file, { buffer, offset: 0, length: buffer.byteLength, position: at });
      total += count;
      if (at !== null) at += count;
      if (count < buffer.byteLength) break;
    }
    return total;
  }

  // fs.cp out of the bundle: files copied, folders made, as node's cp does.
  function copyTree({ source, dest, shown }, options) {
    if (dest !== null) throw systemError('EROFS', 'copyfile', shown[0], shown[1]);
    const walk = (from, to, shownFrom) => {
      const node = vfs.lookup(from, shownFrom, 'lstat');
      if (typeof options.filter === 'function' && !options.filter(from, to)) return;
      if (node.kind === FILE) {
        const exists = fs.existsSync(to);
        if (exists && options.errorOnExist && options.force === false) {
          throw nodeError(Error, 'ERR_FS_CP_EEXIST', `Target already exists: cp returned EEXIST (${to} already exists)`);
        }
        if (!exists || options.force !== false) writeRealFile(to, vfs.copyOut(node), { mode: node.mode });
        return;
      }
      if (!options.recursive) {
        throw nodeError(Error, 'ERR_FS_EISDIR', `Recursive option is required to copy a directory: cp returned EISDIR (${from} is a directory (not copied)) ${from}`);
      }
      fs.mkdirSync(to, { recursive: true });
      for (const entry of vfs.readdir(from, shownFrom)) walk(`${from}/${entry.name}`, path.join(to, entry.name), `${from}/${entry.name}`);
    };
    walk(source.path, path.resolve(shown[1]), source.shown);
  }

  // What fs.opendir gives: entries one at a time, then null; closed once.
  function bundledDir(shownPath, entries) {
    let closed = false;
    const next = () => {
      if (closed) throw nodeError(Error, 'ERR_DIR_CLOSED', 'Directory handle was closed');
      return entries.shift() ?? null;
    };
    const close = () => {
      if (closed) throw nodeError(Error, 'ERR_DIR_CLOSED', 'Directory handle was closed');
      closed = true;
    };
    const later = (work, callback) => {
      if (typeof callback !== 'function') return Promise.resolve().then(work);
      process.nextTick(() => {
        let result;
        try {
          result = work();
        } catch (error) {
          callback(error);
          return;
        }
        callback(null, result);
      });
      return undefined;
    };
    return {
      path: shownPath,
      readSync: next,
      read: (callback) => later(next, callback),
      closeSync: close,
      close: (callback) => later(close, callback),
      async* [Symbol.asyncIterator]() {
        try {
          for (let entry = next(); entry !== null; entry = next()) yield entry;
        } finally {
          if (!closed) close();
        }
      },
    };
  }

  // What fs.promises.open gives for a bundled file: node's FileHandle interface over a
  // virtual fd (reads, stat, streams, lines; writes fail as on a read-only descriptor).
  function bundledFileHandle(fd) {
    const EventEmitter = internalRequire('events');
    const handle = new EventEmitter();
    const file = () => {
      const open = openFiles.get(fd);
      if (open === undefined) throw systemError('EBADF', 'read');
      return open;
    };
    const refuse = (syscall, code = 'EROFS') => async () => { file(); throw systemError(code, syscall); };
    return Object.assign(handle, {
      [BUNDLED_FD]: fd,
      get fd() { return openFiles.has(fd) ? fd : -1; },
      async read(buffer, offset, length, position) {
        const request = readRequest([buffer, offset, length, position]);
        return { bytesRead: readFromFile(file(), request), buffer: request.buffer };
      },
      async readv(buffers, position) {
        return { bytesRead: readIntoBuffers(file(), buffers, position), buffers };
      },
      async readFile(options) {
        return operations.readFile(file(), [undefined, options]);
      },
      async stat(options) {
        return vfs.statsOf(file().node, options?.bigint === true);
      },
      createReadStream(options) {
        return fs.createReadStream(null, { ...options, fd });
      },
      readLines(options) {
        return internalRequire('readline').createInterface({ input: handle.createReadStream(options), crlfDelay: Infinity });
      },
      async close() {
        if (!openFiles.delete(fd)) return;
        handle.emit('close');
      },
      async [Symbol.asyncDispose ?? Symbol('asyncDispose')]() {
        return handle.close();
      },
      sync: async () => { file(); },
      datasync: async () => { file(); },
      write: refuse('write', 'EBADF'),
      writev: refuse('write', 'EBADF'),
      writeFile: refuse('write', 'EBADF'),
      appendFile: refuse('write', 'EBADF'),
      truncate: refuse('ftruncate', 'EINVAL'),
      chmod: refuse('fchmod'),
      chown: refuse('fchown'),
      utimes: refuse('futime'),
    });
  }

  const all = ['sync', 'callback', 'promise'];
  const plain = ['sync', 'callback'];
  const table = [
    // name, which arguments decide, implementation, flavours
    ['readFile', pathOrFd, operations.readFile, all],
    ['stat', firstPath, operations.stat, all],
    ['lstat', firstPath, operations.lstat, all],
    ['readdir', firstPath, operations.readdir, all],
    ['realpath', firstPath, operations.realpath, plain],
    ['realpath', firstPath, operations.realpathNative, ['promise']],
    ['readlink', firstPath, operations.readlink, all],
    ['access', firstPath, operations.access, all],
    ['open', firstPath, operations.open, plain],
    ['open', firstPath, operations.openHandle, ['promise']],
    ['opendir', firstPath, operations.opendir, all],
    ['fstat', virtualFd, operations.fstat, plain],
    ['readv', virtualFd, operations.readv, ['sync']],
    ['close', virtualFd, operations.close, plain],
    ['write', virtualFd, operations.writeToFd, plain],
    ['writev', virtualFd, operations.writeToFd, plain],
    ['fsync', virtualFd, operations.syncFd, plain],
    ['fdatasync', virtualFd, operations.syncFd, plain],
    ['ftruncate', virtualFd, operations.truncateFd, plain],
    ['fchmod', virtualFd, operations.changeFd('fchmod'), plain],
    ['fchown', virtualFd, operations.changeFd('fchown'), plain],
    ['futimes', virtualFd, operations.changeFd('futime'), plain],
    ['mkdir', firstPath, operations.mkdir, all],
    ['copyFile', eitherPath, operations.copyFile, all],
    ['cp', eitherPath, operations.cp, all],
    ['rm', firstPath, operations.rm, all],
    ['statfs', firstPath, operations.statfs, all],
    ['rename', eitherPath, refusedTwoPaths('rename', 'parent'), all],
    ['link', eitherPath, refusedTwoPaths('link', 'new'), all],
    ['symlink', secondPath, ({ dest, shown }) => {
      throw systemError(vfs.changeError(dest.path, dest.shown, 'symlink', 'new').code, 'symlink', shown[0], shown[1]);
    }, all],
    ['mkdtemp', firstPath, (target) => {
      // node shows the template it asked the kernel for.
      throw vfs.changeError(`${target.path}XXXXXX`, `${target.shown}XXXXXX`, 'mkdtemp', 'parent');
    }, all],
    ...[['writeFile', 'open', 'create'], ['appendFile', 'open', 'create'], ['truncate', 'open', 'write'],
      ['rmdir', 'rmdir', 'parent'], ['unlink', 'unlink', 'parent'], ['chmod', 'chmod', 'existing'],
      ['lchmod', 'chmod', 'existing'], ['chown', 'chown', 'existing'], ['lchown', 'lchown', 'existing'],
      ['utimes', 'utime', 'existing'], ['lutimes', 'lutime', 'existing']]
      .map(([name, syscall, needs]) => [name, firstPath, refused(syscall, needs), all]),
  ];
  const promiseTable = [];
  for (const [name, select, implementation, flavours] of table) {
    for (const flavour of flavours) {
      if (flavour === 'promise') promiseTable.push([name, select, implementation]);
      else install(fs, flavour === 'sync' ? `${name}Sync` : name, flavour, select, implementation);
    }
  }
  // fs.promises costs ~6 ms to load, which plain node pays only when the app asks for
  // it: patched on first access (fs.promises, or 'fs/promises' through
  // adaptBuiltinsOnFirstUse; both are the same object).
  let promisesPatched = false;
  const patchPromises = () => {
    if (promisesPatched) return;
    promisesPatched = true;
    for (const [name, select, implementation] of promiseTable) install(fs.promises, name, 'promise', select, implementation);
    replace(fs.promises, 'watch', (original) => function watch(filename, options) {
      if (virtualTarget(filename) === null) return Reflect.apply(original, this, arguments);
      const signal = options?.signal;
      return {
        [Symbol.asyncIterator]() { return this; },
        next: () => new Promise((resolve, reject) => {
          if (signal?.aborted) reject(signal.reason);
          signal?.addEventListener('abort', () => reject(nodeError(Error, 'ABORT_ERR', 'The operation was aborted')), { once: true });
        }),
        return: async () => ({ done: true, value: undefined }),
      };
    });
  };
  const promisesProperty = Object.getOwnPropertyDescriptor(fs, 'promises');
  if (typeof promisesProperty?.get === 'function' && promisesProperty.configurable) {
    Object.defineProperty(fs, 'promises', {
      configurable: true,
      enumerable: promisesProperty.enumerable,
      get() {
        const promises = Reflect.apply(promisesProperty.get, this, []);
        patchPromises();
        return promises;
      },
    });
  } else {
    patchPromises();
  }
  // node's glob (fs.glob, fs.globSync; node 22 on) reads folders through the patched
  // functions, but takes those of fs/promises when it first loads: they must be patched by then.
  for (const name of ['glob', 'globSync']) {
    replace(fs, name, (original) => function glob(...args) {
      patchPromises();
      try {
        return Reflect.apply(original, this, args);
      } catch (err) {
        throw hideBootstrapFrames(err, glob);
      }
    });
  }
  install(fs.realpathSync, 'native', 'sync', firstPath, operations.realpathNative);
  install(fs.realpath, 'native', 'callback', firstPath, operations.realpathNative);
  install(fs, 'existsSync', 'sync', firstPath, operations.exists);
  install(fs, 'openAsBlob', 'promise', firstPath, operations.openAsBlob); // node 19.8 on
  // Watchers take a listener, not a callback: replaced as they are.
  for (const name of ['watch', 'watchFile', 'unwatchFile']) {
    replace(fs, name, (original) => function watcher(...args) {
      return virtualTarget(args[0]) === null ? Reflect.apply(original, this, args) : operations[name]();
    });
  }
  install(fs, 'readSync', 'sync', virtualFd, operations.read);
  // process.loadEnvFile (node 20.12 on) reads its file in C++, past fs: a bundled one is
  // read here and parsed by node's own parser (util.parseEnv); as in node, a variable
  // the environment has already keeps its value.
  replace(process, 'loadEnvFile', (original) => function loadEnvFile(file = '.env') {
    const target = virtualTarget(file);
    if (target === null) return Reflect.apply(original, this, arguments);
    let text;
    try {
      text = vfs.readFile(target.path, target.shown).toString('utf8');
    } catch (err) {
      throw hideBootstrapFrames(err, loadEnvFile);
    }
    for (const [key, value] of Object.entries(util.parseEnv(text))) {
      if (!Object.prototype.hasOwnProperty.call(process.env, key)) process.env[key] = value;
    }
    return undefined;
  });
  // fs.exists hands its callback a boolean and no error.
  replace(fs, 'exists', (original) => function exists(p, callback) {
    const target = firstPath([p]);
    if (target === null) return Reflect.apply(original, this, arguments);
    process.nextTick(callback, operations.exists(target));
  });
  // fs.read hands its callback (error, bytesRead, buffer).
  replace(fs, 'read', (original) => function read(fd, ...args) {
    const file = virtualFd([fd]);
    if (file === null) return Reflect.apply(original, this, arguments);
    const callback = args.pop();
    if (typeof callback !== 'function') throw invalidCallback(callback);
    const request = readRequest(args);
    let error = null;
    let bytesRead;
    try {
      bytesRead = readFromFile(file, request);
    } catch (err) {
      error = hideBootstrapFrames(err, read);
    }
    process.nextTick(callback, error, bytesRead, request.buffer);
  });
  // fs.readv hands its callback (error, bytesRead, buffers).
  replace(fs, 'readv', (original) => function readv(fd, buffers, ...rest) {
    const file = virtualFd([fd]);
    if (file === null) return Reflect.apply(original, this, arguments);
    const callback = rest.pop();
    if (typeof callback !== 'function') throw invalidCallback(callback);
    let error = null;
    let bytesRead;
    try {
      bytesRead = readIntoBuffers(file, buffers, rest[0]);
    } catch (err) {
      error = hideBootstrapFrames(err, readv);
    }
    process.nextTick(callback, error, bytesRead, buffers);
  });
  function install(holder, key, flavour, select, implementation) {
    const makeWrapper = { sync: syncWrapper, callback: callbackWrapper, promise: promiseWrapper }[flavour];
    replace(holder, key, (original) => makeWrapper(original, select, implementation, key));
  }
}

// Swaps holder[key] for a wrapper around it, keeping the original's properties
// (realpathSync.native, util.promisify's custom hooks).
function replace(holder, key, makeWrapper) {
  const original = holder[key];
  if (typeof original !== 'function') return; // not in this node version
  const wrapped = makeWrapper(original);
  for (const property of Reflect.ownKeys(original)) {
    if (property !== 'length' && property !== 'prototype') {
      Object.defineProperty(wrapped, property, Object.getOwnPropertyDescriptor(original, property));
    }
  }
  holder[key] = wrapped;
}

function syncWrapper(original, select, implementation) {
  return function patched(...args) {
    const target = select(args);
    if (target === null) return Reflect.apply(original, this, args);
    try {
      return implementation(target, args, 'sync');
    } catch (err) {
      throw hideBootstrapFrames(err, patched);
    }
  };
}

function callbackWrapper(original, select, implementation, name) {
  return function patched(...args) {
    const target = select(args);
    if (target === null) return Reflect.apply(original, this, args);
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
    if (callback === undefined && name !== 'close') { // only fs.close may go without
      throw invalidCallback(args[args.length - 1]);
    }
    let error = null;
    let result;
    try {
      result = implementation(target, args, 'callback');
    } catch (err) {
      error = hideBootstrapFrames(err, patched);
    }
    if (callback) process.nextTick(callback, error, result);
  };
}

function promiseWrapper(original, select, implementation) {
  return async function patched(...args) {
    const target = select(args);
    if (target === null) return Reflect.apply(original, this, args);
    try {
      return implementation(target, args, 'promise');
    } catch (err) {
      throw hideBootstrapFrames(err, patched);
    }
  };
}

// The app should see its own call as the top frame, as with node's fs errors.
function hideBootstrapFrames(error, patchedFunction) {
  if (error instanceof Error) Error.captureStackTrace(error, patchedFunction);
  return error;
}

function invalidCallback(value) {
  return nodeError(TypeError, 'ERR_INVALID_ARG_TYPE',
    `The "cb" argument must be of type function. Received ${util.inspect(value)}`);
}

function isWriteFlag(flags) {
  if (typeof flags === 'number') {
    const { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND } = fs.constants;
    return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)) !== 0;
  }
  return /[wa+]/.test(String(flags));
}

// fs.read/readSync arguments after the fd: (buffer, offset, length, position),
// (buffer, { offset, length, position }), ({ buffer, offset, length, position }) or ().
function readRequest([buffer, offset, length, position]) {
  if (buffer !== null && typeof buffer === 'object' && !ArrayBuffer.isView(buffer)) {
    ({ buffer, offset, length, position } = buffer);
  } else if (offset !== null && typeof offset === 'object') {
    ({ offset, length, position } = offset);
  }
  buffer ??= Buffer.alloc(16384);
  if (!ArrayBuffer.isView(buffer)) {
    throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "buffer" argument must be an instance of ' +
      `Buffer, TypedArray, or DataView. Received ${util.inspect(buffer)}`);
  }
  offset = Number(offset ?? 0);
  length = Number(length ?? buffer.byteLength - offset);
  if (offset < 0 || length < 0 || offset + length > buffer.byteLength) {
    throw nodeError(RangeError, 'ERR_OUT_OF_RANGE', 'The value of "length" is out of range.');
  }
  return { buffer, offset, length, position };
}

// ES modules: resolve and load hooks for the archive's files, shared by every runtime.

// import() for this script, which cannot use the keyword itself: it is compiled with
// ScriptCompiler::CompileFunction, whose code has no host-defined options for it. A
// function compiled by node's CommonJS loader does have an import() callback; `from`
// is the file it resolves from, `attributes` the import's `with`.
function publicImport(specifier, from = `${VIRTUAL_ROOT}/[bundle import]`, attributes = undefined) {
  const importer = new Module(from, null);
  importer.filename = from;
  importer._compile('module.exports = (specifier, options) => import(specifier, options);', from);
  return importer.exports(specifier, attributes === undefined ? undefined : { with: attributes });
}

// resolve and load hooks in the shape of node's public module hooks, so that one
// implementation serves both connections. Only the archive's files are answered here.
function createEsmHooks(vfs, resolver) {
  const DEFAULT_CONDITIONS = ['node', 'import', 'node-addons'];
  return { resolve, load };

  function resolve(specifier, context, nextResolve) {
    const { parentURL } = context;
    if (!isOurs(specifier, parentURL)) return nextResolve(specifier, context);
    const parent = parentURL ?? url.pathToFileURL(`${process.cwd()}/`).href;
    const base = parent.startsWith('file:') ? url.fileURLToPath(parent) : parent;
    let resolved;
    try {
      resolved = resolver.resolveEsm(specifier, parent, base, new Set(context.conditions ?? DEFAULT_CONDITIONS));
    } catch (err) {
      if (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'ERR_UNSUPPORTED_DIR_IMPORT') {
        addCommonJsHint(err, specifier, base);
      }
      throw err;
    }
    if (resolved === null) return nextResolve(specifier, context);
    return { url: resolved.href, shortCircuit: true };
  }

  function load(loadURL, context, nextLoad) {
    if (!isVirtualUrl(loadURL)) return nextLoad(loadURL, context);
    const filename = url.fileURLToPath(loadURL);
    const format = runtime.esmFormat(resolver, filename);
    // CommonJS is read by node's translator through the patched fs (cjs-module-lexer
    // included); the rest is handed over as text. node's default load still runs, for
    // its checks of import assertions.
    const source = format === 'commonjs' ? null : vfs.readText(filename);
    return nextLoad(loadURL, { ...context, format, source });
  }

  // Imports by an archive module, and imports naming an archive path from anywhere.
  function isOurs(specifier, parentURL) {
    if (typeof specifier !== 'string' || specifier.startsWith('node:') || Module.isBuiltin(specifier)) return false;
    if (isVirtualUrl(parentURL)) return true;
    try {
      const target = isRelativeOrAbsoluteSpecifier(specifier)
        ? new URL(specifier, parentURL ?? url.pathToFileURL(`${process.cwd()}/`))
        : specifier.startsWith('file:') ? new URL(specifier) : null;
      return target?.protocol === 'file:' && isVirtualPath(path.resolve(url.fileURLToPath(target)));
    } catch {
      return false;
    }
  }

  // node adds "Did you mean to import ./x.js?" when require() would have found the file
  // (resolving as it does: relative requests from the working directory).
  function addCommonJsHint(error, specifier, base) {
    let found;
    try {
      const probe = new Module(base, null);
      probe.paths = Module._nodeModulePaths(base);
      found = resolver.resolveFilename(specifier.startsWith('file://') ? url.fileURLToPath(specifier) : specifier,
        probe, false);
    } catch {
      return;
    }
    if (isRelativeOrAbsoluteSpecifier(specifier) && specifier[0] === '.') {
      found = path.relative(base, found);
      if (!found.startsWith('../')) found = `./${found}`;
    } else if (!isRelativeOrAbsoluteSpecifier(specifier) && !specifier.startsWith('file://')) {
      const index = found.indexOf(specifier.split('/')[0]);
      if (index !== -1) found = found.slice(index);
    }
    const hint = `Did you mean to import ${found}?`;
    const lines = error.stack.split('\n');
    error.stack = `${lines.shift()}\n${hint}\n${lines.join('\n')}`;
    error.message += `\n${hint}`;
  }
}

function isVirtualUrl(text) {
  return typeof text === 'string' && text.startsWith(`file://${VIRTUAL_ROOT}/`);
}

// node 18 calls JSON modules and its loader hooks experimental, on stderr, once per
// thread; node 24 the vm loader constant its eval runs code with (runtime-node24.js),
// where node's own eval warns of nothing. A shipped program should not print that to
// its users: those few warnings are dropped, every other one goes through.
function quietLoaderWarnings() {
  const QUIET = /^(?:Importing JSON modules|Custom ESM Loaders|Import assertions|Use `importAttributes`|vm\.USE_MAIN_CONTEXT_DEFAULT_LOADER)/;
  replace(process, 'emitWarning', (original) => function emitWarning(warning, type) {
    const message = typeof warning === 'string' ? warning : warning?.message;
    const kind = typeof type === 'string' ? type : type?.type ?? warning?.name;
    if (kind === 'ExperimentalWarning' && typeof message === 'string' && QUIET.test(message)) return undefined;
    return Reflect.apply(original, this, arguments);
  });
}

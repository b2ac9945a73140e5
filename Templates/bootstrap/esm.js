// ES modules: resolve and load hooks for the archive's files, shared by every runtime.

// MARK: - ES modules
//
// Why this mechanism (DESIGN.md "ES modules on node 18.20" measured the three ways):
// node's own ESM loader accepts "customizations" in-thread (ModuleLoader's
// setCustomizations, which is how its hooks thread applies hooks). Reached through
// internalRequire it needs no flag and no extra thread, and leaves everything else to
// node: translators (so cjs-module-lexer reads CommonJS files through the patched fs
// and named imports work), module jobs, top-level await, import.meta,
// import.meta.resolve, stack traces with file:///proc/self/bundle/... URLs, error reporting. Only
// resolve and load of the archive's files are ours (createEsmHooks). Startup: node
// creates its loader anyway once a CommonJS module has loaded; connecting it costs
// about 1 ms more (measured: a small ESM app starts as fast, relative to plain node, as
// a CommonJS one; a CommonJS app as fast as before ES module support).
// The price is a dependency on 18.20 internals; the runtime pack pins the exact libnode,
// and every internal piece is checked before use. When one is missing, the same hooks
// go through the public module.register() (18.19+), which runs them on a hooks thread:
// slower (about +80 ms at startup, measured) but public.
// The other way measured, vm.SourceTextModule, needs a flag and builds a separate module
// graph; and `import()` cannot be used here at all: this script is compiled with
// ScriptCompiler::CompileFunction, whose code has no host-defined options for it.
// Also note: no CommonJS file may load before this script (none does in the launcher):
// node's loader would then exist already, holding the unpatched fs.readFileSync.

// Connects the hooks to node's ESM loader; returns what the rest of the bootstrap needs.
function installEsmLoader(vfs, resolver) {
  const hooks = createEsmHooks(vfs, resolver);
  let loaderModule = null;
  try {
    loaderModule = internalRequire('internal/process/esm_loader');
  } catch {
    // internals not reachable (plain `require`): the public way below
  }
  // node's loader, made now if not yet: node makes it anyway as soon as any CommonJS
  // module has loaded (Module.prototype.load caches exports in it).
  const loader = loaderModule?.esmLoader;
  const internals = loader ? inThreadInternals(loader) : null;
  let mode = 'none';
  if (internals) {
    loader.setCustomizations(inThreadCustomizations(hooks, internals));
    mode = 'in-thread';
  } else if (mayUseEsm(vfs) && registerHooks()) {
    // Without internals the hooks thread (~90 ms) starts only for apps that can reach
    // an ES module at all.
    mode = 'register';
  }

  return {
    // Workers get --expose-internals so that they can connect the same way.
    internalsReachable: internals !== null,
    runMain(mainPath) {
      const mainURL = url.pathToFileURL(mainPath).href;
      if (mode === 'in-thread') {
        // What node's runMainESM does; exit code 13 for an unsettled top-level await.
        internals.handleMainPromise(loaderModule.loadESM((esmLoader) =>
          esmLoader.import(mainURL, undefined, { __proto__: null })));
      } else {
        publicImport(mainURL); // a failure surfaces as an unhandled rejection: reported, exit code 1
      }
    },
  };
}

// Whether the app has an .mjs file, a "type": "module" package, or JavaScript that
// mentions import() or import.meta (then it may import even CommonJS through node's ESM loader).
function mayUseEsm(vfs) {
  return app.files.some(({ relative }) => {
    if (relative.endsWith('.mjs')) return true;
    if (relative === 'package.json' || relative.endsWith('/package.json')) {
      return /"type"\s*:\s*"module"/.test(vfs.readText(`${VIRTUAL_ROOT}/${relative}`));
    }
    if (!/\.c?js$/.test(relative)) return false;
    const bytes = vfs.readFile(`${VIRTUAL_ROOT}/${relative}`);
    return bytes.includes('import(') || bytes.includes('import (') || bytes.includes('import.meta');
  });
}

// The pieces of node 18.20's ESM loader the in-thread customizations use, or null.
function inThreadInternals(loader) {
  try {
    const parts = {
      defaultResolve: internalRequire('internal/modules/esm/resolve').defaultResolve,
      defaultLoad: internalRequire('internal/modules/esm/load').defaultLoad,
      initializeImportMeta: internalRequire('internal/modules/esm/initialize_import_meta').initializeImportMeta,
      getDefaultConditions: internalRequire('internal/modules/esm/utils').getDefaultConditions,
      handleMainPromise: internalRequire('internal/modules/run_main').handleMainPromise,
    };
    const complete = Object.values(parts).every((part) => typeof part === 'function') &&
      typeof loader.setCustomizations === 'function' && typeof loader.import === 'function';
    return complete ? parts : null;
  } catch {
    return null;
  }
}

// The interface ModuleLoader expects from customizations (see its setCustomizations),
// with node's default resolve and load as the "next" hooks, as in a hook chain.
function inThreadCustomizations(hooks, internals) {
  const { defaultResolve, defaultLoad, initializeImportMeta, getDefaultConditions } = internals;
  const resolveSync = (specifier, parentURL, importAttributes = { __proto__: null }) => hooks.resolve(`${specifier}`,
    { __proto__: null, conditions: getDefaultConditions(), importAttributes, parentURL }, defaultResolve);
  return {
    __proto__: null,
    allowImportMetaResolve: true,
    resolve: resolveSync, // the loader awaits the answer; import.meta.resolve needs it synchronous
    resolveSync,
    load: (loadURL, context) => hooks.load(loadURL, context, defaultLoad),
    importMetaInitialize: (meta, context, loader) => initializeImportMeta(meta, context, loader),
    forceLoadHooks() {},
    register() {
      throw new Error('bundle: module.register() is not supported inside a bundled app');
    },
  };
}

// The public fallback: the same hooks on node's hooks thread, fed the shared archive.
function registerHooks() {
  if (typeof Module.register !== 'function' || app.bootstrap === null) return false;
  // The hooks thread compiles this script with { role: 'hooks' }: archive index and resolver only.
  const source = `
  import { createRequire } from 'node:module';
  let hooks;
  export function initialize({ archive, bootstrap, virtualRoot }) {
    const require = createRequire('/');
    const source = require('buffer').Buffer.from(archive, bootstrap.offset, bootstrap.length).toString('utf8');
    const compiled = require('vm').compileFunction(source, ['process', 'internalRequire', 'archive'],
      { filename: 'bundle:bootstrap.js' });
    hooks = compiled(process, require, archive, { role: 'hooks', virtualRoot });
  }
  export const resolve = (specifier, context, nextResolve) => hooks.resolve(specifier, context, nextResolve);
  export const load = (url, context, nextLoad) => hooks.load(url, context, nextLoad);
  `;
  const hooksURL = `data:text/javascript,${encodeURIComponent(source)}`;
  Module.register(hooksURL, { parentURL: 'data:', data: { archive: sharedArchive(), bootstrap: app.bootstrap, virtualRoot: VIRTUAL_ROOT } });
  return true;
}

// import() for this script, which cannot use the keyword itself (see above): a function
// compiled by node's CommonJS loader, whose code does have an import() callback.
function publicImport(specifier) {
  const importer = new Module(`${VIRTUAL_ROOT}/[bundle import]`, null);
  importer.filename = importer.id;
  importer._compile('module.exports = (specifier) => import(specifier);', importer.filename);
  return importer.exports(specifier);
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
    const format = resolver.esmFormat(filename);
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
// thread. A shipped program should not print that to its users: those few warnings are
// dropped, every other one goes through.
function quietLoaderWarnings() {
  const QUIET = /^(?:Importing JSON modules|Custom ESM Loaders|Import assertions|Use `importAttributes`)/;
  replace(process, 'emitWarning', (original) => function emitWarning(warning, type) {
    const message = typeof warning === 'string' ? warning : warning?.message;
    const kind = typeof type === 'string' ? type : type?.type ?? warning?.name;
    if (kind === 'ExperimentalWarning' && typeof message === 'string' && QUIET.test(message)) return undefined;
    return Reflect.apply(original, this, arguments);
  });
}

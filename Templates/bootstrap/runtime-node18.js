// The adapter for node 18.20 (Debian 12's libnode108). Its public API has no in-thread
// module hooks, so ES modules, builtins on first use, the code cache, eval workers and
// a child's node command line go through node 18.20's internals, reached with
// internalRequire (the launcher's native_require loads 'internal/...' modules on 18).
// The runtime pack pins the exact libnode; every internal piece is checked before use,
// and where one is missing a public fallback applies (module.register() for ES modules,
// everything adapted at startup, no code cache). runtime-node24.js has the same shape.

function node18Runtime() {
  return {
    connectModules(vfs, resolver) {
      refuseRequireOfEsm(vfs, resolver);
      installCodeCache();
      adaptBuiltinsOnFirstUse();
      return installEsmLoader(vfs, resolver);
    },
    // How node 18's fs errors look (errors.js, fs-patches.js).
    systemErrorCodeFirst: false,
    opendirErrorHasPath: true,
    // What the ESM loader calls a file of the archive (node 18 detects no module syntax).
    esmFormat: (resolver, filename) => resolver.esmFormat(filename),
    evalWorkerCode(code) {
      let evalScript = null;
      try {
        ({ evalScript } = internalRequire('internal/process/execution'));
      } catch {
        // internals not reachable: vm below (import() in the code is then unavailable)
      }
      if (typeof evalScript === 'function') evalScript('[worker eval]', code);
      else internalRequire('vm').runInThisContext(code, { filename: '[worker eval]' });
    },
    // A child's command line as node parsed it (children.js runAsNode), and node's own
    // ways to run -e/-p code, stdin and the REPL.
    nodeCommandLine() {
      const { getOptionValue } = internalRequire('internal/options');
      return {
        refused: ['--check', '--test', '--watch'].find((option) => getOptionValue(option)),
        print: getOptionValue('--print'),
        evalCode: getOptionValue('[has_eval_string]') ? getOptionValue('--eval') : undefined,
        interactive: getOptionValue('--interactive'),
        inputType: getOptionValue('--input-type'),
      };
    },
    startRepl() {
      internalRequire('internal/repl').createInternalRepl(process.env, (error, repl) => {
        if (error) throw error;
        repl.on('exit', () => process.exit());
      });
    },
    readStdin: (callback) => internalRequire('internal/process/execution').readStdin(callback),
    evalScript(name, code, print) {
      // As node's eval: builtins as globals (`fs`, `path`, ...).
      internalRequire('internal/modules/helpers').addBuiltinLibsToObject(globalThis, '<eval>');
      internalRequire('internal/process/execution').evalScript(name, code, false, print);
    },
    evalModule: (code, print) => internalRequire('internal/process/execution').evalModule(code, print),
  };
}

// node 18's CommonJS loader checks "type" with its own package.json reader, which
// cannot see the archive: a bundled .js in a "type": "module" package is refused here
// as node refuses it (node 18 has no require(esm)).
function refuseRequireOfEsm(vfs, resolver) {
  const originalLoadJs = Module._extensions['.js'];
  Module._extensions['.js'] = function loadJs(module, filename) {
    if (isVirtualPath(filename) && filename.endsWith('.js')) {
      const scope = resolver.readPackageScope(filename);
      if (scope?.data.type === 'module') throw requireEsmError(module, filename, scope, vfs);
    }
    return Reflect.apply(originalLoadJs, this, arguments);
  };
}

// What node's loader throws when `require()` meets an ES module.
function requireEsmError(module, filename, scope, vfs) {
  const parentPath = parentOf(module)?.filename;
  const packageJsonPath = `${scope.dir}/package.json`;
  const basename = parentPath && path.basename(filename) === path.basename(parentPath)
    ? filename : path.basename(filename);
  let message = `require() of ES Module ${filename}${parentPath ? ` from ${parentPath}` : ''} not supported.\n`;
  // node parses the file to pick its advice; a module with import/export lines gets the short one.
  if (/^\s*(?:import\s*[\w{*'"]|export\s)/m.test(vfs.readText(filename))) {
    message += `Instead change the require of ${basename} in ${parentPath} to a dynamic import() ` +
      'which is available in all CommonJS modules.';
  } else {
    message += `${basename} is treated as an ES module file as it is a .js file whose nearest parent ` +
      'package.json contains "type": "module" which declares all .js files in that package scope as ' +
      `ES modules.\nInstead either rename ${basename} to end in .cjs, change the requiring code to use ` +
      'dynamic import() which is available in all CommonJS modules, or change "type": "module" to ' +
      `"type": "commonjs" in ${packageJsonPath} to treat all .js files as CommonJS (using .mjs for all ` +
      'ES modules instead).\n';
  }
  return nodeError(Error, 'ERR_REQUIRE_ESM', message);
}

// Builtins adapted on first use (builtins.js): every way an app gets a builtin —
// require('x'), require('node:x'), import, import() — goes through node's
// BuiltinModule.prototype.compileForPublicLoader (18.20 internals), before the app
// sees the exports and before node makes their ES module view; the adaptation happens
// there. (Wrapping Module._load instead would leave a bootstrap frame under every
// module's code, one less frame of the app in its error stacks.) cluster takes fork()
// from child_process while it loads: asking for cluster adapts child_process first.
// Without those internals everything is adapted at startup.

function adaptBuiltinsOnFirstUse() {
  const { adapt, all } = builtinAdapter();
  let BuiltinModule = null;
  try {
    ({ BuiltinModule } = internalRequire('internal/bootstrap/realm'));
  } catch {
    // internals not reachable
  }
  const proto = BuiltinModule?.prototype;
  if (typeof proto?.compileForPublicLoader !== 'function') {
    all();
    return;
  }
  replace(proto, 'compileForPublicLoader', (original) => function compileForPublicLoader() {
    adapt(this.id);
    return Reflect.apply(original, this, arguments);
  });
}

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
  } else if (mayUseEsm(vfs) && registerHooksThread()) {
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
function registerHooksThread() {
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

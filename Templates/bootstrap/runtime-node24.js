// The adapter for node 24 (Debian's libnode137), through public APIs only.
//
// On node 24 the launcher's internalRequire (StartExecutionCallbackInfo.native_require)
// is node's embedderRequire (lib/internal/main/embedding.js): it loads public builtins
// and refuses 'internal/...' ids. So nothing here reaches node's internals:
// - module.registerHooks() (synchronous, in this thread, for require and import alike)
//   answers the archive's files: their format (what node's package.json reader, which
//   reads only the real disk, cannot know) and, for import, resolve and load
//   (createEsmHooks). require() of an ES module is then node's own require(esm).
// - its load hook sees every builtin an app asks for (node: URLs, both loaders), which
//   is where builtins are adapted on first use (builtins.js).
// - eval code (workers, -e, stdin) runs through vm with node's default loader for
//   import() (vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER).
// What stays monkey-patched is Module's own public surface, as on every runtime
// (commonjs.js: _resolveFilename, _nodeModulePaths, _extensions['.node'], _load for the
// main), and process.emitWarning (esm.js).
// - the V8 code cache of the archive goes through vm.compileFunction (code-cache.js).
// - -e and stdin code with module syntax and no --input-type runs as a module, as node
//   24 detects it (isModuleSyntax).

// The messages of V8's script compile errors that mean module syntax (node 24's
// lib/internal/modules/helpers.js lists the same).
const MODULE_SYNTAX_ERRORS = [
  'Cannot use import statement outside a module',
  "Unexpected token 'export'",
  "Cannot use 'import.meta' outside a module",
  'await is only valid in async functions and the top level bodies of modules',
];

function node24Runtime() {
  // file: URL -> source, for code of --input-type=module (evalModule): served by the hooks.
  const evalSources = new Map();
  let evalCount = 0;
  const vm = internalRequire('vm');

  return {
    connectModules(vfs, resolver) {
      // The archive's code caches, made by node 24 itself (code-cache.js, public API).
      installCodeCache();
      const hooks = createEsmHooks(vfs, resolver);
      const builtins = builtinAdapter();
      const isRequire = (context) => Array.isArray(context.conditions) && context.conditions.includes('require');
      Module.registerHooks({
        resolve(specifier, context, nextResolve) {
          if (evalSources.has(specifier)) return { url: specifier, format: 'module', shortCircuit: true };
          // require(): node's resolution, which Module._resolveFilename answers for the archive.
          if (isRequire(context)) return nextResolve(specifier, context);
          return hooks.resolve(specifier, context, nextResolve);
        },
        load(loadURL, context, nextLoad) {
          if (loadURL.startsWith('node:')) {
            builtins.adapt(loadURL.slice('node:'.length));
            return nextLoad(loadURL, context);
          }
          const evalSource = evalSources.get(loadURL);
          if (evalSource !== undefined) return { format: 'module', source: evalSource, shortCircuit: true };
          if (!isVirtualUrl(loadURL)) return nextLoad(loadURL, context);
          if (!isRequire(context)) return hooks.load(loadURL, context, nextLoad);
          // require() of a bundled .js: the format its package's "type" gives, as node's
          // '.js' extension handler would find it on disk (then fs reads the source).
          const filename = url.fileURLToPath(loadURL);
          if (resolver.isTypeScript(filename)) return nextLoad(loadURL, { ...context, format: resolver.esmFormat(filename) });
          if (!filename.endsWith('.js')) return nextLoad(loadURL, context);
          return nextLoad(loadURL, { ...context, format: declaredType(resolver, filename) });
        },
      });
      return {
        internalsReachable: false,
        // node's CommonJS loader runs an ES module main itself (through require(esm)'s
        // path for a main): the ES module loader, top-level await, and exit code 13 with
        // node's message for an unsettled one.
        runMain: (mainPath) => Module._load(mainPath, null, true),
      };
    },
    // How node 24's fs errors look (errors.js, fs-patches.js): libuv's fields in
    // another order, and no path on opendir's error (measured against a real folder).
    systemErrorCodeFirst: true,
    opendirErrorHasPath: false,
    // What the ESM loader calls a file of the archive: undefined where the package
    // declares no "type", so that node detects module syntax as it does on disk.
    esmFormat(resolver, filename) {
      const format = resolver.esmFormat(filename);
      const extension = path.extname(filename);
      if (format !== 'commonjs' || (extension !== '.js' && extension !== '')) return format;
      return declaredType(resolver, filename);
    },
    evalWorkerCode: (code) => evalScriptPublicly('[worker eval]', code, false),
    nodeCommandLine: () => parseNodeCommandLine(process.execArgv),
    startRepl() {
      // As node's own REPL: history in NODE_REPL_HISTORY (empty: none), else
      // ~/.node_repl_history, NODE_REPL_HISTORY_SIZE lines (1000). History is kept only
      // on a terminal, as in node.
      // Input waits while the history file is read, so lines typed meanwhile are kept.
      const size = Number(process.env.NODE_REPL_HISTORY_SIZE);
      const server = internalRequire('repl').start({ useGlobal: true, historySize: size > 0 ? size : 1000 });
      server.on('exit', () => process.exit());
      const history = process.env.NODE_REPL_HISTORY ?? path.join(os.homedir(), '.node_repl_history');
      if (history.trim() !== '' && typeof server.setupHistory === 'function') {
        server.pause();
        server.setupHistory(history, (error) => {
          if (error) process.stderr.write(`REPL session history will not be persisted: ${error.message}\n`);
          server.resume();
        });
      }
    },
    readStdin(callback) {
      let code = '';
      process.stdin.setEncoding('utf8');
      process.stdin.on('data', (chunk) => { code += chunk; }).on('end', () => callback(code));
    },
    evalScript(name, code, print, inputType) {
      if (inputType === undefined && !print && isModuleSyntax(code, name)) {
        this.evalModule(code);
        return;
      }
      addBuiltinsAsGlobals();
      evalScriptPublicly(name, code, print);
    },
    evalModule(code) {
      // node's URL for such code, resolved from the working directory.
      const evalURL = url.pathToFileURL(`${process.cwd()}/[eval${++evalCount}]`).href;
      evalSources.set(evalURL, code);
      publicImport(evalURL);
    },
  };

  // node 24's detection for code of no --input-type: it is a module when it fails to
  // compile as a script with an error only module syntax gives (import, export,
  // import.meta), or one that top-level await gives.
  function isModuleSyntax(code, filename) {
    try {
      new vm.Script(code, { filename }); // eslint-disable-line no-new
      return false;
    } catch (error) {
      if (!(error instanceof SyntaxError)) return false;
      return MODULE_SYNTAX_ERRORS.some((message) => error.message.includes(message));
    }
  }

  // What node's evalScript does for eval code: a module named `name` in the working
  // directory whose require, module, exports and __dirname are globals, then the code.
  function evalScriptPublicly(name, code, print) {
    const cwd = process.cwd();
    const module = new Module(name, null);
    module.filename = path.join(cwd, name);
    module.paths = Module._nodeModulePaths(cwd);
    const wrapper = 'globalThis.module = module; globalThis.exports = exports; globalThis.__dirname = __dirname; ' +
      'globalThis.require = require; return (main) => main();';
    const run = module._compile(wrapper, `${name}-wrapper`);
    globalThis.__filename = name;
    // import() in the code goes to node's loader, as in node's own eval. (A function
    // here would need --experimental-vm-modules; the constant's warning is quieted, esm.js.)
    const result = run(() => vm.runInThisContext(code, {
      filename: name, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    }));
    if (print) {
      const printResult = () => console.log(result);
      process.on('exit', printResult);
      process.once('beforeExit', () => {
        printResult();
        process.off('exit', printResult);
      });
    }
  }
}

// The "type" a bundled file's package declares, as a format: 'module', 'commonjs', or
// undefined (none, or a value node ignores).
function declaredType(resolver, filename) {
  const type = resolver.readPackageScope(filename)?.data.type;
  return type === 'module' || type === 'commonjs' ? type : undefined;
}

// As node's -e: every builtin a global, loaded when first used, replaced when assigned.
function addBuiltinsAsGlobals() {
  for (const name of Module.builtinModules) {
    if (name.includes('/') || name.startsWith('_') || Object.prototype.hasOwnProperty.call(globalThis, name)) continue;
    Object.defineProperty(globalThis, name, {
      __proto__: null,
      configurable: true,
      enumerable: false,
      get() {
        const value = internalRequire(name);
        Object.defineProperty(globalThis, name, { __proto__: null, value, writable: true, configurable: true, enumerable: false });
        return value;
      },
      set(value) {
        Object.defineProperty(globalThis, name, { __proto__: null, value, writable: true, configurable: true, enumerable: true });
      },
    });
  }
}

// A child's node options (children.js runAsNode) from process.execArgv, which holds
// them as node parsed them. Options that take their value as the next argument are
// named here, so that a value is never read as an option; the rest are flags or use
// --name=value.
function parseNodeCommandLine(execArgv) {
  const WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '-pe', '-r', '--require', '--import', '--loader',
    '--experimental-loader', '-C', '--conditions', '--input-type', '--title', '--env-file', '--env-file-if-exists',
    '--watch-path', '--stack-trace-limit', '--max-old-space-size', '--inspect-port', '--redirect-warnings',
    '--disable-warning', '--unhandled-rejections', '--dns-result-order', '--icu-data-dir', '--openssl-config']);
  const result = { refused: undefined, print: false, evalCode: undefined, interactive: false, inputType: undefined };
  for (let i = 0; i < execArgv.length; i++) {
    const argument = execArgv[i];
    const equals = argument.startsWith('--') ? argument.indexOf('=') : -1;
    const name = equals === -1 ? argument : argument.slice(0, equals);
    let value;
    if (equals !== -1) value = argument.slice(equals + 1);
    else if (WITH_VALUE.has(name)) value = execArgv[++i];
    if (name === '-e' || name === '--eval') result.evalCode = value;
    else if (name === '-p' || name === '--print' || name === '-pe') Object.assign(result, { print: true, evalCode: value });
    else if (name === '-i' || name === '--interactive') result.interactive = true;
    else if (name === '--input-type') result.inputType = value;
    else if (name === '-c' || name === '--check') result.refused ??= '--check';
    else if (name === '--test') result.refused ??= '--test';
    else if (name === '--watch' || name === '--watch-path') result.refused ??= '--watch';
  }
  return result;
}

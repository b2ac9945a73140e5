// worker_threads on bundled files and eval code.

// MARK: - Worker threads
//
// node starts a worker's environment itself, so this script does not run there by
// itself. `new Worker(file)` for a file under the virtual root (a path, or a file: URL)
// and `new Worker(code, { eval: true })` become an eval'd stub that compiles this script
// again (the archive's bootstrap entry) with { role: 'worker' }; it then runs the file
// or the code as node would. The archive reaches the worker through worker_threads'
// environment data, as the SharedArrayBuffer the launcher made: shared, never copied,
// and inherited by nested workers. Module hooks are per thread on every runtime, so
// the worker's bootstrap installs its own. On node 18 the worker also gets
// --expose-internals, so that it can connect the in-thread ES module loader like the
// main thread (node 24 needs no internals); process.execArgv there shows what node
// would show. What a user could notice on 18: inside such a worker,
// require('internal/...') names node's internal modules rather than a package named
// "internal". Workers of real files, and data: URL workers, are node's, unchanged.

function installWorkerSupport() {
  const workerThreads = internalRequire('worker_threads');
  const NodeWorker = workerThreads.Worker;
  class Worker extends NodeWorker {
    constructor(filename, options, ...rest) {
      const plan = planWorker(filename, options);
      if (plan === null) {
        super(filename, options, ...rest);
        return;
      }
      try {
        return Reflect.construct(NodeWorker, [plan.code, plan.options], new.target); // eslint-disable-line no-constructor-return
      } catch (error) {
        // An inherited option that a Worker refuses and isProcessWideOption does not
        // know: inherit node's way instead, without internals (the worker then uses the
        // public ES module fallback).
        if (error?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || plan.plainOptions === null) throw error;
        return Reflect.construct(NodeWorker, [plan.code, plan.plainOptions], new.target); // eslint-disable-line no-constructor-return
      }
    }
  }
  workerThreads.Worker = Worker;

  function planWorker(filename, options) {
    if (app.bootstrap === null || (options != null && typeof options !== 'object')) return null;
    const given = options ?? {};
    let start;
    if (given.eval) {
      if (typeof filename !== 'string') return null; // node's error
      start = { role: 'worker', code: filename };
    } else {
      const file = workerFile(filename);
      if (file === null) return null;
      start = { role: 'worker', filename: file };
    }
    if (given.execArgv !== undefined && !Array.isArray(given.execArgv)) return null; // node's error
    Object.assign(start, { virtualRoot: VIRTUAL_ROOT, appIdentity: launch.appIdentity });
    start.execArgv = (given.execArgv ?? process.execArgv).map(String);
    if (workerThreads.getEnvironmentData(WORKER_ENVIRONMENT_KEY) === undefined) {
      workerThreads.setEnvironmentData(WORKER_ENVIRONMENT_KEY, { archive: sharedArchive(), bootstrap: app.bootstrap });
    }
    const code = workerStub(start);
    const plainOptions = { ...given, eval: true };
    if (!esm.internalsReachable) return { code, options: plainOptions, plainOptions: null };
    // Inherited options that a Worker refuses are process-wide: they apply to it anyway.
    const inherited = given.execArgv ?? process.execArgv.filter((option) => !isProcessWideOption(option));
    const withInternals = { ...plainOptions, execArgv: [...inherited, '--expose-internals'] };
    return { code, options: withInternals, plainOptions: given.execArgv === undefined ? plainOptions : null };
  }
}

// A worker's file as node reads the argument: an absolute path, ./ or ../ from the
// working directory, or a file: URL. Only files under the virtual root are ours.
function workerFile(filename) {
  let file = null;
  if (typeof filename === 'string') {
    if (path.isAbsolute(filename) || /^\.\.?[\\/]/.test(filename)) file = path.resolve(filename);
  } else if (filename !== null && typeof filename === 'object' && filename.protocol === 'file:' &&
    typeof filename.href === 'string') {
    try {
      file = url.fileURLToPath(filename);
    } catch {
      return null; // node's error
    }
  }
  return file !== null && isVirtualPath(file) ? file : null;
}

// The bundler's list (NodeOptionPolicy.processWide in Sources/BundlerCore/NodeOptions.swift),
// from the app's metadata.
function isProcessWideOption(option) {
  return app.processWideNodeOptions.has(String(option).split('=')[0].replace(/_/g, '-'));
}

function workerStub(start) {
  return `'use strict';
{
  const { archive, bootstrap } = require('worker_threads').getEnvironmentData(${JSON.stringify(WORKER_ENVIRONMENT_KEY)});
  const source = require('buffer').Buffer.from(archive, bootstrap.offset, bootstrap.length).toString('utf8');
  require('vm').compileFunction(source, ['process', 'internalRequire', 'archive'], { filename: 'bundle:bootstrap.js' })(
    process, require, archive, ${JSON.stringify(start)});
}
`;
}

// Inside the worker, after the bootstrap is installed: what node's worker would run.
function runWorker(start) {
  process.execArgv = start.execArgv;
  if (start.code !== undefined) {
    Object.defineProperty(process, '_eval', { __proto__: null, configurable: true, enumerable: true, value: start.code });
    runtime.evalWorkerCode(start.code);
    return;
  }
  delete process._eval;
  process.argv[1] = start.filename; // node: [execPath, filename, ...argv]
  runMain(resolveMain(start.filename));
}

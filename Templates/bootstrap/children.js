// Children the app starts with its own executable, and running as node in such a child.

// MARK: - Children of the app
//
// A child started with the app's own executable (fork, cluster, spawn/exec/execFile of
// process.execPath, a shell command naming it, `bash -c '<execPath> …'`) gets
// BUNDLE_STARTED_BY=<this app's identity> in its environment, whatever `env` the call
// passes; embed.cc then lets node parse that child's command line, and runAsNode runs
// what node would. The launcher removes the variable at every start, so it reaches
// only such children, never a program the app starts for other reasons (nor, through
// it, another start of the app). Which calls name the app: the file, an argument or
// the shell command contains process.execPath (false positives only give some other
// program a variable it does not read).

function installChildSupport() {
  const childProcess = internalRequire('child_process');
  // Where each function takes its options (after the file and an optional args array,
  // or after the command) and what it runs.
  const shapes = {
    spawn: 'file', spawnSync: 'file', execFile: 'file', execFileSync: 'file',
    exec: 'command', execSync: 'command', fork: 'module',
  };
  for (const [name, shape] of Object.entries(shapes)) {
    replace(childProcess, name, (original) => function startChild(...args) {
      return Reflect.apply(original, this, markedIfChildOfApp(shape, args));
    });
  }
}

function markedIfChildOfApp(shape, args) {
  const namesApp = (value) => typeof value === 'string' && value.includes(process.execPath);
  let at = 1;
  if (shape !== 'command' && Array.isArray(args[1])) at = 2;
  const given = args[at];
  const isOptions = given !== null && typeof given === 'object' && !Array.isArray(given);
  if (given != null && !isOptions && typeof given !== 'function') return args; // node's error
  const options = isOptions ? given : {};
  const list = Array.isArray(args[1]) ? args[1] : [];
  const ours = shape === 'module'
    ? options.execPath === undefined || namesApp(options.execPath)
    : namesApp(args[0]) || list.some(namesApp);
  if (!ours) return args;
  if (options.env != null && typeof options.env !== 'object') return args; // node's error
  const marked = { ...options, env: { ...(options.env ?? process.env), [STARTED_BY_ENVIRONMENT_KEY]: launch.appIdentity } };
  const result = [...args];
  if (isOptions || given === undefined || given === null) result[at] = marked;
  else result.splice(at, 0, marked); // (file, callback), (command, callback)
  return result;
}

// What `node [options] [script | -e code | -p code | -] [args]` runs, for a child of
// the app (embed.cc has let node parse the options). A script under the virtual root
// is the bundled module; any other path is a file on disk, resolved as node does from
// the working directory, and one found nowhere fails with node's own "Cannot find
// module" and exit code 1. Code comes from -e/-p, else from stdin, or a REPL on a
// terminal, as node's main would choose.
function runAsNode() {
  const commandLine = runtime.nodeCommandLine();
  if (commandLine.refused !== undefined) {
    process.stderr.write(`${process.execPath}: node's ${commandLine.refused} is not available in a bundled app\n`);
    process.exit(9); // node's exit code for an option it cannot use
  }
  if (commandLine.evalCode !== undefined && !commandLine.interactive) {
    evalAsNode('[eval]', commandLine.evalCode, commandLine);
    return;
  }
  const script = process.argv[1];
  if (script !== undefined && script !== '-') {
    process.argv[1] = path.resolve(script);
    if (isVirtualPath(process.argv[1])) runMain(resolveMain(process.argv[1]));
    else Module.runMain(process.argv[1]);
    return;
  }
  if (commandLine.interactive || process.stdin.isTTY) {
    runtime.startRepl();
    return;
  }
  runtime.readStdin((code) => {
    process._eval = code;
    evalAsNode('[stdin]', code, commandLine);
  });
}

function evalAsNode(name, code, { print, inputType }) {
  if (inputType === 'module') runtime.evalModule(code, print);
  else runtime.evalScript(name, code, print, inputType);
}

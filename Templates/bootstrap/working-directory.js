// A working directory inside the bundle (process.chdir/process.cwd).

// process.chdir() into a bundled folder (`process.chdir(__dirname)`, common in servers
// and CLIs): the kernel cannot enter it, so the working directory becomes virtual.
// process.cwd() shows it, path.resolve() and relative fs paths start from it, and
// require() from the working directory (-e, the REPL) looks there. The real working
// directory stays where it was: child processes start there unless given `cwd`, and
// process.chdir() to a real folder leaves the virtual one.
function installWorkingDirectory(vfs) {
  const realCwd = process.cwd;
  replace(process, 'chdir', (original) => function chdir(directory) {
    if (typeof directory !== 'string') return Reflect.apply(original, this, arguments); // node's error
    const target = path.resolve(directory);
    if (!isVirtualPath(target)) {
      Reflect.apply(original, this, [target]);
      virtualWorkingDirectory = null;
      return undefined;
    }
    const node = vfs.find(target);
    if (node?.kind !== DIRECTORY) {
      // node's message names both: "ENOENT: no such file or directory, chdir '/cwd' -> 'x'"
      const error = systemError(node === undefined ? 'ENOENT' : 'ENOTDIR', 'chdir', process.cwd(), directory);
      throw hideBootstrapFrames(error, chdir);
    }
    virtualWorkingDirectory = target;
    return undefined;
  });
  replace(process, 'cwd', () => function cwd() {
    return virtualWorkingDirectory ?? Reflect.apply(realCwd, process, []);
  });
}

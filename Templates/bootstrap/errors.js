// Errors shaped like those node itself throws, for the virtual file system and the resolver.

// Errors shaped like libuv's through node: "ENOENT: no such file or directory, open '/x'".
function systemError(code, syscall, filePath, dest) {
  const errno = -os.constants.errno[code];
  systemErrorMap ??= util.getSystemErrorMap();
  const description = systemErrorMap.get(errno)?.[1] ?? code;
  let message = `${code}: ${description}, ${syscall}`;
  if (filePath !== undefined) message += ` '${filePath}'`;
  if (dest !== undefined) message += ` -> '${dest}'`;
  const error = new Error(message);
  // The order node sets them in, which Object.keys and util.inspect show.
  if (runtime.systemErrorCodeFirst) Object.assign(error, { errno, code, syscall });
  else Object.assign(error, { errno, syscall, code });
  if (filePath !== undefined) error.path = filePath;
  if (dest !== undefined) error.dest = dest;
  return error;
}

// Errors shaped like node's own: the stack reads "TypeError [CODE]: message".
function nodeError(Base, code, message) {
  const error = new Base(message);
  error.name = `${Base.name} [${code}]`;
  error.stack; // eslint-disable-line no-unused-expressions -- formats the stack with that name
  delete error.name;
  error.code = code;
  return error;
}

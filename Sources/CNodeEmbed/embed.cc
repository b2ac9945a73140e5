// The embedder sequence from Node's "C++ embedder API" page, for node 18's libnode,
// behind a C ABI so the Swift launcher can dlopen it after making libnode available.
#include "CNodeEmbed.h"

#include <node.h>
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

using v8::ArrayBuffer;
using v8::Context;
using v8::Function;
using v8::HandleScope;
using v8::Isolate;
using v8::Local;
using v8::Locker;
using v8::MaybeLocal;
using v8::ScriptCompiler;
using v8::ScriptOrigin;
using v8::SharedArrayBuffer;
using v8::String;
using v8::Value;

void PrintErrors(const std::vector<std::string>& errors) {
  for (const std::string& error : errors) std::fprintf(stderr, "bundle: %s\n", error.c_str());
}

// Compiles the bootstrap as a function of (process, internalRequire, archive) and calls
// it. An exception it throws is left uncaught on purpose: node's message listener then
// reports it exactly as for `node app.js` (message, stack, exit code 1).
MaybeLocal<Value> RunBootstrap(const node::StartExecutionCallbackInfo& info,
                               const bundle_embed_options& options) {
  Isolate* isolate = Isolate::GetCurrent();
  Local<Context> context = isolate->GetCurrentContext();

  Local<String> code;
  if (!String::NewFromUtf8(isolate, options.bootstrap_source, v8::NewStringType::kNormal,
                           static_cast<int>(options.bootstrap_length)).ToLocal(&code)) {
    return {};
  }
  ScriptOrigin origin(isolate, String::NewFromUtf8Literal(isolate, "bundle:bootstrap.js"));
  ScriptCompiler::Source source(code, origin);
  Local<String> params[] = {
      String::NewFromUtf8Literal(isolate, "process"),
      String::NewFromUtf8Literal(isolate, "internalRequire"),
      String::NewFromUtf8Literal(isolate, "archive"),
  };
  Local<Function> bootstrap;
  if (!ScriptCompiler::CompileFunction(context, &source, 3, params, 0, nullptr).ToLocal(&bootstrap)) {
    return {};
  }

  // The archive lives in the launcher's memory for the whole process: no copy, no free.
  // A SharedArrayBuffer, so that worker threads get the same bytes without a copy: the
  // bootstrap hands it to them through worker_threads' environment data, and V8 shares
  // the backing store instead of cloning it (measured: no copy, whatever the size).
  auto store = SharedArrayBuffer::NewBackingStore(
      options.archive, options.archive_length, [](void*, size_t, void*) {}, nullptr);
  Local<Value> args[] = {info.process_object, info.native_require,
                         SharedArrayBuffer::New(isolate, std::move(store))};
  return bootstrap->Call(context, v8::Undefined(isolate), 3, args);
}

int RunEnvironment(node::MultiIsolatePlatform* platform, const std::vector<std::string>& args,
                   const std::vector<std::string>& exec_args, const bundle_embed_options& options) {
  std::vector<std::string> errors;
  std::unique_ptr<node::CommonEnvironmentSetup> setup =
      node::CommonEnvironmentSetup::Create(platform, &errors, args, exec_args);
  if (!setup) {
    PrintErrors(errors);
    return 1;
  }

  Isolate* isolate = setup->isolate();
  node::Environment* env = setup->env();
  int exit_code = 0;
  {
    Locker locker(isolate);
    Isolate::Scope isolate_scope(isolate);
    HandleScope handle_scope(isolate);
    Context::Scope context_scope(setup->context());

    MaybeLocal<Value> loaded = node::LoadEnvironment(
        env, [&](const node::StartExecutionCallbackInfo& info) { return RunBootstrap(info, options); });
    if (loaded.IsEmpty()) return 1;  // Already reported by node.

    exit_code = node::SpinEventLoop(env).FromMaybe(1);
    node::Stop(env);
  }
  return exit_code;
}

// MARK: - Children of the app (child_process.fork, cluster)
//
// fork(modulePath, args, { execArgv }) runs `process.execPath [...execArgv] modulePath
// ...args`, and process.execPath is the bundled app. So a command line of the form
//     app --node-option [...] /$bundle/<module> [args...]
// (one or more arguments starting with '-', then a path under the virtual root) is a
// child started that way: the options are node's, not the app's. The bootstrap's fork()
// keeps only single-argument options there, and of those only the ones below are
// applied (memory, stack, warnings, diagnostics on stderr): anything else (--require,
// --import, --loader, --inspect, ...) could load code or open a port, as NODE_OPTIONS
// could, and is dropped, neither applied nor passed to the app. The bootstrap then runs
// /$bundle/<module> (or reports it missing, as node would); it also recognizes
// `app /$bundle/<module> args` without options. So `./app --flag /$bundle/x.js` has
// that meaning too; no command line without a /$bundle/ path changes meaning.

constexpr char kVirtualRoot[] = "/$bundle/";

bool IsAppliedChildOption(const char* arg) {
  static const char* const kFlags[] = {
      "--expose-gc", "--no-warnings", "--no-deprecation", "--trace-warnings", "--trace-deprecation",
      "--throw-deprecation", "--pending-deprecation", "--trace-uncaught", "--trace-exit",
      "--enable-source-maps", "--zero-fill-buffers", "--abort-on-uncaught-exception",
      "--no-experimental-fetch", "--no-experimental-global-webcrypto",
      "--no-experimental-global-customevent",
  };
  static const char* const kWithValue[] = {
      "--max-old-space-size", "--max-semi-space-size", "--stack-size", "--stack-trace-limit",
      "--unhandled-rejections", "--max-http-header-size", "--dns-result-order", "--title",
      "--disable-proto",
  };
  // V8 spells its flags with '_' or '-' alike.
  std::string option(arg);
  const size_t equals = option.find('=');
  std::string name = option.substr(0, equals);
  for (size_t i = 2; i < name.size(); i++) {
    if (name[i] == '_') name[i] = '-';
  }
  if (equals == std::string::npos) {
    for (const char* flag : kFlags) {
      if (name == flag) return true;
    }
    return false;
  }
  for (const char* flag : kWithValue) {
    if (name == flag) return true;
  }
  return false;
}

// Splits `app [options] /$bundle/<module> args` into node's options and the app's argv.
void SplitChildCommandLine(const bundle_embed_options& options, std::vector<std::string>* node_args,
                           std::vector<std::string>* args) {
  args->assign(options.argv, options.argv + options.argc);
  int first = 1;
  while (first < options.argc && options.argv[first][0] == '-' && options.argv[first][1] != '\0' &&
         std::strcmp(options.argv[first], "--") != 0) {
    first++;
  }
  if (first == 1 || first >= options.argc ||
      std::strncmp(options.argv[first], kVirtualRoot, sizeof kVirtualRoot - 1) != 0) {
    return;
  }
  for (int i = 1; i < first; i++) {
    if (IsAppliedChildOption(options.argv[i])) node_args->emplace_back(options.argv[i]);
  }
  args->assign(options.argv + first, options.argv + options.argc);
  args->insert(args->begin(), options.argv[0]);
}

}  // namespace

extern "C" int bundle_embed_run(const bundle_embed_options* options) {
  // Node parses only argv0 and the baked options: the user's arguments belong to the
  // app, so `./app --version` reaches the app instead of printing node's version. The
  // one exception is a child of the app (see SplitChildCommandLine).
  std::vector<std::string> node_args = {options->argv[0]};
  for (int i = 0; i < options->node_option_count; i++) node_args.emplace_back(options->node_options[i]);
  std::vector<std::string> args;
  SplitChildCommandLine(*options, &node_args, &args);

  // NODE_OPTIONS must not inject code into a shipped app. V8 and the platform are
  // initialized here, not by node, so the page's order (platform, then V8) holds on 18.
  uint64_t flags = node::ProcessInitializationFlags::kNoInitializeV8 |
                   node::ProcessInitializationFlags::kNoInitializeNodeV8Platform;
  if (!options->allow_node_options) flags |= node::ProcessInitializationFlags::kDisableNodeOptionsEnv;
  std::unique_ptr<node::InitializationResult> result = node::InitializeOncePerProcess(
      node_args, static_cast<node::ProcessInitializationFlags::Flags>(flags));
  PrintErrors(result->errors());
  if (result->early_return()) return result->exit_code();

  std::unique_ptr<node::MultiIsolatePlatform> platform = node::MultiIsolatePlatform::Create(4);
  v8::V8::InitializePlatform(platform.get());
  v8::V8::Initialize();

  int exit_code = RunEnvironment(platform.get(), args, result->exec_args(), *options);

  v8::V8::Dispose();
  v8::V8::DisposePlatform();
  node::TearDownOncePerProcess();
  return exit_code;
}

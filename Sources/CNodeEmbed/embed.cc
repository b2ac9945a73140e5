// The embedder sequence from Node's "C++ embedder API" page, for node 18's libnode,
// behind a C ABI so the Swift launcher can dlopen it after making libnode available.
#include "CNodeEmbed.h"

#include <node.h>
#include <uv.h>

#include <cstdio>
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
  auto store = ArrayBuffer::NewBackingStore(
      options.archive, options.archive_length, [](void*, size_t, void*) {}, nullptr);
  Local<Value> args[] = {info.process_object, info.native_require,
                         ArrayBuffer::New(isolate, std::move(store))};
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

}  // namespace

extern "C" int bundle_embed_run(const bundle_embed_options* options) {
  // Node parses only argv0 and the baked options: the user's arguments belong to the
  // app, so `./app --version` reaches the app instead of printing node's version.
  std::vector<std::string> node_args = {options->argv[0]};
  for (int i = 0; i < options->node_option_count; i++) node_args.emplace_back(options->node_options[i]);

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

  std::vector<std::string> args(options->argv, options->argv + options->argc);
  int exit_code = RunEnvironment(platform.get(), args, result->exec_args(), *options);

  v8::V8::Dispose();
  v8::V8::DisposePlatform();
  node::TearDownOncePerProcess();
  return exit_code;
}

import FoundationEssentials

public enum Versions {
    /// This tool's version.
    public static let bundle = "0.1.0"

    /// What `bundle --version` prints: a one-file `bundle` names the runtime it carries,
    /// a build folder the runtimes prepared in it (Scripts/build-runtime), default first.
    public static var line: String {
        switch Result(catching: { try CarriedToolkit.record(of: CommandLine.executablePath) }) {
        case .success(let record?): return "bundle \(bundle) (carries node \(record.nodeVersion) runtime, portable)"
        case .success(nil): return "bundle \(bundle) (\(preparedRuntimes))"
        case .failure(let error): return "bundle \(bundle) (\(preparedRuntimes)); \(error)"
        }
    }

    static var preparedRuntimes: String {
        let directory = Path.dirname(CommandLine.executablePath)
        let runtimes = NodeRuntime.available(in: directory).compactMap { try? NodeRuntime.locate($0, in: directory) }
        guard !runtimes.isEmpty else { return "no node runtime prepared: run Scripts/setup" }
        let ordered = runtimes.filter { $0.name == NodeRuntime.defaultName } + runtimes.filter { $0.name != NodeRuntime.defaultName }
        return ordered.map { "node \($0.nodeVersion)" + ($0.name == NodeRuntime.defaultName ? " by default" : ": --node \($0.major)") }
            .joined(separator: ", ")
    }
}

/// Which node flags an author may bake into an app (`--node-option`). Only flags that
/// tune the runtime are allowed; flags that load code, open ports or change what runs
/// (`--require`, `--import`, `--loader`, `--inspect`, `-e`, …) would let a bundle behave
/// unlike its source, and unknown flags would make node refuse to start.
public enum NodeOptionPolicy {
    static let flags: Set<String> = [
        "--expose-gc", "--no-warnings", "--no-deprecation", "--trace-warnings", "--trace-deprecation",
        "--throw-deprecation", "--pending-deprecation", "--trace-uncaught", "--trace-exit",
        "--enable-source-maps", "--zero-fill-buffers", "--abort-on-uncaught-exception",
        "--no-experimental-fetch", "--no-experimental-global-webcrypto", "--no-experimental-global-customevent",
        "--preserve-symlinks", "--preserve-symlinks-main", "--use-openssl-ca", "--use-bundled-ca",
        "--openssl-legacy-provider", "--no-force-async-hooks-checks", "--jitless", "--no-addons",
        "--experimental-global-webcrypto", "--experimental-wasm-modules", "--experimental-json-modules",
        "--tls-min-v1.0", "--tls-min-v1.1", "--tls-min-v1.2", "--tls-min-v1.3", "--tls-max-v1.2", "--tls-max-v1.3",
    ]
    static let withValue: Set<String> = [
        "--max-old-space-size", "--max-semi-space-size", "--stack-size", "--stack-trace-limit",
        "--unhandled-rejections", "--max-http-header-size", "--dns-result-order", "--title",
        "--disable-proto", "--secure-heap", "--secure-heap-min", "--heapsnapshot-near-heap-limit",
        "--diagnostic-dir",
    ]

    /// The flags above that apply to the whole process rather than to one node
    /// environment (V8's heap, stack and JIT, OpenSSL's certificate store, the process
    /// title): node refuses them in a Worker's execArgv (ERR_WORKER_INVALID_EXEC_ARGV,
    /// measured on each runtime by NodeOptionsTests) and every worker has them anyway. The
    /// bootstrap leaves them out of the execArgv it gives workers; it reads this list from
    /// the app's metadata (`AppMetadata.processWideNodeOptions`), so there is one.
    public static let processWide: Set<String> = [
        "--max-old-space-size", "--max-semi-space-size", "--stack-size", "--stack-trace-limit", "--expose-gc",
        "--zero-fill-buffers", "--abort-on-uncaught-exception", "--title", "--disable-proto", "--jitless",
        "--use-openssl-ca", "--use-bundled-ca", "--openssl-legacy-provider", "--secure-heap", "--secure-heap-min",
    ]

    /// Flags that node stopped accepting from a major version on (node then refuses to
    /// start: "… is an invalid negation because it is not a boolean option"), measured
    /// against each runtime's node: the features they turned off are no longer optional.
    static let refusedFrom: [String: Int] = [
        "--no-experimental-fetch": 24, "--no-experimental-global-webcrypto": 24, "--no-experimental-global-customevent": 24,
    ]

    /// Nil when `option` may be baked into an output of node `nodeMajor`; otherwise why not.
    public static func problem(with option: String, nodeMajor: Int) -> String? {
        let name = String(option.split(separator: "=", maxSplits: 1).first ?? "").replacing("_", with: "-")
        if let major = refusedFrom[name], nodeMajor >= major {
            return "node option '\(option)' no longer exists in node \(nodeMajor) (node refuses to start with it from \(major) on); it applies to older runtimes, such as --node 18"
        }
        return problem(with: option)
    }

    /// Nil when `option` may be baked in on some runtime; otherwise why not.
    static func problem(with option: String) -> String? {
        guard option.hasPrefix("--") else { return "node option '\(option)' must be written --name or --name=value" }
        let parts = option.split(separator: "=", maxSplits: 1)
        let name = String(parts[0]).replacing("_", with: "-")
        if parts.count == 2 {
            guard withValue.contains(name) else { return "node option '\(option)' is unknown or unsafe to bake in (allowed: flags for memory, stack, warnings, TLS versions and diagnostics; see README)" }
            guard !parts[1].isEmpty, !parts[1].contains("\n") else { return "node option '\(option)' needs a value" }
            return nil
        }
        if withValue.contains(name) { return "node option '\(option)' needs a value, as \(name)=…" }
        guard flags.contains(name) else { return "node option '\(option)' is unknown or unsafe to bake in (allowed: flags for memory, stack, warnings, TLS versions and diagnostics; see README)" }
        return nil
    }

    /// Every flag that may be baked in, for the README and error messages.
    public static var allowed: [String] { flags.sorted() + withValue.sorted().map { $0 + "=…" } }
}

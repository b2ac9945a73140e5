// swift-tools-version: 6.0
import PackageDescription

// Data flows one way:
//   bundle (CLI) → BundlerCore → PayloadFormat ← Launcher → (dlopen) embedding shim → libnode
// The embedding shim (Sources/CNodeEmbed) is built per node runtime against that
// runtime's headers by Scripts/build-runtime, not here: see that script.
// The launcher (Sources/Launcher, with PayloadFormat and Sources/CLauncherSupport) is
// Embedded Swift, built by Scripts/build-launcher, not here: its modules, PayloadFormat
// among them, are compiled in Embedded mode, and SwiftPM builds PayloadFormat once, for
// the CLI. Scripts/setup, Scripts/test and Scripts/package run it after `swift build`.
let package = Package(
    name: "bundle",
    products: [
        .executable(name: "bundle", targets: ["bundle"]),
        // The first stage of portable outputs (Sources/Stage/stage.c).
        .executable(name: "bundle-stage", targets: ["Stage"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // libzstd-dev. Linked statically (`-l:libzstd.a`) so bundled apps need no libzstd.
        .systemLibrary(name: "CZstd", path: "Sources/CZstd"),
        // The payload format's numbers and magics, one header for PayloadFormat and the
        // first stage (and, through PayloadFormat, the bootstrap).
        .target(name: "CPayloadFormat"),
        .target(
            name: "PayloadFormat",
            dependencies: ["CPayloadFormat", "CZlib", "CZstd"],
            linkerSettings: [.linkedLibrary(":libzstd.a")]
        ),
        .target(
            name: "BundlerCore",
            dependencies: ["PayloadFormat", "CZlib", "CZstd", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .executableTarget(
            name: "bundle",
            dependencies: ["BundlerCore", "PayloadFormat", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            // No Swift runtime needed where it runs, so Scripts/package can make it one
            // file that works on another machine (README, "One-file bundle").
            // FoundationEssentials only: Foundation would bring its ICU data (~30 MB).
            // The Foundation modules were compiled against the shared libraries, so their
            // static counterparts' own dependencies are named here.
            linkerSettings: [.unsafeFlags([
                "-static-stdlib", "-Xlinker", "--start-group", "-lFoundationEssentials", "-l_FoundationCShims",
                "-l_FoundationCollections", "-lswiftSynchronization", "-lswiftDispatch", "-ldispatch", "-lBlocksRuntime",
                "-Xlinker", "--end-group",
            ])]
        ),
        // Where the cache directories live: one rule for the launcher and the first stage.
        .target(name: "CCacheRules"),
        // Runs before anything of the host's userland can: static, and no Swift at all.
        // Not static-pie: SwiftPM gives every executable -rpath=$ORIGIN, and glibc's
        // static-pie start code aborts on a DT_RUNPATH. Its image is unmapped before the
        // app runs, so its fixed address stays out of the app's process.
        .executableTarget(
            name: "Stage",
            dependencies: ["CPayloadFormat", "CCacheRules"],
            linkerSettings: [
                // No Swift startup object; the static Swift libraries SwiftPM names are
                // left unused, and with them nothing is exported.
                .unsafeFlags(["-nostartfiles", "-static-stdlib", "-Xlinker", "--no-export-dynamic"]),
                .unsafeFlags(["-Xclang-linker", "-static", "-Xclang-linker", "-Wno-unused-command-line-argument"]),
                .linkedLibrary(":libzstd.a"),
                .unsafeFlags(["-Xlinker", "--strip-all"], .when(configuration: .release)),
            ]
        ),
        .testTarget(name: "PayloadFormatTests", dependencies: ["PayloadFormat"]),
        .testTarget(name: "BundlerCoreTests", dependencies: ["BundlerCore"]),
        // What the end-to-end suites share about starting programs.
        .target(name: "ProcessTestSupport", path: "Tests/ProcessTestSupport"),
        .testTarget(name: "EndToEndTests", dependencies: ["BundlerCore", "ProcessTestSupport"]),
        // Runs the release binaries (BUNDLE_BIN_DIR, default .build/release) in a chroot
        // holding only the base libraries. Needs root (unshare, chroot, mount).
        .testTarget(name: "SelfContainedTests", dependencies: ["PayloadFormat", "BundlerCore", "ProcessTestSupport"]),
    ]
)

// swift-tools-version: 6.0
import PackageDescription

// Data flows one way:
//   bundle (CLI) → BundlerCore → PayloadFormat ← Launcher → (dlopen) CNodeEmbed → libnode
let package = Package(
    name: "bundle",
    products: [
        .executable(name: "bundle", targets: ["bundle"]),
        .executable(name: "bundle-launcher", targets: ["Launcher"]),
        // The launcher loads this with dlopen after it has made libnode available, so
        // the launcher itself never links libnode.
        .library(name: "BundleEmbed", type: .dynamic, targets: ["CNodeEmbed"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(name: "PayloadFormat", dependencies: ["CZlib"]),
        .target(
            name: "BundlerCore",
            dependencies: ["PayloadFormat", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .executableTarget(
            name: "bundle",
            dependencies: ["BundlerCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(name: "CLauncherSupport"),
        .executableTarget(
            name: "Launcher",
            dependencies: ["PayloadFormat", "CLauncherSupport"],
            linkerSettings: [
                // The launcher must run on machines without a Swift runtime.
                .unsafeFlags(["-static-stdlib"]),
                .linkedLibrary("dl"),
            ]
        ),
        .target(
            name: "CNodeEmbed",
            cxxSettings: [.unsafeFlags(["-I/usr/include/node"])],
            linkerSettings: [.linkedLibrary("node"), .linkedLibrary("uv")]
        ),
        .testTarget(name: "PayloadFormatTests", dependencies: ["PayloadFormat"]),
        .testTarget(name: "BundlerCoreTests", dependencies: ["BundlerCore"]),
        .testTarget(name: "EndToEndTests", dependencies: ["BundlerCore"]),
    ],
    cxxLanguageStandard: .cxx17
)

import Crypto
import PayloadFormat

/// The runtime section: the libraries the launcher loads, in load order. With the
/// system runtime it holds only the embedding shim, which finds the installed libnode.
public struct RuntimePack: Sendable {
    public var compressed: [UInt8]
    public var uncompressedSize: Int
    public var digest: [UInt8]
    public var selfContained: Bool

    public static func system(toolkit: Toolkit, fileSystem: FileSystem) throws -> RuntimePack {
        let shim = ArchiveEntry(path: "lib/libBundleEmbed.so", kind: .library, data: try fileSystem.contents(of: toolkit.embedShim))
        return try make(entries: [shim], loadOrder: [shim.path], selfContained: false)
    }

    static func make(entries: [ArchiveEntry], loadOrder: [String], selfContained: Bool) throws -> RuntimePack {
        let archive = try ArchiveWriter.write(entries: entries, metadata: Array(loadOrder.map { $0 + "\n" }.joined().utf8))
        let compressed = Zlib.compress(archive)
        return RuntimePack(compressed: compressed, uncompressedSize: archive.count,
                           digest: Array(SHA256.hash(data: compressed)), selfContained: selfContained)
    }
}

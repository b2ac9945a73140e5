import FoundationEssentials

/// Files of a developer's folders that must not reach a customer by accident, whatever
/// the publish rules say: whoever receives the executable can read every bundled file.
/// They are bundled only when the code reaches them, or `--include` (or a package.json
/// `files` entry) names them (`Glob.namesFilesExplicitly`).
public enum SensitiveFile: Equatable, Sendable, CustomStringConvertible {
    /// Credentials or local configuration; the associated text says which kind.
    case secret(String)
    /// An ELF file that is not an addon or shared library: a program (a previous output of
    /// this or another tool), a core dump or an object file.
    case executable(String)

    public var description: String {
        switch self {
        case .secret(let kind), .executable(let kind): kind
        }
    }

    /// What `path` is, or nil for an ordinary file. Reads at most the first 4 KB, and
    /// a `.pem` file's text (to tell a private key from a certificate).
    static func classify(_ path: String, fs: FileSystem) -> SensitiveFile? {
        secret(path, fs: fs) ?? head(of: path, fs: fs).flatMap { executableKind($0, name: Path.basename(path)) }.map(SensitiveFile.executable)
    }

    /// The kind of secret `path` is, by its name (and a `.pem` file's text), else nil.
    static func secret(_ path: String, fs: FileSystem) -> SensitiveFile? {
        let name = Path.basename(path)
        if name.hasPrefix(".env") { return .secret("an environment file (.env*)") }
        switch name {
        case ".npmrc": return .secret("npm configuration, which holds registry tokens (.npmrc)")
        case ".netrc": return .secret("login credentials (.netrc)")
        case ".git-credentials": return .secret("git credentials (.git-credentials)")
        default: break
        }
        if ["id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"].contains(where: { name.hasPrefix($0) }) {
            return .secret("an SSH key (\(name))")
        }
        if name.hasSuffix(".key") { return .secret("a key file (*.key)") }
        if name.hasSuffix(".p12") || name.hasSuffix(".pfx") { return .secret("a PKCS#12 key store") }
        if name.hasSuffix(".pem"), fs.size(of: path).map({ $0 <= 1 << 20 }) ?? false,
           let text = try? fs.contents(of: path), String(decoding: text, as: UTF8.self).contains("PRIVATE KEY-----") {
            return .secret("a private key (*.pem)")
        }
        return nil
    }

    /// ELF files other than shared objects named as addons or libraries (`.node`, `.so`,
    /// `.so.N`), which code loads under names computed at run time (bindings,
    /// node-gyp-build) and `NativeAddons` packs: nil for those and for anything not ELF.
    static func executableKind(_ head: [UInt8], name: String) -> String? {
        guard head.count >= 64, head.starts(with: [0x7f, 0x45, 0x4c, 0x46]) else { return nil }
        let library = name.hasSuffix(".node") || name.hasSuffix(".so") || name.contains(".so.")
        // Only little-endian 64-bit objects run here; addons for other machines are kept as
        // packages keep prebuilds side by side (`NativeAddons` leaves them plain files).
        guard head[4] == 2, head[5] == 1 else { return library ? nil : "an ELF file for another machine" }
        switch head.integer(UInt16.self, at: 16) {
        case 1: return "an ELF object file"
        case 2: return "an ELF program"
        case 4: return "a core dump"
        case 3:
            // A position-independent program names its interpreter (PT_INTERP); a static
            // one does not, but is not named like a library.
            let phoff = Int(head.integer(UInt64.self, at: 32))
            let entrySize = Int(head.integer(UInt16.self, at: 54)), count = Int(head.integer(UInt16.self, at: 56))
            let interpreted = phoff < head.count && (0..<count).contains { head.integer(UInt32.self, at: phoff + $0 * entrySize) == 3 }
            return interpreted || !library ? "an ELF program" : nil
        default: return "an ELF file"
        }
    }

    /// The first 4 KB of a file (nil when it cannot be read).
    private static func head(of path: String, fs: FileSystem) -> [UInt8]? {
        var head: [UInt8] = []
        do {
            try fs.read(path, pieceSize: 4096) { piece in
                head += piece.prefix(4096 - head.count)
                if head.count >= 4096 { throw HeadRead.enough }
            }
        } catch HeadRead.enough {
        } catch {
            return nil
        }
        return head
    }

    private enum HeadRead: Error { case enough }
}

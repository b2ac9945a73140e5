import CPayloadFormat
import FoundationEssentials

/// The payload format's numbers and magics for the bootstrap, which reads the app
/// archive with them (Templates/bootstrap/archive.js): the toolkit writes them in as the
/// constant FORMAT where the manifest says `<format>`. They come from the header that
/// PayloadFormat and the first stage read too (payload_format.h), so the format is
/// written in one place. Every constant of the header, named as its name camel-cased
/// (BUNDLE_ARCHIVE_MAGIC: archiveMagic, with the magic's NUL; BUNDLE_KIND_CODE_CACHE:
/// kinds.codeCache), as the bootstrap's tests read the header (Tests/bootstrap/archive.js);
/// BootstrapScriptTests checks both give the same.
struct BootstrapFormat: Encodable {
    /// The manifest line that stands for this part.
    static let manifestLine = "<format>"

    var trailerMagic = magic(BUNDLE_TRAILER_MAGIC)
    var trailerEndMagic = magic(BUNDLE_TRAILER_END_MAGIC)
    var archiveMagic = magic(BUNDLE_ARCHIVE_MAGIC)
    var stageRecordMagic = magic(BUNDLE_STAGE_RECORD_MAGIC)
    var frameIndexEndMagic = magic(BUNDLE_FRAME_INDEX_END_MAGIC)
    var codeCachePrefix = BUNDLE_CODE_CACHE_PREFIX
    var formatVersion = BUNDLE_FORMAT_VERSION
    var archiveVersion = BUNDLE_ARCHIVE_VERSION
    var trailerSize = BUNDLE_TRAILER_SIZE
    var stageRecordSize = BUNDLE_STAGE_RECORD_SIZE
    var archiveHeaderSize = BUNDLE_ARCHIVE_HEADER_SIZE
    var entryRecordSize = BUNDLE_ENTRY_RECORD_SIZE
    var flagSelfContained = BUNDLE_FLAG_SELF_CONTAINED
    var flagRuntimeZstd = BUNDLE_FLAG_RUNTIME_ZSTD
    var flagAppZstd = BUNDLE_FLAG_APP_ZSTD
    var flagPortable = BUNDLE_FLAG_PORTABLE
    var launcherMapped = BUNDLE_LAUNCHER_MAPPED
    var launcherZstd = BUNDLE_LAUNCHER_ZSTD
    var kinds = [
        "file": BUNDLE_KIND_FILE, "bootstrap": BUNDLE_KIND_BOOTSTRAP, "library": BUNDLE_KIND_LIBRARY,
        "builtin": BUNDLE_KIND_BUILTIN, "launchOptions": BUNDLE_KIND_LAUNCH_OPTIONS, "addon": BUNDLE_KIND_ADDON,
        "nativeIndex": BUNDLE_KIND_NATIVE_INDEX, "codeCache": BUNDLE_KIND_CODE_CACHE,
    ]

    private static func magic(_ characters: String) -> String { characters + "\0" }

    /// The object as JSON, keys sorted.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and integers only: encoding cannot fail.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    /// The part: one constant, which the parts after it read.
    var script: String {
        """
        // The payload format (Sources/CPayloadFormat/include/payload_format.h), written here
        // by the toolkit (Sources/BundlerCore/BootstrapFormat.swift).
        const FORMAT = \(json);

        """
    }
}

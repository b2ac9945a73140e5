import CLibc
import PayloadFormat

/// The C and C++ libraries a portable output carries ("Portable outputs" in
/// Format.swift). The first stage (Sources/Stage) has already loaded them when this
/// code runs: from the cache directory `base-<digest>` when it found a valid one, else
/// from memory files. Making and repairing that directory is left to this side, with the
/// runtime's code and rules (`CacheDirectory`), so the stage only ever reads it: the
/// first start runs from memory, the next ones from the directory made here.
enum BaseLibraries {
    static func prepare(_ image: SelfImage) {
        guard let record = image.stage else { return }
        let directory = CacheDirectory(prefix: "base-", digest: record.baseDigest)
        for base in CacheDirectory.candidateBases() {
            // The same candidates as the stage's, in the same order: the first valid one is
            // where the stage looks first.
            if directory.prepare(in: base, contents: { contents(image, record) }) != nil { return }
        }
    }

    /// The base section's libraries, flat, by file name.
    private static func contents(_ image: SelfImage, _ record: StageRecord) -> (files: CacheDirectory.Contents, release: () -> Void)? {
        guard let bytes = try? image.inflate(record.base, name: "base") else { return nil }
        guard let archive = try? ArchiveReader(bytes) else {
            bytes.deallocate()
            return nil
        }
        // Typed as Contents from the start: an array of unlabelled tuples converted to
        // one of labelled tuples is a dynamic cast, which Embedded Swift does not have.
        let files: CacheDirectory.Contents = archive.entries.map { (CacheDirectory.File(kind: $0.kind, size: $0.data.count, path: $0.path), $0.data) }
        return (files, { bytes.deallocate() })
    }
}

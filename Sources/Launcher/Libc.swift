import CLibc

// Embedded Swift has no Glibc module (a Swift overlay over the C headers, built against
// the full standard library); the launcher imports the bare headers as CLibc instead.
// These are the few things of the overlay it uses, with the overlay's names and types,
// so the code reads as it did with Glibc.

/// errno is a C macro (`*__errno_location()`), which Swift does not import.
var errno: Int32 {
    get { __errno_location().pointee }
    set { __errno_location().pointee = newValue }
}

/// The C `open` is variadic, which Swift cannot call: the header's wrapper passes the mode.
func open(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
    libc_open(path, flags, mode)
}

/// `(void *)-1`: a macro with a cast, which Swift does not import.
let MAP_FAILED = UnsafeMutableRawPointer(bitPattern: -1)

// Imported from the headers as Int32 macros; stat's st_mode is a mode_t.
let S_IFMT = mode_t(0o170000)
let S_IFDIR = mode_t(0o040000)
let S_IFREG = mode_t(0o100000)

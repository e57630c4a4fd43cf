import MFKit

/// The library version; the Python package checks that it matches its own.
let mfkitVersion: StaticString = "0.1.0"

@_cdecl("mfkit_version")
public func mfkit_version() -> UnsafePointer<CChar> {
    UnsafeRawPointer(mfkitVersion.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// Worker threads used for large work.
@_cdecl("mfkit_num_threads")
public func mfkit_num_threads() -> Int32 { Int32(mfkitThreadCount) }

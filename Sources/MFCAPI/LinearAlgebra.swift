import Glibc
import MFKit
import MFKitABI

// The BLAS/LAPACK in use (include/mfkit.h, "BLAS/LAPACK").

@c @implementation
public func mfkit_lapack_library(_ path: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                 _ integerBits: UnsafeMutablePointer<Int32>?) -> mfkit_status {
    exported {
        let library = try BLASLibrary.shared()
        path?.pointee = LibraryPath.string
        integerBits?.pointee = Int32(library.integerBits)
    }
}

/// The library's path in static storage (made once).
private enum LibraryPath {
    static let string: UnsafePointer<CChar>? = (try? BLASLibrary.shared()).map { UnsafePointer(strdup($0.path)!) }
}

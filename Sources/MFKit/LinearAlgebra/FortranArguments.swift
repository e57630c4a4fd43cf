/// The arguments of one Fortran BLAS/LAPACK call. Fortran takes every argument by address, so
/// they live in one stack block for the call: integers in the library's width (32 or 64
/// bits), characters, scalars, and a zeroed INFO slot. Character arguments also need their
/// hidden lengths (1), passed by value after the others.
struct FortranArguments {
    private let base: UnsafeMutableRawPointer
    private var used = 0
    private let capacity: Int
    let integerBits: Int

    /// Runs `body` with an argument block for `library`. O(1).
    static func with<R>(_ library: BLASLibrary, _ body: (inout FortranArguments) throws -> R) throws -> R {
        try withUnsafeTemporaryAllocation(byteCount: 512, alignment: 16) { raw in
            var args = FortranArguments(base: raw.baseAddress!, capacity: raw.count, integerBits: library.integerBits)
            return try body(&args)
        }
    }

    private init(base: UnsafeMutableRawPointer, capacity: Int, integerBits: Int) {
        self.base = base; self.capacity = capacity; self.integerBits = integerBits
    }

    private mutating func slot(_ bytes: Int) -> UnsafeMutableRawPointer {
        let size = (bytes + 15) & ~15
        precondition(used + size <= capacity, "FortranArguments: too many arguments")
        defer { used += size }
        return base + used
    }

    /// An integer argument; MFError.outOfMemory when it does not fit a 32-bit library.
    mutating func int(_ value: Int) throws -> UnsafeMutableRawPointer {
        let p = slot(8)
        if integerBits == 64 {
            p.storeBytes(of: Int64(value), as: Int64.self)
        } else {
            guard let v = Int32(exactly: value) else {
                throw MFError.outOfMemory("a size of \(value) does not fit the 32-bit integers of the BLAS/LAPACK in use")
            }
            p.storeBytes(of: v, as: Int32.self)
        }
        return p
    }

    /// A zeroed integer slot for an output (INFO); read it with `integer(at:)`.
    mutating func output() -> UnsafeMutableRawPointer {
        let p = slot(8)
        p.storeBytes(of: 0, as: Int64.self)
        return p
    }

    /// The integer at `p` (written by the library).
    func integer(at p: UnsafeMutableRawPointer) -> Int {
        integerBits == 64 ? Int(p.load(as: Int64.self)) : Int(p.load(as: Int32.self))
    }

    /// A character argument ('N', 'L', ...).
    mutating func char(_ c: UInt8) -> UnsafeMutableRawPointer {
        let p = slot(1)
        p.storeBytes(of: c, as: UInt8.self)
        return p
    }

    /// A scalar argument (alpha, beta) of any element type.
    mutating func scalar<T>(_ value: T) -> UnsafeMutableRawPointer {
        let p = slot(MemoryLayout<T>.size)
        p.storeBytes(of: value, as: T.self)
        return p
    }
}

/// Throws the MFError for a LAPACK INFO < 0 (an argument MFKit passed was refused: a bug).
func requireValidArguments(_ info: Int, _ routine: String) throws {
    if info < 0 { throw MFError.invalidArgument("\(routine) refused its argument \(-info)") }
}

// swift-tools-version:5.9
import Foundation
import PackageDescription

// Layers (see ARCHITECTURE.md): MFKit holds the mathematics; MFKitABI exposes include/mfkit.h
// (the one declaration of the C ABI) to Swift; MFCAPI implements that header with
// `@c @implementation` functions, so a signature that disagrees with the header fails the
// build, and is linked into libmfkit.so.

// The one unsafe flag: the library is compiled from source on the machine that runs it
// (`pip install -e python`), so release builds use that machine's vector units — AVX2 and FMA
// (`-target-cpu haswell`) when its CPU has them. Measured (bench/RESULTS.md): the banded
// per-query error and the PMM forward pass need it for their targets. MFKIT_PORTABLE=1 drops
// it (baseline x86-64), e.g. for a binary that runs elsewhere or a package that depends on
// MFKit by version (SwiftPM refuses unsafe flags there); the code is the same either way.
//
// No -Ounchecked: kernels index through unsafe pointers and use wrapping arithmetic where a
// counter is hot, and every argument is validated before a kernel runs. With -O, the ten
// kernels timed by bench/bench_build_flags.py are all within 1.2% of -Ounchecked (bench/RESULTS.md,
// "Build flags"), so the overflow traps that turn a wrapped size into an error stay on.
let hostCPUFlags: [String] = {
    guard ProcessInfo.processInfo.environment["MFKIT_PORTABLE"] == nil,
          let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
          flags.contains(" avx2"), flags.contains(" fma") else { return [] }
    return ["-target-cpu", "haswell"]
}()

let kernelFlags: [SwiftSetting] = hostCPUFlags.isEmpty ? [] : [.unsafeFlags(hostCPUFlags, .when(configuration: .release))]

let package = Package(
    name: "MFKit",
    products: [
        .library(name: "MFKit", targets: ["MFKit"]),
        // libmfkit.so: the C ABI declared in include/mfkit.h.
        .library(name: "mfkit", type: .dynamic, targets: ["MFCAPI"]),
    ],
    targets: [
        .target(name: "MFKit", swiftSettings: kernelFlags),
        // include/mfkit.h as a Clang module (header only; its static assertions are checked
        // whenever Swift imports it).
        .target(name: "MFKitABI", path: "include", publicHeadersPath: "."),
        .target(name: "MFCAPI", dependencies: ["MFKit", "MFKitABI"], swiftSettings: kernelFlags),
        .testTarget(name: "MFKitTests", dependencies: ["MFKit"]),
    ]
)

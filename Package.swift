// swift-tools-version:5.9
import Foundation
import PackageDescription

// Layers (see ARCHITECTURE.md): MFKit holds the mathematics; MFKitABI exposes include/mfkit.h
// (the one declaration of the C ABI) to Swift; MFCAPI implements that header with
// `@c @implementation` functions, so a signature that disagrees with the header fails the
// build, and is linked into libmfkit.so.

// The library is compiled from source on the machine that runs it (`pip install -e python`),
// so it may use that machine's vector units: AVX2 (haswell's instruction set) when the CPU has
// AVX2 and FMA. MFKIT_PORTABLE=1 builds for baseline x86-64 instead.
let hostCPUFlags: [String] = {
    guard ProcessInfo.processInfo.environment["MFKIT_PORTABLE"] == nil,
          let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
          flags.contains(" avx2"), flags.contains(" fma") else { return [] }
    return ["-target-cpu", "haswell"]
}()

// Release builds drop overflow and precondition traps inside the kernels: every argument is
// validated with explicit checks before any kernel runs, so no trap is reachable from input.
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked"] + hostCPUFlags, .when(configuration: .release)),
]

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

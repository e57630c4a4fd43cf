// swift-tools-version:5.9
import Foundation
import PackageDescription

// The library is compiled from source on the machine that runs it (`pip install -e python`),
// so it may use that machine's vector units: AVX2 (haswell's instruction set) when the CPU has
// AVX2 and FMA. MFKIT_PORTABLE=1 builds for baseline x86-64 instead.
let hostCPUFlags: [String] = {
    #if arch(x86_64) && os(Linux)
    if ProcessInfo.processInfo.environment["MFKIT_PORTABLE"] == nil,
       let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
       let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
       flags.contains(" avx2"), flags.contains(" fma") {
        return ["-target-cpu", "haswell"]
    }
    #endif
    return []
}()

// Release builds drop overflow and precondition traps inside the kernels: every argument is
// validated with explicit checks before any kernel runs, so no trap is reachable from input.
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"] + hostCPUFlags, .when(configuration: .release)),
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
        .target(name: "MFCAPI", dependencies: ["MFKit"], swiftSettings: kernelFlags),
        .testTarget(name: "MFKitTests", dependencies: ["MFKit"]),
    ]
)

// swift-tools-version:5.9
import PackageDescription

// Release builds drop overflow and precondition traps inside the kernels: every argument is
// validated with explicit checks before any kernel runs, so no trap is reachable from input.
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
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

// swift-tools-version:6.0
import PackageDescription

// The numeric code (ResNetCore) is compiled for the CPU named by RESNET_DIST_TARGET_CPU when it
// is set (e.g. "haswell": AVX2 + FMA, ≈ 10 % faster training than the baseline x86-64 build);
// unset, the build runs on any CPU of its architecture. launch/setup sets "haswell" when the
// building machine has those instructions (RESNET_DIST_TARGET_CPU=generic keeps it portable).
let targetCPU = Context.environment["RESNET_DIST_TARGET_CPU"].flatMap { $0.isEmpty || $0 == "generic" ? nil : $0 }
let coreFlags = ["-Ounchecked"] + (targetCPU.map { ["-target-cpu", $0] } ?? [])

let package = Package(
    name: "resnet-dist",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "resnet-dist", targets: ["resnet-dist"]),
        .library(name: "ResNetTraining", targets: ["ResNetTraining"]),
        .library(name: "ResNetSafeTensors", targets: ["ResNetSafeTensors"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // System libraries, found through pkg-config.
        .systemLibrary(name: "COpenMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // The only C code that includes <mpi.h>.
        .target(name: "CMPIShim", dependencies: ["COpenMPI"]),

        // Seeded randomness and stable hashing, the same on every rank.
        .target(name: "ResNetBase"),
        // Direct 3×3 convolutions for AVX-512, AVX2 and portable C in one object, chosen at run
        // time (per-function target attributes; the target's own flags stay portable). -O2 in
        // every configuration: the kernels rely on full unrolling, even in debug test runs.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O2", "-Wno-psabi"])]),
        .target(name: "ResNetCore", dependencies: ["ResNetBase", "COpenBLAS", "CKernels"],
                swiftSettings: [.unsafeFlags(coreFlags, .when(configuration: .release))]),
        .target(name: "ResNetData", dependencies: ["ResNetBase", "CZlib"]),
        .target(name: "ResNetDistributed", dependencies: ["ResNetBase", "CMPIShim"]),
        // The safetensors format: needs only Foundation, so any tool can read checkpoints.
        .target(name: "ResNetSafeTensors", dependencies: ["ResNetBase"]),
        .target(name: "ResNetTraining", dependencies: [
            "ResNetBase", "ResNetCore", "ResNetData", "ResNetDistributed", "ResNetSafeTensors",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ]),
        // Reports read the records training writes (RunSummary, EpochRecord); training never
        // calls them, the CLI does.
        .target(name: "ResNetReport", dependencies: ["ResNetTraining"]),
        // Benchmarks measure training, so they sit above it.
        .target(name: "ResNetBench", dependencies: [
            "ResNetTraining", "ResNetCore", "ResNetData", "ResNetDistributed",
        ]),
        .executableTarget(name: "resnet-dist", dependencies: [
            "ResNetTraining", "ResNetReport", "ResNetBench", "ResNetSafeTensors", "ResNetDistributed", "ResNetCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .testTarget(name: "ResNetCoreTests", dependencies: ["ResNetCore"]),
        .testTarget(name: "ResNetDataTests", dependencies: ["ResNetData"]),
        .testTarget(name: "ResNetDistributedTests", dependencies: ["ResNetDistributed"]),
        .testTarget(name: "ResNetSafeTensorsTests", dependencies: ["ResNetSafeTensors"]),
        .testTarget(name: "ResNetTrainingTests", dependencies: ["ResNetTraining", "ResNetSafeTensors"]),
        .testTarget(name: "ResNetReportTests", dependencies: ["ResNetReport", "ResNetTraining"]),
        .testTarget(name: "ResNetBenchTests", dependencies: ["ResNetBench", "ResNetCore"]),
    ],
    swiftLanguageModes: [.v5]
)

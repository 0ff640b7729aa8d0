// swift-tools-version:6.2
import PackageDescription

/// Every Cairn target opts into the upcoming features Hummingbird uses, so every
/// import and every public symbol is deliberate.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let postgres = Target.Dependency.product(name: "PostgresNIO", package: "postgres-nio")
let lifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let httpClient = Target.Dependency.product(name: "AsyncHTTPClient", package: "async-http-client")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")

/// The shared service plumbing every daemon library depends on.
let daemonCore: [Target.Dependency] = [
    "CairnService", "CairnProtocol", "CairnSigning", "CairnRedis", "CairnDatabase",
    hummingbird, logging, metrics, lifecycle,
]

/// A daemon: its library under `Services/<folder>` and its thin executable under `Services/<folder>/Main`.
func daemon(_ module: String, folder: String, executable: String, extra: [Target.Dependency] = [], resources: [Resource]? = nil) -> [Target] {
    [
        .target(
            name: module, dependencies: daemonCore + extra, path: "Services/\(folder)",
            exclude: ["Main"], resources: resources, swiftSettings: swiftSettings),
        .executableTarget(
            name: executable, dependencies: [.byName(name: module), "CairnService", "CairnProtocol", lifecycle, logging],
            path: "Services/\(folder)/Main", swiftSettings: swiftSettings),
    ]
}

let package = Package(
    name: "cairn",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cairn-gateway", targets: ["cairn-gateway"]),
        .executable(name: "cairn-repostore", targets: ["cairn-repostore"]),
        .executable(name: "cairn-blobstore", targets: ["cairn-blobstore"]),
        .executable(name: "cairn-worker", targets: ["cairn-worker"]),
        .executable(name: "cairn-stream", targets: ["cairn-stream"]),
        .executable(name: "cairnctl", targets: ["cairnctl"]),
        // For the benchmarks under bench/, which build against the shared library.
        .library(name: "CairnShared", targets: ["CairnProtocol", "CairnSigning", "CairnRedis", "CairnDatabase", "CairnModel", "CairnService"]),
        // The worker's task runner, for bench/'s queue figure.
        .library(name: "CairnWorker", targets: ["CairnWorker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssh.git", from: "0.15.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/JohnSundell/Ink.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.0.0"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CHiredis", path: "Shared/CHiredis", pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CZlib", path: "Shared/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CairnProtocol", path: "Shared/CairnProtocol", swiftSettings: swiftSettings),
        .target(name: "CairnSigning", dependencies: ["CairnProtocol", crypto], path: "Shared/CairnSigning", swiftSettings: swiftSettings),
        .target(
            name: "CairnRedis", dependencies: ["CHiredis", "CairnProtocol", logging, metrics, lifecycle, .product(name: "NIOPosix", package: "swift-nio")],
            path: "Shared/CairnRedis", swiftSettings: swiftSettings),
        .target(
            name: "CairnDatabase", dependencies: ["CairnProtocol", "CairnRedis", postgres, logging, lifecycle],
            path: "Shared/CairnDatabase", swiftSettings: swiftSettings),
        .target(
            name: "CairnModel",
            dependencies: [
                "CairnProtocol", "CairnDatabase", "CairnSigning", "CairnRedis", postgres, logging, crypto,
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Shared/CairnModel", swiftSettings: swiftSettings),
        .target(
            name: "CairnService",
            dependencies: [
                "CairnProtocol", "CairnSigning", "CairnRedis", "CairnDatabase",
                hummingbird, logging, metrics, prometheus, lifecycle, httpClient, .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Shared/CairnService", swiftSettings: swiftSettings),
    ]
        + daemon(
            "CairnGateway", folder: "Gateway", executable: "cairn-gateway",
            extra: [
                "CairnModel", "CZlib", httpClient, postgres, crypto, .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Mustache", package: "swift-mustache"), .product(name: "Ink", package: "Ink"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ],
            // Templates and the stylesheet are compiled into the binary: one file to deploy.
            resources: [.embedInCode("Pages/Static"), .embedInCode("Pages/Templates")] + [
                "Accounts", "Admin", "CodeBrowsing", "Downloads", "Home", "Protection", "PullRequests", "RepositorySettings", "SSHKeys", "Traffic", "Webhooks",
            ].map { .embedInCode("\($0)/Templates") })
        + daemon(
            "CairnRepoStore", folder: "RepoStore", executable: "cairn-repostore",
            extra: [.product(name: "Subprocess", package: "swift-subprocess"), .product(name: "SystemPackage", package: "swift-system"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")])
        + daemon(
            "CairnBlobStore", folder: "BlobStore", executable: "cairn-blobstore",
            extra: [crypto, httpClient, .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")])
        + daemon(
            "CairnWorker", folder: "Worker", executable: "cairn-worker",
            extra: [
                "CairnModel", httpClient, crypto, .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ])
        + daemon("CairnStream", folder: "Stream", executable: "cairn-stream", extra: [postgres])
        + daemon(
            "CairnSSHD", folder: "SSHD", executable: "cairn-sshd",
            extra: ["CairnModel", httpClient, crypto, postgres, .product(name: "NIOSSH", package: "swift-nio-ssh"),
                    .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")])
        + [
            .target(
                name: "CairnCtl",
                dependencies: daemonCore + [
                    "CairnModel", argumentParser, httpClient, postgres, .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "NIOHTTP1", package: "swift-nio"),
                ],
                path: "Services/Ctl", exclude: ["Main"], swiftSettings: swiftSettings),
            .executableTarget(
                name: "cairnctl", dependencies: ["CairnCtl", "CairnDatabase", argumentParser],
                path: "Services/Ctl/Main", swiftSettings: swiftSettings),
            .target(
                name: "CairnTestSupport",
                dependencies: daemonCore + [
                    postgres, httpClient, crypto, .product(name: "HummingbirdTesting", package: "hummingbird"),
                    .product(name: "Subprocess", package: "swift-subprocess"), .product(name: "SystemPackage", package: "swift-system"),
                    .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                ],
                path: "Tests/CairnTestSupport", swiftSettings: swiftSettings),
            .testTarget(
                name: "CairnSigningTests", dependencies: ["CairnSigning", "CairnProtocol"], swiftSettings: swiftSettings),
            .testTarget(
                name: "CairnRedisTests", dependencies: ["CairnRedis", "CairnTestSupport"], swiftSettings: swiftSettings),
            .testTarget(name: "CairnProtocolTests", dependencies: ["CairnProtocol"], swiftSettings: swiftSettings),
            .testTarget(
                name: "CairnStreamTests",
                dependencies: ["CairnStream", "CairnModel", "CairnTestSupport", "CairnService", "CairnProtocol", "CairnRedis", "CairnDatabase", postgres, logging],
                swiftSettings: swiftSettings),
            // One test target per daemon: each test sits with the code it tests.
            .testTarget(
                name: "CairnRepoStoreTests", dependencies: ["CairnRepoStore", "CairnTestSupport"], swiftSettings: swiftSettings),
            .testTarget(
                name: "CairnWorkerTests",
                dependencies: ["CairnWorker", "CairnTestSupport", "CairnProtocol", "CairnRedis", "CairnService"],
                swiftSettings: swiftSettings),
            .testTarget(
                name: "CairnBlobStoreTests",
                dependencies: [
                    "CairnBlobStore", "CairnCtl", "CairnTestSupport", "CairnService", "CairnProtocol", "CairnSigning", "CairnModel", postgres, crypto,
                    httpClient, .product(name: "HummingbirdTesting", package: "hummingbird"),
                ],
                swiftSettings: swiftSettings),
            .testTarget(
                name: "CairnDatabaseTests", dependencies: ["CairnDatabase", "CairnProtocol", "CairnTestSupport", postgres, logging],
                swiftSettings: swiftSettings),
            .testTarget(
                name: "CairnGatewayTests",
                dependencies: [
                    "CairnGateway", "CairnRepoStore", "CairnBlobStore", "CairnWorker", "CairnStream", "CairnSSHD", "CairnModel", "CairnTestSupport", "CairnService", "CairnProtocol",
                    "CairnDatabase", "CairnRedis", "CairnSigning", httpClient, postgres, logging, crypto,
                    .product(name: "HummingbirdTesting", package: "hummingbird"),
                    .product(name: "Subprocess", package: "swift-subprocess"), .product(name: "SystemPackage", package: "swift-system"),
                    .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSH", package: "swift-nio-ssh"),
                ],
                swiftSettings: swiftSettings),
            .testTarget(
                name: "CairnServiceTests",
                dependencies: [
                    "CairnService", "CairnTestSupport", "CairnGateway", "CairnRepoStore", "CairnBlobStore",
                    "CairnWorker", "CairnStream", "CairnSSHD", "CairnCtl", "CairnProtocol", "CairnRedis", "CairnDatabase", "CairnSigning", "CairnModel", postgres, logging, crypto, .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                    .product(name: "HummingbirdTesting", package: "hummingbird"), httpClient,
                ],
                swiftSettings: swiftSettings),
        ]
)

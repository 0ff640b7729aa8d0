// swift-tools-version:6.2
// Benchmarks for Cairn, built apart from the product so its executables stay the six daemons
// and cairnctl. Run them with the scripts beside this file.
import PackageDescription

let package = Package(
    name: "cairn-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "cairn", path: ".."),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        .executableTarget(
            name: "cairn-bench",
            dependencies: [
                .product(name: "CairnShared", package: "cairn"),
                .product(name: "CairnWorker", package: "cairn"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]),
    ]
)

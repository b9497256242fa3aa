// swift-tools-version:6.1
import PackageDescription

// A user's application of Roost: its own workflows, entity and schedule, its own runner executable with the whole
// `roost` command line, and its own tests. It depends on Roost by path, as a service in the same repository would;
// another package names the Roost repository's URL instead.
let package = Package(
    name: "hello-roost",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "roost", path: "../.."),
    ],
    targets: [
        .target(
            name: "HelloRoost",
            dependencies: [
                .product(name: "Roost", package: "roost"),
                .product(name: "RoostPostgres", package: "roost"),
                .product(name: "RoostRunner", package: "roost"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("MemberImportVisibility")]
        ),
        .executableTarget(
            name: "hello-roost",
            dependencies: ["HelloRoost", .product(name: "RoostCLI", package: "roost")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("MemberImportVisibility")]
        ),
        .testTarget(
            name: "HelloRoostTests",
            dependencies: [
                "HelloRoost",
                .product(name: "Roost", package: "roost"),
                .product(name: "RoostClient", package: "roost"),
                .product(name: "RoostPostgres", package: "roost"),
                .product(name: "RoostRunner", package: "roost"),
                .product(name: "RoostTesting", package: "roost"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("MemberImportVisibility")]
        ),
    ]
)

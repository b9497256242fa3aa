import ArgumentParser
import Foundation
import Roost
import RoostClient

/// `roost bench resolver`: the other process of the cross-process wake-up benchmark. Reads execution ids from
/// standard input, resolves each `BenchWait` execution's `go` through `RoostClient`, and prints when it called
/// `resolve`.
struct ResolverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolver", abstract: "Resolve BenchWait executions named on standard input.",
        shouldDisplay: false)
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            try await database.withClient { client in
                while let id = readLine() {
                    let resolvedAt = Date()
                    try await client.resolve(BenchWait.go, of: BenchWait.self, id: id, value: true)
                    FileHandle.standardOutput.write(Data((Timestamp.format(resolvedAt) + "\n").utf8))
                }
            }
        }
    }
}

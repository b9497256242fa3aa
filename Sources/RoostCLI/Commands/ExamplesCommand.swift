import ArgumentParser
import Foundation
import Roost
import RoostClient
import RoostExamples
import RoostPostgres

/// `roost examples …`: call the example entities through the cluster.
struct ExamplesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "examples", abstract: "Call the example entities through the cluster.",
        subcommands: [CounterCommand.self])

    struct CounterCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "counter", abstract: "The example Counter entity.", subcommands: [Increment.self, Get.self])

        struct Increment: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add N to a counter; print the new value.")
            @Argument(help: "The counter's id.") var id: String
            @Argument(help: "How much to add.") var amount: Int
            @OptionGroup var database: DatabaseOptions

            func run() async throws {
                try await reportingErrors {
                    let value = try await withClusterClient(database) { system in
                        try await system.entity(Counter.self, id: id).increment(by: amount)
                    }
                    printCounter(id: id, value: value, json: database.json)
                }
            }
        }

        struct Get: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print a counter's value.")
            @Argument(help: "The counter's id.") var id: String
            @OptionGroup var database: DatabaseOptions

            func run() async throws {
                try await reportingErrors {
                    let value = try await withClusterClient(database) { system in
                        try await system.entity(Counter.self, id: id).value()
                    }
                    printCounter(id: id, value: value, json: database.json)
                }
            }
        }
    }
}

private func printCounter(id: String, value: Int, json: Bool) {
    if json {
        Output.printJSON(["id": id, "value": value])
    } else {
        print("\(id): \(value)")
    }
}

/// Runs `body` with a client cluster system that routes calls to the runners registered in the database.
func withClusterClient<Result: Sendable>(
    _ database: DatabaseOptions, _ body: @Sendable (ClusterSystem) async throws -> Result
) async throws -> Result {
    try await database.withClient { client in try await client.withEntities(body) }
}

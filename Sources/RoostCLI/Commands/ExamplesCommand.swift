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
            static let configuration = CommandConfiguration(
                abstract: "Add N to a counter; print the new value.",
                discussion: """
                    The call is persisted: saved in the database before it is sent, it runs at least once even if \
                    the counter's runner dies. With --key, repeating the command does not add again but prints \
                    the value the first call returned.
                    """)
            @Argument(help: "The counter's id.") var id: String
            @Argument(help: "How much to add.") var amount: Int
            @Option(help: "An idempotency key: calls with the same key add once.") var key: String?
            @Flag(help: "Send the call best-effort (at most once) instead of persisted.") var bestEffort = false
            @OptionGroup var database: DatabaseOptions

            func validate() throws {
                if bestEffort, key != nil { throw ValidationError("--key names a persisted call; drop --best-effort") }
            }

            func run() async throws {
                let delivery: Delivery = if bestEffort { .bestEffort } else {
                    key.map { .persisted(idempotencyKey: $0) } ?? .persisted
                }
                try await reportingErrors {
                    let value = try await withClusterClient(database) { system in
                        try await withDelivery(delivery) {
                            try await system.entity(Counter.self, id: id).increment(by: amount)
                        }
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

/// Runs `body` with a client cluster system that routes calls to the runners registered in the database, with the
/// call deadline of `ROOST_CALL_TIMEOUT_MS`.
func withClusterClient<Result: Sendable>(
    _ database: DatabaseOptions, _ body: @Sendable (ClusterSystem) async throws -> Result
) async throws -> Result {
    let configuration = try RunnerSettings.entityConfiguration(ProcessInfo.processInfo.environment)
    return try await database.withClient { client in try await client.withEntities(configuration: configuration, body) }
}

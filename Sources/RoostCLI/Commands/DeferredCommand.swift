import ArgumentParser
import Roost
import RoostClient

/// `roost deferred resolve …`.
struct DeferredCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deferred", abstract: "Resolve deferred values executions wait on.",
        subcommands: [Resolve.self])

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve a deferred of an execution; the first value is kept.")
        @Argument(help: "The workflow's name.") var name: String
        @Argument(help: "The execution id.") var id: String
        @Argument(help: "The deferred's name.") var deferred: String
        @Option(help: "The value as JSON.") var value: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let outcome = try await database.withExecutions {
                    try await $0.resolve(workflow: name, id: id, deferred: deferred, value: value)
                }
                if database.json {
                    Output.printJSON(["resolved": outcome.resolved, "value": Output.embed(outcome.value)])
                } else {
                    print(outcome.resolved ? "resolved \(deferred) of \(name) \(id)"
                          : "already resolved; kept the first value: \(outcome.value)")
                }
            }
        }
    }
}

import Foundation
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
        @Option(help: "Who resolves it, kept with the value (default: cli USER@HOST).") var by: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let resolver = by ?? Self.defaultResolver
                let outcome = try await database.withExecutions {
                    try await $0.resolve(workflow: name, id: id, deferred: deferred, value: value, by: resolver)
                }
                if database.json {
                    Output.printJSON(["resolved": outcome.resolved, "value": Output.embed(outcome.value)])
                } else {
                    print(outcome.resolved ? "resolved \(deferred) of \(name) \(id)"
                          : "already resolved; kept the first value: \(outcome.value)")
                }
            }
        }

        /// `cli USER@HOST`, for a resolve that does not say who it is.
        private static var defaultResolver: String {
            let environment = ProcessInfo.processInfo.environment
            let user = environment["USER"] ?? environment["LOGNAME"] ?? "unknown"
            return "cli \(user)@\(ProcessInfo.processInfo.hostName)"
        }
    }
}

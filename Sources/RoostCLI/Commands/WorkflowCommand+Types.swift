import ArgumentParser
import Foundation
import Roost
import RoostClient
import RoostPostgres

extension WorkflowCommand {
    /// `roost workflow types`: the workflows the cluster's runners host, as they published them when they joined.
    struct Types: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the workflows the cluster's runners host, with their deferreds' value types.")
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard database.runnerURL == nil else {
                throw ValidationError("workflow types reads the database; leave out --runner")
            }
        }

        func run() async throws {
            try await reportingErrors {
                let published = try await database.withClient { try await $0.storage.store.publishedWorkflows() }
                let local = Set(RoostCommand.workflows.names)
                if database.json {
                    Output.printJSON(["workflows": published.map { workflow -> [String: Any] in
                        [
                            "name": workflow.name, "deferreds": workflow.deferreds,
                            "publishedBy": workflow.publishedBy,
                            "publishedAt": Output.date(workflow.publishedAt),
                            "typedHere": local.contains(workflow.name),
                        ]
                    }])
                    return
                }
                print(Output.table(["workflow", "deferreds", "published by", "typed here"], published.map {
                    [
                        $0.name,
                        $0.deferreds.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
                            .joined(separator: ", "),
                        $0.publishedBy, local.contains($0.name) ? "yes" : "no",
                    ]
                }))
            }
        }
    }
}

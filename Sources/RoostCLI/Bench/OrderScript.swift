import Foundation
@_spi(Benchmark) import RoostPostgres
import Roost
import RoostExamples

/// `Order`'s statements as a pgbench script: its start, its three activities and its outcome, each the SQL the
/// engine prepares (``RunStatements``), with the values the engine binds. pgbench running it measures what
/// PostgreSQL alone allows for an `Order`, with nothing of the engine on the machine.
struct OrderScript {
    /// The commits one run of the script makes: the start, each activity and the outcome.
    static let commitsPerOrder = Order.steps.count + 2

    /// The script, one statement per line; the start stores the new execution's columns in `start_` variables.
    let script: String
    /// The values for pgbench's `-D`, which the script refers to as `:name`.
    let variables: [String: String]

    init(schema: String) throws {
        let id = "('order-db-' || :client_id || '-' || :n || '-' || clock_timestamp())"
        var lines = [
            "\\set n random(1, 1000000000)",
            Self.substitute(RunStatements.start, [":workflow", id, "'running'", ":input", "1", "false", ":channel",
                                                  "NULL", "NULL"]) + " \\gset start_",
        ]
        var variables = [
            "workflow": Order.name,
            "input": #"{"amount":1,"orderId":"order-db"}"#,
            "channel": "\(schema)_events",
            "writer": "pgbench",
        ]
        for (position, step) in Order.steps.enumerated() {
            variables["step\(position)"] = step
            variables["entries\(position)"] = RunStatements.completedActivity(position: position, name: step,
                                                                               result: "true")
            lines.append(Self.substitute(RunStatements.activity(RecordEffect.self),
                                         [":start_id", ":step\(position)", ":start_key", ":entries\(position)",
                                          "NULL", "NULL", "NULL", ":writer"]) + ";")
        }
        let outcome = try RunStatements.completedOutcome(output: #"{"orderId":"order-db","status":"confirmed"}"#)
        variables["outcome_before_key"] = outcome.beforeKey
        variables["outcome_after_key"] = outcome.afterKey
        let outcomes = "(:outcome_before_key || :start_key || :outcome_after_key)"
        lines.append(Self.substitute(RunStatements.outcome, [outcomes, ":writer", ":channel"]) + ";")
        script = lines.joined(separator: "\n") + "\n"
        self.variables = variables
    }

    /// `sql` on one line, with each `$n` replaced by `parameters[n - 1]`.
    static func substitute(_ sql: String, _ parameters: [String]) -> String {
        RunStatements.substituting(parameters, in: sql).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }
}

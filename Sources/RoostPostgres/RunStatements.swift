import PostgresNIO
import Roost

/// The SQL a run of a workflow sends when it starts in the hosting process, runs activities that are each one
/// prepared statement, and completes: the same text the engine prepares, with its `$n` parameters. The engine bench
/// has pgbench replay it, to measure what PostgreSQL alone allows for those statements, without the engine.
@_spi(Benchmark)
public enum RunStatements {
    /// The start's statement. Parameters: workflow, id, status, input, attempt, wake-up flag, notification channel,
    /// shard, trace context. It returns the execution's row, whose first two columns are `key` and `workflow`.
    public static var start: String { Statements.InsertExecution.sql }

    /// An activity's prepared statement with its journal write, as ``WorkflowContext/activity(_:retry:prepared:)``
    /// sends it. Parameters: the statement's own, then the execution's key, the journal entries, the new status, the
    /// lease's shard group, the lease's epoch and the writer.
    public static func activity<Statement: PostgresPreparedStatement>(_ statement: Statement.Type) -> String {
        JournaledStatement<Statement>.sql
    }

    /// The outcomes' statement. Parameters: the outcomes (``completedOutcome(output:)``), the writer and the
    /// notification channel.
    public static var outcome: String { Statements.FinishBatch.sql }

    /// The journal entries a completed activity writes, as the activity statement's entries parameter.
    public static func completedActivity(position: Int, name: String, result: String) -> String {
        PostgresWorkflowStore.journalJSON([JournalEntry(position: position, kind: .activity, name: name,
                                                        state: .completed, attempts: 1, result: result)])
    }

    /// The outcome statement's first parameter for one completed execution, as the text before and after its key.
    public static func completedOutcome(output: String) throws -> (beforeKey: String, afterKey: String) {
        let key = "{\"key\":"
        let request = try FinishRequest(key: 0, entries: "[]", outcome: .completed(output), lease: nil)
        precondition(request.json.hasPrefix(key + "0,"), "an outcome request starts with its key")
        return ("[" + key, request.json.dropFirst(key.count + 1) + "]")
    }

    /// `sql` with each parameter `$n` replaced by `parameters[n - 1]`; parameters beyond them are left as they are.
    public static func substituting(_ parameters: [String], in sql: String) -> String {
        var result = ""
        var copied = sql.startIndex
        StatementActivity.forEachParameter(in: sql) { range, number in
            guard parameters.indices.contains(number - 1) else { return }
            result += sql[copied..<range.lowerBound] + parameters[number - 1]
            copied = range.upperBound
        }
        return result + sql[copied...]
    }
}

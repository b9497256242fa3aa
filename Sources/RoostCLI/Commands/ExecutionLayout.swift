import Foundation
import Roost

/// `roost workflow show` for people: the record, then the journal, timers and deferreds as tables.
enum ExecutionLayout {
    static func text(_ detail: ExecutionDetail) -> String {
        let record = detail.record
        var lines = [
            "\(record.workflow) \(record.id): \(record.status), attempt \(record.attempt), "
                + (detail.owner.map { "hosted by \($0)" } ?? "no live runner holds its shard"),
            "  created   \(Timestamp.format(record.createdAt))",
            "  updated   \(Timestamp.format(record.updatedAt))",
        ]
        if let finished = record.finishedAt { lines.append("  finished  \(Timestamp.format(finished))") }
        lines.append("  input     \(record.input)")
        if let output = record.output { lines.append("  output    \(output)") }
        if let error = record.error { lines.append("  error     \(error.code): \(error.message)") }

        lines += ["", "journal (\(detail.journal.count) durable calls)"]
        if !detail.journal.isEmpty {
            let rows = detail.journal.map { item -> [String] in
                let entry = item.entry
                return [
                    "\(entry.position)", entry.kind.rawValue, entry.name, entry.state.rawValue, "\(entry.attempts)",
                    entry.durationMs.map { String(format: "%.1f ms", $0) } ?? "-",
                    Timestamp.format(item.updatedAt), entry.error.map { "\($0.code): \($0.message)" } ?? "",
                ]
            }
            lines.append(indented(Output.table(["#", "KIND", "NAME", "STATE", "ATTEMPTS", "DURATION", "WRITTEN",
                                                "ERROR"], rows)))
        }
        let timers = detail.timers
        lines += ["", "timers (\(timers.count))"]
        if !timers.isEmpty {
            lines.append(indented(Output.table(["NAME", "DUE", "FIRED"], timers.map {
                [$0.name, $0.dueAt.map(Timestamp.format) ?? "-", $0.fired ? "yes" : "no"]
            })))
        }
        lines += ["", "deferreds (\(detail.deferreds.count))"]
        if !detail.deferreds.isEmpty {
            lines.append(indented(Output.table(["NAME", "STATE", "RESOLVED", "BY", "VALUE"], detail.deferreds.map {
                [$0.name, $0.resolvedAt == nil ? "pending" : "resolved", $0.resolvedAt.map(Timestamp.format) ?? "-",
                 $0.resolvedBy ?? "-", $0.value ?? ""]
            })))
        }
        return lines.joined(separator: "\n")
    }

    private static func indented(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}

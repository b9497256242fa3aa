import Foundation
import Roost

/// Printing for people and for scripts.
enum Output {
    /// Prints a JSON object with sorted keys; values that are JSON text are embedded as JSON.
    static func printJSON(_ object: [String: Any]) {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys,
                                                                                  .withoutEscapingSlashes])) ?? Data()
        print(String(decoding: data, as: UTF8.self))
    }

    /// Prints a benchmark report: as it is with `--json`, indented otherwise.
    static func printReport(_ report: Data, json: Bool) throws {
        guard !json else {
            print(String(decoding: report, as: UTF8.self))
            return
        }
        let object = try JSONSerialization.jsonObject(with: report)
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// Parses stored JSON text for embedding.
    static func embed(_ json: String?) -> Any { JSONText.embed(json) }

    static func error(_ failure: FailureInfo?) -> Any { JSONText.failure(failure) }

    static func date(_ date: Date?) -> Any { JSONText.date(date) }

    /// An execution as a JSON object.
    static func record(_ record: ExecutionRecord) -> [String: Any] { record.jsonObject }

    /// An execution's result: status with output or error.
    static func result(_ record: ExecutionRecord) -> [String: Any] {
        var object: [String: Any] = ["status": record.status.rawValue]
        if record.status == .completed { object["output"] = embed(record.output) }
        if let failure = record.error { object["error"] = error(failure) }
        return object
    }

    /// Pads columns of a table for people.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

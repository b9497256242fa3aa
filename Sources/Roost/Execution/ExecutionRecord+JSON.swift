import Foundation

extension ExecutionRecord {
    /// The record as a JSON object, as `roost … --json` and the runners' HTTP API show it: input and output
    /// embedded as JSON, the error as `{code, message}`, dates as ISO-8601 text with microseconds.
    package var jsonObject: [String: Any] {
        [
            "workflow": workflow, "id": id, "status": status.rawValue,
            "input": JSONText.embed(input), "output": JSONText.embed(output), "error": JSONText.failure(error),
            "attempt": attempt, "createdAt": JSONText.date(createdAt), "updatedAt": JSONText.date(updatedAt),
            "finishedAt": JSONText.date(finishedAt),
        ]
    }
}

/// Helpers for building JSON objects from stored values.
package enum JSONText {
    /// Stored JSON text parsed for embedding; `null` when absent or unparseable.
    package static func embed(_ json: String?) -> Any {
        guard let json, let value = try? JSONSerialization.jsonObject(with: Data(json.utf8),
                                                                      options: [.fragmentsAllowed]) else {
            return NSNull()
        }
        return value
    }

    /// A failure as `{code, message}`, or `null`.
    package static func failure(_ failure: FailureInfo?) -> Any {
        guard let failure else { return NSNull() }
        return ["code": failure.code, "message": failure.message]
    }

    /// A date as ISO-8601 text, or `null`.
    package static func date(_ date: Date?) -> Any {
        date.map(Timestamp.format) ?? NSNull()
    }
}

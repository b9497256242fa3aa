/// The recorded form of an error: a stable code and a message, as stored in the journal and shown to clients.
public struct FailureInfo: Codable, Hashable, Sendable, CustomStringConvertible {
    /// The stable code, for example `activity_failed`.
    public var code: String
    /// The message for people.
    public var message: String

    /// Creates a failure record.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// Records an error: a ``WorkflowError`` keeps its code and message; any other error is recorded with
    /// `fallback` as its code and its type and description as the message.
    public init(_ error: any Error, fallback: WorkflowError.Code) {
        if let error = error as? WorkflowError {
            self.init(code: error.code.rawValue, message: error.message)
        } else if let error = error as? ActivityFailure {
            self.init(code: WorkflowError.Code.activityFailed.rawValue, message: error.description)
        } else {
            self.init(code: fallback.rawValue, message: "\(type(of: error)): \(String(describing: error))")
        }
    }

    public var description: String { "\(code): \(message)" }
}

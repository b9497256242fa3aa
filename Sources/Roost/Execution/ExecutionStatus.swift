/// Where an execution stands. Changed only by guarded compare-and-swap updates in the store.
///
/// ```
/// pending ──► running ◄──► waiting
///    │          │  │          │
///    ▼          ▼  ▼          ▼
/// cancelled  completed  failed  cancelled
/// ```
public struct ExecutionStatus: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The status's stable text, as stored and printed.
    public let rawValue: String

    /// Accepted, not yet picked up by a runner.
    public static let pending = ExecutionStatus(rawValue: "pending")
    /// A runner is executing it.
    public static let running = ExecutionStatus(rawValue: "running")
    /// Suspended on a durable sleep, a deferred or an activity's retry back-off.
    public static let waiting = ExecutionStatus(rawValue: "waiting")
    /// Finished with an output.
    public static let completed = ExecutionStatus(rawValue: "completed")
    /// Finished with an error.
    public static let failed = ExecutionStatus(rawValue: "failed")
    /// Cancelled before it finished.
    public static let cancelled = ExecutionStatus(rawValue: "cancelled")

    /// Every status, in lifecycle order.
    public static let all: [ExecutionStatus] = [.pending, .running, .waiting, .completed, .failed, .cancelled]

    /// Parses a status's stable text; `nil` if it is not one.
    public init?(_ text: String) {
        guard let status = Self.all.first(where: { $0.rawValue == text }) else { return nil }
        self = status
    }

    private init(rawValue: String) { self.rawValue = rawValue }

    /// Whether the execution has finished: completed, failed or cancelled.
    public var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let status = ExecutionStatus(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "unknown execution status '\(text)'"))
        }
        self = status
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

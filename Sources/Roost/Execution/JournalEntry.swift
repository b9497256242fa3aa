import Foundation

/// One durable call of an execution as recorded in the journal, at its position in the call sequence.
public struct JournalEntry: Sendable, Hashable, Codable {
    /// What kind of durable call was made.
    public struct Kind: Hashable, Sendable, Codable, CustomStringConvertible {
        /// The kind's stable text.
        public let rawValue: String
        /// Creates a kind from its stable text.
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// `context.activity`.
        public static let activity = Kind("activity")
        /// `context.sleep`.
        public static let sleep = Kind("sleep")
        /// `context.awaitDeferred`.
        public static let deferred = Kind("deferred")
        /// `context.now()`.
        public static let now = Kind("now")
        /// `context.uuid()`.
        public static let uuid = Kind("uuid")
        /// `context.random(in:)`.
        public static let random = Kind("random")

        public init(from decoder: any Decoder) throws { self.init(try decoder.singleValueContainer().decode(String.self)) }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
    }

    /// Where a durable call stands.
    public struct State: Hashable, Sendable, Codable, CustomStringConvertible {
        /// The state's stable text.
        public let rawValue: String
        /// Creates a state from its stable text.
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Finished with a result (for a deferred: the value, or a timeout recorded as an error).
        public static let completed = State("completed")
        /// An activity that failed its last attempt.
        public static let failed = State("failed")
        /// A sleep or a deferred wait in progress; `dueAt` is its stored deadline.
        public static let waiting = State("waiting")
        /// An activity between attempts; `dueAt` is when the next attempt may start.
        public static let retrying = State("retrying")

        public init(from decoder: any Decoder) throws { self.init(try decoder.singleValueContainer().decode(String.self)) }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
    }

    /// The call's position in the execution's sequence of durable calls, from 0.
    public var position: Int
    /// The kind of call.
    public var kind: Kind
    /// The name the workflow gave the call.
    public var name: String
    /// Where the call stands.
    public var state: State
    /// Attempts made (activities); 0 for other kinds.
    public var attempts: Int
    /// The recorded result as JSON text.
    public var result: String?
    /// The recorded error (an activity's last failure, a deferred's timeout).
    public var error: FailureInfo?
    /// A sleep's due time, a deferred wait's deadline, or an activity's next attempt.
    public var dueAt: Date?
    /// How long an activity's last attempt ran, in milliseconds (its body, inside its transaction).
    public var durationMs: Double?

    /// Creates an entry.
    public init(position: Int, kind: Kind, name: String, state: State, attempts: Int = 0, result: String? = nil,
                error: FailureInfo? = nil, dueAt: Date? = nil, durationMs: Double? = nil) {
        self.durationMs = durationMs
        self.position = position
        self.kind = kind
        self.name = name
        self.state = state
        self.attempts = attempts
        self.result = result
        self.error = error
        self.dueAt = dueAt
    }

    /// How the call reads in messages: `activity 'charge'`.
    public var call: String { "\(kind) '\(name)'" }
}

import Foundation

/// An entity call's outcome: the JSON-encoded return value (none for `Void`), or the error. Persisted calls keep
/// it in the store, so a caller retrying the call gets the reply of the run that happened.
public struct EntityReply: Codable, Sendable, Equatable {
    /// The JSON of the returned value; `nil` for a method returning `Void` or for an error.
    public var value: Data?
    /// What the call failed with.
    public var error: EntityCallError?

    /// A returned value.
    public init(value: Data?) {
        self.value = value
        error = nil
    }

    /// A failure.
    public init(error: EntityCallError) {
        value = nil
        self.error = error
    }

    /// Whether the call ran (it returned or its method threw) rather than failing to reach its entity: only such
    /// a reply is final for a persisted call.
    var isFinal: Bool {
        guard let error else { return true }
        return ![EntityCallError.notHere, EntityCallError.leaseLost, EntityCallError.mailboxFull,
                 EntityCallError.timedOut, EntityCallError.unavailable].contains(error.code)
    }
}

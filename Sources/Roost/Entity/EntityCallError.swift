/// A call to an entity failed. ``code`` says how, stably; ``message`` says what happened.
public struct EntityCallError: Error, Sendable, Codable, Equatable, CustomStringConvertible {
    /// The failure's kind.
    public var code: String
    /// What happened.
    public var message: String

    /// An error.
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// The entity's method threw; the message is the error's description.
    public static let failed = "entity_failed"
    /// No runner answered for the address's shard before the call's deadline. A persisted call stays saved and
    /// runs when the shard has an owner.
    public static let unavailable = "unavailable"
    /// The entity's mailbox is full.
    public static let mailboxFull = "mailbox_full"
    /// The entity type has no registered factory on the owning runner.
    public static let unknownEntity = "unknown_entity"
    /// The call could not be encoded or decoded.
    public static let invalidPayload = "invalid_payload"
    /// The call did not complete before its deadline. A persisted call stays saved and runs later.
    public static let timedOut = "timed_out"
    /// An idempotency key was used again for another method or other arguments of the same entity.
    public static let idempotencyConflict = "idempotency_conflict"
    /// The call was refused before it was sent: an idempotency key was empty or too long, or persisted delivery
    /// was asked of a system that has no message store.
    public static let invalidArgument = "invalid_argument"
    /// The runner asked does not host the entity's shard (it is moving): the call did not run, and the caller
    /// tries the current owner.
    static let notHere = "not_here"
    /// A fenced write found the shard's lease lost; nothing was committed.
    static let leaseLost = "lease_lost"
}

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
    /// No runner answered for the address's shard before the call's deadline.
    public static let unavailable = "unavailable"
    /// The entity's mailbox is full.
    public static let mailboxFull = "mailbox_full"
    /// The entity type has no registered factory on the owning runner.
    public static let unknownEntity = "unknown_entity"
    /// The call could not be encoded or decoded.
    public static let invalidPayload = "invalid_payload"
    /// The call did not complete before its deadline.
    public static let timedOut = "timed_out"
    /// The runner asked does not host the entity's shard (it is moving): the call did not run, and the caller
    /// tries the current owner.
    static let notHere = "not_here"
    /// A fenced write found the shard's lease lost; nothing was committed.
    static let leaseLost = "lease_lost"
}

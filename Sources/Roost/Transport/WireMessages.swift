import Distributed
import Foundation

/// A call to an entity as it travels between runners: the address, the method's mangled name, the JSON-encoded
/// arguments and, for a persisted call, its request id.
struct WireCall: Codable, Sendable {
    /// What the owner needs to know about a persisted call.
    struct Persisted: Codable, Sendable {
        /// The id under which the call is stored.
        var requestID: String
        /// Whether the owner must read the stored call's state first: it may have run already (the caller
        /// retries it, or found it stored before).
        var recheck: Bool
    }

    var address: EntityAddress
    var target: String
    var generics: [String]
    var arguments: [Data]
    var persisted: Persisted?
}

/// A ping: asks a runner how it is.
struct WirePing: Codable, Sendable {}

/// A runner's answer to a ping.
struct WirePong: Codable, Sendable {
    var address: String
    var shards: Int
    var entities: Int
}

import Distributed
import Foundation

/// A call to an entity as it travels between runners: the address, the method's mangled name and the
/// JSON-encoded arguments.
struct WireCall: Codable, Sendable {
    var address: EntityAddress
    var target: String
    var generics: [String]
    var arguments: [Data]
}

/// An entity call's outcome: the JSON-encoded return value (none for `Void`), or the error.
struct WireReply: Codable, Sendable {
    var value: Data?
    var error: EntityCallError?

    init(value: Data?) {
        self.value = value
        error = nil
    }

    init(error: EntityCallError) {
        value = nil
        self.error = error
    }
}

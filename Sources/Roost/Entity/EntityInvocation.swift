import Distributed
import Foundation
import Synchronization

/// Records a call's generic substitutions and JSON-encoded arguments.
public struct EntityInvocationEncoder: DistributedTargetInvocationEncoder {
    public typealias SerializationRequirement = Codable
    var generics: [String] = []
    var arguments: [Data] = []

    public mutating func recordGenericSubstitution<T>(_ type: T.Type) throws {
        generics.append(_mangledTypeName(type) ?? _typeName(type))
    }

    public mutating func recordArgument<Value: Codable>(_ argument: RemoteCallArgument<Value>) throws {
        arguments.append(try JSONEncoder().encode(argument.value))
    }

    public mutating func recordErrorType<E: Error>(_ type: E.Type) throws {}

    public mutating func recordReturnType<R: Codable>(_ type: R.Type) throws {}

    public mutating func doneRecording() throws {}
}

/// Decodes a call's generic substitutions and arguments on the owning runner.
public struct EntityInvocationDecoder: DistributedTargetInvocationDecoder {
    public typealias SerializationRequirement = Codable
    let generics: [String]
    let arguments: [Data]
    var next = 0

    init(generics: [String], arguments: [Data]) {
        self.generics = generics
        self.arguments = arguments
    }

    public mutating func decodeGenericSubstitutions() throws -> [Any.Type] {
        try generics.map { name in
            guard let type = _typeByName(name) else {
                throw EntityCallError(EntityCallError.invalidPayload, "unknown generic type '\(name)'")
            }
            return type
        }
    }

    public mutating func decodeNextArgument<Argument: Codable>() throws -> Argument {
        guard next < arguments.count else {
            throw EntityCallError(EntityCallError.invalidPayload, "the call has \(arguments.count) arguments, "
                                  + "fewer than the method takes")
        }
        defer { next += 1 }
        do {
            return try JSONDecoder().decode(Argument.self, from: arguments[next])
        } catch {
            throw EntityCallError(EntityCallError.invalidPayload,
                                  "argument \(next + 1) is not a valid \(Argument.self): \(error)")
        }
    }

    public mutating func decodeErrorType() throws -> Any.Type? { nil }

    public mutating func decodeReturnType() throws -> Any.Type? { nil }
}

/// Captures what an entity's method returned or threw, as the reply's JSON.
public final class EntityResultHandler: DistributedTargetInvocationResultHandler, Sendable {
    public typealias SerializationRequirement = Codable
    private let box = Mutex<EntityReply?>(nil)

    init() {}

    /// The reply, once the method has returned or thrown.
    var reply: EntityReply {
        box.withLock { $0 }
            ?? EntityReply(error: EntityCallError(EntityCallError.failed, "the call produced no result"))
    }

    public func onReturn<Success: Codable>(value: Success) async throws {
        let data = try JSONEncoder().encode(value)
        box.withLock { $0 = EntityReply(value: data) }
    }

    public func onReturnVoid() async throws {
        box.withLock { $0 = EntityReply(value: nil) }
    }

    public func onThrow<Err: Error>(error: Err) async throws {
        let wire = switch error {
        case let error as EntityCallError: error
        case let error as ShardLeaseLost: EntityCallError(EntityCallError.leaseLost, error.description)
        default: EntityCallError(EntityCallError.failed, String(describing: error))
        }
        box.withLock { $0 = EntityReply(error: wire) }
    }
}

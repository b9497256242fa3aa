/// A named, typed value a workflow waits for with ``WorkflowContext/awaitDeferred(_:timeout:)`` and anyone resolves
/// from outside. The first value resolved is the one every waiter sees.
public struct Deferred<Value: Codable & Sendable>: DeferredDeclaration {
    /// The deferred's name, unique within its workflow.
    public let name: String

    /// Declares a deferred.
    /// - Parameter name: The name, unique within the workflow.
    public init(_ name: String) {
        self.name = name
    }

    public var valueTypeName: String { String(describing: Value.self) }

    public func validate(json: String, coder: PayloadCoder) throws {
        _ = try coder.decode(Value.self, from: json, what: "value of deferred '\(name)'")
    }
}

/// A deferred as a workflow declares it, whatever its value type: lets the runtime check a resolved value's shape
/// before storing it.
public protocol DeferredDeclaration: Sendable {
    /// The deferred's name.
    var name: String { get }
    /// The value type's name, for messages.
    var valueTypeName: String { get }
    /// Checks that JSON text decodes as the value type.
    /// - Throws: ``WorkflowError`` `invalid_payload` naming the deferred and the expected type.
    func validate(json: String, coder: PayloadCoder) throws
}

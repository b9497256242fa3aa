/// The workflows a process knows, by name: what a runner hosts and what the CLI checks names and payloads against.
public struct WorkflowRegistry: Sendable {
    var entries: [String: RegisteredWorkflow] = [:]
    /// Workflows known by name only (``declare(_:)``): accepted in starts, never run by an engine.
    var declared: Set<String> = []

    /// Creates an empty registry.
    public init() {}

    /// Registers a workflow under its ``Workflow/name``, replacing any registered under the same name.
    public mutating func register<W: Workflow>(_ workflow: W) {
        entries[W.name] = RegisteredWorkflow(workflow)
    }

    /// The registered names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// The retention each registered workflow declares for itself (``Workflow/retention``), by name; the others
    /// keep the cluster's.
    public var retentions: [String: Duration] { entries.compactMapValues(\.retention) }

    /// The registered workflow with that name.
    /// - Throws: ``WorkflowError`` `unknown_workflow` listing the registered and declared names.
    func workflow(named name: String) throws -> RegisteredWorkflow {
        guard let entry = entries[name] else {
            let known = Set(names).union(declared).sorted()
            let listed = known.isEmpty ? "none are registered" : "registered: \(known.joined(separator: ", "))"
            throw WorkflowError(.unknownWorkflow, "no workflow named '\(name)' (\(listed))")
        }
        return entry
    }

    /// Checks a workflow's input JSON against its input type; a workflow declared by name only takes any input.
    /// - Throws: ``WorkflowError`` `unknown_workflow` (listing the registered and declared names) or
    ///   `invalid_payload`.
    public func validateInput(workflow name: String, json: String, coder: PayloadCoder) throws {
        if entries[name] == nil, declared.contains(name) { return }
        try workflow(named: name).validateInput(json, coder)
    }

    /// Checks a deferred value against the type the workflow declares for it, if it declares that deferred.
    /// - Returns: `true` if the workflow declares the deferred and the value fits; `false` if it declares none
    ///   by that name (the waiting workflow then checks the value when it reads it).
    /// - Throws: ``WorkflowError`` `unknown_workflow` or `invalid_payload` naming the deferred and type.
    @discardableResult
    public func validateDeferred(workflow name: String, deferred: String, json: String,
                                 coder: PayloadCoder) throws -> Bool {
        let entry = try workflow(named: name)
        guard let declaration = entry.deferreds.first(where: { $0.name == deferred }) else { return false }
        try declaration.validate(json: json, coder: coder)
        return true
    }
}

/// A registered workflow with its types erased: runs on JSON text.
struct RegisteredWorkflow: Sendable {
    let name: String
    let deferreds: [any DeferredDeclaration]
    let retention: Duration?
    let validateInput: @Sendable (String, PayloadCoder) throws -> Void
    let run: @Sendable (String, WorkflowContext) async throws -> String

    init<W: Workflow>(_ workflow: W) {
        name = W.name
        deferreds = W.deferreds
        retention = W.retention
        validateInput = { json, coder in _ = try coder.decode(W.Input.self, from: json, what: "input of \(W.name)") }
        run = { json, context in
            let input = try context.coder.decode(W.Input.self, from: json, what: "input of \(W.name)")
            let output = try await workflow.run(input, context: context)
            return try context.coder.encode(output, what: "output of \(W.name)")
        }
    }
}

/// A durable workflow: a function whose durable calls are journaled, so that a run interrupted by a crash resumes
/// by replay without redoing committed work.
///
/// ```swift
/// struct Approval: Workflow {
///     struct Input: Codable, Sendable { var requestId: String; var coolOffMs: Int }
///     struct Decision: Codable, Sendable { var approved: Bool; var by: String }
///     static let decision = Deferred<Decision>("decision")
///     static var deferreds: [any DeferredDeclaration] { [decision] }
///
///     func run(_ input: Input, context: WorkflowContext) async throws -> Decision {
///         try await context.activity("submit") { tx in try await tx.query("…") }
///         let decision = try await context.awaitDeferred(Self.decision, timeout: .seconds(86_400))
///         try await context.sleep("cool-off", for: .milliseconds(input.coolOffMs))
///         return decision
///     }
/// }
/// ```
///
/// `run` must be deterministic apart from its durable calls: on replay it must make the same durable calls in the
/// same order. Read time, randomness and ids through the context (``WorkflowContext/now()``,
/// ``WorkflowContext/uuid()``, ``WorkflowContext/random(in:)``), and make durable calls one at a time.
public protocol Workflow: Sendable {
    /// The input an execution starts with.
    associatedtype Input: Codable & Sendable
    /// The output a completed execution returns.
    associatedtype Output: Codable & Sendable

    /// The stable name executions are stored under. Defaults to the type's name; renaming the type without
    /// keeping this name orphans the executions already stored.
    static var name: String { get }

    /// The deferreds the workflow waits on, so that resolves can be checked against their value type before
    /// anything is stored. Defaults to none (values are then checked when the workflow reads them).
    static var deferreds: [any DeferredDeclaration] { get }

    /// How long a finished execution of this workflow (its record, journal and deferreds) is kept before the
    /// cluster's maintenance deletes it; after that, its id may start a new execution. Defaults to `nil`: the
    /// cluster's retention (``Maintenance/Configuration/retention``, 7 days unless configured).
    static var retention: Duration? { get }

    /// Runs the workflow.
    /// - Parameters:
    ///   - input: The execution's input.
    ///   - context: Durable calls, deterministic values and the execution's identity.
    /// - Returns: The execution's output.
    /// - Throws: Any error; it fails the execution (code `workflow_failed`, or `activity_failed` for an
    ///   uncaught ``ActivityFailure``).
    func run(_ input: Input, context: WorkflowContext) async throws -> Output
}

extension Workflow {
    public static var name: String { String(describing: Self.self) }
    public static var deferreds: [any DeferredDeclaration] { [] }
    public static var retention: Duration? { nil }
}

import PostgresNIO

/// The statement that records an activity's effect, for an activity that is this one statement: prepared once per
/// connection (``WorkflowContext/activity(_:retry:prepared:)``). Public so that the engine bench can replay `Order`'s
/// statements without the engine.
public struct RecordEffect: PostgresPreparedStatement {
    public static let sql = "INSERT INTO example_effects (execution_id, step) VALUES ($1, $2)"
    public static let bindingDataTypes: [PostgresDataType] = [.text, .text]

    /// The execution whose activity this is.
    var executionId: String
    /// The activity's name.
    var step: String

    public func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(executionId)
        bindings.append(step)
        return bindings
    }

    public func decodeRow(_ row: PostgresRow) throws {}
}

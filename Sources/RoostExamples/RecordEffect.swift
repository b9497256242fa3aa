import PostgresNIO

/// The statement that records an activity's effect, for an activity that is this one statement: prepared once per
/// connection (``WorkflowContext/activity(_:retry:prepared:)``).
struct RecordEffect: PostgresPreparedStatement {
    static let sql = "INSERT INTO example_effects (execution_id, step) VALUES ($1, $2)"
    static let bindingDataTypes: [PostgresDataType] = [.text, .text]

    /// The execution whose activity this is.
    var executionId: String
    /// The activity's name.
    var step: String

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(executionId)
        bindings.append(step)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

import PostgresNIO
import RoostPostgres

/// The example activities' effects checked against the journal: every completed activity recorded its effect
/// row exactly once, and no effect exists without its completed activity.
public struct ExampleEffects: Sendable {
    /// Effect rows in `example_effects`.
    public var recorded = 0
    /// Completed activities in the journal: each should have recorded one effect.
    public var expected = 0
    /// `(execution, step)` pairs recorded more than once.
    public var duplicated = 0
    /// Completed activities whose effect row is missing.
    public var missing = 0

    /// Whether every completed activity's effect happened exactly once and no other effect exists.
    public var exactlyOnce: Bool { recorded == expected && duplicated == 0 && missing == 0 }

    /// Reads the counts from a storage's schema.
    public static func read(_ storage: PostgresStorage) async throws -> ExampleEffects {
        let schema = "\"\(storage.configuration.schema)\""
        var effects = ExampleEffects()
        for try await row in try await storage.client.query("""
            SELECT
                (SELECT count(*)::int FROM \(unescaped: schema).example_effects),
                (SELECT count(*)::int FROM \(unescaped: schema).journal
                 WHERE kind = 'activity' AND state = 'completed'),
                (SELECT count(*)::int FROM (SELECT 1 FROM \(unescaped: schema).example_effects
                                            GROUP BY execution_id, step HAVING count(*) > 1) d),
                (SELECT count(*)::int FROM \(unescaped: schema).journal j
                 JOIN \(unescaped: schema).executions e ON e.key = j.execution
                 WHERE j.kind = 'activity' AND j.state = 'completed'
                   AND NOT EXISTS (SELECT 1 FROM \(unescaped: schema).example_effects x
                                   WHERE x.execution_id = e.id AND x.step = j.name))
            """, logger: storage.logger).decode((Int, Int, Int, Int).self) {
            (effects.recorded, effects.expected, effects.duplicated, effects.missing) = row
        }
        return effects
    }
}

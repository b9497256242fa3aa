import Roost
import RoostPostgres
import RoostRunner

extension RoostApplication {
    /// The examples as an application: the example workflows, the entity `Counter`, the singleton
    /// `example-singleton`, their tables (created before a runner joins) and, with `schedules`, the schedule
    /// `tick-every-second`. What `roost runner` hosts.
    /// - Parameter schedules: Whether the example schedule runs (`ROOST_EXAMPLE_SCHEDULES=on`).
    public static func examples(schedules: Bool = false) -> RoostApplication {
        var application = RoostApplication()
        application.workflows = Examples.registry
        application.beforeJoining { storage in try await Examples.prepare(storage) }
        application.registerEntities { system, storage in Examples.register(entitiesOn: system, storage: storage) }
        application.registerSingleton { storage in Examples.singleton(storage: storage) }
        if schedules { for schedule in Examples.schedules { application.register(schedule) } }
        return application
    }
}

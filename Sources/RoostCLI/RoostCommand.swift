import ArgumentParser
import Roost
import Synchronization
import RoostExamples
import RoostRunner

/// The `roost` command: runner, migrations, cluster status, executions, deferreds, schedules and benchmarks.
///
/// An application's own executable gets every subcommand for its own workflows:
///
/// ```swift
/// @main
/// enum HelloRoost {
///     static func main() async {
///         await RoostCommand.main(application: .hello)
///     }
/// }
/// ```
///
/// `runner` then hosts that application, and `workflow …` and `deferred …` check names and payloads against its
/// workflows. The `roost` executable is `RoostCommand.main()`, which hosts the examples.
public struct RoostCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "roost",
        abstract: "Durable workflows on PostgreSQL.",
        subcommands: [RunnerCommand.self, MigrateCommand.self, ClusterCommand.self, WorkflowCommand.self,
                      DeferredCommand.self, ScheduleCommand.self, ExamplesCommand.self,
                      BenchCommand.self, DemoCommand.self]
    )

    /// The application the process's command line runs for, set once by ``main(application:)``; `nil` for the
    /// examples. Held for the process rather than in a task-local: ArgumentParser's `main()` ends the process from
    /// inside its run, and a task-local binding around it crashed the runtime's task allocator ("freed pointer was
    /// not the last allocation") in one run of `workflow start --batch`.
    private static let application = Mutex<RoostApplication?>(nil)

    static var hosted: RoostApplication? { application.withLock { $0 } }

    public init() {}

    /// Parses the process's arguments and runs the subcommand for `application`, then exits.
    /// - Parameter application: What `roost runner` hosts and what the other subcommands check names against.
    public static func main(application: RoostApplication) async {
        Self.application.withLock { $0 = application }
        await main()
    }

    /// What `roost runner` hosts: the application given to ``main(application:)``, else the examples, with their
    /// schedule when `exampleSchedules` is on.
    static func hostedApplication(exampleSchedules: Bool) -> RoostApplication {
        hosted ?? .examples(schedules: exampleSchedules)
    }

    /// The workflows names and payloads are checked against.
    static var workflows: WorkflowRegistry { hosted?.workflows ?? Examples.registry }
}

import ArgumentParser
import Roost
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

    /// The application the command runs for; `nil` for the examples.
    @TaskLocal static var hosted: RoostApplication?

    public init() {}

    /// Parses the process's arguments and runs the subcommand for `application`, then exits.
    /// - Parameter application: What `roost runner` hosts and what the other subcommands check names against.
    public static func main(application: RoostApplication) async {
        await $hosted.withValue(application) { await main() }
    }

    /// What `roost runner` hosts: the application given to ``main(application:)``, else the examples, with their
    /// schedule when `exampleSchedules` is on.
    static func application(exampleSchedules: Bool) -> RoostApplication {
        hosted ?? .examples(schedules: exampleSchedules)
    }

    /// The workflows names and payloads are checked against.
    static var workflows: WorkflowRegistry { hosted?.workflows ?? Examples.registry }
}

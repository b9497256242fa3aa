import ArgumentParser

/// The `roost` command: runner, migrations, cluster status, executions, deferreds, schedules and benchmarks.
public struct RoostCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "roost",
        abstract: "Durable workflows on PostgreSQL.",
        subcommands: [RunnerCommand.self, MigrateCommand.self, ClusterCommand.self, WorkflowCommand.self,
                      DeferredCommand.self, ScheduleCommand.self, ExamplesCommand.self,
                      BenchCommand.self, DemoCommand.self]
    )

    public init() {}
}

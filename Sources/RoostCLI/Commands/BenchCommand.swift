import ArgumentParser

/// `roost bench …`: measurements against the configured PostgreSQL.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure the engine against the configured PostgreSQL.",
        subcommands: [EngineBench.self, ClusterBench.self, ScaleBench.self, DatabaseBench.self, ResolverCommand.self])
}

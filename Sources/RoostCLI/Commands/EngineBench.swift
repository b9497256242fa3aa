import ArgumentParser

/// `roost bench engine`: throughput, wake-up latency, timer lateness and idle load.
struct EngineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine", abstract: "Throughput, wake-up latency, timer lateness and idle database load.")
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        throw ValidationError("not yet implemented")
    }
}

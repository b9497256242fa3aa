import ArgumentParser
import RoostPostgres

/// `roost migrate`: applies pending schema migrations.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply pending schema migrations (safe to run concurrently).")
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let configuration = try database.storageConfiguration()
            let applied = try await withPostgresStorage(configuration, logger: Settings.quietLogger,
                                                        migrate: false) { try await $0.migrate() }
            if database.json {
                Output.printJSON(["applied": applied, "schema": configuration.schema])
            } else {
                print(applied.isEmpty ? "schema \(configuration.schema) is up to date"
                      : "applied migrations \(applied.map(String.init).joined(separator: ", ")) to schema "
                        + configuration.schema)
            }
        }
    }
}

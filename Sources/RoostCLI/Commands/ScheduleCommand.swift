import ArgumentParser
import Foundation
import Roost

/// `roost schedule list`.
struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule", abstract: "Inspect cron schedules.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the schedules runners registered, with their last and next ticks and where they run.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let schedules = try await database.withExecutions { try await $0.schedules() }
                if database.json {
                    Output.printJSON(["schedules": schedules.map(\.jsonObject)])
                } else {
                    print(Output.table(["NAME", "CRON", "TIME ZONE", "WORKFLOW", "CATCH-UP", "LAST TICK", "NEXT TICK",
                                        "RUNNER"], schedules.map {
                        [$0.name, $0.cron, $0.timeZone, $0.workflow, $0.catchUp,
                         $0.lastTick.map(Timestamp.format) ?? "-", $0.nextTick.map(Timestamp.format) ?? "-",
                         $0.runner ?? "-"]
                    }))
                }
            }
        }
    }
}

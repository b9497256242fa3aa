import ArgumentParser
import Foundation
import Roost
import RoostClient

/// `roost workflow …`: start, inspect, await and cancel executions.
struct WorkflowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflow", abstract: "Start, inspect, await and cancel workflow executions.",
        subcommands: [Start.self, Result.self, Status.self, Show.self, List.self, Cancel.self, Retry.self,
                      Replay.self, Delete.self, Types.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start an execution (idempotent by id), or many from a file with --batch.")
        @Argument(help: "The workflow's name.") var name: String
        @Option(help: "The execution id, the idempotency key.") var id: String?
        @Option(help: "The input as JSON.") var input: String?
        @Option(help: ArgumentHelp("Start the executions of a file of JSON lines, one {\"id\", \"input\"} each "
                                   + "(- for standard input), with one statement per 10,000.",
                                   valueName: "file"))
        var batch: String?
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            switch (batch, id, input) {
            case (nil, .some, .some): break
            case (.some, nil, nil):
                guard database.runnerURL == nil else {
                    throw ValidationError("--batch starts through the database; leave out --runner")
                }
            case (.some, _, _): throw ValidationError("--batch takes the ids and inputs from its file: leave out "
                                                      + "--id and --input")
            default: throw ValidationError("give --id and --input, or --batch FILE")
            }
        }

        func run() async throws {
            try await reportingErrors {
                if let batch {
                    try await startBatch(from: batch)
                    return
                }
                let id = id ?? "", input = input ?? ""
                let started = try await database.withExecutions { try await $0.start(workflow: name, id: id, input: input) }
                if database.json {
                    Output.printJSON(["workflow": name, "id": id, "created": started.created,
                                      "status": started.record.status.rawValue])
                } else {
                    print(started.created ? "started \(name) \(id)"
                          : "\(name) \(id) already exists (\(started.record.status)); nothing started")
                }
            }
        }

        /// Starts every line of the file, 10,000 per statement; a bad line or a refused execution is reported with
        /// its line number and the others are started. Exits non-zero if any was refused.
        private func startBatch(from path: String) async throws {
            let lines = try BatchFile.read(path, workflow: name)
            let results = try await database.withClient { client in
                var results: [(line: Int, outcome: Swift.Result<StartResult, WorkflowError>)] = []
                for chunk in stride(from: 0, to: lines.count, by: Executions.maximumBatchSize) {
                    let slice = Array(lines[chunk..<min(lines.count, chunk + Executions.maximumBatchSize)])
                    let requests = slice.compactMap { try? $0.request.get() }
                    var started = try await requests.isEmpty ? [] : client.start(requests)[...]
                    for line in slice {
                        switch line.request {
                        case .success: results.append((line.number, started.removeFirst()))
                        case .failure(let error): results.append((line.number, .failure(error)))
                        }
                    }
                }
                return results
            }
            BatchFile.report(results, json: database.json)
            if results.contains(where: { if case .failure = $0.outcome { true } else { false } }) {
                throw ExitCode(1)
            }
        }
    }

    struct Result: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an execution's result, optionally waiting.")
        @Argument(help: "The workflow's name.") var name: String
        @Argument(help: "The execution id.") var id: String
        @Flag(help: "Wait until the execution finishes.") var wait = false
        @Option(help: "With --wait, give up after this many seconds.") var timeout: Double?
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if let timeout, !(timeout >= 0) { throw ValidationError("--timeout must be a number of seconds ≥ 0") }
        }

        func run() async throws {
            try await reportingErrors {
                let waitFor: Duration? = wait ? timeout.map { .milliseconds(Int64($0 * 1000)) } : .zero
                // People waiting at a terminal see progress; scripts and --json get only the answer.
                let showProgress = wait && !database.json && isatty(STDERR_FILENO) == 1
                let record = try await database.withExecutions { api in
                    try await withThrowingTaskGroup(of: ExecutionRecord?.self) { group in
                        group.addTask { try await api.result(workflow: name, id: id, timeout: waitFor) }
                        if showProgress { group.addTask { try await Self.progress(api, name: name, id: id) } }
                        defer { group.cancelAll() }
                        while let next = try await group.next() {
                            if let record = next { return record }
                        }
                        throw CancellationError()
                    }
                }
                if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                if database.json {
                    Output.printJSON(Output.result(record))
                } else {
                    switch record.status {
                    case .completed: print("completed: \(record.output ?? "null")")
                    case .failed, .cancelled: print("\(record.status): \(record.error?.description ?? "")")
                    default: print("\(record.status)")
                    }
                }
                if wait, !record.status.isTerminal {
                    FileHandle.standardError.write(Data("roost: timed_out: \(name) \(id) is still \(record.status)\n".utf8))
                    throw ExitCode(2)
                }
            }
        }
    }
}

extension WorkflowCommand.Result {
    /// Refreshes one line on stderr every second with the execution's status and durable calls so far, until
    /// cancelled; returns nil.
    static func progress(_ api: any ExecutionsAPI, name: String, id: String) async throws -> ExecutionRecord? {
        let started = ContinuousClock.now
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(1))
            let detail = try await api.detail(workflow: name, id: id)
            let done = detail.journal.filter { $0.entry.state == .completed }.count
            let elapsed = Int((ContinuousClock.now - started).components.seconds)
            let line = "\r\u{1B}[Kwaiting \(elapsed) s: \(name) \(id) is \(detail.record.status), "
                + "\(done) of \(detail.journal.count) durable calls done, attempt \(detail.record.attempt)"
                + (detail.owner.map { ", on \($0)" } ?? "")
            FileHandle.standardError.write(Data(line.utf8))
        }
        return nil
    }
}

extension WorkflowCommand {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an execution's status.")
        @Argument(help: "The workflow's name.") var name: String
        @Argument(help: "The execution id.") var id: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let record = try await database.withExecutions { try await $0.status(workflow: name, id: id) }
                if database.json {
                    Output.printJSON(Output.record(record))
                } else {
                    print("\(record.workflow) \(record.id): \(record.status) (attempt \(record.attempt))")
                    if let error = record.error { print("error: \(error)") }
                    if let output = record.output { print("output: \(output)") }
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List executions, newest first.")
        @Option(help: "Only this workflow.") var workflow: String?
        @Option(help: "Only this status: \(ExecutionStatus.all.map(\.rawValue).joined(separator: ", ")).")
        var status: String?
        @Option(help: "At most this many.") var limit = 100
        @Option(help: "The next page: the cursor a full page ended with (nextCursor in --json).")
        var cursor: String?
        @Option(help: "Flag executions no live runner has run for this many seconds (their shard has no owner).")
        var stuckAfter = 60
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if let cursor, (ExecutionKey(cursor) ?? 0) <= 0 {
                throw ValidationError("--cursor '\(cursor)' is not a cursor a listing returned")
            }
            if stuckAfter < 0 || stuckAfter > StuckExecution.longestAgeSeconds {
                throw ValidationError("--stuck-after must be a number of seconds from 0 to "
                                      + "\(StuckExecution.longestAgeSeconds)")
            }
            if let status, ExecutionStatus(status) == nil {
                throw ValidationError("unknown status '\(status)'; use one of "
                                      + ExecutionStatus.all.map(\.rawValue).joined(separator: ", "))
            }
            if limit <= 0 { throw ValidationError("--limit must be positive") }
        }

        func run() async throws {
            try await reportingErrors {
                let filter = ExecutionFilter(workflow: workflow, status: status.flatMap(ExecutionStatus.init),
                                             limit: limit, before: cursor.flatMap { ExecutionKey($0) })
                let (page, stuck) = try await database.withExecutions { client in
                    (try await client.page(filter), try await client.stuck(olderThan: .seconds(stuckAfter), limit: 1_000))
                }
                let records = page.records
                let stuckShards = Dictionary(stuck.map { ("\($0.workflow)/\($0.id)", $0.shard) }) { first, _ in first }
                let note = { (record: ExecutionRecord) -> String? in
                    stuckShards["\(record.workflow)/\(record.id)"].map { shard in
                        "stuck: no runner holds shard \(shard.map(String.init) ?? "(none yet)")"
                    }
                }
                if database.json {
                    Output.printJSON(["executions": records.map { record in
                        Output.record(record).merging(["stuck": note(record) != nil]) { $1 }
                    }, "nextCursor": page.nextCursor ?? NSNull()])
                } else {
                    print(Output.table(["WORKFLOW", "ID", "STATUS", "ATTEMPT", "CREATED", "NOTE"], records.map {
                        [$0.workflow, $0.id, $0.status.rawValue, "\($0.attempt)",
                         $0.createdAt.formatted(.iso8601), note($0) ?? ""]
                    }))
                    if let next = page.nextCursor { print("more: --cursor \(next)") }
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel an unfinished execution.")
        @Argument(help: "The workflow's name.") var name: String
        @Argument(help: "The execution id.") var id: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let outcome = try await database.withExecutions { try await $0.cancel(workflow: name, id: id) }
                if database.json {
                    Output.printJSON(["cancelled": outcome.cancelled, "status": outcome.status.rawValue])
                } else {
                    print(outcome.cancelled ? "cancelled \(name) \(id)"
                          : "nothing cancelled: \(name) \(id) is already \(outcome.status)")
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retry a failed execution from its point of failure: the journal is kept, the failed activity reruns.")
        @Argument(help: "The workflow's name.") var name: String
        @Argument(help: "The execution id.") var id: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let outcome = try await database.withExecutions { try await $0.retry(workflow: name, id: id) }
                if database.json {
                    Output.printJSON(["retried": outcome.retried, "status": outcome.status.rawValue])
                } else {
                    print(outcome.retried ? "retrying \(name) \(id): pending until its shard's owner resumes it"
                          : "nothing retried: \(name) \(id) is \(outcome.status); only a failed execution is retried")
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a finished execution with its journal and deferreds, before its retention would.")
        @Argument(help: "The workflow's name.") var name: String
        @Argument(help: "The execution id.") var id: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let outcome = try await database.withExecutions { try await $0.delete(workflow: name, id: id) }
                if database.json {
                    Output.printJSON(["deleted": outcome.deleted, "status": outcome.status.rawValue])
                } else {
                    print("deleted \(name) \(id) (\(outcome.status))")
                }
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a finished execution again as a new execution with its original input.")
        @Argument(help: "The workflow's name.") var name: String
        @Argument(help: "The finished execution's id.") var id: String
        @Option(name: .customLong("as"),
                help: "The new execution's id (default: ID-replay-<random>); replaying again with it returns it.")
        var newId: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let newId = newId ?? ReplayID.make(for: id)
                let started = try await database.withExecutions { try await $0.replay(workflow: name, id: id, as: newId) }
                if database.json {
                    Output.printJSON(["created": started.created, "execution": started.record.jsonObject])
                } else {
                    print(started.created ? "replaying \(name) \(id) as \(newId)"
                          : "\(name) \(newId) exists already (\(started.record.status))")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show an execution in full: record, hosting runner, journal, timers and deferreds.")
        @Argument(help: "The workflow's name.") var name: String
        @Argument(help: "The execution id.") var id: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let detail = try await database.withExecutions { try await $0.detail(workflow: name, id: id) }
                if database.json {
                    Output.printJSON(detail.jsonObject)
                } else {
                    print(ExecutionLayout.text(detail))
                }
            }
        }
    }
}

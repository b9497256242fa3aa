import Logging
import PostgresNIO
import Roost

/// One execution's outcome, as ``Statements/FinishBatch`` reads it.
struct FinishRequest: Sendable {
    var key: ExecutionKey
    /// The element of the batch's JSON array.
    var json: String

    init(key: ExecutionKey, entries: String, outcome: ExecutionOutcome, lease: ShardLease?) throws {
        self.key = key
        var json = "{\"key\":\(key),\"entries\":"
        PostgresWorkflowStore.appendString(entries, to: &json)
        json += ",\"status\":"
        switch outcome {
        case .completed(let output):
            json += "\"completed\",\"output\":"
            PostgresWorkflowStore.appendString(output, to: &json)
            json += ",\"error\":null"
        case .failed(let failure):
            json += "\"failed\",\"output\":null,\"error\":"
            PostgresWorkflowStore.appendString(try PostgresWorkflowStore.json(failure), to: &json)
        }
        json += ",\"lease_group\":"
        if let lease { PostgresWorkflowStore.appendString(lease.shard.group, to: &json) } else { json += "null" }
        json += ",\"lease_epoch\":" + (lease.map { "\($0.epoch)" } ?? "null") + "}"
        self.json = json
    }
}

extension PostgresWorkflowStore {
    /// The outcomes of executions ending at about the same time, stored in one statement (``StatementBatcher``).
    static func finishBatcher(client: PostgresClient, writer: String, channel: String,
                              logger: Logger) -> StatementBatcher<FinishRequest, ExecutionRecord?> {
        StatementBatcher(maximum: 64) { requests in
            await finishAll(requests, client: client, writer: writer, channel: channel, logger: logger)
        }
    }

    /// Stores outcomes in one statement; each request gets the execution it finished, `nil` if its guard refused
    /// it, or the error that failed it.
    static func finishAll(_ requests: [FinishRequest], client: PostgresClient, writer: String, channel: String,
                          logger: Logger) async -> [Result<ExecutionRecord?, any Error>] {
        do {
            let finished = try await finish(requests, client: client, writer: writer, channel: channel,
                                            logger: logger)
            return requests.map { .success(finished[$0.key]) }
        } catch let error as PSQLError where error.serverInfo != nil && requests.count > 1 {
            // One outcome the database refuses (or a deadlock with another runner's batch) fails the whole
            // statement: each is stored on its own, so only the refused one fails.
            var outcomes: [Result<ExecutionRecord?, any Error>] = []
            for request in requests {
                do {
                    let finished = try await finish([request], client: client, writer: writer, channel: channel,
                                                    logger: logger)
                    outcomes.append(.success(finished[request.key]))
                } catch {
                    outcomes.append(.failure(error))
                }
            }
            return outcomes
        } catch {
            return requests.map { _ in .failure(error) }
        }
    }

    /// Stores the outcomes; returns the executions it finished, by key.
    private static func finish(_ requests: [FinishRequest], client: PostgresClient, writer: String, channel: String,
                               logger: Logger) async throws -> [ExecutionKey: ExecutionRecord] {
        let statement = Statements.FinishBatch(requests: "[" + requests.map(\.json).joined(separator: ",") + "]",
                                               writer: writer, channel: channel)
        return try await client.withConnection { connection in
            try await StatementGuard.shared.run(on: connection) {
                var finished: [ExecutionKey: ExecutionRecord] = [:]
                for try await record in try await connection.execute(statement, logger: logger) {
                    finished[record.key] = record
                }
                return finished
            }
        }
    }
}

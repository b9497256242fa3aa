import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Roost

/// The `roost` command's view of executions through a runner's HTTP API (`--runner URL --token T`): each
/// operation is one or two requests, and an error reply becomes the ``WorkflowError`` it stands for.
struct RunnerAPIClient: ExecutionsAPI {
    let base: URL
    let token: String?

    func start(workflow: String, id: String, input: String) async throws -> StartResult {
        let reply = try await send("POST", "/v1/workflows/\(path(workflow))/executions",
                                   body: ["id": id, "input": try Self.value(input)])
        return StartResult(record: try Self.record(reply["execution"]), created: reply["created"] as? Bool ?? false)
    }

    func result(workflow: String, id: String, timeout: Duration?) async throws -> ExecutionRecord {
        let wait = min(timeout.map { $0.seconds } ?? 300, 300)
        _ = try await send("GET", "/v1/workflows/\(path(workflow))/executions/\(path(id))/result?wait=\(wait)")
        return try await status(workflow: workflow, id: id)
    }

    func status(workflow: String, id: String) async throws -> ExecutionRecord {
        try await detail(workflow: workflow, id: id).record
    }

    func detail(workflow: String, id: String) async throws -> ExecutionDetail {
        let reply = try await send("GET", "/v1/workflows/\(path(workflow))/executions/\(path(id))")
        let journal = try (reply["journal"] as? [[String: Any]] ?? []).map { item -> JournalRecord in
            let entry = JournalEntry(
                position: item["position"] as? Int ?? 0, kind: .init(item["kind"] as? String ?? ""),
                name: item["name"] as? String ?? "", state: .init(item["state"] as? String ?? ""),
                attempts: item["attempts"] as? Int ?? 0, result: try Self.text(item["result"]),
                error: Self.failure(item["error"]), dueAt: Self.date(item["dueAt"]),
                durationMs: item["durationMs"] as? Double)
            return JournalRecord(entry: entry, recordedAt: Self.date(item["recordedAt"]) ?? Date(),
                                 updatedAt: Self.date(item["updatedAt"]) ?? Date())
        }
        let deferreds = try (reply["deferreds"] as? [[String: Any]] ?? []).map {
            DeferredRecord(name: $0["name"] as? String ?? "", value: try Self.text($0["value"]),
                           resolvedAt: Self.date($0["resolvedAt"]), resolvedBy: $0["resolvedBy"] as? String)
        }
        let execution = reply["execution"] as? [String: Any]
        return ExecutionDetail(record: try Self.record(execution), owner: execution?["owner"] as? String,
                               journal: journal, deferreds: deferreds)
    }

    func page(_ filter: ExecutionFilter) async throws -> ExecutionPage {
        var query = ["limit=\(filter.limit)"]
        if let workflow = filter.workflow { query.append("workflow=\(path(workflow))") }
        if let status = filter.status { query.append("status=\(status.rawValue)") }
        if let before = filter.before { query.append("cursor=\(before)") }
        let reply = try await send("GET", "/v1/executions?" + query.joined(separator: "&"))
        return ExecutionPage(records: try (reply["executions"] as? [[String: Any]] ?? []).map { try Self.record($0) },
                             nextCursor: reply["nextCursor"] as? String)
    }

    func stuck(olderThan age: Duration, limit: Int) async throws -> [StuckExecution] {
        Array(try await clusterReport(stuckAfter: age).stuck.prefix(limit))
    }

    func cancel(workflow: String, id: String) async throws -> CancelOutcome {
        let reply = try await send("POST", "/v1/workflows/\(path(workflow))/executions/\(path(id))/cancel")
        return CancelOutcome(cancelled: reply["cancelled"] as? Bool ?? false, status: Self.status(reply["status"]),
                             key: 0)
    }

    func retry(workflow: String, id: String) async throws -> RetryOutcome {
        let reply = try await send("POST", "/v1/workflows/\(path(workflow))/executions/\(path(id))/retry")
        return RetryOutcome(retried: reply["retried"] as? Bool ?? false, status: Self.status(reply["status"]), key: 0)
    }

    func delete(workflow: String, id: String) async throws -> DeleteOutcome {
        let reply = try await send("DELETE", "/v1/workflows/\(path(workflow))/executions/\(path(id))")
        return DeleteOutcome(deleted: reply["deleted"] as? Bool ?? false, status: Self.status(reply["status"]))
    }

    func replay(workflow: String, id: String, as newId: String) async throws -> StartResult {
        let reply = try await send("POST", "/v1/workflows/\(path(workflow))/executions/\(path(id))/replay",
                                   body: ["id": newId])
        return StartResult(record: try Self.record(reply["execution"]), created: reply["created"] as? Bool ?? false)
    }

    func resolve(workflow: String, id: String, deferred: String, value: String, by: String?) async throws
        -> ResolveOutcome {
        var body: [String: Any] = ["value": try Self.value(value)]
        if let by { body["by"] = by }
        let reply = try await send(
            "POST", "/v1/workflows/\(path(workflow))/executions/\(path(id))/deferreds/\(path(deferred))",
            body: body)
        return ResolveOutcome(resolved: reply["resolved"] as? Bool ?? false,
                              value: try Self.text(reply["value"]) ?? value, key: 0)
    }

    // MARK: Requests

    /// A path segment, percent-encoded so that any character survives.
    private func path(_ segment: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }

    /// Sends a request and returns the JSON object of a 2xx reply.
    /// - Throws: ``WorkflowError`` with the code and message of an error reply, or `storage_unavailable` if the
    ///   runner does not answer.
    func send(_ method: String, _ path: String, body: [String: Any]? = nil) async throws -> [String: Any] {
        guard let url = URL(string: base.absoluteString.trimmingCharacters(in: ["/"]) + path) else {
            throw WorkflowError(.invalidArgument, "'\(base)\(path)' is not a URL")
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 330
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body { request.httpBody = try JSONSerialization.data(withJSONObject: body, options: [.fragmentsAllowed]) }
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw WorkflowError(.storageUnavailable, "runner \(base) does not answer: \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        guard (200..<300).contains(status) else {
            let error = object["error"] as? [String: Any]
            throw WorkflowError(WorkflowError.Code(error?["code"] as? String ?? "http_\(status)"),
                                error?["message"] as? String ?? "runner \(base) answered \(status)")
        }
        return object
    }

    // MARK: Decoding the API's JSON

    private static func record(_ object: Any?) throws -> ExecutionRecord {
        guard let object = object as? [String: Any], let workflow = object["workflow"] as? String,
              let id = object["id"] as? String else {
            throw WorkflowError(.invalidPayload, "the runner answered without an execution")
        }
        return ExecutionRecord(key: 0, workflow: workflow, id: id, status: status(object["status"]),
                               input: try text(object["input"]) ?? "null", output: try text(object["output"]),
                               error: failure(object["error"]), attempt: object["attempt"] as? Int ?? 0,
                               createdAt: date(object["createdAt"]) ?? Date(),
                               updatedAt: date(object["updatedAt"]) ?? Date(), finishedAt: date(object["finishedAt"]))
    }

    private static func status(_ value: Any?) -> ExecutionStatus {
        (value as? String).flatMap(ExecutionStatus.init) ?? .pending
    }

    private static func failure(_ value: Any?) -> FailureInfo? {
        guard let object = value as? [String: Any], let code = object["code"] as? String else { return nil }
        return FailureInfo(code: code, message: object["message"] as? String ?? "")
    }

    static func date(_ value: Any?) -> Date? {
        (value as? String).flatMap(Timestamp.parse)
    }

    /// An embedded JSON value as JSON text; `nil` for JSON null or absence.
    private static func text(_ value: Any?) throws -> String? {
        guard let value, !(value is NSNull) else { return nil }
        let data = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// JSON text given on the command line, as a value to embed in a request body.
    private static func value(_ json: String) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        } catch {
            throw WorkflowError(.invalidPayload, "'\(json)' is not valid JSON")
        }
    }
}

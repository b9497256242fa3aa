import Foundation
import OpenAPIKit30
import PostgresNIO
import RoostClient
import RoostExamples
import RoostTesting
import Testing
import Yams

/// Calls a runner's HTTP API with curl, as an operator would.
struct CurlClient {
    let base: String
    let token: String?

    /// The status and the JSON object of a response.
    struct Reply {
        var status: Int
        var json: [String: Any]
        var text: String

        /// The error code of an error reply.
        var code: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    /// Sends a request; `body` goes as it is, `bodyFile` from a file.
    func call(_ method: String, _ path: String, body: String? = nil, bodyFile: String? = nil,
              token override: String?? = nil) async throws -> Reply {
        var arguments = ["-s", "-X", method, "-w", "\n%{http_code}", "-H", "Content-Type: application/json"]
        if let token = override ?? token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        if let body { arguments += ["--data-binary", body] }
        if let bodyFile { arguments += ["--data-binary", "@\(bodyFile)"] }
        arguments.append(base + path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Read while curl writes (a reply larger than the pipe's buffer would block it otherwise); the output
        // ends when curl exits.
        let data: Data = await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: output.fileHandleForReading.readDataToEndOfFile()) }.start()
        }
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.last ?? "") ?? 0
        let body = lines.dropLast().joined(separator: "\n")
        let json = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        return Reply(status: status, json: json, text: body)
    }
}

@Suite("The runners' HTTP API, called with curl")
struct HTTPAPITests {
    static let token = "test-token-0123456789"

    /// A runner serving the API, and a client for it.
    private func withAPI(token: String? = HTTPAPITests.token, environment extra: [String: String] = [:],
                         _ body: (ProcessHarness, CurlClient) async throws -> Void) async throws {
        try await withProcesses { harness in
            let port = FreePort.next()
            var environment = extra.merging(["ROOST_HTTP_ADDRESS": "127.0.0.1:\(port)"]) { $1 }
            if let token { environment["ROOST_API_TOKEN"] = token }
            let runner = try await harness.startRunner("http", environment: environment)
            try await runner.waitForLine(containing: "Server started and listening")
            // Ready means holding shards: a single runner takes them all at its first acquisition.
            try await runner.waitForLine(containing: "shards acquired")
            try await body(harness, CurlClient(base: "http://127.0.0.1:\(port)", token: token))
        }
    }

    @Test("a batch start through /v1 starts its members with one call and refuses each bad one alone, in order")
    func batchStart() async throws {
        try await withAPI { _, api in
            let body = """
                {"executions": [
                    {"id": "hb-1", "input": {"orderId": "hb-1", "amount": 1}},
                    {"id": "hb-2", "input": {"orderId": "hb-2", "amount": "two"}},
                    {"id": "hb-1", "input": {"orderId": "hb-1", "amount": 1}},
                    {"id": "hb-1", "input": {"orderId": "hb-1", "amount": 9}},
                    {"input": {"orderId": "hb-3", "amount": 3}},
                    {"id": "hb-4", "input": {"orderId": "hb-4", "amount": 4}}
                ]}
                """
            let started = try await api.call("POST", "/v1/workflows/Order/executions:batch", body: body)
            let results = started.json["results"] as? [[String: Any]] ?? []
            let outcomes = results.map { ($0["error"] as? [String: Any])?["code"] as? String
                                         ?? (($0["created"] as? Bool) == true ? "created" : "existing") }
            try require(started.status == 200 && outcomes == ["created", "invalid_payload", "existing", "conflict",
                                                              "invalid_argument", "created"], started.text)
            for id in ["hb-1", "hb-4"] {
                let result = try await api.call("GET", "/v1/workflows/Order/executions/\(id)/result?wait=60")
                try require(result.json["status"] as? String == "completed", result.text)
            }
            let empty = try await api.call("POST", "/v1/workflows/Order/executions:batch", body: #"{"executions": []}"#)
            try require(empty.status == 400 && empty.text.contains("1 to 10000"), empty.text)
        }
    }

    @Test("start, read, await, list, cancel and resolve through /v1")
    func executions() async throws {
        try await withAPI { _, api in
            let started = try await api.call("POST", "/v1/workflows/Order/executions",
                                             body: #"{"id": "http-1", "input": {"orderId": "o-1", "amount": 7}}"#)
            try require(started.status == 201 && started.json["created"] as? Bool == true, started.text)
            let again = try await api.call("POST", "/v1/workflows/Order/executions",
                                           body: #"{"id": "http-1", "input": {"orderId": "o-1", "amount": 7}}"#)
            try require(again.status == 200 && again.json["created"] as? Bool == false, again.text)
            let result = try await api.call("GET", "/v1/workflows/Order/executions/http-1/result?wait=60")
            try require(result.status == 200 && result.json["status"] as? String == "completed", result.text)
            let read = try await api.call("GET", "/v1/workflows/Order/executions/http-1")
            let execution = read.json["execution"] as? [String: Any]
            try require(execution?["status"] as? String == "completed"
                        && (execution?["input"] as? [String: Any])?["amount"] as? Int == 7, read.text)
            let journal = read.json["journal"] as? [[String: Any]] ?? []
            try require(journal.compactMap { $0["name"] as? String } == ["reserve", "charge", "confirm"]
                        // Order's activities are statements, whose entries record no duration.
                        && journal.allSatisfy { $0["durationMs"] is NSNull }
                        && (execution?["owner"] as? String)?.hasPrefix("127.0.0.1:") == true, read.text)

            // An id with SQL metacharacters, a slash and unicode, percent-encoded in paths.
            let id = "ap/1 ü';--"
            let path = "/v1/workflows/Approval/executions/ap%2F1%20%C3%BC'%3B--"
            let approval = try await api.call("POST", "/v1/workflows/Approval/executions",
                                              body: #"{"id": "ap/1 ü';--", "input": {"requestId": "r", "coolOffMs": 0}}"#)
            try require(approval.status == 201, approval.text)
            let resolved = try await api.call("POST", path + "/deferreds/decision",
                                              body: #"{"value": {"approved": true, "by": "curl"}, "by": "ops Ana"}"#)
            try require(resolved.status == 200 && resolved.json["resolved"] as? Bool == true, resolved.text)
            let second = try await api.call("POST", path + "/deferreds/decision",
                                            body: #"{"value": {"approved": false, "by": "late"}}"#)
            try require(second.json["resolved"] as? Bool == false
                        && (second.json["value"] as? [String: Any])?["by"] as? String == "curl", second.text)
            let decided = try await api.call("GET", path + "/result?wait=60")
            try require((decided.json["output"] as? [String: Any])?["by"] as? String == "curl", decided.text)
            let detail = try await api.call("GET", path)
            let activities = (detail.json["journal"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "activity" }
            try require(activities.count == 2 && activities.allSatisfy { $0["durationMs"] is Double }, detail.text)
            let deferreds = detail.json["deferreds"] as? [[String: Any]] ?? []
            try require(deferreds.count == 1 && deferreds[0]["resolvedBy"] as? String == "ops Ana"
                        && deferreds[0]["state"] as? String == "resolved", detail.text)
            let listed = try await api.call("GET", "/v1/executions?workflow=Approval&limit=10")
            let ids = (listed.json["executions"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            try require(ids == [id], listed.text)

            let cluster = try await api.call("GET", "/v1/cluster?stuckAfter=0")
            let runners = cluster.json["runners"] as? [[String: Any]] ?? []
            try require(runners.count == 1 && runners[0]["health"] as? String == "live"
                        && (runners[0]["ping"] as? [String: Any])?["ms"] is Double
                        && cluster.json["unowned"] as? Int == 0, cluster.text)

            let notFailed = try await api.call("POST", "/v1/workflows/Order/executions/http-1/retry")
            try require(notFailed.status == 200 && notFailed.json["retried"] as? Bool == false
                        && notFailed.json["status"] as? String == "completed", notFailed.text)
            let replayed = try await api.call("POST", "/v1/workflows/Order/executions/http-1/replay",
                                              body: #"{"id": "http-1-again"}"#)
            try require(replayed.status == 201
                        && ((replayed.json["execution"] as? [String: Any])?["input"] as? [String: Any])?["amount"]
                            as? Int == 7, replayed.text)
            let replayedAgain = try await api.call("POST", "/v1/workflows/Order/executions/http-1/replay",
                                                   body: #"{"id": "http-1-again"}"#)
            try require(replayedAgain.status == 200 && replayedAgain.json["created"] as? Bool == false,
                        replayedAgain.text)
            let defaultId = try await api.call("POST", "/v1/workflows/Order/executions/http-1/replay")
            let newId = (defaultId.json["execution"] as? [String: Any])?["id"] as? String ?? ""
            try require(defaultId.status == 201 && newId.hasPrefix("http-1-replay-"), defaultId.text)

            // Pages: two at a time, newest first, until nextCursor is null.
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await api.call("GET", "/v1/executions?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""))
                seen += (page.json["executions"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                cursor = page.json["nextCursor"] as? String
            } while cursor != nil
            let all = try await api.call("GET", "/v1/executions?limit=100")
            try require(seen == (all.json["executions"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                        && seen.count == 4 && Set(seen).count == 4, "pages: \(seen)")
            let badCursor = try await api.call("GET", "/v1/executions?cursor=abc")
            try require(badCursor.status == 400 && badCursor.code == "invalid_argument", badCursor.text)

            _ = try await api.call("POST", "/v1/workflows/Reminder/executions",
                                   body: #"{"id": "r-1", "input": {"delayMs": 600000}}"#)
            let cancelled = try await api.call("POST", "/v1/workflows/Reminder/executions/r-1/cancel")
            try require(cancelled.json["cancelled"] as? Bool == true
                        && cancelled.json["status"] as? String == "cancelled", cancelled.text)
            let again2 = try await api.call("POST", "/v1/workflows/Reminder/executions/r-1/cancel")
            try require(again2.status == 200 && again2.json["cancelled"] as? Bool == false, again2.text)
        }
    }

    @Test("/metrics serves Prometheus text without a token: executions, activities, timers, wake-ups, shards, database pool")
    func metrics() async throws {
        // Runs never park: a resolve that reaches a loaded machine late must still wake the run in memory, the
        // wake-up this test counts (a parked run is replayed instead, and counts none).
        try await withAPI(environment: ["ROOST_PARK_AFTER_MS": "0"]) { harness, api in
            _ = try await api.call("POST", "/v1/workflows/Order/executions",
                                   body: #"{"id": "m-1", "input": {"orderId": "o", "amount": 1}}"#)
            _ = try await api.call("GET", "/v1/workflows/Order/executions/m-1/result?wait=60")
            _ = try await api.call("POST", "/v1/workflows/Reminder/executions",
                                   body: #"{"id": "m-2", "input": {"delayMs": 10}}"#)
            _ = try await api.call("GET", "/v1/workflows/Reminder/executions/m-2/result?wait=60")
            // A resolve from another process: the runner reads it from the database when woken. The run must have
            // suspended first: one that finds the value before suspending was not woken, and counts no wake-up.
            let runner = harness.processes[0]
            let suspensions = runner.output.components(separatedBy: "execution suspended").count - 1
            _ = try await api.call("POST", "/v1/workflows/Approval/executions",
                                   body: #"{"id": "m-3", "input": {"requestId": "r", "coolOffMs": 0}}"#)
            try await runner.waitForLine(containing: "execution suspended", count: suspensions + 1)
            try await harness.client.resolve(Approval.decision, of: Approval.self, id: "m-3",
                                             value: .init(approved: true, by: "metrics"))
            _ = try await api.call("GET", "/v1/workflows/Approval/executions/m-3/result?wait=60")
            let metrics = try await api.call("GET", "/metrics", token: .some(nil))
            try require(metrics.status == 200, metrics.text)
            for line in [
                #"roost_executions_started_total{workflow="Order"} 1"#,
                #"roost_executions_finished_total{workflow="Order",status="completed"} 1"#,
                #"roost_activity_attempts_total{workflow="Order",outcome="completed"} 3"#,
                "roost_shards_held 300",
                "roost_timers_fired_total 2",
                "roost_wakeup_latency_seconds_count 1",
            ] {
                try require(metrics.text.contains(line), "no '\(line)' in:\n\(metrics.text)")
            }
            try require(metrics.text.contains("roost_lease_renewals_total ")
                        && metrics.text.contains("roost_activity_duration_seconds_bucket")
                        && metrics.text.contains("roost_timer_lateness_seconds_bucket")
                        && metrics.text.contains("roost_database_pool_size 20"), metrics.text)
            // The pool is sampled from pg_stat_activity in the background: await the first sample.
            try await runner.waitForLine(containing: "database pool sampled")
            let sampled = try await api.call("GET", "/metrics", token: .some(nil)).text
            try require(sampled.contains(#"roost_database_connections{state="idle"} "#)
                        && sampled.contains(#"roost_database_connections{state="active"} "#)
                        && sampled.contains(#"roost_database_connections{state="idle_in_transaction"} "#), sampled)
            // Every series has its help text, as `promtool check metrics` requires.
            let lines = sampled.split(separator: "\n")
            for (index, line) in lines.enumerated() where line.hasPrefix("# TYPE roost_") {
                let name = line.split(separator: " ")[2]
                try require(index > 0 && lines[index - 1].hasPrefix("# HELP \(name) "),
                            "no help for \(name):\n\(sampled)")
            }
        }
    }

    @Test("bad input gets a precise error with the right status, and nothing is stored")
    func badInput() async throws {
        try await withAPI { harness, api in
            let cases: [(String, String, String?, Int, String)] = [
                ("POST", "/v1/workflows/Order/executions", #"{"id": "x", "input": "#, 400, "invalid_json"),
                ("POST", "/v1/workflows/Order/executions", #"[1, 2]"#, 400, "invalid_json"),
                ("POST", "/v1/workflows/Order/executions", #"{"id": 5, "input": {}}"#, 400, "invalid_argument"),
                ("POST", "/v1/workflows/Order/executions", #"{"id": "x"}"#, 400, "invalid_argument"),
                ("POST", "/v1/workflows/Order/executions", #"{"id": "x", "input": {"orderId": "o", "amount": "7"}}"#,
                 400, "invalid_payload"),
                ("POST", "/v1/workflows/Nope/executions", #"{"id": "x", "input": {}}"#, 404, "unknown_workflow"),
                ("GET", "/v1/workflows/Order/executions/nope", nil, 404, "unknown_execution"),
                ("POST", "/v1/workflows/Order/executions/nope/deferreds/decision", #"{"value": 1}"#, 404,
                 "unknown_execution"),
                ("POST", "/v1/workflows/Order/executions/c/deferreds/decision", #"{"value": 1, "by": 7}"#, 400,
                 "invalid_argument"),
                ("GET", "/v1/executions?status=sleeping", nil, 400, "invalid_argument"),
                ("GET", "/v1/executions?limit=0", nil, 400, "invalid_argument"),
                ("GET", "/v1/workflows/Order/executions/x/result?wait=-1", nil, 400, "invalid_argument"),
                ("GET", "/v1/nothing", nil, 404, "not_found"),
                ("GET", "/v1/cluster?stuckAfter=2251799813685247", nil, 400, "invalid_argument"),
                ("DELETE", "/v1/workflows/Order/executions/nope", nil, 404, "unknown_execution"),
            ]
            for (method, path, body, status, code) in cases {
                let reply = try await api.call(method, path, body: body)
                try require(reply.status == status && reply.code == code,
                            "\(method) \(path) \(body ?? ""): expected \(status) \(code), got \(reply.status) \(reply.text)")
            }
            let conflict = try await api.call("POST", "/v1/workflows/Order/executions",
                                              body: #"{"id": "c", "input": {"orderId": "o", "amount": 1}}"#)
            try require(conflict.status == 201, conflict.text)
            let differs = try await api.call("POST", "/v1/workflows/Order/executions",
                                             body: #"{"id": "c", "input": {"orderId": "o", "amount": 2}}"#)
            try require(differs.status == 409 && differs.code == "conflict", differs.text)

            let huge = FileManager.default.temporaryDirectory.appendingPathComponent("roost-huge-\(UUID()).json").path
            let padding = String(repeating: "a", count: 3 << 20)
            try #"{"id": "huge", "input": {"orderId": "\#(padding)", "amount": 1}}"#
                .write(toFile: huge, atomically: true, encoding: .utf8)
            let tooLarge = try await api.call("POST", "/v1/workflows/Order/executions", bodyFile: huge)
            try require(tooLarge.status == 413 && tooLarge.code == "body_too_large", tooLarge.text)
            try require(try await harness.count("SELECT count(*)::int FROM executions WHERE id <> 'c'") == 0,
                        "nothing refused was stored")
        }
    }

    @Test("without the right bearer token every route but /health, /ready and /metrics is refused; the token is not logged")
    func authentication() async throws {
        try await withAPI { harness, api in
            let health = try await api.call("GET", "/health", token: .some(nil))
            try require(health.status == 200 && health.json["status"] as? String == "up", health.text)
            let ready = try await api.call("GET", "/ready", token: .some(nil))
            try require(ready.status == 200 && ready.json["ready"] as? Bool == true, ready.text)
            for token: String? in [nil, "wrong", HTTPAPITests.token + "x", String(HTTPAPITests.token.dropLast())] {
                let reply = try await api.call("GET", "/v1/executions", token: .some(token))
                try require(reply.status == 401 && reply.code == "unauthorized", "\(token ?? "none"): \(reply.text)")
            }
            // Every operation of the document that declares a security requirement refuses a caller without the
            // token; the others serve it.
            let document = try Self.document()
            for (path, item) in document.paths {
                for endpoint in item.pathItemValue?.endpoints ?? [] {
                    let route = path.rawValue.replacingOccurrences(of: #"\{[^}]+\}"#, with: "x",
                                                                   options: .regularExpression)
                    let open = (endpoint.operation.security ?? document.security).isEmpty
                    for token: String? in [nil, "wrong"] {
                        let reply = try await api.call(endpoint.method.rawValue, route, body: "{}", token: .some(token))
                        let what = "\(endpoint.method.rawValue) \(route) with \(token ?? "no token")"
                        if open {
                            try require(reply.status != 401, "\(what) is open in the document: \(reply.text)")
                        } else {
                            try require(reply.status == 401 && reply.code == "unauthorized", "\(what): \(reply.text)")
                        }
                    }
                }
            }
            let start = try await api.call("POST", "/v1/workflows/Order/executions",
                                           body: #"{"id": "x", "input": {"orderId": "o", "amount": 1}}"#,
                                           token: .some("wrong"))
            try require(start.status == 401, start.text)
            try require(try await harness.count("SELECT count(*)::int FROM executions") == 0, "nothing was started")
            try require(!harness.logs.contains(HTTPAPITests.token) && !harness.logs.contains("Bearer wrong"),
                        "a token reached the log")
        }
        try await withAPI(token: nil) { _, api in
            let health = try await api.call("GET", "/health")
            try require(health.status == 200, health.text)
            let refused = try await api.call("GET", "/v1/executions", token: .some("anything"))
            try require(refused.status == 401 && refused.text.contains("no API token"), refused.text)
        }
    }

    /// docs/openapi.yaml as an OpenAPI parser reads it.
    static func document() throws -> OpenAPI.Document {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        return try YAMLDecoder().decode(OpenAPI.Document.self, from: text)
    }

    @Test("roost workflow replay and retry from the command line")
    func commandLine() async throws {
        try await withProcesses { harness in
            _ = try await harness.startRunner("runner")
            _ = try await harness.client.start(Order.self, id: "cli-1", input: .init(orderId: "o", amount: 3))
            _ = try await harness.client.result(of: Order.self, id: "cli-1", timeout: .seconds(60))
            let replay = try await harness.roost(["workflow", "replay", "Order", "cli-1", "--as", "cli-2", "--json"])
            try require(replay.status == 0 && replay.output.contains(#""created":true"#), replay.output)
            let output = try await harness.client.result(of: Order.self, id: "cli-2", timeout: .seconds(60))
            try require(output.orderId == "o", "the replay ran with the original input")
            let retry = try await harness.roost(["workflow", "retry", "Order", "cli-1"])
            try require(retry.status == 0 && retry.output.contains("nothing retried: Order cli-1 is completed"),
                        retry.output)
        }
    }

    @Test("roost workflow, roost deferred and roost cluster status through a runner's HTTP API with --runner")
    func commandLineThroughRunner() async throws {
        try await withAPI { harness, api in
            // Without a database in the environment: everything goes through the runner.
            let noDatabase = ["ROOST_DATABASE_URL": "", "POSTGRES_HOST": "", "ROOST_API_TOKEN": ""]
            let runner = ["--runner", api.base, "--token", HTTPAPITests.token]
            let id = "cli/ü 1"
            let started = try await harness.roost(["workflow", "start", "Approval", "--id", id, "--input",
                                                   #"{"requestId": "r", "coolOffMs": 0}"#] + runner,
                                                  environment: noDatabase)
            try require(started.status == 0 && started.output.contains("started Approval \(id)"), started.output)
            let resolved = try await harness.roost(["deferred", "resolve", "Approval", id, "decision", "--value",
                                                    #"{"approved": true, "by": "cli"}"#, "--by", "night shift"] + runner,
                                                   environment: noDatabase)
            try require(resolved.status == 0, resolved.output)
            let result = try await harness.roost(["workflow", "result", "Approval", id, "--wait", "--json"] + runner,
                                                 environment: noDatabase)
            try require(result.status == 0 && result.output.contains(#""status":"completed""#)
                        && result.output.contains(#""by":"cli""#), result.output)
            let show = try await harness.roost(["workflow", "show", "Approval", id] + runner, environment: noDatabase)
            try require(show.status == 0 && show.output.contains("apply") && show.output.contains("decision  resolved")
                        && show.output.contains("night shift"), show.output)
            // Pages through the runner and from the database: --cursor takes the nextCursor of a full page.
            _ = try await harness.roost(["workflow", "start", "Order", "--id", "cli-2", "--input",
                                         #"{"orderId": "o", "amount": 1}"#] + runner, environment: noDatabase)
            for target in [runner, []] {
                let environment = target.isEmpty ? [:] : noDatabase
                let first = try await harness.roost(["workflow", "list", "--limit", "1", "--json"] + target,
                                                    environment: environment)
                let line = first.output.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""
                let cursor = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                let next = cursor?["nextCursor"] as? String ?? ""
                try require(first.output.contains("cli-2") && !next.isEmpty, first.output)
                let second = try await harness.roost(["workflow", "list", "--limit", "1", "--cursor", next] + target,
                                                     environment: environment)
                try require(second.status == 0 && second.output.contains(id) && !second.output.contains("cli-2")
                            && second.output.contains("more: --cursor"), second.output)
            }
            let schedules = try await harness.roost(["schedule", "list", "--json"] + runner, environment: noDatabase)
            try require(schedules.status == 0 && schedules.output.contains(#"{"schedules":[]}"#), schedules.output)
            let cluster = try await harness.roost(["cluster", "status", "--stuck-after", "0"] + runner,
                                                  environment: noDatabase)
            try require(cluster.status == 0 && cluster.output.contains("300 shards per group")
                        && cluster.output.contains(" live ") && cluster.output.contains("unowned: 0"), cluster.output)
            let refused = try await harness.roost(["workflow", "status", "Approval", id, "--runner", api.base,
                                                   "--token", "wrong"], environment: noDatabase)
            try require(refused.status == 1 && refused.output.contains("unauthorized"), refused.output)
        }
    }
}

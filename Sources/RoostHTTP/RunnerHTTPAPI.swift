import Foundation
import Hummingbird
import Logging
import Roost

/// The HTTP API every runner serves (JSON, versioned under `/v1`): start, read, list and cancel executions,
/// await a result, resolve deferreds; `/health` and `/ready` for orchestrators, and `/metrics` for Prometheus.
///
/// Every route but `/health`, `/ready` and `/metrics` needs `Authorization: Bearer <token>`. Errors are
/// `{"error": {"code": …, "message": …}}` with the matching HTTP status; a body over the limit is refused with
/// 413 before it is read in full.
public struct RunnerHTTPAPI: Sendable {
    /// How the API listens and what it accepts.
    public struct Configuration: Sendable {
        /// Where it listens.
        public var address: RunnerAddress
        /// The bearer token every protected route needs. Defaults to none: only `/health` and `/ready` answer.
        public var token: String?
        /// The largest request body. Defaults to 1 MiB plus 64 KiB for the envelope around a payload.
        public var maximumBodyBytes = (1 << 20) + (64 << 10)
        /// The largest request body of a batch start. Defaults to 32 MiB.
        public var maximumBatchBodyBytes = 32 << 20
        /// The longest a result request may wait. Defaults to 5 minutes.
        public var maximumWait: Duration = .seconds(300)

        /// A configuration listening on an address.
        public init(address: RunnerAddress, token: String? = nil) {
            self.address = address
            self.token = token
        }
    }

    /// Whether the runner can do its work, for `/ready`.
    public struct Readiness: Sendable {
        /// Ready or not.
        public var ready: Bool
        /// Why not, when not.
        public var reason: String?

        /// A readiness answer.
        public init(ready: Bool, reason: String? = nil) {
            self.ready = ready
            self.reason = reason
        }
    }

    let configuration: Configuration
    let executions: Executions
    let readiness: @Sendable () async -> Readiness
    let metrics: (@Sendable () -> String)?
    let cluster: (@Sendable (Duration) async throws -> ClusterReport)?
    let schedules: (@Sendable () async throws -> [ScheduleRecord])?
    let logger: Logger

    /// The API over a runner's executions.
    /// - Parameters:
    ///   - configuration: Address, token and limits.
    ///   - executions: The runner's executions (`WorkflowEngine.executions`).
    ///   - readiness: Answers `/ready`.
    ///   - metrics: The metrics in Prometheus text format, for `/metrics`; without it there is no such route.
    ///   - cluster: The cluster report for `/v1/cluster`, given how long an execution must be unchanged to count as
    ///     stuck; without it there is no such route.
    ///   - schedules: The stored cron schedules for `/v1/schedules`; without it there is no such route.
    ///   - logger: Where refusals and failures are logged.
    public init(configuration: Configuration, executions: Executions,
                readiness: @escaping @Sendable () async -> Readiness,
                metrics: (@Sendable () -> String)? = nil,
                cluster: (@Sendable (Duration) async throws -> ClusterReport)? = nil,
                schedules: (@Sendable () async throws -> [ScheduleRecord])? = nil, logger: Logger) {
        self.configuration = configuration
        self.executions = executions
        self.readiness = readiness
        self.metrics = metrics
        self.cluster = cluster
        self.schedules = schedules
        self.logger = logger
    }

    /// The HTTP server, a `Service` to run in the runner's service group.
    public func application() -> some ApplicationProtocol {
        Application(router: router(),
                    configuration: .init(address: .hostname(configuration.address.host,
                                                            port: configuration.address.port),
                                         serverName: "roost"),
                    logger: logger)
    }

    /// Every route as `METHOD /path`, with path parameters as `{name}`: what `docs/openapi.yaml` describes.
    public var routes: [String] {
        router().routes.map { "\($0.method) \($0.path)" }
    }

    /// The routes.
    func router() -> Router<BasicRequestContext> {
        let router = Router()
        // A span per request, continuing a trace the caller sends in W3C `traceparent` headers.
        router.add(middleware: TracingMiddleware())
        router.add(middleware: JSONErrorMiddleware(logger: logger))
        router.add(middleware: BearerTokenMiddleware(token: configuration.token,
                                                     openPaths: ["/health", "/ready", "/metrics"], logger: logger))
        router.get("/health") { _, _ in JSONResponse.make(.ok, ["status": "up"]) }
        router.get("/ready") { _, _ in
            let answer = await readiness()
            return JSONResponse.make(answer.ready ? .ok : .serviceUnavailable,
                                     ["ready": answer.ready, "reason": answer.reason ?? NSNull()])
        }
        if let metrics {
            router.get("/metrics") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: ResponseBody(byteBuffer: ByteBuffer(string: metrics())))
            }
        }
        let v1 = router.group("v1")
        if let cluster {
            v1.get("cluster") { request, _ in
                var stuckAfter = Duration.seconds(60)
                if let text = request.uri.queryParameters.get("stuckAfter") {
                    guard let seconds = Int(text), seconds >= 0, seconds <= StuckExecution.longestAgeSeconds else {
                        throw APIError(.badRequest, "invalid_argument", "stuckAfter '\(text)' must be a number of "
                                       + "seconds from 0 to \(StuckExecution.longestAgeSeconds)")
                    }
                    stuckAfter = .seconds(seconds)
                }
                return JSONResponse.make(.ok, try await cluster(stuckAfter).jsonObject)
            }
        }
        if let schedules {
            v1.get("schedules") { _, _ in
                JSONResponse.make(.ok, ["schedules": try await schedules().map(\.jsonObject)])
            }
        }
        v1.get("executions") { request, _ in try await list(request) }
        v1.post("workflows/:workflow/executions") { request, context in try await start(request, context) }
        v1.post("workflows/:workflow/executions:batch") { request, context in
            try await startBatch(request, context)
        }
        v1.get("workflows/:workflow/executions/:id") { _, context in
            let detail = try await executions.detail(workflow: try name(context), id: try id(context))
            return JSONResponse.make(.ok, detail.jsonObject)
        }
        v1.delete("workflows/:workflow/executions/:id") { _, context in
            let outcome = try await executions.delete(workflow: try name(context), id: try id(context))
            return JSONResponse.make(.ok, ["deleted": outcome.deleted, "status": outcome.status.rawValue])
        }
        v1.get("workflows/:workflow/executions/:id/result") { request, context in
            try await result(request, context)
        }
        v1.post("workflows/:workflow/executions/:id/cancel") { _, context in
            let outcome = try await executions.cancel(workflow: try name(context), id: try id(context))
            return JSONResponse.make(.ok, ["cancelled": outcome.cancelled, "status": outcome.status.rawValue])
        }
        v1.post("workflows/:workflow/executions/:id/retry") { _, context in
            let outcome = try await executions.retry(workflow: try name(context), id: try id(context))
            return JSONResponse.make(.ok, ["retried": outcome.retried, "status": outcome.status.rawValue])
        }
        v1.post("workflows/:workflow/executions/:id/replay") { request, context in
            try await replay(request, context)
        }
        v1.post("workflows/:workflow/executions/:id/deferreds/:deferred") { request, context in
            try await resolve(request, context)
        }
        return router
    }

    // MARK: Handlers

    private func start(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body = try await object(request)
        guard let id = body["id"] as? String else { throw APIError(.badRequest, "invalid_argument",
                                                                   "the body needs 'id', a string") }
        guard let input = body["input"] else {
            throw APIError(.badRequest, "invalid_argument", "the body needs 'input', the workflow's input as JSON")
        }
        let started = try await executions.start(workflow: try name(context), id: id, input: try text(input))
        return JSONResponse.make(started.created ? .created : .ok,
                                 ["created": started.created, "execution": started.record.jsonObject])
    }

    private func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var filter = ExecutionFilter()
        filter.workflow = query.get("workflow")
        if let status = query.get("status") {
            guard let parsed = ExecutionStatus(status) else {
                throw APIError(.badRequest, "invalid_argument", "status '\(status)' must be one of "
                               + ExecutionStatus.all.map(\.rawValue).joined(separator: ", "))
            }
            filter.status = parsed
        }
        if let limit = query.get("limit") {
            guard let parsed = Int(limit), (1...1_000).contains(parsed) else {
                throw APIError(.badRequest, "invalid_argument", "limit '\(limit)' must be a number from 1 to 1000")
            }
            filter.limit = parsed
        }
        if let cursor = query.get("cursor") {
            guard let key = ExecutionKey(cursor), key > 0 else {
                throw APIError(.badRequest, "invalid_argument",
                               "cursor '\(cursor)' is not one this API returned as nextCursor")
            }
            filter.before = key
        }
        let records = try await executions.list(filter)
        // A full page may have a next one: it starts after the last execution of this page.
        let next: Any = records.count == filter.limit ? "\(records.last?.key ?? 0)" : NSNull()
        return JSONResponse.make(.ok, ["executions": records.map(\.jsonObject), "nextCursor": next])
    }

    private func result(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        var wait = Duration.zero
        if let text = request.uri.queryParameters.get("wait") {
            let limit = configuration.maximumWait.components.seconds
            guard let seconds = Double(text), seconds >= 0, seconds <= Double(limit) else {
                throw APIError(.badRequest, "invalid_argument", "wait '\(text)' must be seconds from 0 to \(limit)")
            }
            wait = .milliseconds(Int64(seconds * 1000))
        }
        let record = try await executions.result(workflow: try name(context), id: try id(context), timeout: wait)
        var object: [String: Any] = ["status": record.status.rawValue]
        if record.status == .completed { object["output"] = JSONText.embed(record.output) }
        if let failure = record.error { object["error"] = JSONText.failure(failure) }
        return JSONResponse.make(.ok, object)
    }

    private func replay(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try id(context)
        let body = request.headers[.contentLength] == "0" ? [:] : try await object(request, optional: true)
        guard body["id"] == nil || body["id"] is String else {
            throw APIError(.badRequest, "invalid_argument", "'id', the replay's id, must be a string")
        }
        let newId = body["id"] as? String ?? ReplayID.make(for: id)
        let started = try await executions.replay(workflow: try name(context), id: id, as: newId)
        return JSONResponse.make(started.created ? .created : .ok,
                                 ["created": started.created, "execution": started.record.jsonObject])
    }

    private func resolve(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body = try await object(request)
        guard let value = body["value"] else {
            throw APIError(.badRequest, "invalid_argument", "the body needs 'value', the deferred's value as JSON")
        }
        if let by = body["by"], !(by is String) {
            throw APIError(.badRequest, "invalid_argument", "'by', who resolves the deferred, must be a string")
        }
        let outcome = try await executions.resolve(workflow: try name(context), id: try id(context),
                                                   deferred: try parameter("deferred", context),
                                                   value: try text(value), by: body["by"] as? String ?? "http")
        return JSONResponse.make(.ok, ["resolved": outcome.resolved, "value": JSONText.embed(outcome.value)])
    }

    // MARK: Reading requests

    func name(_ context: BasicRequestContext) throws -> String { try parameter("workflow", context) }

    private func id(_ context: BasicRequestContext) throws -> String { try parameter("id", context) }

    /// A path parameter, percent-decoded.
    private func parameter(_ name: String, _ context: BasicRequestContext) throws -> String {
        let raw = try context.parameters.require(name)
        guard let decoded = raw.removingPercentEncoding else {
            throw APIError(.badRequest, "invalid_argument", "the \(name) in the path is not valid percent-encoding")
        }
        return decoded
    }

    /// The body as a JSON object, read up to the limit (``Configuration/maximumBodyBytes`` unless given); an empty
    /// body is an empty object when `optional`.
    func object(_ request: Request, optional: Bool = false, limit: Int? = nil) async throws -> [String: Any] {
        var request = request
        let limit = limit ?? configuration.maximumBodyBytes
        let tooLarge = APIError(.contentTooLarge, "body_too_large", "the request body is over \(limit) bytes")
        // A declared length over the limit is refused before any of the body is read.
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit { throw tooLarge }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw tooLarge
        }
        if optional, buffer.readableBytes == 0 { return [:] }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView),
                                                      options: [.fragmentsAllowed])
        } catch {
            throw APIError(.badRequest, "invalid_json", "the request body is not valid JSON: "
                           + "\((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error.localizedDescription)")
        }
        guard let object = parsed as? [String: Any] else {
            throw APIError(.badRequest, "invalid_json", "the request body must be a JSON object")
        }
        return object
    }

    /// A JSON value as JSON text, for the checks the store makes on payloads.
    func text(_ value: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

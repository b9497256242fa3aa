import Tracing

extension Executions {
    /// The most executions one batch start takes.
    public static let maximumBatchSize = 10_000

    /// One execution of a batch start.
    public struct StartRequest: Sendable, Hashable {
        /// The workflow's name.
        public var workflow: String
        /// The execution id, the idempotency key.
        public var id: String
        /// The input as JSON text.
        public var input: String

        /// Creates a request.
        public init(workflow: String, id: String, input: String) {
            self.workflow = workflow
            self.id = id
            self.input = input
        }
    }

    /// Starts many executions with one statement, each as ``start(workflow:id:input:)`` would: idempotent by its id
    /// (an existing execution with the same input is returned, not started again), and refused alone when its
    /// id, workflow or input is bad. Pending executions are announced to the runners with one notification.
    /// - Parameter requests: At most ``maximumBatchSize`` executions.
    /// - Returns: One result per request, in order: the execution and whether this call created it, or the error
    ///   that refused that request (`invalid_argument`, `unknown_workflow`, `invalid_payload`, `payload_too_large`,
    ///   or `conflict` if its id exists with a different input).
    /// - Throws: ``WorkflowError`` `invalid_argument` for an empty or too large batch; storage errors.
    public func start(_ requests: [StartRequest]) async throws -> [Result<StartResult, WorkflowError>] {
        guard !requests.isEmpty, requests.count <= Self.maximumBatchSize else {
            throw WorkflowError(.invalidArgument, "a batch start takes 1 to \(Self.maximumBatchSize) executions; "
                                + "this one has \(requests.count)")
        }
        return try await withSpan("roost.execution.start_batch", ofKind: .producer) { span in
            span.attributes["roost.batch.size"] = requests.count
            return try await startInSpan(requests)
        }
    }

    /// Starts many executions of a workflow type. See ``start(_:)``.
    public func start<W: Workflow>(_ workflow: W.Type, _ members: [(id: String, input: W.Input)]) async throws
        -> [Result<StartResult, WorkflowError>] {
        var requests: [StartRequest] = []
        var refused: [Int: WorkflowError] = [:]
        for (index, member) in members.enumerated() {
            do {
                requests.append(StartRequest(workflow: W.name, id: member.id,
                                             input: try coder.encode(member.input, what: "input of \(W.name)")))
            } catch {
                refused[index] = Self.refusal(error)
                requests.append(StartRequest(workflow: W.name, id: member.id, input: ""))
            }
        }
        let started = try await start(requests)
        return started.enumerated().map { index, result in refused[index].map { .failure($0) } ?? result }
    }

    private func startInSpan(_ requests: [StartRequest]) async throws -> [Result<StartResult, WorkflowError>] {
        var results = [Result<StartResult, WorkflowError>?](repeating: nil, count: requests.count)
        var accepted: [(index: Int, execution: NewExecution, local: Bool)] = []
        let trace = TraceCarrier.current()
        for (index, request) in requests.enumerated() {
            do {
                try Self.checkIdentity(workflow: request.workflow, id: request.id)
                try coder.validate(json: request.input, what: "input of \(request.workflow)")
                try registry?.validateInput(workflow: request.workflow, json: request.input, coder: coder)
                let shard = try await placement?.shard(of: request.id)
                let local = host?.holds(shard: shard) ?? false
                accepted.append((index, NewExecution(workflow: request.workflow, id: request.id,
                                                     input: request.input, status: local ? .running : .pending,
                                                     shard: shard, traceContext: trace), local))
            } catch let error as WorkflowError {
                results[index] = .failure(error)
            }
        }
        let outcomes = accepted.isEmpty ? [] : try await store.insertExecutions(accepted.map(\.execution))
        for (member, outcome) in zip(accepted, outcomes) {
            switch outcome {
            case .success(.inserted(let record)):
                RoostMetrics.executionStarted(workflow: record.workflow)
                if member.local { host?.launch(record) }
                results[member.index] = .success(StartResult(record: record, created: true))
            case .success(.existing(let record, let sameInput)):
                results[member.index] = sameInput ? .success(StartResult(record: record, created: false))
                    : .failure(WorkflowError(.conflict, "execution '\(record.id)' of \(record.workflow) already "
                                             + "exists with a different input; use a new id, or the same input to "
                                             + "get the existing execution"))
            case .failure(let error):
                results[member.index] = .failure(Self.refusal(error))
            }
        }
        return results.map { $0 ?? .failure(WorkflowError(.invalidArgument, "not started")) }
    }

    /// The error that refused one member of a batch.
    private static func refusal(_ error: any Error) -> WorkflowError {
        error as? WorkflowError ?? WorkflowError(.storageUnavailable, "this execution was not started: \(error)",
                                                 cause: error)
    }
}

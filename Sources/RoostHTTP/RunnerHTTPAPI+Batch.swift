import Foundation
import Hummingbird
import Roost

extension RunnerHTTPAPI {
    /// `POST /v1/workflows/{workflow}/executions:batch` with `{"executions": [{"id", "input"}, …]}`: starts them
    /// with one statement; each member is started, found by its id, or refused alone, in order.
    func startBatch(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body = try await object(request, limit: configuration.maximumBatchBodyBytes)
        guard let members = body["executions"] as? [Any] else {
            throw APIError(.badRequest, "invalid_argument",
                           "the body needs 'executions', an array of {\"id\", \"input\"}")
        }
        guard !members.isEmpty, members.count <= Executions.maximumBatchSize else {
            throw APIError(.badRequest, "invalid_argument",
                           "a batch start takes 1 to \(Executions.maximumBatchSize) executions; this one has "
                           + "\(members.count)")
        }
        let workflow = try name(context)
        var requests: [Executions.StartRequest] = []
        var refused: [Int: WorkflowError] = [:]
        for (index, member) in members.enumerated() {
            guard let member = member as? [String: Any], let id = member["id"] as? String,
                  let input = member["input"] else {
                refused[index] = WorkflowError(.invalidArgument, "each execution needs 'id', a string, and 'input'")
                continue
            }
            requests.append(Executions.StartRequest(workflow: workflow, id: id, input: try text(input)))
        }
        var started = requests.isEmpty ? [] : try await executions.start(requests)[...]
        var results: [[String: Any]] = []
        for (index, member) in members.enumerated() {
            let id = (member as? [String: Any])?["id"] as? String
            let outcome: Result<StartResult, WorkflowError> = refused[index].map { .failure($0) }
                ?? started.removeFirst()
            switch outcome {
            case .success(let start):
                results.append(["id": start.record.id, "created": start.created,
                                "execution": start.record.jsonObject])
            case .failure(let error):
                results.append(["id": id.map { $0 as Any } ?? NSNull(),
                                "error": ["code": error.code.rawValue, "message": error.message]])
            }
        }
        return JSONResponse.make(.ok, ["results": results])
    }
}

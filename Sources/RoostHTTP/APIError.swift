import Foundation
import Hummingbird
import Roost

/// An error the HTTP API answers with: an HTTP status and `{"error": {"code": …, "message": …}}`.
public struct APIError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// The machine-readable code: a ``WorkflowError`` code, or one of the API's own (`unauthorized`,
    /// `not_found`, `invalid_json`, `body_too_large`, `not_ready`).
    public var code: String
    /// What happened and what to do.
    public var message: String

    /// An error with a status, a code and a message.
    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// The API's answer to a ``WorkflowError``.
    public init(_ error: WorkflowError) {
        let status: HTTPResponse.Status = switch error.code {
        case .unknownWorkflow, .unknownExecution, .unknownDeferred: .notFound
        case .conflict, .notAllowed: .conflict
        case .payloadTooLarge: .contentTooLarge
        case .invalidPayload, .invalidArgument: .badRequest
        case .timedOut: .requestTimeout
        case .storageUnavailable: .serviceUnavailable
        default: .internalServerError
        }
        self.init(status, error.code.rawValue, error.message)
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// The error as a response.
    func response() -> Response {
        JSONResponse.make(status, ["error": ["code": code, "message": message]])
    }
}

/// JSON responses built from JSON objects.
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys,
                                                                                  .withoutEscapingSlashes])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

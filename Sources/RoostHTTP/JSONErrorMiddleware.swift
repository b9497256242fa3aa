import Hummingbird
import Logging
import Roost

/// Turns every error a route throws into `{"error": {"code": …, "message": …}}` with its HTTP status: the API's
/// own errors, ``WorkflowError``s, the router's (no such route, a body over the limit), and anything else as a
/// 500 whose details go to the log, not to the caller.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response()
        } catch let error as WorkflowError {
            return APIError(error).response()
        } catch let error as any HTTPResponseError {
            let code = switch error.status {
            case .notFound: "not_found"
            case .contentTooLarge: "body_too_large"
            case .methodNotAllowed: "method_not_allowed"
            default: "bad_request"
            }
            let message = error.status == .notFound
                ? "no route \(request.method) \(request.uri.path); the API is described in docs/openapi.yaml"
                : (error as? HTTPError)?.body ?? "\(error.status)"
            return APIError(error.status, code, message).response()
        } catch {
            logger.error("HTTP request failed", metadata: [
                "roost.http.method": "\(request.method)", "roost.http.path": "\(request.uri.path)",
                "roost.error": "\(String(reflecting: error))",
            ])
            return APIError(.internalServerError, "internal", "the request failed inside the runner; see its log")
                .response()
        }
    }
}

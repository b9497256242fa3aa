import Hummingbird
import Logging
import Roost

/// Refuses every request but the open paths unless it carries `Authorization: Bearer <token>` with the configured
/// token. The comparison takes the same time wherever the tokens differ; refusals are logged without the token.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The token; `nil` refuses every request to a protected path.
    let token: String?
    /// Paths served without a token.
    let openPaths: Set<String>
    let logger: Logger

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        if openPaths.contains(request.uri.path) { return try await next(request, context) }
        guard let token else {
            return APIError(.unauthorized, "unauthorized",
                            "this runner has no API token (ROOST_API_TOKEN): it serves only /health, /ready and "
                            + "/metrics").response()
        }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), ConstantTime.equal(String(header.dropFirst(prefix.count)), token) else {
            logger.notice("HTTP request refused: missing or wrong bearer token", metadata: [
                "roost.http.method": "\(request.method)", "roost.http.path": "\(request.uri.path)",
                "roost.http.authorization": "\(header.isEmpty ? "absent" : "present")",
            ])
            return APIError(.unauthorized, "unauthorized",
                            "send the API token as 'Authorization: Bearer <token>'").response()
        }
        return try await next(request, context)
    }
}

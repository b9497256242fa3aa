import ArgumentParser
import Logging
import Roost
import RoostHTTP

extension RunnerCommand {
    /// The HTTP API's configuration: `nil` without `ROOST_HTTP_ADDRESS`.
    static func httpConfiguration(_ values: [String: String]) throws -> RunnerHTTPAPI.Configuration? {
        guard let text = values["ROOST_HTTP_ADDRESS"], !text.isEmpty else { return nil }
        let address = try Settings.checked("ROOST_HTTP_ADDRESS") { try RunnerAddress(parsing: text) }
        var configuration = RunnerHTTPAPI.Configuration(address: address)
        if let token = values["ROOST_API_TOKEN"], !token.isEmpty {
            guard token.count >= 16 else {
                throw ValidationError("ROOST_API_TOKEN must be at least 16 characters (it has \(token.count))")
            }
            configuration.token = token
        }
        configuration.maximumBodyBytes = try Settings.maximumPayloadBytes(values) + (64 << 10)
        return configuration
    }
}

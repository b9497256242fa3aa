import Foundation

/// Encodes and decodes the JSON payloads the runtime stores: inputs, outputs, activity results and deferred values.
///
/// Dates are ISO-8601 with fractional seconds; every encoded payload is checked against a size limit before it is
/// stored, so nothing oversized is ever half-written.
public struct PayloadCoder: Sendable {
    /// The largest payload accepted, in bytes of UTF-8 JSON. Defaults to 1 MiB.
    public var maximumBytes: Int

    /// Creates a coder.
    /// - Parameter maximumBytes: The largest payload accepted. Defaults to 1 MiB.
    public init(maximumBytes: Int = 1 << 20) {
        self.maximumBytes = maximumBytes
    }

    /// Encodes a value as JSON text.
    /// - Parameters:
    ///   - value: The value.
    ///   - what: What the payload is, for the error message ("input of Order").
    /// - Returns: The JSON text.
    /// - Throws: ``WorkflowError`` `payload_too_large` or `invalid_payload`.
    public func encode<Value: Encodable>(_ value: Value, what: @autoclosure () -> String) throws -> String {
        let data: Data
        do {
            data = try Self.encoder.encode(value)
        } catch {
            throw WorkflowError(.invalidPayload, "could not encode the \(what()) as JSON: \(error)", cause: error)
        }
        try checkSize(data.count, what: what())
        return String(decoding: data, as: UTF8.self)
    }

    /// Decodes JSON text into a value.
    /// - Parameters:
    ///   - type: The expected type.
    ///   - json: The JSON text.
    ///   - what: What the payload is, for the error message.
    /// - Returns: The decoded value.
    /// - Throws: ``WorkflowError`` `invalid_payload` naming the expected type and the offending field.
    public func decode<Value: Decodable>(_ type: Value.Type, from json: String,
                                         what: @autoclosure () -> String) throws -> Value {
        do {
            return try Self.decoder.decode(Value.self, from: Data(json.utf8))
        } catch let error as DecodingError {
            throw WorkflowError(.invalidPayload,
                                "the \(what()) is not a valid \(Value.self): \(Self.explain(error))", cause: error)
        } catch {
            throw WorkflowError(.invalidPayload, "the \(what()) is not valid JSON: \(error)", cause: error)
        }
    }

    /// Checks that text is one well-formed JSON value within the size limit, and returns it unchanged.
    /// - Throws: ``WorkflowError`` `payload_too_large` or `invalid_payload`.
    @discardableResult
    public func validate(json: String, what: @autoclosure () -> String) throws -> String {
        let data = Data(json.utf8)
        try checkSize(data.count, what: what())
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw WorkflowError(.invalidPayload, "the \(what()) is not valid JSON: \(Self.explain(error))",
                                cause: error)
        }
        return json
    }

    func checkSize(_ count: Int, what: String) throws {
        guard count <= maximumBytes else {
            throw WorkflowError(.payloadTooLarge,
                                "the \(what) is \(count) bytes, more than the limit of \(maximumBytes) bytes")
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = Timestamp.parse(text) { return date }
            throw DecodingError.dataCorruptedError(in: container,
                                                   debugDescription: "'\(text)' is not an ISO-8601 date")
        }
        return decoder
    }()

    static func explain(_ error: any Error) -> String {
        guard let error = error as? DecodingError else {
            let text = String(describing: error)
            if let range = text.range(of: "NSDebugDescription=") {
                return String(text[range.upperBound...].prefix { $0 != "," && $0 != "}" })
            }
            return text
        }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "the top level" : "'" + keys.joined(separator: ".") + "'"
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = context.codingPath.isEmpty ? "" : " in \(path(context))"
            return "missing key '\(key.stringValue)'\(parent)"
        case .typeMismatch(let type, let context):
            return "expected \(type) at \(path(context))"
        case .valueNotFound(let type, let context):
            return "expected \(type) at \(path(context)), found null"
        case .dataCorrupted(let context):
            let underlying = context.underlyingError.map { explain($0) } ?? context.debugDescription
            return context.codingPath.isEmpty ? "malformed JSON (\(underlying))" : "\(underlying) at \(path(context))"
        @unknown default:
            return String(describing: error)
        }
    }
}

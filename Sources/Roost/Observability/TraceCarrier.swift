import Foundation
import Instrumentation
import ServiceContextModule

/// The tracing context of a start, stored with the execution (`executions.trace_context`) so that its run continues
/// the start's trace in whichever process runs it. It holds what the bootstrapped instrument injects (for W3C
/// trace context, `traceparent` and `tracestate`) as a JSON object; nothing is stored without an instrument.
enum TraceCarrier {
    /// The current context, injected, as JSON text; `nil` when the instrument injects nothing.
    static func current() -> String? {
        var fields: [String: String] = [:]
        InstrumentationSystem.instrument.inject(ServiceContext.current ?? .topLevel, into: &fields,
                                                using: FieldsInjector())
        guard !fields.isEmpty, let data = try? JSONEncoder().encode(fields) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// The context stored by ``current()``, extracted by the instrument; `nil` when nothing was stored.
    static func context(from text: String?) -> ServiceContext? {
        guard let text, let fields = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)),
              !fields.isEmpty else { return nil }
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(fields, into: &context, using: FieldsExtractor())
        return context
    }

    private struct FieldsInjector: Injector {
        func inject(_ value: String, forKey key: String, into fields: inout [String: String]) {
            fields[key] = value
        }
    }

    private struct FieldsExtractor: Extractor {
        func extract(key: String, from fields: [String: String]) -> String? {
            fields[key]
        }
    }
}

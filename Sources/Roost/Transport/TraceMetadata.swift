import GRPCCore
import Instrumentation

/// Writes the tracing context of a call into its gRPC metadata, as the bootstrapped instrument asks.
struct MetadataInjector: Injector {
    func inject(_ value: String, forKey key: String, into metadata: inout Metadata) {
        metadata.replaceOrAddString(value, forKey: key)
    }
}

/// Reads the tracing context of an incoming call from its gRPC metadata.
struct MetadataExtractor: Extractor {
    func extract(key: String, from metadata: Metadata) -> String? {
        metadata[stringValues: key].first(where: { _ in true })
    }
}

import InMemoryTracing
import Instrumentation

/// An in-memory tracer for tests, bootstrapped once for the whole test process (instruments can be bootstrapped
/// only once): spans of every test land in it, so a test filters them by its own trace.
public enum TestTracing {
    /// The process's tracer.
    public static let tracer: InMemoryTracer = {
        let tracer = InMemoryTracer()
        InstrumentationSystem.bootstrap(tracer)
        return tracer
    }()
}

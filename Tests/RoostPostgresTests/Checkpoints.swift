import Synchronization

/// Named points a test workflow's body reports reaching, so that a test awaits the body being exactly there instead
/// of sleeping. Shared by the whole test process; name each checkpoint after its execution id.
enum Checkpoints {
    private struct State {
        var reached: Set<String> = []
        var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]
    }

    private static let state = Mutex(State())

    /// Marks `name` as reached and wakes whoever awaits it.
    static func reach(_ name: String) {
        let waiting = state.withLock { state in
            state.reached.insert(name)
            return state.waiting.removeValue(forKey: name) ?? []
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Returns once `name` has been reached (at once if it was already).
    static func reached(_ name: String) async {
        await withCheckedContinuation { continuation in
            let already = state.withLock { state in
                if state.reached.contains(name) { return true }
                state.waiting[name, default: []].append(continuation)
                return false
            }
            if already { continuation.resume() }
        }
    }
}

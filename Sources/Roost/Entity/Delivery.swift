/// How a call to an entity is delivered, chosen per call with ``withDelivery(_:isolation:_:)``.
///
/// - ``bestEffort`` (the default): the call goes straight to the entity's owner and runs at most once. If the owner
///   dies before it answers, the caller gets an error and cannot know whether the call ran.
/// - ``persisted``: the call is saved in the store before it is sent and runs at least once. Its owner stores the
///   reply, so a caller that retries (or calls again with the same idempotency key) gets the reply of the run that
///   happened rather than a second run. If the owner dies or the shard moves, the shard's next owner runs the
///   saved calls it finds unanswered, in the order they were saved, even when their callers have gone.
public struct Delivery: Sendable, Equatable {
    enum Mode: Sendable, Equatable {
        case bestEffort
        case persisted
    }

    let mode: Mode
    /// The key that names a persisted call; `nil` for a best-effort call or a key generated per call.
    public let idempotencyKey: String?

    /// Straight to the owner, at most once.
    public static let bestEffort = Delivery(mode: .bestEffort, idempotencyKey: nil)

    /// Saved before dispatch, at least once, under a request id generated per call: two identical calls are two
    /// calls.
    public static let persisted = Delivery(mode: .persisted, idempotencyKey: nil)

    /// Saved before dispatch, at least once, under a request id derived from `idempotencyKey` and the entity's
    /// address: a second call with the same key to the same entity does not run again but gets the first call's
    /// reply. Reusing a key for another method or other arguments fails with `idempotency_conflict`.
    public static func persisted(idempotencyKey: String) -> Delivery {
        Delivery(mode: .persisted, idempotencyKey: idempotencyKey)
    }

    /// The delivery of entity calls made by the current task.
    @TaskLocal static var current = Delivery.bestEffort

    /// The longest idempotency key accepted, in UTF-8 bytes.
    public static let maximumKeyLength = 200
}

/// Runs `body`, delivering every entity call it makes as `delivery`.
///
/// ```swift
/// let value = try await withDelivery(.persisted(idempotencyKey: "order-17")) {
///     try await counter.increment(by: 1)
/// }
/// ```
public func withDelivery<Result>(
    _ delivery: Delivery, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> Result
) async rethrows -> Result {
    try await Delivery.$current.withValue(delivery, operation: body)
}

/// How often and how fast an activity is retried after its body throws.
///
/// Failed attempts are journaled, so the attempt count and the back-off deadline survive a crash. An attempt cut
/// short by a crash rolled back with its transaction and is not counted.
public struct RetryPolicy: Sendable, Hashable {
    /// The most attempts, the first included. Defaults to 3.
    public var maximumAttempts: Int
    /// The back-off before the second attempt. Defaults to 100 milliseconds.
    public var initialBackoff: Duration
    /// The factor the back-off grows by after each further attempt. Defaults to 2.
    public var multiplier: Double
    /// The longest back-off. Defaults to 60 seconds.
    public var maximumBackoff: Duration

    /// Creates a policy.
    public init(maximumAttempts: Int = 3, initialBackoff: Duration = .milliseconds(100), multiplier: Double = 2,
                maximumBackoff: Duration = .seconds(60)) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.initialBackoff = initialBackoff
        self.multiplier = max(1, multiplier)
        self.maximumBackoff = maximumBackoff
    }

    /// Three attempts, 100 ms back-off doubling up to 60 s.
    public static let `default` = RetryPolicy()
    /// A single attempt: the first failure is final.
    public static let never = RetryPolicy(maximumAttempts: 1)

    /// The back-off after attempt number `attempt` (from 1) failed.
    public func backoff(after attempt: Int) -> Duration {
        let factor = (0..<max(0, attempt - 1)).reduce(1.0) { product, _ in product * multiplier }
        let scaled = initialBackoff * factor
        return min(scaled, maximumBackoff)
    }
}

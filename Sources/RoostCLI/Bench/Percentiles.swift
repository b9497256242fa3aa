/// Percentiles of a sample, in the sample's unit.
struct Percentiles: Codable {
    var p50: Double
    var p99: Double
    var max: Double

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        func at(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = Int((Double(sorted.count - 1) * fraction).rounded())
            return sorted[index]
        }
        p50 = at(0.5)
        p99 = at(0.99)
        max = sorted.last ?? 0
    }

    static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    /// `{p50, p99, max, samples}` for a report, rounded to thousandths.
    static func summary(_ samples: [Double]) -> [String: Any] {
        let percentiles = Percentiles(samples)
        return ["p50": rounded(percentiles.p50), "p99": rounded(percentiles.p99), "max": rounded(percentiles.max),
                "samples": samples.count]
    }
}

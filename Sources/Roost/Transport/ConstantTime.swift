/// Comparison of secrets (tokens, the cluster secret) in time that depends only on their lengths, not on where
/// they differ.
package enum ConstantTime {
    /// Whether `given` equals `expected`.
    package static func equal(_ given: String, _ expected: String) -> Bool {
        let given = Array(given.utf8), expected = Array(expected.utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in expected.indices {
            difference |= expected[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0
    }
}

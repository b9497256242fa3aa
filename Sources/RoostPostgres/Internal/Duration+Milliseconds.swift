extension Duration {
    /// The whole milliseconds, as SQL takes them: `\(d.wholeMilliseconds) * interval '1 millisecond'`.
    var wholeMilliseconds: Int {
        Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }
}

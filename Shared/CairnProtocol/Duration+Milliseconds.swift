public extension Duration {
    /// Whole milliseconds, as Redis wants them for `PX` and scores.
    var wholeMilliseconds: Int {
        Int(components.seconds) * 1000 + Int(components.attoseconds / 1_000_000_000_000_000)
    }

    /// Fractional milliseconds, for latencies in logs, headers and statistics.
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }

    /// Fractional seconds, as Redis wants them for blocking time-outs.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

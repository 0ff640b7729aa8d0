import CairnModel

/// The mark a page shows beside a commit: its combined state, what each check said (as the
/// mark's title), and a link to the target of the check that most needs a look (the first
/// failing, else pending, else any).
struct StatusMark: Sendable {
    let state: String
    let symbol: String
    let label: String
    /// Named apart from every page's `url`, which an absent value here would show instead.
    let checkURL: String?
    /// Each context's newest status, for the commit page's list.
    let checks: [Check]

    struct Check: Sendable {
        let context: String
        let state: String
        let symbol: String
        let description: String
        let detailsURL: String?
    }

    init(_ latest: [CommitStatus]) {
        let combined = CommitStatus.combined(latest)
        let sorted = latest.sorted { $0.context < $1.context }
        state = combined.rawValue
        symbol = Self.symbol(combined)
        let passed = latest.filter { $0.state == .success }.count
        label = "\(passed) of \(latest.count) checks passed: " + sorted.map { "\($0.context) \($0.state.rawValue)" }.joined(separator: ", ")
        let order: [CommitStatus.State] = [.failure, .error, .pending, .success]
        checkURL = order.lazy.compactMap { state in sorted.first { $0.state == state && $0.targetURL != nil }?.targetURL }.first
        checks = sorted.map { Check(context: $0.context, state: $0.state.rawValue, symbol: Self.symbol($0.state), description: $0.description ?? "", detailsURL: $0.targetURL) }
    }

    static func symbol(_ state: CommitStatus.State) -> String {
        switch state {
        case .success: "✓"
        case .failure, .error: "✗"
        case .pending: "●"
        }
    }
}

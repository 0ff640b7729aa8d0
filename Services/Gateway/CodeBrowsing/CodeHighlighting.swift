import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnService
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Highlighted code for the file, blame and diff views, from the repository store's
/// highlighter (`POST /highlight`). A file's lines are kept by blob id and lexer for a day,
/// so each version of a file is highlighted once whatever pushes come; a diff's are kept
/// with its page. Any failure (an unknown language, the store or its Python down, a time
/// limit) only means plain text.
struct CodeHighlighting: Sendable {
    let repostore: InternalClient
    let cache: FragmentCache
    let logger: Logger

    /// How long a file's highlighted lines stay unused.
    static let keptSeconds = 86_400

    /// The lines of `text`, blob `sha` at `path`, highlighted; nil when they could not be.
    func file(sha: String, path: String, text: String) async -> [String]? {
        guard let lexer = SyntaxLexer.forPath(path) else { return nil }
        let key = "highlight:\(sha):\(lexer)"
        if let kept = await cache.bytes(key) {
            return String(decoding: kept, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        guard let lines = await highlight([.init(lexer: lexer, text: text)]).first ?? nil else { return nil }
        await cache.store(key, bytes: Array(lines.joined(separator: "\n").utf8), lifetime: Self.keptSeconds)
        return lines
    }

    /// Each snippet (the text of a file at `path`) highlighted, or nil where it could not be.
    func snippets(_ snippets: [(path: String, text: String)]) async -> [[String]?] {
        var items: [HighlightRequest.Item] = []
        var positions: [Int?] = []
        for snippet in snippets {
            if let lexer = SyntaxLexer.forPath(snippet.path), !snippet.text.isEmpty {
                positions.append(items.count)
                items.append(.init(lexer: lexer, text: snippet.text))
            } else {
                positions.append(nil)
            }
        }
        guard !items.isEmpty else { return snippets.map { _ in nil } }
        let answers = await highlight(items)
        return positions.map { $0.flatMap { answers[$0] } }
    }

    /// One request to the repository store; nil for every item when it fails.
    private func highlight(_ items: [HighlightRequest.Item]) async -> [[String]?] {
        guard items.reduce(0, { $0 + $1.text.utf8.count }) <= HighlightRequest.maxBytes else { return items.map { _ in nil } }
        do {
            let response = try await repostore.send(.POST, "/highlight", body: .bytes(.init(bytes: CairnJSON.encode(HighlightRequest(items: items)))), timeout: .seconds(15))
            guard response.status == .ok else { return items.map { _ in nil } }
            let body = try await response.body.collect(upTo: 64 << 20)
            let answer = try JSONDecoder().decode(HighlightResponse.self, from: Data(body.readableBytesView))
            return answer.items.count == items.count ? answer.items : items.map { _ in nil }
        } catch {
            logger.warning("highlight.unavailable", metadata: ["error": "\(error)"])
            return items.map { _ in nil }
        }
    }
}

import CairnModel
import CairnProtocol
import Foundation
import Hummingbird

extension RepositoryPagesController {
    /// `/{o}/{r}/blame/{ref}/{path}`: each line of a file with the commit that last changed
    /// it, lines grouped by commit, the code highlighted. Cached until the next push, like
    /// the file page; git blames a file once per version of the repository.
    func blamePage(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let page = try await repositoryPages.load(request, context)
        let repository = page.repository
        let key = "blame:\(repository.id):\(repository.cacheVersion):\(RepositoryPages.catchAll(context))"
        return try await repositoryPages.codePage(page, key: key, title: "Blame · \(repository.fullName)/\(RepositoryPages.catchAll(context))", large: true) {
            let (_, target) = try await resolve(repository, context)
            guard !target.path.isEmpty else { throw GatewayError.notFound }
            let info = try await content.object(repository, ref: target.ref, path: target.path)
            guard info.type == "blob" else { throw GatewayError.notFound }
            guard info.size <= RepositoryContent.maxInlineBytes else {
                return pages.renderer.render("blame", BlameView(target, repository, size: info.size, lines: [], isTooLarge: true))
            }
            let blame = try await content.blame(repository, ref: target.ref, path: target.path)
            let text = blame.lines.joined(separator: "\n") + "\n"
            let html = await highlighting.file(sha: info.sha, path: target.path, text: text).flatMap { $0.count == blame.lines.count ? $0 : nil }
            return pages.renderer.render("blame", BlameView(target, repository, size: info.size, lines: BlameView.lines(blame, html: html, repository: repository), isTooLarge: false))
        }
    }
}

struct BlameView {
    struct Line {
        let number: Int
        let text: String
        let html: String?
        /// On the first line of each group: the commit the group comes from.
        let commit: Commit?
    }

    struct Commit {
        let shortSHA: String
        let summary: String
        let author: String
        let age: String
        let url: String
    }

    let ref: String
    let crumbs: [Crumb]
    let size: String
    let fileURL: String
    let historyURL: String
    let lines: [Line]
    let isTooLarge: Bool

    init(_ target: RefAndPath, _ repository: Repository, size: Int, lines: [Line], isTooLarge: Bool) {
        ref = target.ref
        crumbs = Crumb.trail(repository, ref: target.ref, path: target.path)
        self.size = PageFormat.size(size)
        fileURL = "/\(repository.fullName)/blob/\(PageFormat.pathLink(target.ref))/\(PageFormat.pathLink(target.path))"
        historyURL = "/\(repository.fullName)/commits/\(PageFormat.pathLink(target.ref))/\(PageFormat.pathLink(target.path))"
        self.lines = lines
        self.isTooLarge = isTooLarge
    }

    /// Every line of `blame`, the first of each range naming its commit.
    static func lines(_ blame: GitBlame, html: [String]?, repository: Repository) -> [Line] {
        var firstOfRange: [Int: String] = [:]
        for range in blame.ranges { firstOfRange[range.start] = range.sha }
        return blame.lines.enumerated().map { index, text in
            let number = index + 1
            let commit = firstOfRange[number].map { sha in
                let known = blame.commits[sha]
                return Commit(
                    shortSHA: String(sha.prefix(7)), summary: known?.summary ?? "", author: known?.author ?? "",
                    age: known.map { PageFormat.age(Date(timeIntervalSince1970: TimeInterval($0.time))) } ?? "",
                    url: "/\(repository.fullName)/commit/\(sha)")
            }
            return Line(number: number, text: text, html: html?[index], commit: commit)
        }
    }
}

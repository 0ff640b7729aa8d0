import CairnModel
import CairnProtocol
import Foundation
import Hummingbird

/// A repository page's common part: the repository (after the permission check), the
/// visitor, and the header with its tabs.
struct RepositoryPage {
    let visitor: Visitor
    let repository: Repository
    let permission: Permission
    /// Stars, watchers, and the visitor's own star and watch.
    let social: RepositorySocial
    /// The people the visitor follows who starred the repository, by username.
    let followedStargazers: [String]
    /// The visitor's analytics id for today (see `TrafficEvents`).
    let visitorID: String
    /// The request's path, without the query.
    let path: String
    /// The request's `Accept-Encoding`.
    let acceptEncoding: String?
    /// Whether the browser takes gzip (every browser does); read only for large pages.
    var acceptsGzip: Bool { Pages.acceptsGzip(acceptEncoding) }
    /// The parent's `owner/name` for a fork, when the visitor may know it.
    var parentShown: String? = nil

    /// The header's data, with tab `active` selected.
    func header(_ active: String, baseURL: String) -> RepositoryHeaderView {
        RepositoryHeaderView(
            owner: repository.ownerName, name: repository.name, fullName: repository.fullName,
            isPrivate: repository.isPrivate, description: repository.description,
            cloneURL: "\(baseURL)/\(repository.fullName).git", canAdmin: permission >= .admin, canWrite: permission >= .write,
            code: active == "code", commits: active == "commits", branches: active == "branches",
            tags: active == "tags", pulls: active == "pulls", downloads: active == "downloads", traffic: active == "traffic", settings: active == "settings",
            signedIn: visitor.user != nil, watching: social.watching, starred: social.starred, stars: social.stars, watchers: social.watchers,
            followedStargazers: followedStargazers.joined(separator: ", "), forkedFrom: parentShown)
    }
}

struct RepositoryHeaderView: Hashable, Sendable {
    let owner: String
    let name: String
    let fullName: String
    let isPrivate: Bool
    let description: String
    let cloneURL: String
    let canAdmin: Bool
    let canWrite: Bool
    let code: Bool
    let commits: Bool
    let branches: Bool
    let tags: Bool
    let pulls: Bool
    let downloads: Bool
    let traffic: Bool
    let settings: Bool
    let signedIn: Bool
    let watching: Bool
    let starred: Bool
    let stars: Int
    let watchers: Int
    /// "ada, bob": people the visitor follows who starred it; empty for none.
    let followedStargazers: String
    /// A fork's parent, `owner/name`, when the visitor may know it.
    let forkedFrom: String?

    /// Whether the page shows the repository's content, and so counts as a view of it.
    var isBrowsing: Bool { code || commits || branches || tags }
}

/// Where a repository page's catch-all path points: a ref (branch, tag or commit id) and
/// a path inside it. Branch and tag names may hold slashes, so the longest name that
/// matches wins, as on GitHub.
struct RefAndPath: Equatable {
    let ref: String
    let path: String

    static func resolve(_ segments: [String], refs: GitRefs) -> RefAndPath? {
        guard !segments.isEmpty else { return nil }
        let names = Set(refs.branches.map(\.name) + refs.tags.map(\.name))
        for count in stride(from: segments.count, through: 1, by: -1) {
            let candidate = segments[..<count].joined(separator: "/")
            if names.contains(candidate) { return RefAndPath(ref: candidate, path: segments[count...].joined(separator: "/")) }
        }
        let first = segments[0]
        if (7...40).contains(first.count), first.allSatisfy(\.isHexDigit) {
            return RefAndPath(ref: first, path: segments.dropFirst().joined(separator: "/"))
        }
        return nil
    }
}

/// One link in a path's breadcrumb trail.
struct Crumb {
    let name: String
    let url: String
    let last: Bool

    /// `repo / dir / sub / file`, each part linking to its tree.
    static func trail(_ repository: Repository, ref: String, path: String) -> [Crumb] {
        var crumbs = [Crumb(name: repository.name, url: "/\(repository.fullName)/tree/\(PageFormat.pathLink(ref))", last: path.isEmpty)]
        let parts = path.split(separator: "/").map(String.init)
        for (index, part) in parts.enumerated() {
            let prefix = parts[...index].joined(separator: "/")
            crumbs.append(Crumb(name: part, url: "/\(repository.fullName)/tree/\(PageFormat.pathLink(ref))/\(PageFormat.pathLink(prefix))", last: index == parts.count - 1))
        }
        return crumbs
    }
}

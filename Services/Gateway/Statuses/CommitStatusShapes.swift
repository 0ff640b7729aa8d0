import CairnModel
import Foundation

/// A commit status as GitHub's API shows one (`creator` left out in a combined status, as there).
struct APICommitStatus: Encodable {
    let url: String
    let id: Int64
    let state: String
    let description: String?
    let targetUrl: String?
    let context: String
    let createdAt: Date
    let updatedAt: Date
    let creator: APIUser?

    init(_ status: CommitStatus, repository: Repository, creator: User?, baseURL: String) {
        url = "\(baseURL)/api/v3/repos/\(repository.fullName)/statuses/\(status.sha)"
        id = status.id
        state = status.state.rawValue
        description = status.description
        targetUrl = status.targetURL
        context = status.context
        createdAt = status.createdAt
        updatedAt = status.createdAt
        self.creator = creator.map { APIUser($0, baseURL: baseURL) }
    }

    // `description` and `target_url` are sent as null when absent, as GitHub does.
    enum CodingKeys: String, CodingKey { case url, id, state, description, targetUrl, context, createdAt, updatedAt, creator }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(url, forKey: .url)
        try container.encode(id, forKey: .id)
        try container.encode(state, forKey: .state)
        try container.encode(description, forKey: .description)
        try container.encode(targetUrl, forKey: .targetUrl)
        try container.encode(context, forKey: .context)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encodeIfPresent(creator, forKey: .creator)
    }
}

/// `GET …/commits/{ref}/status`: the newest status of each context and their combined state.
struct APICombinedStatus: Encodable {
    let state: String
    let statuses: [APICommitStatus]
    let sha: String
    let totalCount: Int
    let repository: APIRepository
    let commitUrl: String
    let url: String
}

/// The `status` webhook event's payload, with GitHub's fields.
struct StatusEventPayload: Encodable {
    struct Branch: Encodable {
        let name: String
        let commit: APICommit.SHA
        let protected: Bool
    }

    let id: Int64
    let sha: String
    let name: String
    let targetUrl: String?
    let context: String
    let description: String?
    let state: String
    let commit: APICommit
    let branches: [Branch]
    let createdAt: Date
    let updatedAt: Date
    let repository: APIRepository
    let sender: APIUser

    enum CodingKeys: String, CodingKey {
        case id, sha, name, targetUrl, context, description, state, commit, branches, createdAt, updatedAt, repository, sender
    }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(sha, forKey: .sha)
        try container.encode(name, forKey: .name)
        try container.encode(targetUrl, forKey: .targetUrl)
        try container.encode(context, forKey: .context)
        try container.encode(description, forKey: .description)
        try container.encode(state, forKey: .state)
        try container.encode(commit, forKey: .commit)
        try container.encode(branches, forKey: .branches)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(repository, forKey: .repository)
        try container.encode(sender, forKey: .sender)
    }
}

import CairnModel
import CairnProtocol
import CairnService
import CairnSigning
import Foundation

/// `mail.send`: writes one account mail — welcome, password changed, a push to a watched
/// repository — and hands it to the SMTP relay, or into the maildir when there is none.
/// Mail the user unsubscribed from is dropped here, so that a link clicked after the task
/// was queued still counts. Each mail carries its signed unsubscribe link.
struct MailTask: TaskHandler {
    let users: UserStore
    let repositories: RepositoryStore
    let signer: Signer
    let settings: CairnConfiguration.MailSettings
    let baseURL: String
    let kind = "mail.send"
    let timeLimit: Duration = .seconds(60)

    func handle(_ task: TaskEnvelope) async throws {
        guard let kindName = task.args["kind"]?.stringValue, let kind = MailKind(rawValue: kindName),
              let userNumber = task.args["user_id"]?.numberValue else {
            throw MalformedTask(description: "mail.send task \(task.id) needs a known kind and a user_id")
        }
        guard let user = try await users.find(id: Int64(userNumber)) else { return }
        guard try await !users.mailOptOuts(userID: user.id).contains(kind.rawValue) else { return }
        let token = try signer.sign(UnsubscribeToken(user: user.id, kind: kind), salt: UnsubscribeToken.salt)
        let unsubscribe = "\(baseURL)/unsubscribe/\(token)"
        guard let (subject, body) = try await compose(kind, for: user, task: task) else { return }
        let message = MailMessage(
            from: settings.from, to: "\(user.username) <\(user.email)>", subject: subject,
            body: body + "\n\n-- \nStop these \(kind.summary): \(unsubscribe)\n", unsubscribeURL: unsubscribe,
            messageID: "\(task.id)@\(URL(string: baseURL)?.host ?? "cairn")")
        let rendered = message.rendered()
        if let host = settings.smtpHost {
            try await SMTPClient(host: host, port: settings.smtpPort).send(from: MailMessage.address(settings.from), to: user.email, message: rendered)
        } else {
            try Maildir(root: settings.maildir).deliver(rendered, name: "\(Int(task.enqueuedAt.timeIntervalSince1970)).\(task.id).cairn")
        }
    }

    /// The subject and body of `kind`; nil when what it is about is gone.
    private func compose(_ kind: MailKind, for user: User, task: TaskEnvelope) async throws -> (String, String)? {
        switch kind {
        case .welcome:
            return ("Welcome to Cairn, \(user.username)", """
                Hello \(user.username),

                your account is ready. Create a repository at \(baseURL)/new and push to it with git.
                """)
        case .passwordChanged:
            return ("Your Cairn password was changed", """
                Hello \(user.username),

                the password of your account was just changed, and every other session was signed out.
                If this was not you, reset your password and check your access tokens at \(baseURL)/settings.
                """)
        case .pullRequest:
            guard let id = task.args["repository_id"]?.numberValue, let repository = try await repositories.find(id: Int64(id)),
                  let number = task.args["number"]?.numberValue else { return nil }
            // Still someone who may read it (access can go between the event and the mail).
            guard try await repositories.permission(of: user, on: repository) >= .read else { return nil }
            let actor = task.args["actor"]?.stringValue ?? "someone"
            let title = task.args["title"]?.stringValue ?? ""
            let action = task.args["action"]?.stringValue ?? "updated"
            let excerpt = task.args["excerpt"]?.stringValue ?? ""
            return ("[\(repository.fullName)] \(title) (#\(Int64(number)))", """
                \(actor) \(action) pull request #\(Int64(number)) in \(repository.fullName):

                \(excerpt.isEmpty ? title : excerpt)

                \(baseURL)/\(repository.fullName)/pull/\(Int64(number))
                """)
        case .push:
            guard let number = task.args["repository_id"]?.numberValue, let repository = try await repositories.find(id: Int64(number)) else { return nil }
            let pusher = task.args["pusher"]?.stringValue ?? "someone"
            let ref = task.args["ref"]?.stringValue ?? ""
            let branch = ref.hasPrefix("refs/heads/") ? String(ref.dropFirst(11)) : ref
            let lines: [String]
            if case .array(let commits)? = task.args["commits"] {
                lines = commits.compactMap { $0.stringValue }.map { "  \($0)" }
            } else {
                lines = []
            }
            return ("[\(repository.fullName)] \(pusher) pushed to \(branch)", """
                \(pusher) pushed to \(branch) in \(repository.fullName):

                \(lines.joined(separator: "\n"))

                \(baseURL)/\(repository.fullName)/commits/\(InternalClient.percentEncode(branch))
                """)
        }
    }
}

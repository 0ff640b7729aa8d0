import CairnDatabase
import CairnModel
import CairnProtocol
import Foundation
import Hummingbird

/// Sign up, sign in, sign out, and the account settings page (email, password, sessions,
/// personal access tokens).
struct AccountPagesController: Sendable {
    let pages: Pages
    let users: UserStore
    let tokens: TokenStore
    let limiter: SignInLimiter
    /// Queues account mail (welcome, password changed).
    let outbox: Outbox

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        router.get("/login") { request, context in
            let visitor = try context.pageVisitor()
            if visitor.user != nil { return pages.redirect("/") }
            return pages.page("sign_in", title: "Sign in", try pages.sessions.withSession(visitor), SignInView(next: Self.safeNext(request.uri.queryParameters["next"].map(String.init))))
        }
        router.post("/login") { request, context in
            let visitor = try context.pageVisitor()
            let form = try await pages.form(request, visitor)
            let login = form.text("login")
            let next = Self.safeNext(form["next"])
            let address = context.clientAddress(request)
            try await limiter.attempt(address: address, login: login)
            guard !login.isEmpty, let user = try await users.authenticate(login: login, password: form["password"] ?? "") else {
                return pages.page("sign_in", title: "Sign in", visitor, SignInView(next: next, login: login, error: "Incorrect username or password."), status: .unauthorized)
            }
            await limiter.succeeded(address: address, login: login)
            return pages.redirect(next, try pages.sessions.signedIn(user))
        }
        router.post("/logout") { request, context in
            let visitor = try context.pageVisitor()
            _ = try await pages.form(request, visitor)
            if let user = visitor.user {
                try await users.retireSession(userID: user.id, nonce: visitor.nonce)
                pages.sessions.forget(userID: user.id)
            }
            return pages.redirect("/", try pages.sessions.anonymous())
        }
        router.get("/signup") { request, context in
            let visitor = try context.pageVisitor()
            return pages.page("sign_up", title: "Sign up", try pages.sessions.withSession(visitor), SignUpView())
        }
        router.post("/signup") { request, context in
            let visitor = try context.pageVisitor()
            let form = try await pages.form(request, visitor)
            let view = SignUpView(username: form.text("username"), email: form.text("email"))
            do {
                let user = try await users.create(username: view.username, email: view.email, password: form["password"] ?? "")
                try await sendMail(.welcome, to: user)
                return pages.redirect("/", try pages.sessions.signedIn(user))
            } catch let error as ModelError {
                var failed = view
                failed.error = Self.message(error)
                return pages.page("sign_up", title: "Sign up", visitor, failed, status: .unprocessableContent)
            }
        }
        router.get("/settings") { request, context in
            let visitor = try context.pageVisitor()
            return try await settings(visitor)
        }
        router.post("/settings/email") { request, context in
            let (visitor, user, form) = try await signedInForm(request, context)
            do {
                // The address receives password resets and notices: changing it takes the password.
                try await users.requirePassword(userID: user.id, form["password"] ?? "")
                try await users.changeEmail(userID: user.id, to: form.text("email"))
                pages.sessions.forget(userID: user.id)
            } catch let error as ModelError {
                return try await settings(visitor, error: Self.message(error), status: .unprocessableContent)
            }
            return pages.redirect("/settings")
        }
        router.post("/settings/password") { request, context in
            let (visitor, user, form) = try await signedInForm(request, context)
            do {
                try await users.changePassword(userID: user.id, old: form["old_password"] ?? "", new: form["new_password"] ?? "")
                pages.sessions.forget(userID: user.id)
            } catch let error as ModelError {
                return try await settings(visitor, error: Self.message(error), status: .unprocessableContent)
            }
            try await sendMail(.passwordChanged, to: user)
            // Every older session is retired; this browser gets a new one.
            guard let changed = try await users.find(id: user.id) else { throw GatewayError.notFound }
            return pages.redirect("/settings", try pages.sessions.signedIn(changed))
        }
        router.post("/settings/sessions/revoke") { request, context in
            let (_, user, _) = try await signedInForm(request, context)
            try await users.signOutEverywhere(userID: user.id)
            pages.sessions.forget(userID: user.id)
            return pages.redirect("/login", try pages.sessions.anonymous())
        }
        router.post("/settings/tokens") { request, context in
            let (visitor, user, form) = try await signedInForm(request, context)
            let scopes = Set(TokenScope.allCases.filter { form.isChecked("scope_\($0.rawValue)") })
            let name = form.text("name")
            guard !name.isEmpty, name.count <= 100 else {
                return try await settings(visitor, error: "Give the token a name of at most 100 characters.", status: .unprocessableContent)
            }
            guard !scopes.isEmpty else { return try await settings(visitor, error: "Choose at least one scope.", status: .unprocessableContent) }
            let (secret, _) = try await tokens.create(userID: user.id, name: name, scopes: scopes)
            return try await settings(visitor, newToken: secret)
        }
        router.post("/settings/tokens/:id/revoke") { request, context in
            let (_, user, _) = try await signedInForm(request, context)
            guard let id = Int64(try context.parameters.require("id")), try await tokens.revoke(id: id, userID: user.id) else { throw GatewayError.notFound }
            return pages.redirect("/settings")
        }
    }

    private func signedInForm(_ request: Request, _ context: GatewayContext) async throws -> (Visitor, User, PageForm) {
        let visitor = try context.pageVisitor()
        guard let user = visitor.user else { throw GatewayError.authenticationRequired }
        return (visitor, user, try await pages.form(request, visitor))
    }

    private func settings(_ visitor: Visitor, error: String? = nil, newToken: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        guard let user = visitor.user else { throw GatewayError.authenticationRequired }
        let list = try await tokens.list(userID: user.id).filter { $0.revokedAt == nil }.map { token in
            AccountSettingsView.Token(
                id: token.id, name: token.name, scopes: token.scopes.sorted().map(\.rawValue).joined(separator: ", "),
                created: PageFormat.date(token.createdAt), lastUsed: token.lastUsedAt.map { PageFormat.age($0) } ?? "never")
        }
        let view = AccountSettingsView(
            email: user.email, error: error, newToken: newToken, tokens: list,
            scopes: TokenScope.allCases.map(\.rawValue))
        return pages.page("account_settings", title: "Settings", visitor, view, status: status)
    }

    /// Only a local path may follow sign-in, never another site (`//evil`, `/\evil`).
    static func safeNext(_ next: String?) -> String {
        // A same-site path only: browsers drop tabs and newlines and read `\` as `/`, so
        // `/\t/evil.example` or `/\evil.example` would leave the site.
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"),
              !next.unicodeScalars.contains(where: { $0 == "\\" || $0.properties.isWhitespace || $0.properties.generalCategory == .control || $0.properties.generalCategory == .format })
        else { return "/" }
        return next
    }

    static func message(_ error: ModelError) -> String {
        switch error {
        case .invalid(let field, let reason): "\(field.replacingOccurrences(of: "_", with: " ").capitalizedFirst) \(reason)."
        case .taken(let field, let value): "The \(field) \(value) is already taken."
        case .notFound(let what): "\(what.capitalizedFirst) was not found."
        case .stale(let what): "Someone else saved \(what) after you opened this page. Reload to see their changes, then make yours again."
        }
    }
}

struct SignInView {
    var next: String
    var login = ""
    var error: String?
}

struct SignUpView {
    var username = ""
    var email = ""
    var error: String?
}

struct AccountSettingsView {
    struct Token {
        let id: Int64
        let name: String
        let scopes: String
        let created: String
        let lastUsed: String
    }

    let email: String
    let error: String?
    let newToken: String?
    let tokens: [Token]
    let scopes: [String]
}

extension String {
    /// The string with its first letter in upper case.
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

extension AccountPagesController {
    /// Queues one account mail for the worker (through the outbox, so it is sent at least once).
    func sendMail(_ kind: MailKind, to user: User) async throws {
        try await outbox.transaction { transaction in
            try await transaction.enqueue(AccountMail.task(kind, to: user.id), queue: QueueName.default.rawValue)
        }
    }
}

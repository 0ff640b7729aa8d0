import CairnModel
import CairnSigning
import Hummingbird

/// `/unsubscribe/<token>`: stops one kind of account mail for one user, without signing in.
///
/// GET shows what the link stops and a button; POST does it — also as RFC 8058's one-click
/// POST that mail programs send. The signed token names the user and the kind and cannot be
/// guessed or altered, so it is this form's protection against forgery, in place of the
/// session's CSRF token (the one-click POST carries no cookies).
struct UnsubscribePagesController: Sendable {
    let pages: Pages
    let users: UserStore

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        router.get("/unsubscribe/:token") { request, context in
            let visitor = try context.pageVisitor()
            let (token, value) = try await unsubscribe(context)
            let view = UnsubscribeView(token: token, summary: value.kind.summary, done: false)
            return pages.page("unsubscribe", title: "Unsubscribe", visitor, view)
        }
        router.post("/unsubscribe/:token") { request, context in
            let visitor = try context.pageVisitor()
            let (token, value) = try await unsubscribe(context)
            try await users.optOut(userID: value.user, kind: value.kind.rawValue)
            return pages.page("unsubscribe", title: "Unsubscribed", visitor, UnsubscribeView(token: token, summary: value.kind.summary, done: true))
        }
    }

    private func unsubscribe(_ context: GatewayContext) async throws -> (String, UnsubscribeToken) {
        let token = try context.parameters.require("token")
        guard let value = try? pages.sessions.signer.unsign(token, as: UnsubscribeToken.self, salt: UnsubscribeToken.salt, maxAge: nil),
              try await users.find(id: value.user) != nil else {
            throw GatewayError.notFound
        }
        return (token, value)
    }
}

struct UnsubscribeView {
    let token: String
    let summary: String
    let done: Bool
}

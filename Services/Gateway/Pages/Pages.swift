import CairnModel
import Foundation
import HTTPTypes
import Hummingbird

/// What every page controller shares: the templates, the sessions, and the helpers that
/// turn a rendered body into a response (layout, cookie, headers) or a redirect.
struct Pages: Sendable {
    let renderer: PageRenderer
    let sessions: PageSessions
    /// Read-only mode, whose message every page shows while it is on.
    let readOnly: ReadOnlySwitch
    /// The layout and repository headers rendered lately.
    var shells = RenderedShells()

    /// The visitor, if a site admin: anonymous visitors are asked to sign in, everyone else
    /// gets 404, as for every admin page.
    func admin(_ context: GatewayContext) throws -> Visitor {
        let visitor = try context.pageVisitor()
        guard let user = visitor.user else { throw GatewayError.authenticationRequired }
        guard user.isAdmin else { throw GatewayError.notFound }
        return visitor
    }

    /// Reads a submitted form and refuses it (403) unless it carries the session's CSRF token.
    func form(_ request: Request, _ visitor: Visitor) async throws -> PageForm {
        let form = try await PageForm.read(request)
        guard sessions.isValidCSRF(form["csrf"], for: visitor) else {
            throw GatewayError.forbidden("The form's security token is missing or out of date. Go back, reload the page and try again.")
        }
        return form
    }

    /// Template `name` rendered with `object` inside the site layout.
    func page(_ name: String, title: String, _ visitor: Visitor, _ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        html(renderer.render(name, object, csrf: visitor.csrfToken), title: title, visitor, status: status)
    }

    /// An already rendered body inside the site layout.
    func html(_ body: String, title: String, _ visitor: Visitor, status: HTTPResponse.Status = .ok) -> Response {
        response(layout(body, title: title, visitor), visitor, status: status)
    }

    /// `body` inside the site layout, as HTML. The layout around it is rendered once per
    /// title, signed-in user and notice (see `RenderedShells`).
    func layout(_ body: String, title: String, _ visitor: Visitor) -> String {
        let shell = layoutShell(title: title, visitor)
        return shell.before + body + shell.after
    }

    /// The site layout for `visitor`, cut where the body goes.
    func layoutShell(title: String, _ visitor: Visitor) -> (before: String, after: String) {
        let user = visitor.user.map { LayoutView.SignedIn(username: $0.username, isAdmin: $0.isAdmin) }
        let key = RenderedShells.LayoutKey(title: title, user: user, notice: readOnly.lastKnownMessage)
        let shell = shells.layout(key) { csrf, bodyMark in
            renderer.render("layout", LayoutView(
                title: title, body: bodyMark, stylesheet: renderer.assets.stylesheetPath, script: renderer.assets.scriptPath, csrf: csrf,
                user: user, notice: key.notice), csrf: csrf)
        }
        return (shell.before.filled(csrf: visitor.csrfToken), shell.after.filled(csrf: visitor.csrfToken))
    }

    /// A repository's header, rendered once per distinct header (see `RenderedShells`).
    func repositoryHeader(_ header: RepositoryHeaderView, csrf: String) -> String {
        shells.header(header) { renderer.render("repository_header", header, csrf: $0) }.filled(csrf: csrf)
    }

    /// A whole HTML page as the response, setting the visitor's cookie if new.
    func response(_ html: String, _ visitor: Visitor, status: HTTPResponse.Status = .ok) -> Response {
        var response = Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store", HTTPField.Name("X-Frame-Options")!: "DENY"],
            body: .init(byteBuffer: .init(string: html)))
        if let cookie = visitor.newCookie { response.setCookie(cookie) }
        return response
    }

    /// A whole page already gzipped (see `DeflatedPiece`), for a visitor who accepts that,
    /// setting the visitor's cookie if new.
    func gzippedResponse(_ gzipped: ByteBuffer, _ visitor: Visitor) -> Response {
        var response = Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .contentEncoding: "gzip", .vary: "Accept-Encoding", .cacheControl: "no-store",
                HTTPField.Name("X-Frame-Options")!: "DENY",
            ],
            body: .init(byteBuffer: gzipped))
        if let cookie = visitor.newCookie { response.setCookie(cookie) }
        return response
    }

    /// Whether a request's `Accept-Encoding` takes gzip: named with a weight above 0, or
    /// left to `*` with one.
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        var wildcard: Bool?
        for part in header.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            let refused = fields.dropFirst().contains { field in
                let compact = field.replacingOccurrences(of: " ", with: "")
                return compact.hasPrefix("q=0") && !compact.contains { "123456789".contains($0) }
            }
            switch fields.first {
            case "gzip": return !refused
            case "*": wildcard = !refused
            default: continue
            }
        }
        return wildcard ?? false
    }

    /// A 303 redirect to `location` (after a form post), setting the visitor's cookie if new.
    func redirect(_ location: String, _ visitor: Visitor? = nil) -> Response {
        var response = Response(status: .seeOther, headers: [.location: location])
        if let cookie = visitor?.newCookie { response.setCookie(cookie) }
        return response
    }
}

/// The site layout's data.
struct LayoutView {
    struct SignedIn: Hashable, Sendable {
        let username: String
        let isAdmin: Bool
    }

    let title: String
    let body: String
    let stylesheet: String
    let script: String
    let csrf: String
    let user: SignedIn?
    /// The site-wide notice (read-only mode's message).
    let notice: String?
}

import CairnModel
import Foundation
import Hummingbird

/// `/admin/switches`: site admins see and flip the run-time switches (read-only mode, with
/// its message). Everyone else gets 404, as for every admin page.
struct SwitchesPagesController: Sendable {
    let pages: Pages
    let readOnly: ReadOnlySwitch

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        router.get("/admin/switches") { request, _ in
            let visitor = try await admin(request)
            let message = await readOnly.message()
            let view = SwitchesView(readOnly: message != nil, message: message ?? "", defaultMessage: ReadOnlySwitch.defaultMessage)
            return pages.page("switches", title: "Switches", visitor, view)
        }
        router.post("/admin/switches/readonly") { request, _ in
            let visitor = try await admin(request)
            let form = try await pages.form(request, visitor)
            if form["state"] == "on" {
                try await readOnly.turnOn(message: form["message"])
            } else {
                try await readOnly.turnOff()
            }
            return pages.redirect("/admin/switches", visitor)
        }
    }

    private func admin(_ request: Request) async throws -> Visitor {
        let visitor = try await pages.visitor(request)
        guard let user = visitor.user else { throw GatewayError.authenticationRequired }
        guard user.isAdmin else { throw GatewayError.notFound }
        return visitor
    }
}

struct SwitchesView {
    let readOnly: Bool
    let message: String
    let defaultMessage: String
}

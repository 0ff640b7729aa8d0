import CairnModel
import Foundation
import Hummingbird

/// `/admin/switches`: site admins see and flip the run-time switches (read-only mode, with
/// its message, and the feature flags). Everyone else gets 404, as for every admin page.
struct SwitchesPagesController: Sendable {
    let pages: Pages
    let readOnly: ReadOnlySwitch
    let flags: FeatureFlags

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        router.get("/admin/switches") { request, context in
            let visitor = try pages.admin(context)
            let message = await readOnly.message()
            let settings = try await flags.currentSettings()
            let view = SwitchesView(
                readOnly: message != nil, message: message ?? "", defaultMessage: ReadOnlySwitch.defaultMessage,
                flags: FeatureFlag.all.map { FlagRow($0, settings[$0.name]) })
            return pages.page("switches", title: "Switches", visitor, view)
        }
        router.post("/admin/switches/readonly") { request, context in
            let visitor = try pages.admin(context)
            let form = try await pages.form(request, visitor)
            if form["state"] == "on" {
                try await readOnly.turnOn(message: form["message"])
            } else {
                try await readOnly.turnOff()
            }
            return pages.redirect("/admin/switches", visitor)
        }
        router.post("/admin/switches/flags/:name") { request, context in
            let visitor = try pages.admin(context)
            let form = try await pages.form(request, visitor)
            guard let flag = FeatureFlag.named(try context.parameters.require("name")) else { throw GatewayError.notFound }
            switch form["mode"] {
            case "default": try await flags.reset(flag)
            case "on", "off":
                let percentText = form["percent"]?.trimmingCharacters(in: .whitespaces) ?? ""
                guard let percent = percentText.isEmpty ? 0 : Int(percentText), (0...100).contains(percent) else {
                    throw GatewayError.invalid("The percentage must be a whole number from 0 to 100.")
                }
                let users = (form["users"] ?? "").split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
                try await flags.set(flag, FlagSetting(enabled: form["mode"] == "on", percent: percent, users: users))
            default:
                throw GatewayError.invalid("The mode must be default, on or off.")
            }
            return pages.redirect("/admin/switches", visitor)
        }
    }
}

struct SwitchesView {
    let readOnly: Bool
    let message: String
    let defaultMessage: String
    let flags: [FlagRow]
}

struct FlagRow {
    let name: String
    let summary: String
    /// "default (on)", "on", "off, 10% of users, and ada, bob".
    let state: String
    let isDefault: Bool
    let isOn: Bool
    let isOff: Bool
    let percent: String
    let users: String

    init(_ flag: FeatureFlag, _ setting: FlagSetting?) {
        name = flag.name
        summary = flag.summary
        isDefault = setting == nil
        isOn = setting?.enabled == true
        isOff = setting?.enabled == false
        percent = setting.map { String($0.percent) } ?? ""
        users = setting?.users.joined(separator: ", ") ?? ""
        state = flag.describe(setting)
    }
}

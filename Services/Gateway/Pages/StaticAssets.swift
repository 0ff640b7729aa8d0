import CairnProtocol
import Crypto
import Foundation
import Hummingbird

/// The stylesheet and the small script (compiled into the binary from `Pages/Static`),
/// served under names that carry a hash of their content (`app.3f9c1a2b.css`) with
/// `Cache-Control: immutable`: browsers keep them for a year and fetch the new name when
/// one changes. The names are computed at start.
struct StaticAssets: Sendable {
    struct File: Sendable {
        let contentType: String
        let bytes: [UInt8]
    }

    let files: [String: File]
    let stylesheetPath: String
    let scriptPath: String

    init() {
        func named(_ base: String, _ ext: String, _ bytes: [UInt8]) -> String {
            let digest = SHA256.hash(data: bytes).prefix(5).hexString
            return "\(base).\(digest).\(ext)"
        }
        let css = named("app", "css", PackageResources.app_css)
        let js = named("app", "js", PackageResources.app_js)
        files = [
            css: File(contentType: "text/css; charset=utf-8", bytes: PackageResources.app_css),
            js: File(contentType: "text/javascript; charset=utf-8", bytes: PackageResources.app_js),
        ]
        stylesheetPath = "/static/\(css)"
        scriptPath = "/static/\(js)"
    }

    func addRoutes(to router: Router<GatewayContext>) {
        router.get("/static/:name") { _, context in
            guard let file = files[try context.parameters.require("name")] else { throw GatewayError.notFound }
            return Response(
                status: .ok,
                headers: [.contentType: file.contentType, .cacheControl: "public, max-age=31536000, immutable"],
                body: .init(byteBuffer: .init(bytes: file.bytes)))
        }
    }
}

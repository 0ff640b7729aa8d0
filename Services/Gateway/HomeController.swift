import Hummingbird

/// The landing page until the web pages arrive: says what answers here.
struct HomeController {
    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: .init(string: """
                    <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Cairn</title></head>
                    <body><h1>Cairn</h1><p>This Cairn gateway is running. Health: <a href="/healthz">/healthz</a>, readiness: <a href="/readyz">/readyz</a>.</p></body></html>
                    """)))
        }
    }
}

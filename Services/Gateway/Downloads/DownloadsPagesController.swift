import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnService
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

/// A repository's Downloads page: files its writers publish beside the code (builds,
/// installers), listed with size and download count. Uploads stream from the form through
/// the gateway into the blob store; downloads redirect to a signed blob-store link.
/// Readers see and download; writers upload and delete; private repositories are 404 to
/// outsiders.
struct DownloadsPagesController: Sendable {
    let pages: Pages
    let repositoryPages: RepositoryPages
    let downloads: BlobDownloads
    let blobstore: InternalClient
    let baseURL: String

    func addRoutes(to routes: RouterGroup<GatewayContext>) {
        let router = repositoryPages.routes(routes, requiring: .read)
        router.get("/:owner/:repo/downloads") { request, context in
            let page = try await repositoryPages.load(request, context)
            return try await list(page)
        }
        repositoryPages.routes(routes, requiring: .write, refusal: "Only the repository's writers can upload downloads.").post("/:owner/:repo/downloads") { request, context in
            let page = try await repositoryPages.load(request, context)
            return try await upload(request, page)
        }
        router.get("/:owner/:repo/downloads/:name") { request, context in
            let page = try await repositoryPages.load(request, context)
            let name = try fileName(context)
            guard let blob = try await downloads.blobs.find(repositoryID: page.repository.id, use: .download, name: name) else { throw GatewayError.notFound }
            return try await downloads.redirect(to: blob, savedAs: name, page: page)
        }
        repositoryPages.routes(routes, requiring: .write, refusal: "Only the repository's writers can delete downloads.").post("/:owner/:repo/downloads/:name/delete") { request, context in
            let page = try await repositoryPages.load(request, context)
            _ = try await pages.form(request, page.visitor)
            guard try await downloads.blobs.remove(repositoryID: page.repository.id, use: .download, name: try fileName(context)) else { throw GatewayError.notFound }
            return pages.redirect("/\(page.repository.fullName)/downloads", page.visitor)
        }
    }

    private func list(_ page: RepositoryPage, problem: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let files = try await downloads.blobs.list(repositoryID: page.repository.id, use: .download)
        let view = DownloadsView(
            canWrite: page.permission >= .write, problem: problem,
            files: files.map { file in
                DownloadItem(
                    name: file.name, url: "/\(page.repository.fullName)/downloads/\(DownloadName.link(file.name))", size: PageFormat.size(Int(file.size)),
                    downloads: PageFormat.plural(Int(file.downloadCount), "download"),
                    uploaded: (file.uploader.map { "by \($0), " } ?? "") + PageFormat.age(file.createdAt))
            })
        return repositoryPages.repositoryPage(
            page, header: page.header("downloads", baseURL: baseURL), body: pages.renderer.render("downloads", view, csrf: page.visitor.csrfToken),
            title: "Downloads · \(page.repository.fullName)", status: status)
    }

    /// Reads the form (its CSRF token must come before the file), streams the file into the
    /// blob store and records it under its name.
    private func upload(_ request: Request, _ page: RepositoryPage) async throws -> Response {
        guard let form = MultipartFormReader(request.body, contentType: request.headers[.contentType]) else {
            throw GatewayError.invalid("an upload must be sent as multipart/form-data")
        }
        var fields: [String: String] = [:]
        var chosen: String?
        while chosen == nil, let item = try await form.next() {
            switch item {
            case .field(let name, let value): fields[name] = value
            case .file(_, let filename): chosen = filename
            default: break
            }
        }
        guard pages.sessions.isValidCSRF(fields["csrf"], for: page.visitor) else {
            throw GatewayError.forbidden("The form's security token is missing or out of date. Go back, reload the page and try again.")
        }
        guard let chosen, !chosen.isEmpty else { return try await list(page, problem: "Choose a file to upload.", status: .unprocessableContent) }
        let name = DownloadName.baseName(chosen)
        if let problem = DownloadName.problem(name) { return try await list(page, problem: problem, status: .unprocessableContent) }
        if try await downloads.blobs.find(repositoryID: page.repository.id, use: .download, name: name) != nil {
            return try await list(page, problem: "There is already a download named \(name). Delete it first to replace it.", status: .unprocessableContent)
        }
        let stored = try await blobstore.send(.POST, "/blobs", body: .stream(form.fileBytes, length: .unknown), timeout: .hours(2))
        let answer = try await stored.body.collect(upTo: 64 << 10)
        guard stored.status == .created || stored.status == .ok else {
            let message = (try? CairnJSON.decode(BlobStoreError.self, from: Data(answer.readableBytesView)))?.error.message ?? String(buffer: answer)
            let status: HTTPResponse.Status = stored.status == .payloadTooLarge ? .contentTooLarge : stored.status == .insufficientStorage ? .init(code: 507) : .serviceUnavailable
            return try await list(page, problem: "The file could not be stored: \(message)", status: status)
        }
        try await form.drain()
        let blob = try CairnJSON.decode(StoredBlob.self, from: Data(answer.readableBytesView))
        guard try await downloads.blobs.record(
            repositoryID: page.repository.id, use: .download, name: name, sha256: blob.sha256, size: Int64(blob.size), uploaderID: page.visitor.user?.id)
        else {
            return try await list(page, problem: "There is already a download named \(name). Delete it first to replace it.", status: .unprocessableContent)
        }
        return pages.redirect("/\(page.repository.fullName)/downloads", page.visitor)
    }

    private func fileName(_ context: GatewayContext) throws -> String {
        let raw = try context.parameters.require("name")
        guard let name = raw.removingPercentEncoding, DownloadName.problem(name) == nil else { throw GatewayError.notFound }
        return name
    }

    private struct BlobStoreError: Decodable {
        struct Detail: Decodable { let message: String }
        let error: Detail
    }
}

/// The rules for a download's file name.
enum DownloadName {
    /// The last component of a name as a browser sent it (some send a whole path).
    static func baseName(_ name: String) -> String {
        String(name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? "")
    }

    /// Why `name` cannot name a download, or nil when it can.
    static func problem(_ name: String) -> String? {
        if name.isEmpty { return "The file needs a name." }
        if name.utf8.count > 255 { return "The file name is longer than 255 bytes." }
        if name.hasPrefix(".") { return "The file name must not start with a dot." }
        if name.contains(where: { $0 == "/" || $0 == "\\" }) { return "The file name must not contain slashes." }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "The file name must not contain control characters." }
        return nil
    }

    /// The name percent-encoded for a link.
    static func link(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/;?#"))) ?? name
    }
}

struct DownloadsView {
    let canWrite: Bool
    let problem: String?
    let files: [DownloadItem]
}

struct DownloadItem {
    let name: String
    let url: String
    let size: String
    let downloads: String
    /// "by ada, 5 minutes ago".
    let uploaded: String
}

import CairnService
import CairnModel
import Foundation
import HTTPTypes
import Hummingbird

/// GitHub's JSON dialect: snake_case keys, ISO-8601 dates without fractions.
enum APIEncoding {
    static func encoder() -> JSONEncoder { GitHubJSON.encoder() }

    static func decoder() -> JSONDecoder { GitHubJSON.decoder() }

    /// A JSON response of `value` (`application/json` unless `headers` name another JSON type).
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var headers = headers
        if headers[.contentType] == nil { headers[.contentType] = "application/json; charset=utf-8" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: .init(bytes: try encoder().encode(value))))
    }

    /// Reads a JSON body of at most 1 MiB; a malformed one is a 400 that says what was wrong.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        try decode(T.self, from: try await body(request))
    }

    /// As `decode`, for a body that may be left out (nil then).
    static func decodeIfPresent<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T? {
        let buffer = try await body(request)
        return buffer.readableBytes == 0 ? nil : try decode(T.self, from: buffer)
    }

    private static func body(_ request: Request) async throws -> ByteBuffer {
        do { return try await request.body.collect(upTo: 1 << 20) } catch {
            throw HTTPError(.contentTooLarge, message: "Request body is larger than 1 MiB")
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        do {
            return try decoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw HTTPError(.badRequest, message: "Problems parsing JSON: \(error)")
        }
    }
}

/// `page` and `per_page` as GitHub reads them, and the `Link` header that goes with a page.
struct Pagination {
    let page: Int
    let perPage: Int

    /// The deepest page a list serves: far past any real list, and small enough that no
    /// offset can overflow.
    static let maxPage = 100_000

    init(_ request: Request) throws {
        page = try QueryNumber.read(request, "page", in: 1...Self.maxPage, default: 1)
        perPage = try QueryNumber.readClamped(request, "per_page", in: 1...100, default: 30)
    }

    var offset: Int { (page - 1) * perPage }

    /// Links to the next (when `hasMore`), previous and first pages of `request`'s URL.
    func linkHeader(_ request: Request, baseURL: String, hasMore: Bool) -> HTTPFields {
        var others = request.uri.queryParameters.filter { $0.key != "page" && $0.key != "per_page" }.map { "\($0.key)=\($0.value)" }
        others.sort()
        func link(_ page: Int, _ rel: String) -> String {
            let query = (others + ["per_page=\(perPage)", "page=\(page)"]).joined(separator: "&")
            return "<\(baseURL)\(request.uri.path)?\(query)>; rel=\"\(rel)\""
        }
        var links: [String] = []
        if hasMore { links.append(link(page + 1, "next")) }
        if page > 1 { links.append(link(page - 1, "prev")); links.append(link(1, "first")) }
        return links.isEmpty ? [:] : [HTTPField.Name("Link")!: links.joined(separator: ", ")]
    }
}

import Ink

/// Markdown (READMEs, descriptions) to safe HTML: Ink renders it, then `HTMLSanitizer`
/// keeps only an allow-list of tags and attributes, so raw HTML in a README can never run
/// script, carry event handlers or `javascript:` links.
enum MarkdownRenderer {
    static func html(_ markdown: String) -> String {
        HTMLSanitizer.sanitize(MarkdownParser().html(from: markdown))
    }
}

/// An allow-list HTML sanitiser for the output of the Markdown renderer. Written here because
/// no HTML sanitiser is among this project's packages. Tags not on the list are shown as
/// text (escaped); attributes not on the list are dropped; URLs must be relative or use
/// http, https or mailto.
enum HTMLSanitizer {
    static let allowedTags: Set<String> = [
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em", "h1", "h2", "h3",
        "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp", "span", "strong",
        "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "ul",
    ]
    static let allowedAttributes: [String: Set<String>] = [
        "a": ["href", "title"], "img": ["src", "alt", "title", "width", "height"], "td": ["align"], "th": ["align"],
        "code": ["class"], "ol": ["start"],
    ]
    static let urlAttributes: Set<String> = ["href", "src"]

    static func sanitize(_ html: String) -> String {
        var output = ""
        output.reserveCapacity(html.utf8.count)
        var rest = Substring(html)
        while let open = rest.firstIndex(of: "<") {
            output += rest[..<open]
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: ">") else {
                output += HTMLEscaper.escape(String(rest[open...]))
                return output
            }
            let inside = rest[afterOpen..<close]
            if let tag = Tag(parsing: inside), allowedTags.contains(tag.name) {
                output += tag.render()
            } else {
                output += HTMLEscaper.escape(String(rest[open...close]))
            }
            rest = rest[rest.index(after: close)...]
        }
        output += rest
        return output
    }

    /// Whether a URL may appear in a link or image: relative, or http, https or mailto.
    static func isSafeURL(_ raw: String) -> Bool {
        let url = String(decodingEntities(raw).unicodeScalars.filter { $0.value > 0x20 && $0.value != 0x7f }).lowercased()
        let schemeEnd = url.firstIndex { ":/?#".contains($0) }
        guard let schemeEnd, url[schemeEnd] == ":" else { return true }
        return ["http", "https", "mailto"].contains(String(url[..<schemeEnd]))
    }

    /// Decodes the character references an attribute value may hide a scheme behind.
    static func decodingEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var output = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            output += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            let end = after.firstIndex(of: ";")
            let name = end.map { after[..<$0] } ?? ""
            if let end, let decoded = decodeReference(name) {
                output.unicodeScalars.append(decoded)
                rest = after[after.index(after: end)...]
            } else {
                output += "&"
                rest = after
            }
        }
        return output + rest
    }

    private static func decodeReference(_ name: Substring) -> Unicode.Scalar? {
        switch name.lowercased() {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        case "colon": return ":"
        case "tab": return "\t"
        case "newline": return "\n"
        default:
            guard name.hasPrefix("#") else { return nil }
            let digits = name.dropFirst()
            let value = digits.first == "x" || digits.first == "X" ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits)
            return value.flatMap(Unicode.Scalar.init)
        }
    }

    /// One start or end tag with its attributes.
    struct Tag {
        var name: String
        var isEnd: Bool
        var selfClosing: Bool
        var attributes: [(String, String)] = []

        init?(parsing text: Substring) {
            var rest = text
            isEnd = rest.first == "/"
            if isEnd { rest = rest.dropFirst() }
            selfClosing = rest.last == "/"
            if selfClosing { rest = rest.dropLast() }
            let nameEnd = rest.firstIndex { !($0.isLetter || $0.isNumber) } ?? rest.endIndex
            name = rest[..<nameEnd].lowercased()
            guard !name.isEmpty, name.allSatisfy(\.isASCII) else { return nil }
            rest = rest[nameEnd...]
            guard rest.isEmpty || rest.first!.isWhitespace else { return nil }
            while true {
                rest = rest.drop(while: \.isWhitespace)
                guard !rest.isEmpty else { break }
                let keyEnd = rest.firstIndex { $0 == "=" || $0.isWhitespace } ?? rest.endIndex
                let key = rest[..<keyEnd].lowercased()
                rest = rest[keyEnd...].drop(while: \.isWhitespace)
                var value = ""
                if rest.first == "=" {
                    rest = rest.dropFirst().drop(while: \.isWhitespace)
                    if let quote = rest.first, quote == "\"" || quote == "'" {
                        rest = rest.dropFirst()
                        let end = rest.firstIndex(of: quote) ?? rest.endIndex
                        value = String(rest[..<end])
                        rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
                    } else {
                        let end = rest.firstIndex(where: \.isWhitespace) ?? rest.endIndex
                        value = String(rest[..<end])
                        rest = rest[end...]
                    }
                }
                if !key.isEmpty { attributes.append((key, value)) }
            }
        }

        func render() -> String {
            if isEnd { return "</\(name)>" }
            var text = "<\(name)"
            let allowed = HTMLSanitizer.allowedAttributes[name] ?? []
            for (key, value) in attributes where allowed.contains(key) {
                if HTMLSanitizer.urlAttributes.contains(key), !HTMLSanitizer.isSafeURL(value) { continue }
                if key == "class", !value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == " " }) { continue }
                text += " \(key)=\"\(HTMLEscaper.escape(HTMLSanitizer.decodingEntities(value)))\""
            }
            if name == "a" { text += " rel=\"nofollow noopener\"" }
            return text + (selfClosing ? " />" : ">")
        }
    }
}

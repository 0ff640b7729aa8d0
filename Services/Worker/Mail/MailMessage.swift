import Foundation

/// One plain-text mail in RFC 5322 form: UTF-8 body, CRLF line ends, a subject encoded as
/// RFC 2047 when it is not ASCII, and the RFC 8058 one-click unsubscribe headers.
/// Header values lose any CR or LF, so nothing a user typed can add a header.
struct MailMessage: Sendable {
    var from: String
    var to: String
    var subject: String
    var body: String
    var unsubscribeURL: String?
    var messageID: String

    /// The bare address inside `Name <address>`, or the text itself.
    static func address(_ text: String) -> String {
        guard let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close else { return text.trimmingCharacters(in: .whitespaces) }
        return String(text[text.index(after: open)..<close])
    }

    /// The whole message, ready for SMTP's DATA or a maildir file.
    func rendered(date: Date = Date()) -> String {
        var headers = [
            ("From", from), ("To", to), ("Subject", Self.encodedHeader(subject)), ("Date", Self.rfc5322Date(date)),
            ("Message-ID", "<\(messageID)>"), ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Transfer-Encoding", "8bit"), ("Auto-Submitted", "auto-generated"),
        ]
        if let unsubscribeURL {
            headers += [("List-Unsubscribe", "<\(unsubscribeURL)>"), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
        }
        let head = headers.map { "\($0.0): \(Self.clean($0.1))" }.joined(separator: "\r\n")
        let text = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        return head + "\r\n\r\n" + text + (text.hasSuffix("\r\n") ? "" : "\r\n")
    }

    static func clean(_ value: String) -> String {
        String(value.map { $0 == "\r" || $0 == "\n" ? " " : $0 })
    }

    static func encodedHeader(_ value: String) -> String {
        let cleaned = clean(value)
        guard !cleaned.allSatisfy(\.isASCII) else { return cleaned }
        return "=?UTF-8?B?\(Data(cleaned.utf8).base64EncodedString())?="
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}

import AsyncHTTPClient
import CairnModel
import CairnTestSupport
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import Subprocess
import SystemPackage
import Testing

/// Account mail end to end: the gateway queues it, the worker writes it into a maildir or
/// hands it to a real SMTP server, and its signed link unsubscribes without signing in.
@Suite(.timeLimit(.minutes(5))) struct MailTests {
    @Test func test_accountMailLandsInTheMaildirAndItsLinkUnsubscribes() async throws {
        let maildir = NSTemporaryDirectory() + TestEnvironment.uniqueName("mail")
        defer { try? FileManager.default.removeItem(atPath: maildir) }
        try await CairnStack.with(worker: true, overrides: ["CAIRN_MAIL_MAILDIR": maildir]) { stack in
            let web = WebSession(stack.gatewayURL)
            try await web.get("/signup")
            #expect(try await web.post("/signup", ["username": "carol", "email": "carol@example.com", "password": "a-long-password"]).status == 303)
            let welcome = try #require(await Self.mails(in: maildir, count: 1).first)
            #expect(welcome.contains("To: carol <carol@example.com>"))
            #expect(welcome.contains("Subject: Welcome to Cairn, carol"))
            #expect(welcome.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"))
            #expect(welcome.contains("\r\n\r\nHello carol,"))
            let link = try #require(Self.unsubscribePath(welcome))

            // The link works without a session; a tampered one does not.
            let stranger = WebSession(stack.gatewayURL)
            let page = try await stranger.get(link)
            #expect(page.status == 200 && page.body.contains("welcome emails"))
            #expect(try await stranger.get(link.dropLast(2) + "xx").status == 404)
            #expect(try await stranger.post(link, [:]).body.contains("You will no longer receive welcome emails"))
            let carol = try #require(try await stack.users.find(username: "carol"))
            #expect(try await stack.users.mailOptOuts(userID: carol.id) == ["welcome"])

            // A password change is mailed; its one-click unsubscribe (as mail programs send it) stops the next one.
            try await web.get("/settings")
            #expect(try await web.post("/settings/password", ["old_password": "a-long-password", "new_password": "another-password"]).status == 303)
            let notices = await Self.mails(in: maildir, count: 2)
            let notice = try #require(notices.first { $0.contains("Subject: Your Cairn password was changed") })
            var oneClick = HTTPClientRequest(url: stack.gatewayURL + (try #require(Self.unsubscribePath(notice))))
            oneClick.method = .POST
            oneClick.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            oneClick.body = .bytes(ByteBuffer(string: "List-Unsubscribe=One-Click"))
            #expect(try await HTTPClient.shared.execute(oneClick, timeout: .seconds(10)).status == .ok)
            try await web.get("/settings")
            #expect(try await web.post("/settings/password", ["old_password": "another-password", "new_password": "a-third-password"]).status == 303)
            try await stack.waitUntilWorkSettles()
            #expect(Self.read(maildir).count == 2)
        }
    }

    @Test func test_mailGoesThroughAnSMTPRelayWhenOneIsConfigured() async throws {
        let received = NSTemporaryDirectory() + TestEnvironment.uniqueName("smtp")
        defer { try? FileManager.default.removeItem(atPath: received) }
        let port = try freePort()  // never one of the process tests' fixed ports (18200–18399)
        // A real SMTP server (aiosmtpd) that files what it receives in a maildir.
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = ["-m", "aiosmtpd", "-n", "-l", "127.0.0.1:\(port)", "-c", "aiosmtpd.handlers.Mailbox", received]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        #expect(await eventually(timeout: .seconds(10)) { Self.accepts(port: port) })

        try await CairnStack.with(worker: true, overrides: ["CAIRN_MAIL_SMTP_HOST": "127.0.0.1", "CAIRN_MAIL_SMTP_PORT": String(port), "CAIRN_MAIL_FROM": "Cairn Tests <cairn@example.com>"]) { stack in
            let web = WebSession(stack.gatewayURL)
            try await web.get("/signup")
            #expect(try await web.post("/signup", ["username": "dave", "email": "dave@example.com", "password": "a-long-password"]).status == 303)
            let mail = try #require(await Self.mails(in: received, count: 1, timeout: .seconds(15)).first)
            #expect(mail.contains("From: Cairn Tests <cairn@example.com>"))
            #expect(mail.contains("Subject: Welcome to Cairn, dave"))
            // aiosmtpd records the SMTP envelope it was given.
            #expect(mail.contains("X-MailFrom: cairn@example.com"))
            #expect(mail.contains("X-RcptTo: dave@example.com"))
            #expect(Self.unsubscribePath(mail) != nil)
        }
    }

    @Test func test_watchersGetMailAboutPushesButNotThePusher() async throws {
        let maildir = NSTemporaryDirectory() + TestEnvironment.uniqueName("mail")
        defer { try? FileManager.default.removeItem(atPath: maildir) }
        try await CairnStack.with(worker: true, overrides: ["CAIRN_MAIL_MAILDIR": maildir]) { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let repository = try await stack.makeRepository(ada, "watched")
            for user in [ada, bob] {
                let web = try await WebPagesTests.signIn(stack, user)
                #expect(try await web.get("/ada/watched").body.contains(#"id="watch">Watch <"#))
                #expect(try await web.post("/ada/watched/watch", [:]).status == 303)
                #expect(try await web.get("/ada/watched").body.contains(#"id="watch">Unwatch <"#))
            }
            // Signed out, watching asks for a sign-in.
            #expect(try await WebSession(stack.gatewayURL).post("/ada/watched/watch", [:]).location?.hasPrefix("/login") == true)

            let work = try await stack.makeWorkingCopy("watched", commits: 2)
            try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "main"], in: work)
            let mail = try #require(await Self.mails(in: maildir, count: 1).first)
            #expect(mail.contains("To: bob <bob@example.com>"))
            #expect(mail.contains("Subject: [ada/watched] ada pushed to main"))
            #expect(mail.contains(" commit 1\r\n") && mail.contains(" commit 2\r\n"))
            try await stack.waitUntilWorkSettles()
            #expect(Self.read(maildir).count == 1)  // the pusher is not told about her own push

            // A watcher who lost access to a private repository hears nothing of it.
            let secret = try await stack.makeRepository(ada, "secret", isPrivate: true)
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/secret/collaborators/bob", as: ada, json: #"{"permission": "pull"}"#).0 == 204)
            let bobWeb = try await WebPagesTests.signIn(stack, bob)
            try await bobWeb.get("/ada/secret")
            #expect(try await bobWeb.post("/ada/secret/watch", [:]).status == 303)
            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/secret/collaborators/bob", as: ada).0 == 204)
            let hidden = try await stack.makeWorkingCopy("secret", commits: 1)
            try await stack.git(["push", "--quiet", stack.cloneURL(secret.fullName, credentials: ada.tokenCredentials), "main"], in: hidden)
            #expect(await eventually(timeout: .seconds(10)) { (try? await stack.repositories.find(id: secret.id))?.pushedAt != nil })
            try await stack.waitUntilWorkSettles()
            #expect(Self.read(maildir).count == 1)
        }
    }

    @Test func test_pullRequestMailGoesToWatchersAndParticipantsButNotTheActor() async throws {
        let maildir = NSTemporaryDirectory() + TestEnvironment.uniqueName("mail")
        defer { try? FileManager.default.removeItem(atPath: maildir) }
        try await CairnStack.with(worker: true, overrides: ["CAIRN_MAIL_MAILDIR": maildir]) { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let carol = try await stack.makeUser("carol")
            try await stack.makeRepository(ada, "proj")
            let web = try await WebPagesTests.signIn(stack, carol)
            try await web.get("/ada/proj")
            #expect(try await web.post("/ada/proj/watch", [:]).status == 303)
            let url = stack.cloneURL("ada/proj", credentials: ada.tokenCredentials)
            let work = try await stack.makeWorkingCopy("proj", commits: 1)
            try await stack.git(["push", "--quiet", url, "main"], in: work)
            try await stack.waitUntilWorkSettles()
            let before = Self.read(maildir).count  // carol's mail about the push
            try await stack.git(["checkout", "--quiet", "-b", "topic"], in: work)
            try "t\n".write(toFile: "\(work)/t.txt", atomically: true, encoding: .utf8)
            try await stack.git(["add", "t.txt"], in: work)
            try await stack.git(["commit", "--quiet", "-m", "Topic"], in: work)
            try await stack.git(["push", "--quiet", url, "topic"], in: work)
            try await stack.waitUntilWorkSettles()
            let afterPush = Self.read(maildir).count

            // Opened: the watcher hears of it, the author does not.
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/proj/pulls", as: ada, json: #"{"title": "Tidy <up>", "head": "topic", "body": "Why: because."}"#).0 == 201)
            let opened = await Self.mails(in: maildir, count: afterPush + 1)
            #expect(opened.count == afterPush + 1 && before >= 1)
            let openedMail = try #require(opened.first { $0.contains("opened pull request #1") })
            #expect(openedMail.contains("To: carol <carol@example.com>") && openedMail.contains("Subject: [ada/proj] Tidy <up> (#1)"))
            #expect(openedMail.contains("Why: because.") && openedMail.contains("/ada/proj/pull/1"))
            // A comment by bob: the author (a participant) hears of it; bob does not.
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/proj/issues/1/comments", as: bob, json: #"{"body": "Looks fine"}"#).0 == 201)
            let commented = await Self.mails(in: maildir, count: afterPush + 2)
            let toAda = try #require(commented.first { $0.contains("bob commented on pull request #1") })
            #expect(toAda.contains("To: ada <ada@example.com>") && toAda.contains("Looks fine"))
            try await stack.waitUntilWorkSettles()
            #expect(Self.read(maildir).count == afterPush + 2)
        }
    }

    /// The messages in `maildir/new`, once there are `count` of them (or after `timeout`).
    static func mails(in maildir: String, count: Int, timeout: Duration = .seconds(15)) async -> [String] {
        _ = await eventually(timeout: timeout) { read(maildir).count >= count }
        return read(maildir)
    }

    static func read(_ maildir: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(maildir)/new")) ?? []
        return names.sorted().compactMap { try? String(contentsOfFile: "\(maildir)/new/\($0)", encoding: .utf8) }
    }

    /// The path of the mail's unsubscribe link.
    static func unsubscribePath(_ mail: String) -> String? {
        guard let match = mail.firstMatch(of: /List-Unsubscribe: <https?:\/\/[^\/>]+(\/unsubscribe\/[A-Za-z0-9_\-.]+)>/) else { return nil }
        return String(match.1)
    }

    /// Whether something listens on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

import CairnDatabase
import CairnProtocol
import CairnRedis
import CairnService
import CairnTestSupport
import Foundation
import Logging
import Testing

@Suite(.timeLimit(.minutes(5))) struct ConfigurationTests {
    let key = ["CAIRN_SIGNING_KEY": "a-signing-key-that-is-long-enough-0123456789"]

    @Test func test_defaultsNeedOnlyASigningKey() throws {
        let configuration = try CairnConfiguration.load(file: nil, environment: key)
        #expect(configuration.listener(.gateway) == .init(host: "127.0.0.1", port: 8080))
        #expect(configuration.listener(.stream).port == 8084)
        #expect(configuration.redis.port == 6379)
        #expect(configuration.database.database == "cairn")
        #expect(configuration.gracePeriod == .seconds(8))
        #expect(configuration.workerConcurrency == [.default: 4, .webhooks: 32, .maintenance: 2, .archives: 2])
        #expect(configuration.webhooks.allowedNetworks.isEmpty && configuration.webhooks.timeout == .seconds(10))
        #expect(configuration.mail.smtpHost == nil && configuration.mail.maildir == "/var/lib/cairn/mail")
    }

    @Test func test_environmentOverridesTheFile() throws {
        let file = try writeFile(#"{"gateway": {"port": 9000, "host": "0.0.0.0"}, "redis": {"poolSize": 4}, "log": {"level": "debug"}}"#)
        let configuration = try CairnConfiguration.load(file: file, environment: key.merging(["CAIRN_GATEWAY_PORT": "9100"]) { $1 })
        #expect(configuration.listener(.gateway) == .init(host: "0.0.0.0", port: 9100))
        #expect(configuration.listener(.gateway).url == "http://127.0.0.1:9100")
        #expect(configuration.redis.poolSize == 4)
        #expect(configuration.logLevel == .debug)
    }

    @Test func test_camelCaseKeysMapToUpperSnakeCaseVariables() {
        #expect(ConfigSource.environmentName(of: "redis.poolSize") == "CAIRN_REDIS_POOL_SIZE")
        #expect(ConfigSource.environmentName(of: "signing.fallbackKeys") == "CAIRN_SIGNING_FALLBACK_KEYS")
        #expect(ConfigSource.environmentName(of: "gateway.port") == "CAIRN_GATEWAY_PORT")
    }

    @Test(arguments: [
        (["CAIRN_GATEWAY_PORT": "eighty"], "gateway.port", "CAIRN_GATEWAY_PORT"),
        (["CAIRN_WORKER_PORT": "70000"], "worker.port", "between 1 and 65535"),
        (["CAIRN_REDIS_URL": "localhost:6379"], "redis.url", "redis://"),
        (["CAIRN_DATABASE_URL": "postgres://nouser/db"], "database.url", "postgres://"),
        (["CAIRN_LOG_LEVEL": "loud"], "log.level", "one of"),
        (["CAIRN_REPOSTORE_ROOT": "relative/path"], "repostore.root", "absolute"),
        (["CAIRN_WEBHOOKS_ALLOWED_NETWORKS": "127.0.0.0/8, intranet"], "webhooks.allowedNetworks", "\"intranet\" is not an address"),
        (["CAIRN_WORKER_WEBHOOKS_CONCURRENCY": "0"], "worker.webhooksConcurrency", "between 1 and 256"),
        (["CAIRN_MAIL_FROM": "nobody"], "mail.from", "an address"),
        (["CAIRN_MAIL_MAILDIR": "mail"], "mail.maildir", "absolute"),
    ])
    func test_badValuesAreRefusedNamingTheKey(overrides: [String: String], key badKey: String, mention: String) {
        do {
            _ = try CairnConfiguration.load(file: nil, environment: key.merging(overrides) { $1 })
            Issue.record("\(overrides) should be refused")
        } catch {
            #expect(error.key == badKey)
            #expect(error.description.contains("`\(badKey)`"))
            #expect(error.description.contains(mention))
        }
    }

    /// Keys anyone can read — the example's, compose's old default — or too repetitive to be
    /// random are refused, naming the key but never showing it.
    @Test(arguments: [
        "CHANGE-ME: at least 32 random bytes, e.g. from `openssl rand -base64 48`", "compose-only-signing-key-change-me-0123456789",
        "my-placeholder-signing-key-for-now-0123456789", String(repeating: "k", count: 40), "abababababababababababababababababababab",
    ])
    func test_placeholderAndRepetitiveSigningKeysAreRefused(_ secret: String) {
        for environment in [["CAIRN_SIGNING_KEY": secret], key.merging(["CAIRN_SIGNING_FALLBACK_KEYS": secret]) { $1 }] {
            do {
                _ = try CairnConfiguration.load(file: nil, environment: environment)
                Issue.record("a weak key was accepted")
            } catch {
                #expect(error.key.hasPrefix("signing."))
                #expect(!error.description.contains(secret), "the secret itself must not appear in the message")
            }
        }
    }

    @Test func test_missingOrShortSigningKeyIsRefused() {
        #expect(throws: ConfigError.self) { try CairnConfiguration.load(file: nil, environment: [:]) }
        do { _ = try CairnConfiguration.load(file: nil, environment: ["CAIRN_SIGNING_KEY": "short"]) } catch {
            #expect(error.key == "signing.key")
            #expect(!error.description.contains("short"), "the secret itself must not appear in the message")
        }
    }

    @Test func test_unknownKeyInTheFileIsRefused() throws {
        let file = try writeFile(#"{"gateway": {"prot": 8080}}"#)
        do {
            _ = try CairnConfiguration.load(file: file, environment: key)
            Issue.record("a misspelt key must be refused")
        } catch {
            #expect(error.key == "gateway.prot")
            #expect(error.description.contains(file))
        }
    }

    @Test func test_malformedFileIsRefused() throws {
        let file = try writeFile("{not json")
        #expect(throws: ConfigError.self) { try CairnConfiguration.load(file: file, environment: key) }
        #expect(throws: ConfigError.self) { try CairnConfiguration.load(file: "/nonexistent/cairn.json", environment: key) }
    }

    @Test func test_exampleConfigurationHasOnlyKnownKeysAndValidValues() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/cairn.example.json").path
        // Its key is a placeholder, refused on its own: the operator's own key overrides it.
        #expect(throws: ConfigError.self) { try CairnConfiguration.load(file: example, environment: [:]) }
        let configuration = try CairnConfiguration.load(file: example, environment: key)
        #expect(configuration.listener(.repostore).port == 8081)
    }

    @Test func test_theS3BackendNeedsItsSettingsAndNamesTheMissingOne() throws {
        let key = ["CAIRN_SIGNING_KEY": "s3-test-signing-key-0123456789-abcdefghijkl"]
        let s3 = key.merging([
            "CAIRN_BLOBSTORE_BACKEND": "s3", "CAIRN_BLOBSTORE_S3_ENDPOINT": "http://127.0.0.1:9000", "CAIRN_BLOBSTORE_S3_BUCKET": "blobs",
            "CAIRN_BLOBSTORE_S3_ACCESS_KEY_ID": "id", "CAIRN_BLOBSTORE_S3_SECRET_ACCESS_KEY": "secret",
        ]) { $1 }
        let loaded = try CairnConfiguration.load(file: nil, environment: s3)
        #expect(loaded.blobBackend == .s3(.init(endpoint: "http://127.0.0.1:9000", bucket: "blobs", region: "us-east-1", accessKeyID: "id", secretAccessKey: "secret", partBytes: 256 << 20)))
        #expect(try CairnConfiguration.load(file: nil, environment: key).blobBackend == .local)
        for (name, value, complaint) in [
            ("CAIRN_BLOBSTORE_S3_BUCKET", "", "blobstore.s3.bucket"), ("CAIRN_BLOBSTORE_S3_BUCKET", "Not_A_Bucket", "lowercase"),
            ("CAIRN_BLOBSTORE_S3_SECRET_ACCESS_KEY", "", "blobstore.s3.secretAccessKey"), ("CAIRN_BLOBSTORE_S3_ENDPOINT", "ftp://x", "http://"),
            ("CAIRN_BLOBSTORE_BACKEND", "ftp", "must be local or s3"),
        ] {
            #expect { try CairnConfiguration.load(file: nil, environment: s3.merging([name: value]) { $1 }) } throws: { error in
                String(describing: error).contains(complaint)
            }
        }
    }

    private func writeFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + TestEnvironment.uniqueName("config") + ".json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

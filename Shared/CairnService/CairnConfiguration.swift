public import CairnDatabase
public import CairnProtocol
public import CairnRedis
import CairnSigning
public import Logging

/// Every setting of every Cairn daemon: one documented key set, read from one JSON file
/// (`--config` or `CAIRN_CONFIG`) and then from `CAIRN_*` environment variables.
/// `deploy/cairn.example.json` lists every key with its default; the README documents them.
public struct CairnConfiguration: Sendable {
    /// `log.level`: trace, debug, info, notice, warning, error or critical. Default info.
    public var logLevel: Logger.Level
    /// `signing.key` (secret, required): at least 32 bytes; signs cookies, links and internal requests.
    public var signingKey: String
    /// `signing.fallbackKeys` (secret): comma-separated earlier keys still accepted while rotating.
    public var signingFallbackKeys: [String]
    /// `database.url` (the password is a secret), `database.poolSize`: the main database.
    public var database: DatabaseConfiguration
    /// `database.slowQueryMilliseconds`: queries slower than this are logged with their SQL. Default 500.
    public var slowQuery: Duration
    /// `database.replicaURLs`: comma-separated read replicas of the main database (streaming
    /// replication) that the gateway reads from. Default none.
    public var replicas: [DatabaseConfiguration]
    /// `database.replicaMaxLagMilliseconds`: a replica further behind than this serves no
    /// reads until it catches up. Default 2000.
    public var replicaMaxLag: Duration
    /// `database.readYourWritesSeconds`: after a caller writes, their reads go to the primary
    /// for this long. Default 5.
    public var readYourWrites: Duration
    /// `analytics.url`, `analytics.poolSize`: the analytics database.
    public var analytics: DatabaseConfiguration
    /// `redis.url`, `redis.poolSize`: queues, events, switches and caches.
    public var redis: RedisConfiguration
    /// `redis.namespace`: the prefix of every Redis key. Default `cairn`.
    public var redisNamespace: String
    /// `<daemon>.host` and `<daemon>.port` for each daemon.
    public var listeners: [Daemon: Listener]
    /// `repostore.root`: where bare repositories live. Default `/var/lib/cairn/repos`.
    public var repositoryRoot: String
    /// `blobstore.root`: where blobs live. Default `/var/lib/cairn/blobs`.
    public var blobRoot: String
    /// `blobstore.maxBytes`: the largest blob the store accepts. Default 10 GiB.
    public var maxBlobBytes: Int
    /// `blobstore.publicURL`: how clients reach the blob store's signed links (`/dl/…`), for
    /// LFS and downloads. Default `http://<blobstore.host>:<blobstore.port>`.
    public var blobPublicURL: String
    /// `blobstore.backend`: `local` (files under `blobstore.root`, the default) or `s3`
    /// (an S3-compatible object store, `blobstore.s3.*`; `blobstore.root` then holds only
    /// uploads being received).
    public var blobBackend: BlobBackendSettings
    /// `repostore.maxPushBytes`: the largest pack a push may send. Default 2 GiB.
    public var maxPushBytes: Int
    /// `gateway.publicURL`: the URL people use to reach Cairn (clone URLs, links).
    /// Default `http://<gateway.host>:<gateway.port>`.
    public var publicURL: String
    /// `shutdown.gracePeriod`: seconds in-flight work may take after SIGTERM. Default 8.
    public var gracePeriod: Duration
    /// `worker.<queue>Concurrency`: tasks the worker runs at once per queue.
    /// Defaults: default 4, webhooks 32, maintenance 2, archives 2.
    public var workerConcurrency: [QueueName: Int]
    /// `worker.heartbeatSeconds`: seconds a worker counts as alive after its last heartbeat; the
    /// tasks of one that died go back to their queue this long after. Default 30.
    public var workerHeartbeatTTL: Duration
    /// `webhooks.*`: how the worker's guarded outbound client behaves.
    public var webhooks: WebhookSettings

    /// `mail.*`: where account mail goes.
    public var mail: MailSettings
    /// `stream.*`: how `cairn-stream` takes and folds events.
    public var stream: StreamSettings
    /// `sshd.*`: where `cairn-sshd` serves git over SSH and keeps its host key.
    public var ssh: SSHSettings

    /// Where `cairn-sshd` listens for SSH (its `sshd.host`/`sshd.port` serve health and metrics).
    public struct SSHSettings: Sendable, Equatable {
        /// `sshd.sshHost`: the address SSH is served on. Default 127.0.0.1 (`0.0.0.0` in deployment).
        public var host: String
        /// `sshd.sshPort`: default 2222 (22 in deployment, with `AmbientCapabilities=CAP_NET_BIND_SERVICE`);
        /// 0 takes any free port (for tests).
        public var port: Int
        /// `sshd.hostKeyFile`: the ed25519 host key, made at first start and kept. Default
        /// `/var/lib/cairn/ssh/ssh_host_ed25519_key`.
        public var hostKeyFile: String
        /// `sshd.publicAddress`: how people reach SSH, for clone URLs: `host` or `host:port`.
        /// Default the host of `gateway.publicURL` and `sshd.sshPort`.
        public var publicAddress: String
        /// `sshd.idleSeconds`: a session that moves no bytes either way for this long is ended
        /// (git sends keep-alives every few seconds while it works). Default 120.
        public var idleLimit: Duration

        public init(host: String, port: Int, hostKeyFile: String, publicAddress: String, idleLimit: Duration = .seconds(120)) {
            self.host = host
            self.port = port
            self.hostKeyFile = hostKeyFile
            self.publicAddress = publicAddress
            self.idleLimit = idleLimit
        }

        /// The clone URL of `owner/name` over SSH: `ssh://git@host[:port]/owner/name.git`.
        public func cloneURL(owner: String, name: String) -> String {
            "ssh://git@\(publicAddress.hasSuffix(":22") ? String(publicAddress.dropLast(3)) : publicAddress)/\(owner)/\(name).git"
        }
    }

    /// How the stream processor batches events.
    public struct StreamSettings: Sendable, Equatable {
        /// `stream.batchSize`: most events folded in one transaction. Default 10,000.
        public var batchSize: Int
        /// `stream.batchWaitMilliseconds`: how long a processor waits for more events after a
        /// batch smaller than `batchSize`. Default 200.
        public var batchWait: Duration
        /// `stream.leaseSeconds`: after this long without being finished, a taken batch is taken
        /// again by any processor (its first taker died). Default 30.
        public var lease: Duration
        /// `stream.concurrency`: batches one processor folds at once. Default 2.
        public var concurrency: Int
        /// `stream.testPause`: for Cairn's crash tests only, never in production:
        /// `before-commit` or `after-commit` stops the processor for good at that point of its
        /// first batch, so that a test can kill it there. Default none.
        public var testPause: String?

        public init(batchSize: Int, batchWait: Duration, lease: Duration, concurrency: Int, testPause: String? = nil) {
            self.batchSize = batchSize
            self.batchWait = batchWait
            self.lease = lease
            self.concurrency = concurrency
            self.testPause = testPause
        }
    }

    /// Account mail goes to an SMTP relay when `mail.smtpHost` is set, else into a maildir.
    public struct MailSettings: Sendable, Equatable {
        /// `mail.from`: the sender. Default `Cairn <cairn@localhost>`.
        public var from: String
        /// `mail.smtpHost`: a relay that accepts mail from this host without TLS or login (a local
        /// Postfix or nullmailer, which then handle TLS and authentication). Default none.
        public var smtpHost: String?
        /// `mail.smtpPort`. Default 25.
        public var smtpPort: Int
        /// `mail.maildir`: where mail is written when there is no relay. Default `/var/lib/cairn/mail`.
        public var maildir: String
    }

    /// Where the blob store keeps bodies.
    public enum BlobBackendSettings: Sendable, Equatable {
        case local
        case s3(S3Settings)
    }

    /// An S3-compatible object store, addressed path-style.
    public struct S3Settings: Sendable, Equatable {
        /// `blobstore.s3.endpoint`: `https://s3.eu-west-1.amazonaws.com`, `http://minio:9000`, ….
        public var endpoint: String
        /// `blobstore.s3.bucket`: created if missing.
        public var bucket: String
        /// `blobstore.s3.region`. Default `us-east-1`.
        public var region: String
        /// `blobstore.s3.accessKeyId`.
        public var accessKeyID: String
        /// `blobstore.s3.secretAccessKey` (secret).
        public var secretAccessKey: String
        /// `blobstore.s3.partBytes`: bodies above this go up as multipart uploads in parts of
        /// this size (S3 takes at most 5 GiB in one PUT). Default 256 MiB.
        public var partBytes: Int

        public init(endpoint: String, bucket: String, region: String, accessKeyID: String, secretAccessKey: String, partBytes: Int) {
            self.endpoint = endpoint
            self.bucket = bucket
            self.region = region
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.partBytes = partBytes
        }
    }

    /// The outbound client's limits and the networks it may reach despite being internal.
    public struct WebhookSettings: Sendable, Equatable {
        /// `webhooks.allowedNetworks`: comma-separated addresses or CIDR networks (`10.1.0.0/16`,
        /// `::1`) that deliveries may reach although they are loopback, private or link-local. Default none.
        public var allowedNetworks: [IPNetwork]
        /// `webhooks.connectTimeout`: seconds to connect. Default 5.
        public var connectTimeout: Duration
        /// `webhooks.timeout`: seconds for a whole delivery. Default 10.
        public var timeout: Duration
        /// `webhooks.maxAttempts`: tries per delivery before it shows as failed. Default 5.
        public var maxAttempts: Int
    }

    /// An address a daemon listens on, and how the others reach it.
    public struct Listener: Sendable, Equatable {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// The base URL other daemons use: a wildcard address is reached over loopback.
        public var url: String {
            let reachable = ["0.0.0.0", "::", ""].contains(host) ? "127.0.0.1" : host
            return reachable.contains(":") ? "http://[\(reachable)]:\(port)" : "http://\(reachable):\(port)"
        }
    }

    /// Every key this build understands.
    public static let keys: Set<String> = {
        var keys: Set<String> = [
            "log.level", "signing.key", "signing.fallbackKeys", "database.url", "database.poolSize", "database.slowQueryMilliseconds",
            "database.replicaURLs", "database.replicaMaxLagMilliseconds", "database.readYourWritesSeconds",
            "analytics.url", "analytics.poolSize", "redis.url", "redis.poolSize", "redis.namespace",
            "repostore.root", "blobstore.root", "blobstore.maxBytes", "blobstore.publicURL", "blobstore.backend",
            "blobstore.s3.endpoint", "blobstore.s3.bucket", "blobstore.s3.region", "blobstore.s3.accessKeyId", "blobstore.s3.secretAccessKey", "blobstore.s3.partBytes",
            "shutdown.gracePeriod", "repostore.maxPushBytes", "gateway.publicURL",
            "worker.defaultConcurrency", "worker.webhooksConcurrency", "worker.maintenanceConcurrency", "worker.archivesConcurrency", "worker.heartbeatSeconds",
            "webhooks.allowedNetworks", "webhooks.connectTimeout", "webhooks.timeout", "webhooks.maxAttempts",
            "mail.from", "mail.smtpHost", "mail.smtpPort", "mail.maildir",
            "stream.batchSize", "stream.batchWaitMilliseconds", "stream.leaseSeconds", "stream.concurrency", "stream.testPause",
            "sshd.sshHost", "sshd.sshPort", "sshd.hostKeyFile", "sshd.publicAddress", "sshd.idleSeconds",
        ]
        for daemon in Daemon.allCases { keys.formUnion(["\(daemon.rawValue).host", "\(daemon.rawValue).port"]) }
        return keys
    }()

    /// Reads and validates the whole key set; the error names the first bad key.
    public static func load(file: String?, environment: [String: String]) throws(ConfigError) -> CairnConfiguration {
        let source = try ConfigSource(file: file ?? environment["CAIRN_CONFIG"], environment: environment, known: keys)
        let reader = ConfigValues(source: source)
        let levelText = reader.string("log.level", default: "info")
        guard let level = Logger.Level(rawValue: levelText.value) else {
            throw reader.error("log.level", levelText, "must be one of trace, debug, info, notice, warning, error, critical")
        }
        let key = reader.string("signing.key", default: "")
        guard !key.value.isEmpty else { throw reader.error("signing.key", key, "is required: set a random secret of at least 32 bytes") }
        if let problem = SigningKeyRules.problem(with: key.value) { throw reader.error("signing.key", key, problem) }
        let fallbacksText = reader.string("signing.fallbackKeys", default: "")
        let fallbacks = fallbacksText.value.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
        for fallback in fallbacks {
            if let problem = SigningKeyRules.problem(with: fallback) { throw reader.error("signing.fallbackKeys", fallbacksText, "holds a key that \(problem)") }
        }

        let database = try reader.database("database", default: "postgres://cairn@127.0.0.1:5432/cairn", poolSize: 10)
        let analytics = try reader.database("analytics", default: "postgres://cairn@127.0.0.1:5432/cairn_analytics", poolSize: 4)
        let redisURL = reader.string("redis.url", default: "redis://127.0.0.1:6379/0")
        let redisPool = try reader.int("redis.poolSize", default: 16, range: 1...512)
        guard let redis = RedisConfiguration(url: redisURL.value, poolSize: redisPool) else {
            throw reader.error("redis.url", redisURL, "must look like redis://[:password@]host[:port][/database]")
        }
        let namespace = reader.string("redis.namespace", default: "cairn")
        guard !namespace.value.isEmpty, !namespace.value.contains(where: { $0 == " " || $0 == "*" }) else {
            throw reader.error("redis.namespace", namespace, "must be a non-empty word without spaces or `*`")
        }

        var listeners: [Daemon: Listener] = [:]
        for daemon in Daemon.allCases {
            let host = reader.string("\(daemon.rawValue).host", default: "127.0.0.1")
            guard !host.value.isEmpty, !host.value.contains("/") else { throw reader.error("\(daemon.rawValue).host", host, "must be a host name or address") }
            let port = try reader.int("\(daemon.rawValue).port", default: daemon.defaultPort, range: 1...65535)
            listeners[daemon] = Listener(host: host.value, port: port)
        }
        let grace = try reader.int("shutdown.gracePeriod", default: 8, range: 1...300)
        let maxPush = try reader.int("repostore.maxPushBytes", default: 2 << 30, range: 1024...(1 << 40))
        let publicURL = try reader.url("gateway.publicURL", default: listeners[.gateway]!.url)
        var concurrency: [QueueName: Int] = [:]
        for (queue, fallback) in [(QueueName.default, 4), (.webhooks, 32), (.maintenance, 2), (.archives, 2)] {
            concurrency[queue] = try reader.int("worker.\(queue.rawValue)Concurrency", default: fallback, range: 1...256)
        }
        return CairnConfiguration(
            logLevel: level, signingKey: key.value, signingFallbackKeys: fallbacks, database: database,
            slowQuery: .milliseconds(try reader.int("database.slowQueryMilliseconds", default: 500, range: 1...600_000)),
            replicas: try reader.replicas(poolSize: database.poolSize),
            replicaMaxLag: .milliseconds(try reader.int("database.replicaMaxLagMilliseconds", default: 2000, range: 0...3_600_000)),
            readYourWrites: .seconds(try reader.int("database.readYourWritesSeconds", default: 5, range: 0...3600)), analytics: analytics,
            redis: redis, redisNamespace: namespace.value, listeners: listeners,
            repositoryRoot: try reader.path("repostore.root", default: "/var/lib/cairn/repos"),
            blobRoot: try reader.path("blobstore.root", default: "/var/lib/cairn/blobs"),
            maxBlobBytes: try reader.int("blobstore.maxBytes", default: 10 << 30, range: 1...(1 << 42)),
            blobPublicURL: try reader.url("blobstore.publicURL", default: listeners[.blobstore]!.url),
            blobBackend: try reader.blobBackend(),
            maxPushBytes: maxPush, publicURL: publicURL,
            gracePeriod: .seconds(grace), workerConcurrency: concurrency,
            workerHeartbeatTTL: .seconds(try reader.int("worker.heartbeatSeconds", default: 30, range: 2...600)), webhooks: try reader.webhooks(), mail: try reader.mail(),
            stream: try reader.stream(), ssh: try reader.ssh(publicURL: publicURL))
    }

    /// Where `daemon` listens.
    public func listener(_ daemon: Daemon) -> Listener { listeners[daemon]! }
}

/// Typed reads over a `ConfigSource`, each failing with the key's name.
private struct ConfigValues {
    let source: ConfigSource

    func string(_ key: String, default value: String) -> (value: String, origin: ConfigSource.Origin) {
        source.raw(key) ?? (value, .defaults)
    }

    func int(_ key: String, default value: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let text = string(key, default: String(value))
        guard let number = Int(text.value.trimmingWhitespace()) else { throw error(key, text, "must be a whole number, got \"\(text.value)\"") }
        guard range.contains(number) else { throw error(key, text, "must be between \(range.lowerBound) and \(range.upperBound), got \(number)") }
        return number
    }

    func database(_ section: String, default url: String, poolSize: Int) throws(ConfigError) -> DatabaseConfiguration {
        let pool = try int("\(section).poolSize", default: poolSize, range: 1...512)
        let text = string("\(section).url", default: url)
        guard let configuration = DatabaseConfiguration(url: text.value, poolSize: pool) else {
            throw error("\(section).url", text, "must look like postgres://user[:password]@host[:port]/database")
        }
        return configuration
    }

    /// `database.replicaURLs`: comma-separated PostgreSQL URLs.
    func replicas(poolSize: Int) throws(ConfigError) -> [DatabaseConfiguration] {
        let text = string("database.replicaURLs", default: "")
        var replicas: [DatabaseConfiguration] = []
        for item in text.value.split(separator: ",").map({ String($0).trimmingWhitespace() }) where !item.isEmpty {
            guard let replica = DatabaseConfiguration(url: item, poolSize: poolSize) else {
                throw error("database.replicaURLs", text, "each must look like postgres://user[:password]@host[:port]/database")
            }
            replicas.append(replica)
        }
        return replicas
    }

    /// An http(s) URL, without a trailing slash.
    func url(_ key: String, default value: String) throws(ConfigError) -> String {
        let text = string(key, default: value)
        guard text.value.hasPrefix("http://") || text.value.hasPrefix("https://") else { throw error(key, text, "must start with http:// or https://") }
        return String(text.value.reversed().drop(while: { $0 == "/" }).reversed())
    }

    func ssh(publicURL: String) throws(ConfigError) -> CairnConfiguration.SSHSettings {
        let host = string("sshd.sshHost", default: "127.0.0.1")
        guard !host.value.isEmpty, !host.value.contains("/") else { throw error("sshd.sshHost", host, "must be a host name or address") }
        let port = try int("sshd.sshPort", default: 2222, range: 0...65535)
        let publicHost = publicURL.split(separator: "/").dropFirst().first.map { String($0.split(separator: ":").first ?? $0) } ?? "localhost"
        let address = string("sshd.publicAddress", default: "\(publicHost):\(port)")
        guard !address.value.isEmpty, !address.value.contains(where: { $0 == "/" || $0 == "@" || $0 == " " }) else {
            throw error("sshd.publicAddress", address, "must be host or host:port")
        }
        return CairnConfiguration.SSHSettings(
            host: host.value, port: port, hostKeyFile: try path("sshd.hostKeyFile", default: "/var/lib/cairn/ssh/ssh_host_ed25519_key"),
            publicAddress: address.value, idleLimit: .seconds(try int("sshd.idleSeconds", default: 120, range: 2...86_400)))
    }

    func webhooks() throws(ConfigError) -> CairnConfiguration.WebhookSettings {
        let text = string("webhooks.allowedNetworks", default: "")
        var networks: [IPNetwork] = []
        for item in text.value.split(separator: ",").map({ String($0).trimmingWhitespace() }) where !item.isEmpty {
            guard let network = IPNetwork(item) else { throw error("webhooks.allowedNetworks", text, "\"\(item)\" is not an address or CIDR network such as 10.0.0.0/8 or ::1") }
            networks.append(network)
        }
        return CairnConfiguration.WebhookSettings(
            allowedNetworks: networks,
            connectTimeout: .seconds(try int("webhooks.connectTimeout", default: 5, range: 1...60)),
            timeout: .seconds(try int("webhooks.timeout", default: 10, range: 1...300)),
            maxAttempts: try int("webhooks.maxAttempts", default: 5, range: 1...50))
    }

    func blobBackend() throws(ConfigError) -> CairnConfiguration.BlobBackendSettings {
        let backend = string("blobstore.backend", default: "local")
        switch backend.value {
        case "local": return .local
        case "s3":
            func required(_ key: String) throws(ConfigError) -> String {
                let text = string(key, default: "")
                guard !text.value.isEmpty else { throw error(key, text, "is required when blobstore.backend is s3") }
                return text.value
            }
            let bucket = try required("blobstore.s3.bucket")
            guard bucket.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" || $0 == "." }), (3...63).contains(bucket.count) else {
                throw error("blobstore.s3.bucket", string("blobstore.s3.bucket", default: ""), "must be 3 to 63 lowercase letters, digits, `-` or `.`")
            }
            _ = try required("blobstore.s3.endpoint")
            return .s3(CairnConfiguration.S3Settings(
                endpoint: try url("blobstore.s3.endpoint", default: ""), bucket: bucket,
                region: string("blobstore.s3.region", default: "us-east-1").value,
                accessKeyID: try required("blobstore.s3.accessKeyId"), secretAccessKey: try required("blobstore.s3.secretAccessKey"),
                partBytes: try int("blobstore.s3.partBytes", default: 256 << 20, range: (5 << 20)...(5 << 30))))
        default:
            throw error("blobstore.backend", backend, "must be local or s3, got \"\(backend.value)\"")
        }
    }

    func stream() throws(ConfigError) -> CairnConfiguration.StreamSettings {
        let pause = string("stream.testPause", default: "")
        guard ["", "before-commit", "after-commit"].contains(pause.value) else {
            throw error("stream.testPause", pause, "must be before-commit or after-commit (crash tests only)")
        }
        return CairnConfiguration.StreamSettings(
            batchSize: try int("stream.batchSize", default: 10_000, range: 1...100_000),
            batchWait: .milliseconds(try int("stream.batchWaitMilliseconds", default: 200, range: 0...60_000)),
            lease: .seconds(try int("stream.leaseSeconds", default: 30, range: 2...3600)),
            concurrency: try int("stream.concurrency", default: 2, range: 1...16),
            testPause: pause.value.isEmpty ? nil : pause.value)
    }

    func mail() throws(ConfigError) -> CairnConfiguration.MailSettings {
        let from = string("mail.from", default: "Cairn <cairn@localhost>")
        guard from.value.contains("@"), !from.value.contains(where: \.isNewline) else {
            throw error("mail.from", from, "must be an address such as Cairn <cairn@example.com>")
        }
        let smtpHost = string("mail.smtpHost", default: "").value.trimmingWhitespace()
        return CairnConfiguration.MailSettings(
            from: from.value, smtpHost: smtpHost.isEmpty ? nil : smtpHost,
            smtpPort: try int("mail.smtpPort", default: 25, range: 1...65535),
            maildir: try path("mail.maildir", default: "/var/lib/cairn/mail"))
    }

    func path(_ key: String, default value: String) throws(ConfigError) -> String {
        let text = string(key, default: value)
        guard text.value.hasPrefix("/"), !text.value.contains("\0") else { throw error(key, text, "must be an absolute path") }
        return text.value
    }

    func error(_ key: String, _ text: (value: String, origin: ConfigSource.Origin), _ problem: String) -> ConfigError {
        ConfigError(key: key, origin: text.origin, problem: problem)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL server for tests: `initdb` in a temporary folder, a Unix socket in
/// it and a loopback TCP port that nothing else uses, stopped (and the folder removed) by
/// `stop()`. Debian's PostgreSQL (scripts/setup installs it) provides the binaries.
///
/// PostgreSQL refuses to run as root, so under root the server runs as the `postgres` user
/// (`runuser`). Local socket connections are trusted; TCP needs the password (SCRAM), so a
/// test can check what a wrong password does.
public final class PostgresServer: @unchecked Sendable {
    /// The user and password the server is created with.
    public static let user = "pipeline"
    public static let password = "pipeline-secret"

    /// The PostgreSQL binaries folder (`initdb`, `pg_ctl`, `postgres`), if installed.
    public static let binaries: String? = {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        return versions.map { "\(base)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/pg_ctl") }
    }()

    /// True when a server can be started here.
    public static var available: Bool { binaries != nil }

    public let directory: String
    public let port: Int
    private let bin: String
    private let runAs: String?

    /// Initializes and starts a server; `settings` are extra postgresql.conf lines and `hba`
    /// extra pg_hba.conf lines (clients on other networks).
    public init(settings: [String] = [], hba: [String] = []) throws {
        guard let bin = Self.binaries else { throw ServerError("PostgreSQL is not installed (run scripts/setup)") }
        self.bin = bin
        runAs = getuid() == 0 ? "postgres" : nil
        // Short: the socket path must fit in 107 bytes.
        directory = "/tmp/pgt-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        if let runAs {
            chmod(directory, 0o700)
            try Self.shell(["chown", runAs, directory])
        }
        let pwfile = directory + "/pw"
        try Self.password.write(toFile: pwfile, atomically: true, encoding: .utf8)
        if runAs != nil { try Self.shell(["chown", runAs!, pwfile]) }
        try run([bin + "/initdb", "-D", directory + "/data", "-U", Self.user, "--pwfile", pwfile, "-A", "scram-sha-256",
                 "--auth-local=trust", "--no-sync", "-E", "UTF8", "--locale=C"])
        let conf = [
            "listen_addresses = '127.0.0.1'", "port = \(port)", "unix_socket_directories = '\(directory)'",
            "max_connections = 200", "shared_buffers = 32MB", "logging_collector = off",
        ] + settings
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/data/postgresql.conf"))
        handle.seekToEndOfFile()
        handle.write(("\n" + conf.joined(separator: "\n") + "\n").data(using: .utf8)!)
        try handle.close()
        if !hba.isEmpty {
            let rules = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/data/pg_hba.conf"))
            rules.seekToEndOfFile()
            rules.write(("\n" + hba.joined(separator: "\n") + "\n").data(using: .utf8)!)
            try rules.close()
        }
        try start()
    }

    deinit { stop() }

    /// A URL over the Unix socket (trusted, no password).
    public var url: String { "postgresql:///postgres?host=\(directory)&port=\(port)&user=\(Self.user)" }

    /// A URL over TCP to `host` (default the loopback) with `password`.
    public func tcpURL(host: String = "127.0.0.1", password: String = PostgresServer.password) -> String {
        "postgresql://\(Self.user):\(password)@\(host):\(port)/postgres"
    }

    public func start() throws {
        try run([bin + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/log", "-w", "-t", "60", "start"])
    }

    /// `pg_ctl restart -m immediate`: every connection drops, the server recovers from WAL.
    public func restartImmediately() throws {
        try run([bin + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/log", "-w", "-t", "60", "-m", "immediate", "restart"])
    }

    private var stopped = false

    /// Stops the server and removes its folder.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        try? run([bin + "/pg_ctl", "-D", directory + "/data", "-w", "-t", "30", "-m", "fast", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a PostgreSQL binary (as the server's user under root).
    private func run(_ arguments: [String]) throws {
        try Self.shell(runAs.map { ["runuser", "-u", $0, "--"] + arguments } ?? arguments)
    }

    /// Runs a command and waits for it with posix_spawn and waitpid (Foundation's Process
    /// can miss the exit of a child whose own child, the server, lives on); its output goes to
    /// a temporary file that is returned and removed.
    @discardableResult
    static func shell(_ arguments: [String]) throws -> String {
        let log = "/tmp/pgt-out-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, environ)
        guard rc == 0 else { throw ServerError("cannot start \(arguments[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        unlink(log)
        // WIFEXITED && WEXITSTATUS == 0
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw ServerError("\(arguments.joined(separator: " ")) failed (status \(status)): \(text)")
        }
        return text
    }

    /// A TCP port on the loopback nothing listens on now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ServerError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public struct ServerError: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }
}

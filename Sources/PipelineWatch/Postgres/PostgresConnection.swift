import CPostgres
import Foundation

/// One PostgreSQL connection through Debian's libpq (synchronous, like the rest of the
/// engine's Dispatch threads). Not thread-safe: each thread that talks to the database
/// (claims and commits, the heartbeat, LISTEN) owns its own connection.
///
/// Parameters go as text (or binary for bytes) through `PQexecParams`, never spliced into
/// SQL. A connection that breaks (a server restart, a cut link) is re-established by
/// `reconnect()`; callers decide what to retry, since a statement may or may not have run.
public final class PostgresConnection {
    private var conn: OpaquePointer?
    /// The connection string as given, with any password hidden (for messages).
    public let target: String
    private let conninfo: String

    /// Connects, or throws `PostgresError.connect` naming the host, port and user.
    /// `timeout` bounds the connect (libpq's `connect_timeout`, whole seconds, at least 2).
    public init(_ url: String, timeout: Int = 10) throws {
        conninfo = url
        target = Self.redacted(url)
        conn = PQconnectdbParams(url, timeout: timeout)
        try checkConnected()
        // Server messages about our own statements (notices) are not errors; keep stderr clean.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
    }

    deinit {
        PQfinish(conn)
    }

    /// True when the socket is up (as far as libpq knows).
    public var isConnected: Bool { PQstatus(conn) == CONNECTION_OK }

    /// Drops the connection and connects again; throws `connect` when the server is not back.
    public func reconnect() throws {
        PQreset(conn)
        try checkConnected()
    }

    private func checkConnected() throws {
        guard PQstatus(conn) == CONNECTION_OK else {
            let host = Self.string(PQhost(conn)) ?? "?"
            let port = Self.string(PQport(conn)) ?? "?"
            let user = Self.string(PQuser(conn)) ?? "?"
            let message = Self.string(PQerrorMessage(conn))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "cannot connect"
            throw PostgresError.connect(host: host, port: port, user: user, message: message)
        }
    }

    /// A statement parameter.
    public enum Param: Sendable {
        case text(String)
        case bytes([UInt8])
        case null
    }

    /// Runs one statement and returns its rows, each a list of column texts (nil for NULL).
    /// bytea columns come back in PostgreSQL's hex form (`PostgresConnection.bytes(hex:)`).
    @discardableResult
    public func query(_ sql: String, _ params: [Param] = []) throws -> [[String?]] {
        guard isConnected else { throw PostgresError.connectionLost(message: "not connected to \(target)") }
        var owned: [UnsafeMutablePointer<CChar>?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        for param in params {
            switch param {
            case .text(let s):
                owned.append(strdup(s))
                lengths.append(0)
                formats.append(0)
            case .bytes(let b):
                let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(b.count, 1))
                b.withUnsafeBytes { raw in
                    if let base = raw.baseAddress { memcpy(p, base, b.count) }
                }
                owned.append(p)
                lengths.append(Int32(b.count))
                formats.append(1)
            case .null:
                owned.append(nil)
                lengths.append(0)
                formats.append(0)
            }
        }
        defer { for p in owned { free(p) } }
        let result: OpaquePointer? = owned.withUnsafeBufferPointer { values in
            values.withMemoryRebound(to: UnsafePointer<CChar>?.self) { constValues in
                PQexecParams(
                    conn, sql, Int32(params.count), nil, constValues.baseAddress, lengths, formats, 0)
            }
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return []
        case PGRES_TUPLES_OK:
            let rows = PQntuples(result), columns = PQnfields(result)
            var out: [[String?]] = []
            out.reserveCapacity(Int(rows))
            for r in 0..<rows {
                var row: [String?] = []
                row.reserveCapacity(Int(columns))
                for c in 0..<columns {
                    row.append(PQgetisnull(result, r, c) == 1 ? nil : String(cString: PQgetvalue(result, r, c)))
                }
                out.append(row)
            }
            return out
        default:
            let message = (Self.string(PQresultErrorMessage(result)) ?? Self.string(PQerrorMessage(conn)) ?? "error")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let code = Self.string(PQresultErrorField(result, Int32(Character("C").asciiValue!))) ?? ""
            // No SQLSTATE: libpq made the error itself (the socket closed, a timeout), not the server.
            if !isConnected || result == nil || code.isEmpty {
                throw PostgresError.connectionLost(message: message)
            }
            throw PostgresError.statement(sqlState: code, message: message, sql: sql)
        }
    }

    /// Runs statements separated by semicolons, without parameters (schema scripts).
    public func execute(_ sql: String) throws {
        guard isConnected else { throw PostgresError.connectionLost(message: "not connected to \(target)") }
        let result = PQexec(conn, sql)
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY else {
            let message = (Self.string(PQresultErrorMessage(result)) ?? "error").trimmingCharacters(in: .whitespacesAndNewlines)
            let code = Self.string(PQresultErrorField(result, Int32(Character("C").asciiValue!))) ?? ""
            if !isConnected || result == nil || code.isEmpty { throw PostgresError.connectionLost(message: message) }
            throw PostgresError.statement(sqlState: code, message: message, sql: sql)
        }
    }

    /// Runs `body` inside BEGIN/COMMIT, rolling back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if isConnected { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Waits up to `timeout` seconds for a notification on a channel this connection
    /// LISTENs to; returns the channels that fired (empty on timeout).
    public func waitForNotifications(timeout: Double) throws -> [String] {
        guard isConnected else { throw PostgresError.connectionLost(message: "not connected to \(target)") }
        var fired = drainNotifications()
        if !fired.isEmpty { return fired }
        let ready = pipeline_pq_wait_readable(conn, Int32(max(0, timeout * 1000)))
        if ready > 0 {
            if PQconsumeInput(conn) == 0 || !isConnected {
                throw PostgresError.connectionLost(
                    message: Self.string(PQerrorMessage(conn))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "lost")
            }
            fired = drainNotifications()
        }
        return fired
    }

    private func drainNotifications() -> [String] {
        var fired: [String] = []
        while let note = PQnotifies(conn) {
            fired.append(String(cString: note.pointee.relname))
            PQfreemem(note)
        }
        return fired
    }

    /// Bytes from a bytea column's hex text (`\x0a1b…`).
    public static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var utf8 = Array(hex.utf8)
        if utf8.starts(with: [UInt8(ascii: "\\"), UInt8(ascii: "x")]) { utf8.removeFirst(2) }
        out.reserveCapacity(utf8.count / 2)
        func nibble(_ c: UInt8) -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: return c - UInt8(ascii: "A") + 10
            }
        }
        var i = 0
        while i + 1 < utf8.count {
            out.append(nibble(utf8[i]) << 4 | nibble(utf8[i + 1]))
            i += 2
        }
        return out
    }

    /// `url` with the password (in `user:password@` or `password=`) replaced by `***`.
    public static func redacted(_ url: String) -> String {
        var s = url
        if let scheme = s.range(of: "://"), let at = s.range(of: "@", range: scheme.upperBound..<s.endIndex),
            let colon = s.range(of: ":", range: scheme.upperBound..<at.lowerBound)
        {
            s.replaceSubrange(colon.upperBound..<at.lowerBound, with: "***")
        }
        if let r = s.range(of: #"password=[^&\s]*"#, options: .regularExpression) {
            s.replaceSubrange(r, with: "password=***")
        }
        return s
    }

    private static func string(_ p: UnsafePointer<CChar>?) -> String? {
        p.map { String(cString: $0) }
    }
    private static func string(_ p: UnsafeMutablePointer<CChar>?) -> String? {
        p.map { String(cString: $0) }
    }
}

/// Connects with the URL (or key=value string) and a connect timeout.
private func PQconnectdbParams(_ url: String, timeout: Int) -> OpaquePointer? {
    // Defaults first; the URL's own settings win (expand_dbname). Keepalives and a TCP user
    // timeout make a cut link an error within seconds instead of a statement that hangs for
    // the kernel's retransmission timeout (about 15 minutes).
    let keys = ["connect_timeout", "application_name", "keepalives", "keepalives_idle", "keepalives_interval",
                "keepalives_count", "tcp_user_timeout", "dbname"]
    let values = [String(max(2, timeout)), "pipeline", "1", "5", "2", "3", "10000", url]
    var keyPointers = keys.map { strdup($0) } + [nil]
    var valuePointers = values.map { strdup($0) } + [nil]
    defer {
        for p in keyPointers { free(p) }
        for p in valuePointers { free(p) }
    }
    return keyPointers.withUnsafeMutableBufferPointer { k in
        valuePointers.withUnsafeMutableBufferPointer { v in
            k.withMemoryRebound(to: UnsafePointer<CChar>?.self) { kc in
                v.withMemoryRebound(to: UnsafePointer<CChar>?.self) { vc in
                    // expand_dbname = 1: the dbname value may be a full URL or conninfo string,
                    // and its own settings win over the defaults before it.
                    PQconnectdbParams(kc.baseAddress, vc.baseAddress, 1)
                }
            }
        }
    }
}

/// What went wrong talking to PostgreSQL.
public enum PostgresError: Error, Sendable, CustomStringConvertible {
    /// The server could not be reached or refused us (wrong password, no such database).
    case connect(host: String, port: String, user: String, message: String)
    /// The connection broke during a statement (server restart, network cut).
    case connectionLost(message: String)
    /// The server refused a statement.
    case statement(sqlState: String, message: String, sql: String)

    public var description: String {
        switch self {
        case let .connect(host, port, user, message):
            return "cannot connect to PostgreSQL at host \(host) port \(port) as user \(user): \(message)"
        case let .connectionLost(message):
            return "lost the PostgreSQL connection: \(message)"
        case let .statement(code, message, sql):
            let short = sql.count > 120 ? String(sql.prefix(120)) + "…" : sql
            return "PostgreSQL error \(code): \(message) (in: \(short))"
        }
    }

    /// True for errors that a retry after reconnecting may cure.
    public var isTransient: Bool {
        switch self {
        case .connectionLost: return true
        case .connect: return true
        // 40001 serialization failure, 40P01 deadlock, 57P01 admin shutdown, 08* connection.
        case let .statement(code, _, _):
            return code == "40001" || code == "40P01" || code.hasPrefix("57P") || code.hasPrefix("08")
        }
    }
}

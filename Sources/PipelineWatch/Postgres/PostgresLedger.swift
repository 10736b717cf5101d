import Foundation

/// The watch ledger in PostgreSQL (`pipeline watch --ledger postgres://…`): the same states
/// and guarantees as the SQLite `Ledger`, kept in the queue's `pipeline_items` table under
/// one queue name, so the ledger can live on a database server rather than beside the inbox.
///
/// Times are the database server's clock (seconds since 1970), like the queue's leases.
public final class PostgresLedger: ItemLedger, @unchecked Sendable {
    public let queue: String
    public var location: String { db.target + " (queue \(queue))" }
    private let db: PostgresConnection
    private let lock = NSLock()

    /// Connects, migrates the schema (or refuses a newer one) and uses queue `queue`.
    public init(url: String, queue: String) throws {
        db = try PostgresConnection(url)
        self.queue = queue
        try QueueSchema.migrate(db)
    }

    static let columns =
        "id, path, size, mtime, hash, state, attempts, first_seen, started, finished, next_attempt, error, outputs"

    static func entry(_ row: [String?]) -> Ledger.Entry {
        Ledger.Entry(
            id: Int64(row[0]!)!, path: row[1]!, size: Int64(row[2]!)!, mtime: Double(row[3]!)!, hash: row[4]!,
            state: Ledger.State(rawValue: row[5]!)!, attempts: Int(row[6]!)!, firstSeen: Double(row[7]!)!,
            started: row[8].flatMap(Double.init), finished: row[9].flatMap(Double.init),
            nextAttempt: row[10].flatMap(Double.init), error: row[11],
            outputs: (row[12] ?? "").split(separator: "\n").map(String.init))
    }

    /// The server's clock, as SQL.
    static let now = "extract(epoch from clock_timestamp())"

    @discardableResult
    private func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func rows(_ sql: String, _ params: [PostgresConnection.Param] = []) throws -> [Ledger.Entry] {
        try db.query(sql, [.text(queue)] + params).map(Self.entry)
    }

    public func lookup(path: String, hash: String) throws -> Ledger.Entry? {
        try locked {
            try rows("SELECT \(Self.columns) FROM pipeline_items WHERE queue = $1 AND path = $2 AND hash = $3",
                [.text(path), .text(hash)]).first
        }
    }

    public func latest(path: String) throws -> Ledger.Entry? {
        try locked {
            try rows("SELECT \(Self.columns) FROM pipeline_items WHERE queue = $1 AND path = $2 ORDER BY id DESC LIMIT 1",
                [.text(path)]).first
        }
    }

    public func insert(path: String, size: Int64, mtime: Double, hash: String) throws -> Ledger.Entry {
        try locked {
            try rows(
                """
                INSERT INTO pipeline_items (queue, path, size, mtime, hash, state, first_seen)
                VALUES ($1, $2, $3, $4, $5, 'queued', \(Self.now)) RETURNING \(Self.columns)
                """, [.text(path), .text(String(size)), .text(String(mtime)), .text(hash)])[0]
        }
    }

    @discardableResult
    public func markRunning(_ id: Int64) throws -> Int {
        try locked {
            Int(try db.query(
                """
                UPDATE pipeline_items SET state = 'running', attempts = attempts + 1, started = \(Self.now),
                    next_attempt = NULL WHERE queue = $1 AND id = $2 RETURNING attempts
                """, [.text(queue), .text(String(id))])[0][0]!)!
        }
    }

    public func requeue(_ id: Int64) throws {
        try locked {
            try db.query(
                """
                UPDATE pipeline_items SET state = 'queued', attempts = GREATEST(attempts - 1, 0), started = NULL
                WHERE queue = $1 AND id = $2 AND state = 'running'
                """, [.text(queue), .text(String(id))])
        }
    }

    public func markDone(_ id: Int64, outputs: [String], appended: [String: Int64]) throws {
        try locked {
            try db.transaction {
                try db.query(
                    "UPDATE pipeline_items SET state = 'done', finished = \(Self.now), error = NULL, outputs = $3 WHERE queue = $1 AND id = $2",
                    [.text(queue), .text(String(id)), .text(outputs.joined(separator: "\n"))])
                for (path, length) in appended.sorted(by: { $0.key < $1.key }) {
                    try db.query(
                        """
                        INSERT INTO pipeline_appended (queue, path, committed) VALUES ($1, $2, $3)
                        ON CONFLICT (queue, path) DO UPDATE SET committed = excluded.committed
                        """, [.text(queue), .text(path), .text(String(length))])
                }
            }
        }
    }

    public func committedLength(of path: String) throws -> Int64? {
        try locked {
            try db.query("SELECT committed FROM pipeline_appended WHERE queue = $1 AND path = $2", [.text(queue), .text(path)])
                .first.flatMap { $0[0].flatMap { Int64($0) } }
        }
    }

    public func recordBaseline(of path: String, length: Int64) throws {
        try locked {
            try db.query(
                "INSERT INTO pipeline_appended (queue, path, committed) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                [.text(queue), .text(path), .text(String(length))])
        }
    }

    public func appendedFiles() throws -> [(path: String, committed: Int64)] {
        try locked {
            try db.query("SELECT path, committed FROM pipeline_appended WHERE queue = $1 ORDER BY path", [.text(queue)])
                .map { ($0[0]!, Int64($0[1]!)!) }
        }
    }

    public func markFailed(_ id: Int64, error: String, retryAt: Double?) throws {
        try locked {
            if let retryAt {
                try db.query(
                    "UPDATE pipeline_items SET state = 'queued', error = $3, next_attempt = $4 WHERE queue = $1 AND id = $2",
                    [.text(queue), .text(String(id)), .text(error), .text(String(retryAt))])
            } else {
                try db.query(
                    "UPDATE pipeline_items SET state = 'failed', finished = \(Self.now), error = $3 WHERE queue = $1 AND id = $2",
                    [.text(queue), .text(String(id)), .text(error)])
            }
        }
    }

    public func recoverRunning() throws -> [Ledger.Entry] {
        try locked {
            try db.transaction {
                let found = try rows(
                    "SELECT \(Self.columns) FROM pipeline_items WHERE queue = $1 AND state = 'running' ORDER BY id FOR UPDATE")
                try db.query(
                    "UPDATE pipeline_items SET state = 'queued', next_attempt = NULL WHERE queue = $1 AND state = 'running'",
                    [.text(queue)])
                return found
            }
        }
    }

    public func due(at time: Double?) throws -> [Ledger.Entry] {
        try locked {
            try rows(
                """
                SELECT \(Self.columns) FROM pipeline_items WHERE queue = $1 AND state = 'queued'
                AND (next_attempt IS NULL OR next_attempt <= $2) ORDER BY id
                """, [.text(String(time ?? Date().timeIntervalSince1970))])
        }
    }

    public func nextRetry() throws -> Double? {
        try locked {
            try db.query(
                "SELECT MIN(next_attempt) FROM pipeline_items WHERE queue = $1 AND state = 'queued' AND next_attempt IS NOT NULL",
                [.text(queue)]
            ).first.flatMap { $0[0].flatMap(Double.init) }
        }
    }

    public func entries(in state: Ledger.State) throws -> [Ledger.Entry] {
        try locked {
            try rows("SELECT \(Self.columns) FROM pipeline_items WHERE queue = $1 AND state = $2 ORDER BY id", [.text(state.rawValue)])
        }
    }

    public func all() throws -> [Ledger.Entry] {
        try locked { try rows("SELECT \(Self.columns) FROM pipeline_items WHERE queue = $1 ORDER BY id") }
    }

    public func counts() throws -> [Ledger.State: Int] {
        try locked {
            var counts = Dictionary(uniqueKeysWithValues: Ledger.State.allCases.map { ($0, 0) })
            for row in try db.query("SELECT state, COUNT(*) FROM pipeline_items WHERE queue = $1 GROUP BY state", [.text(queue)]) {
                counts[Ledger.State(rawValue: row[0]!)!] = Int(row[1]!)!
            }
            return counts
        }
    }

    @discardableResult
    public func retryFailed() throws -> Int {
        try locked {
            try db.query(
                """
                UPDATE pipeline_items SET state = 'queued', attempts = 0, next_attempt = NULL
                WHERE queue = $1 AND state = 'failed' RETURNING id
                """, [.text(queue)]).count
        }
    }
}

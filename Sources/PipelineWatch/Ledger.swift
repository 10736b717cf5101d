import Foundation

/// The durable record of every file version a watcher has seen, in an embedded SQLite
/// database (WAL mode, full sync), so each version is processed exactly once across crashes.
///
/// A version is (path, content hash). States move queued -> running -> done | failed;
/// a failed attempt with retries left goes back to queued with a time for the next try.
/// Rows left `running` by a crash are put back in the queue on open.
public final class Ledger: @unchecked Sendable {
    public enum State: String, Sendable, CaseIterable {
        case queued, running, done, failed
    }

    public struct Entry: Sendable, Equatable {
        public let id: Int64
        public let path: String
        public let size: Int64
        public let mtime: Double
        public let hash: String
        public let state: State
        public let attempts: Int
        public let firstSeen: Double
        public let started: Double?
        public let finished: Double?
        public let nextAttempt: Double?
        public let error: String?
        public let outputs: [String]
    }

    public let path: String
    private let db: SQLiteDatabase
    private let lock = NSLock()

    /// Opens (creating if needed) the ledger at `path`.
    public init(path: String) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        db = try SQLiteDatabase(path: path)
        try db.execute(
            """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS files (
                id INTEGER PRIMARY KEY,
                path TEXT NOT NULL,
                size INTEGER NOT NULL,
                mtime REAL NOT NULL,
                hash TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0,
                first_seen REAL NOT NULL,
                started REAL,
                finished REAL,
                next_attempt REAL,
                error TEXT,
                outputs TEXT NOT NULL DEFAULT '',
                UNIQUE (path, hash)
            );
            CREATE INDEX IF NOT EXISTS files_state ON files (state);
            CREATE TABLE IF NOT EXISTS appended (
                path TEXT PRIMARY KEY,
                committed INTEGER NOT NULL
            );
            """)
    }

    private static let columns =
        "id, path, size, mtime, hash, state, attempts, first_seen, started, finished, next_attempt, error, outputs"

    private func entry(_ row: [SQLiteDatabase.Binding]) -> Entry {
        Entry(
            id: row[0].int!, path: row[1].text!, size: row[2].int!, mtime: row[3].double!, hash: row[4].text!,
            state: State(rawValue: row[5].text!)!, attempts: Int(row[6].int!), firstSeen: row[7].double!,
            started: row[8].double, finished: row[9].double, nextAttempt: row[10].double, error: row[11].text,
            outputs: (row[12].text ?? "").split(separator: "\n").map(String.init))
    }

    @discardableResult
    private func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private var now: Double { Date().timeIntervalSince1970 }

    /// The row for this version of a file, if any.
    public func lookup(path: String, hash: String) throws -> Entry? {
        try locked {
            try db.query("SELECT \(Self.columns) FROM files WHERE path = ? AND hash = ?", [.text(path), .text(hash)])
                .first.map(entry)
        }
    }

    /// The most recently seen version of a path.
    public func latest(path: String) throws -> Entry? {
        try locked {
            try db.query("SELECT \(Self.columns) FROM files WHERE path = ? ORDER BY id DESC LIMIT 1", [.text(path)])
                .first.map(entry)
        }
    }

    /// Records a new version as queued.
    public func insert(path: String, size: Int64, mtime: Double, hash: String) throws -> Entry {
        try locked {
            try db.query(
                "INSERT INTO files (path, size, mtime, hash, state, first_seen) VALUES (?, ?, ?, ?, 'queued', ?)",
                [.text(path), .int(size), .double(mtime), .text(hash), .double(now)])
            return try db.query("SELECT \(Self.columns) FROM files WHERE id = ?", [.int(db.lastInsertID)]).map(entry)[0]
        }
    }

    /// Marks a version running and counts the attempt; returns the attempt number.
    @discardableResult
    public func markRunning(_ id: Int64) throws -> Int {
        try locked {
            try db.query(
                "UPDATE files SET state = 'running', attempts = attempts + 1, started = ?, next_attempt = NULL WHERE id = ?",
                [.double(now), .int(id)])
            return Int(try db.query("SELECT attempts FROM files WHERE id = ?", [.int(id)])[0][0].int!)
        }
    }

    /// Puts a version marked running back in the queue, uncounting the attempt: the run
    /// stopped before the item could start.
    public func requeue(_ id: Int64) throws {
        try locked {
            try db.query(
                "UPDATE files SET state = 'queued', attempts = MAX(attempts - 1, 0), started = NULL WHERE id = ? AND state = 'running'",
                [.int(id)])
        }
    }

    /// Marks a version done with the files it published and, in the same transaction, the
    /// committed lengths of the shared files its staged appends went to (see `StagedAppend`).
    public func markDone(_ id: Int64, outputs: [String], appended: [String: Int64] = [:]) throws {
        try locked {
            try db.execute("BEGIN IMMEDIATE")
            do {
                try db.query(
                    "UPDATE files SET state = 'done', finished = ?, error = NULL, outputs = ? WHERE id = ?",
                    [.double(now), .text(outputs.joined(separator: "\n")), .int(id)])
                for (path, length) in appended.sorted(by: { $0.key < $1.key }) {
                    try db.query(
                        "INSERT INTO appended (path, committed) VALUES (?, ?) ON CONFLICT (path) DO UPDATE SET committed = excluded.committed",
                        [.text(path), .int(length)])
                }
                try db.execute("COMMIT")
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// The committed length of a shared file that items append to, if one was recorded.
    public func committedLength(of path: String) throws -> Int64? {
        try locked {
            try db.query("SELECT committed FROM appended WHERE path = ?", [.text(path)]).first?[0].int
        }
    }

    /// Records `length` as the committed length of `path` unless one is recorded: the
    /// file's length before the first item appends to it.
    public func recordBaseline(of path: String, length: Int64) throws {
        try locked {
            try db.query("INSERT OR IGNORE INTO appended (path, committed) VALUES (?, ?)", [.text(path), .int(length)])
        }
    }

    /// Every shared file items append to, with its committed length.
    public func appendedFiles() throws -> [(path: String, committed: Int64)] {
        try locked {
            try db.query("SELECT path, committed FROM appended ORDER BY path").map { ($0[0].text!, $0[1].int!) }
        }
    }

    /// Records a failed attempt: back to the queue with `retryAt`, or failed for good when nil.
    public func markFailed(_ id: Int64, error: String, retryAt: Double?) throws {
        try locked {
            if let retryAt {
                try db.query(
                    "UPDATE files SET state = 'queued', error = ?, next_attempt = ? WHERE id = ?",
                    [.text(error), .double(retryAt), .int(id)])
            } else {
                try db.query(
                    "UPDATE files SET state = 'failed', finished = ?, error = ? WHERE id = ?",
                    [.double(now), .text(error), .int(id)])
            }
        }
    }

    /// Puts rows a crash left `running` back in the queue; returns them.
    public func recoverRunning() throws -> [Entry] {
        try locked {
            let rows = try db.query("SELECT \(Self.columns) FROM files WHERE state = 'running' ORDER BY id").map(entry)
            try db.query("UPDATE files SET state = 'queued', next_attempt = NULL WHERE state = 'running'")
            return rows
        }
    }

    /// Queued rows whose next attempt is due, oldest first.
    public func due(at time: Double? = nil) throws -> [Entry] {
        try locked {
            try db.query(
                "SELECT \(Self.columns) FROM files WHERE state = 'queued' AND (next_attempt IS NULL OR next_attempt <= ?) ORDER BY id",
                [.double(time ?? now)]
            ).map(entry)
        }
    }

    /// The earliest pending retry time, if any.
    public func nextRetry() throws -> Double? {
        try locked {
            try db.query("SELECT MIN(next_attempt) FROM files WHERE state = 'queued' AND next_attempt IS NOT NULL")
                .first?[0].double
        }
    }

    public func entries(in state: State) throws -> [Entry] {
        try locked {
            try db.query("SELECT \(Self.columns) FROM files WHERE state = ? ORDER BY id", [.text(state.rawValue)]).map(entry)
        }
    }

    public func all() throws -> [Entry] {
        try locked { try db.query("SELECT \(Self.columns) FROM files ORDER BY id").map(entry) }
    }

    /// Rows per state.
    public func counts() throws -> [State: Int] {
        try locked {
            var counts = Dictionary(uniqueKeysWithValues: State.allCases.map { ($0, 0) })
            for row in try db.query("SELECT state, COUNT(*) FROM files GROUP BY state") {
                counts[State(rawValue: row[0].text!)!] = Int(row[1].int!)
            }
            return counts
        }
    }

    /// Puts every failed row back in the queue with its attempts reset; returns how many.
    @discardableResult
    public func retryFailed() throws -> Int {
        try locked {
            let n = try db.query("SELECT COUNT(*) FROM files WHERE state = 'failed'")[0][0].int!
            try db.query("UPDATE files SET state = 'queued', attempts = 0, next_attempt = NULL WHERE state = 'failed'")
            return Int(n)
        }
    }
}

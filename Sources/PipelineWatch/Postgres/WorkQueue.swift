import Foundation
import PipelineCore

#if canImport(Glibc)
import Glibc
#endif

/// A named queue of items in PostgreSQL that many workers on many machines share: claims
/// with `FOR UPDATE SKIP LOCKED` under a lease, completion with the output manifest (and any
/// appended bytes) in one transaction, retries with backoff, and `failed` with the reason
/// after the last attempt.
///
/// Item paths are stored relative to the shared root, so machines may mount it at different
/// places. A queue is bound to one pipeline file (its content hash) when first used.
/// Every call reconnects and retries when the connection breaks (a server restart, a cut
/// link) for up to `reconnectSeconds`; a completion that may have committed before the break
/// is safe to retry because it only applies while this claim still holds the lease.
public final class WorkQueue: @unchecked Sendable {
    /// The NOTIFY channel producers signal and idle workers LISTEN on.
    public static let channel = "pipeline_items"

    public let name: String
    public let url: String
    private let db: PostgresConnection
    private let lock = NSLock()
    /// How long a call keeps reconnecting before it gives up.
    public var reconnectSeconds: Double = 120
    /// Receives a line when the connection breaks and comes back (for the worker's log).
    public var log: @Sendable (String) -> Void = { _ in }

    /// Connects and migrates the schema; throws `PostgresError.connect` (host and user named)
    /// or `QueueError.newerSchema` before anything else happens.
    public init(url: String, name: String) throws {
        self.url = url
        self.name = name
        db = try PostgresConnection(url)
        // A session stopped inside a transaction (SIGSTOP, a hung machine) must not hold row
        // locks forever: the server ends it after this long idle in a transaction.
        try db.execute("SET idle_in_transaction_session_timeout = '15s'")
        try QueueSchema.migrate(db)
    }

    /// A redacted form of the URL for messages.
    public var target: String { db.target }

    private static let now = PostgresLedger.now

    /// Runs `body` on the connection, reconnecting and retrying on a broken connection.
    private func withDB<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let deadline = Date().timeIntervalSince1970 + reconnectSeconds
        var delay = 0.1
        while true {
            do {
                if !db.isConnected { try db.reconnect(); try db.execute("SET idle_in_transaction_session_timeout = '15s'") }
                return try body(db)
            } catch let error as PostgresError where error.isTransient {
                guard Date().timeIntervalSince1970 < deadline else { throw error }
                log("database: \(error); retrying in \(String(format: "%.1f", delay)) s")
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 2)
                // A lost connection may still look up to libpq: reset it either way.
                if case .statement = error {} else { try? db.reconnect() }
            }
        }
    }

    // MARK: Binding

    /// Binds the queue to a pipeline (name and content hash) on first use; refuses another.
    public func bind(pipeline: String, hash: String) throws {
        try withDB { db in
            try db.query(
                "INSERT INTO pipeline_queues (name, pipeline, pipeline_hash, created) VALUES ($1, $2, $3, \(Self.now)) ON CONFLICT DO NOTHING",
                [.text(name), .text(pipeline), .text(hash)])
            let row = try db.query("SELECT pipeline, pipeline_hash FROM pipeline_queues WHERE name = $1", [.text(name)])[0]
            if row[1] != hash {
                throw QueueError.otherPipeline(queue: name, boundTo: row[0] ?? "?", boundHash: row[1] ?? "", file: pipeline, hash: hash)
            }
        }
    }

    // MARK: Producers

    /// A file version to enqueue: its path relative to the shared root, size, mtime, hash.
    public struct Version: Sendable {
        public let path: String
        public let size: Int64
        public let mtime: Double
        public let hash: String
        public init(path: String, size: Int64, mtime: Double, hash: String) {
            self.path = path
            self.size = size
            self.mtime = mtime
            self.hash = hash
        }
    }

    /// Enqueues versions not seen before (by path and content hash) in one transaction and
    /// wakes listening workers; returns how many were new.
    @discardableResult
    public func enqueue(_ versions: [Version]) throws -> Int {
        guard !versions.isEmpty else { return 0 }
        return try withDB { db in
            try db.transaction {
                var added = 0
                for v in versions {
                    added += try db.query(
                        """
                        INSERT INTO pipeline_items (queue, path, size, mtime, hash, state, first_seen)
                        VALUES ($1, $2, $3, $4, $5, 'queued', \(Self.now)) ON CONFLICT DO NOTHING RETURNING id
                        """, [.text(name), .text(v.path), .text(String(v.size)), .text(String(v.mtime)), .text(v.hash)]
                    ).count
                }
                if added > 0 { try db.query("SELECT pg_notify($1, $2)", [.text(Self.channel), .text(name)]) }
                return added
            }
        }
    }

    // MARK: Workers

    /// An item a worker holds the lease on; `attempt` identifies this claim.
    public struct Claim: Sendable, Equatable {
        public let id: Int64
        public let path: String
        public let attempt: Int
    }

    /// Claims up to `limit` due items (queued and due, or running with an expired lease) for
    /// `owner` with a lease of `lease` seconds. Items whose lease expired on their last
    /// allowed attempt are failed first, with the reason.
    ///
    /// The claim commits without waiting for its WAL flush (`synchronous_commit = off`): a
    /// claim a server crash forgets leaves the item queued, and the claimant's completion is
    /// then refused (it no longer holds the lease), so nothing runs as done twice; only the
    /// done transaction must be durable. This saves one fsync per claim.
    public func claim(owner: String, limit: Int, lease: Double, maxAttempts: Int) throws -> [Claim] {
        try withDB { db in
            // BEGIN and the setting in one round trip, then one statement for both updates.
            try db.execute("BEGIN; SET LOCAL synchronous_commit = off")
            do {
                let claims = try db.query(
                    """
                    WITH abandoned AS (
                        UPDATE pipeline_items SET state = 'failed', finished = \(Self.now), lease_owner = NULL,
                            error = 'abandoned ' || attempts || ' times: the worker holding it died, hung or was cut off past its lease'
                        WHERE queue = $1 AND state = 'running' AND lease_until < \(Self.now) AND attempts >= $5),
                    c AS (
                        SELECT id FROM pipeline_items
                        WHERE queue = $1 AND state IN ('queued', 'running')
                            AND ((state = 'queued' AND (next_attempt IS NULL OR next_attempt <= \(Self.now)))
                            OR (state = 'running' AND lease_until < \(Self.now) AND attempts < $5))
                        ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
                    UPDATE pipeline_items i SET state = 'running', attempts = i.attempts + 1, started = \(Self.now),
                        next_attempt = NULL, lease_owner = $3, lease_until = \(Self.now) + $4
                    FROM c WHERE i.id = c.id RETURNING i.id, i.path, i.attempts
                    """, [.text(name), .text(String(limit)), .text(owner), .text(String(lease)), .text(String(maxAttempts))]
                ).map { Claim(id: Int64($0[0]!)!, path: $0[1]!, attempt: Int($0[2]!)!) }
                try db.execute("COMMIT")
                return claims
            } catch {
                if db.isConnected { try? db.execute("ROLLBACK") }
                throw error
            }
        }
    }

    /// Extends the leases `owner` still holds on `claims`; returns how many it still holds.
    /// Like a claim, a heartbeat need not be durable (a lost one only shortens a lease).
    @discardableResult
    public func heartbeat(owner: String, claims: [Claim], lease: Double) throws -> Int {
        guard !claims.isEmpty else { return 0 }
        let ids = "{" + claims.map { String($0.id) }.joined(separator: ",") + "}"
        return try withDB { db in try db.transaction {
            try db.execute("SET LOCAL synchronous_commit = off")
            return try db.query(
                """
                UPDATE pipeline_items SET lease_until = \(Self.now) + $3
                WHERE queue = $1 AND id = ANY($2::bigint[]) AND state = 'running' AND lease_owner = $4 RETURNING id
                """, [.text(name), .text(ids), .text(String(lease)), .text(owner)]
            ).count
        } }
    }

    /// Bytes committed for a shared file at `offset`, still to be written there.
    public struct Chunk: Sendable, Equatable {
        public let path: String
        public let offset: Int64
        public let bytes: [UInt8]
    }

    /// A finished item to mark done: its claim, output manifest and staged appends.
    public struct Completion: Sendable {
        public let claim: Claim
        public let outputs: [String]
        public let appends: [StagedAppend]
        public init(claim: Claim, outputs: [String], appends: [StagedAppend]) {
            self.claim = claim
            self.outputs = outputs
            self.appends = appends
        }
    }

    /// Marks a claimed item done with its output manifest and, in the same transaction,
    /// reserves its appended bytes at the end of each shared file (returned, to be written).
    /// Returns nil when the claim no longer holds the lease (another worker took the item):
    /// nothing is recorded then.
    public func complete(_ claim: Claim, owner: String, outputs: [String], appends: [StagedAppend]) throws -> [Chunk]? {
        try complete([Completion(claim: claim, outputs: outputs, appends: appends)], owner: owner)[0]
    }

    /// `complete` for several items in one transaction (one WAL flush: group commit). Each
    /// item applies only if its claim still holds the lease; the result is per item.
    ///
    /// The done rows are one `UPDATE … FROM unnest(…)` whatever the batch size, and each
    /// shared file's bytes are reserved once per batch (its committed length locked, read and
    /// advanced past every item's chunk): a batch costs a handful of statements, not several
    /// per item. Chunks are reserved in item order, files in path order (the lock order every
    /// worker uses).
    public func complete(_ items: [Completion], owner: String) throws -> [[Chunk]?] {
        guard !items.isEmpty else { return [] }
        // Each item's bytes per shared file, in the order its sinks staged them.
        let staged: [[(path: String, bytes: [UInt8])]] = items.map { item in
            var order: [String] = []
            var perFile: [String: [UInt8]] = [:]
            for append in item.appends where !append.bytes.isEmpty {
                if perFile[append.path] == nil { order.append(append.path) }
                perFile[append.path, default: []] += append.bytes
            }
            return order.map { ($0, perFile[$0]!) }
        }
        return try withDB { db in
            let name = self.name
            let body = { () throws -> [[Chunk]?] in
                let done = Set(try db.query(
                    """
                    UPDATE pipeline_items i SET state = 'done', finished = \(Self.now), error = NULL, outputs = u.outputs,
                        lease_owner = NULL, lease_until = NULL
                    FROM unnest($2::bigint[], $3::integer[], $4::text[]) AS u(id, attempts, outputs)
                    WHERE i.queue = $1 AND i.id = u.id AND i.state = 'running' AND i.lease_owner = $5
                        AND i.attempts = u.attempts
                    RETURNING i.id
                    """, [.text(name), .text(Self.arrayLiteral(items.map { String($0.claim.id) }, quoted: false)),
                          .text(Self.arrayLiteral(items.map { String($0.claim.attempt) }, quoted: false)),
                          .text(Self.arrayLiteral(items.map { $0.outputs.joined(separator: "\n") }, quoted: true)),
                          .text(owner)]
                ).map { Int64($0[0]!)! })
                var results: [[Chunk]?] = items.map { done.contains($0.claim.id) ? [] : nil }
                var perFile: [String: [(item: Int, bytes: [UInt8])]] = [:]
                for (i, files) in staged.enumerated() where results[i] != nil {
                    for file in files { perFile[file.path, default: []].append((i, file.bytes)) }
                }
                for (path, entries) in perFile.sorted(by: { $0.key < $1.key }) {
                    // The file's length before the first item appends to it stays.
                    try db.query(
                        "INSERT INTO pipeline_appended (queue, path, committed) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                        [.text(name), .text(path), .text(String(Self.size(of: path) ?? 0))])
                    var offset = Int64(try db.query(
                        "SELECT committed FROM pipeline_appended WHERE queue = $1 AND path = $2 FOR UPDATE",
                        [.text(name), .text(path)])[0][0]!)!
                    var offsets: [String] = [], hex: [String] = [], owners: [String] = []
                    for entry in entries {
                        let chunk = Chunk(path: path, offset: offset, bytes: entry.bytes)
                        results[entry.item]!.append(chunk)
                        offsets.append(String(offset))
                        hex.append(Self.hex(entry.bytes))
                        owners.append(String(items[entry.item].claim.id))
                        offset += Int64(entry.bytes.count)
                    }
                    try db.query(
                        """
                        INSERT INTO pipeline_append_chunks (queue, path, "offset", bytes, item)
                        SELECT $1, $2, u.o, decode(u.b, 'hex'), u.item
                        FROM unnest($3::bigint[], $4::text[], $5::bigint[]) AS u(o, b, item)
                        """, [.text(name), .text(path), .text(Self.arrayLiteral(offsets, quoted: false)),
                              .text(Self.arrayLiteral(hex, quoted: false)), .text(Self.arrayLiteral(owners, quoted: false))])
                    try db.query(
                        "UPDATE pipeline_appended SET committed = $3 WHERE queue = $1 AND path = $2",
                        [.text(name), .text(path), .text(String(offset))])
                }
                return results
            }
            // Without appends the batch is one statement: no explicit transaction needed.
            return staged.allSatisfy(\.isEmpty) ? try body() : try db.transaction(body)
        }
    }

    /// A PostgreSQL array literal (`{a,b}`) of `elements`; `quoted` puts each in double
    /// quotes with `\` and `"` escaped (any text), otherwise they must be plain numbers or hex.
    static func arrayLiteral(_ elements: [String], quoted: Bool) -> String {
        guard quoted else { return "{" + elements.joined(separator: ",") + "}" }
        var out = "{"
        for (i, element) in elements.enumerated() {
            if i > 0 { out += "," }
            out += "\""
            for c in element.unicodeScalars {
                if c == "\\" || c == "\"" { out += "\\" }
                out.unicodeScalars.append(c)
            }
            out += "\""
        }
        return out + "}"
    }

    /// Lower-case hexadecimal digits of `bytes`.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Records a failed attempt of a claim: queued again after `retryDelay` seconds, or
    /// failed for good (nil). Returns false when the claim had lost its lease.
    @discardableResult
    public func fail(_ claim: Claim, owner: String, error: String, retryDelay: Double?) throws -> Bool {
        try withDB { db in
            let sql: String
            var params: [PostgresConnection.Param] = [.text(name), .text(String(claim.id)), .text(owner),
                                                      .text(String(claim.attempt)), .text(error)]
            if let retryDelay {
                sql = """
                    UPDATE pipeline_items SET state = 'queued', error = $5, next_attempt = \(Self.now) + $6,
                        lease_owner = NULL, lease_until = NULL
                    WHERE queue = $1 AND id = $2 AND state = 'running' AND lease_owner = $3 AND attempts = $4 RETURNING id
                    """
                params.append(.text(String(retryDelay)))
            } else {
                sql = """
                    UPDATE pipeline_items SET state = 'failed', error = $5, finished = \(Self.now),
                        lease_owner = NULL, lease_until = NULL
                    WHERE queue = $1 AND id = $2 AND state = 'running' AND lease_owner = $3 AND attempts = $4 RETURNING id
                    """
            }
            return !(try db.query(sql, params)).isEmpty
        }
    }

    /// Gives a claim back without counting the attempt (the worker is stopping before it ran).
    public func release(_ claim: Claim, owner: String) throws {
        try withDB { db in
            try db.query(
                """
                UPDATE pipeline_items SET state = 'queued', attempts = GREATEST(attempts - 1, 0),
                    lease_owner = NULL, lease_until = NULL
                WHERE queue = $1 AND id = $2 AND state = 'running' AND lease_owner = $3 AND attempts = $4
                """, [.text(name), .text(String(claim.id)), .text(owner), .text(String(claim.attempt))])
        }
    }

    // MARK: Appended bytes

    /// Committed bytes not yet known to be written (a worker died between commit and write).
    public func pendingChunks() throws -> [Chunk] {
        try withDB { db in
            try db.query(
                "SELECT path, \"offset\", bytes FROM pipeline_append_chunks WHERE queue = $1 ORDER BY path, \"offset\"",
                [.text(name)]
            ).map { Chunk(path: $0[0]!, offset: Int64($0[1]!)!, bytes: PostgresConnection.bytes(hex: $0[2]!)) }
        }
    }

    /// Writes committed chunks at their offsets (fsynced), then forgets them. Writing a chunk
    /// twice writes the same bytes at the same place, so racing writers are harmless.
    public func write(_ chunks: [Chunk]) throws {
        for chunk in chunks { try Self.write(chunk.bytes, to: chunk.path, at: chunk.offset) }
        guard !chunks.isEmpty else { return }
        try withDB { db in
            for chunk in chunks {
                try db.query(
                    "DELETE FROM pipeline_append_chunks WHERE queue = $1 AND path = $2 AND \"offset\" = $3",
                    [.text(name), .text(chunk.path), .text(String(chunk.offset))])
            }
        }
    }

    /// Writes every pending chunk; returns how many.
    @discardableResult
    public func flushPending() throws -> Int {
        let chunks = try pendingChunks()
        try write(chunks)
        return chunks.count
    }

    static func write(_ bytes: [UInt8], to path: String, at offset: Int64) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXFailure(operation: "open", path: path) }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw POSIXFailure(operation: "write", path: path) }
            done += n
        }
        guard fsync(fd) == 0 else { throw POSIXFailure(operation: "fsync", path: path) }
    }

    static func size(of path: String) -> Int64? {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : nil
    }

    // MARK: Administration

    /// Items per state.
    public func counts() throws -> [Ledger.State: Int] {
        try withDB { db in
            var counts = Dictionary(uniqueKeysWithValues: Ledger.State.allCases.map { ($0, 0) })
            for row in try db.query("SELECT state, COUNT(*) FROM pipeline_items WHERE queue = $1 GROUP BY state", [.text(name)]) {
                counts[Ledger.State(rawValue: row[0]!)!] = Int(row[1]!)!
            }
            return counts
        }
    }

    /// Items in one state, oldest first.
    public func entries(in state: Ledger.State) throws -> [Ledger.Entry] {
        try withDB { db in
            try db.query(
                "SELECT \(PostgresLedger.columns) FROM pipeline_items WHERE queue = $1 AND state = $2 ORDER BY id",
                [.text(name), .text(state.rawValue)]
            ).map(PostgresLedger.entry)
        }
    }

    /// Every item, oldest first.
    public func all() throws -> [Ledger.Entry] {
        try withDB { db in
            try db.query("SELECT \(PostgresLedger.columns) FROM pipeline_items WHERE queue = $1 ORDER BY id", [.text(name)])
                .map(PostgresLedger.entry)
        }
    }

    /// Items not finished (queued or running).
    public func unfinished() throws -> Int {
        try withDB { db in
            Int(try db.query(
                "SELECT COUNT(*) FROM pipeline_items WHERE queue = $1 AND state IN ('queued', 'running')", [.text(name)]
            )[0][0]!)!
        }
    }

    /// Queues every failed item again with its attempts reset; returns how many.
    @discardableResult
    public func retryFailed() throws -> Int {
        try withDB { db in
            try db.transaction {
                let n = try db.query(
                    """
                    UPDATE pipeline_items SET state = 'queued', attempts = 0, next_attempt = NULL, finished = NULL
                    WHERE queue = $1 AND state = 'failed' RETURNING id
                    """, [.text(name)]).count
                if n > 0 { try db.query("SELECT pg_notify($1, $2)", [.text(Self.channel), .text(name)]) }
                return n
            }
        }
    }

    /// Deletes done items (and failed ones with `failed`), or with `everything` the whole
    /// queue, its binding and its append records; returns how many items went.
    @discardableResult
    public func purge(failed: Bool = false, everything: Bool = false) throws -> Int {
        try withDB { db in
            try db.transaction {
                if everything {
                    let n = try db.query("DELETE FROM pipeline_items WHERE queue = $1 RETURNING id", [.text(name)]).count
                    try db.query("DELETE FROM pipeline_appended WHERE queue = $1", [.text(name)])
                    try db.query("DELETE FROM pipeline_append_chunks WHERE queue = $1", [.text(name)])
                    try db.query("DELETE FROM pipeline_queues WHERE name = $1", [.text(name)])
                    return n
                }
                let states = failed ? "('done', 'failed')" : "('done')"
                return try db.query("DELETE FROM pipeline_items WHERE queue = $1 AND state IN \(states) RETURNING id", [.text(name)]).count
            }
        }
    }
}

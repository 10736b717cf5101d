import Foundation

/// The PostgreSQL tables of the queue and ledger, created and upgraded by numbered
/// migrations under an advisory lock, so any number of processes can start at once.
///
/// `pipeline_schema` holds the version. A database at a version newer than this build knows
/// is refused (`QueueError.newerSchema`) rather than used with guesses about its tables.
public enum QueueSchema {
    /// The version this build writes and reads.
    public static let version = 1

    /// Migration N takes the database from version N-1 to N.
    static let migrations: [Int: String] = [
        1: """
            CREATE TABLE pipeline_queues (
                name TEXT PRIMARY KEY,
                pipeline TEXT NOT NULL,
                pipeline_hash TEXT NOT NULL,
                created DOUBLE PRECISION NOT NULL
            );
            CREATE TABLE pipeline_items (
                id BIGSERIAL PRIMARY KEY,
                queue TEXT NOT NULL,
                path TEXT NOT NULL,
                size BIGINT NOT NULL,
                mtime DOUBLE PRECISION NOT NULL,
                hash TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0,
                first_seen DOUBLE PRECISION NOT NULL,
                started DOUBLE PRECISION,
                finished DOUBLE PRECISION,
                next_attempt DOUBLE PRECISION,
                error TEXT,
                outputs TEXT NOT NULL DEFAULT '',
                lease_owner TEXT,
                lease_until DOUBLE PRECISION,
                UNIQUE (queue, path, hash)
            );
            CREATE INDEX pipeline_items_state ON pipeline_items (queue, state, id);
            -- Claims scan only unfinished rows, however many done rows a queue keeps.
            CREATE INDEX pipeline_items_claim ON pipeline_items (queue, id) WHERE state IN ('queued', 'running');
            CREATE TABLE pipeline_appended (
                queue TEXT NOT NULL,
                path TEXT NOT NULL,
                committed BIGINT NOT NULL,
                PRIMARY KEY (queue, path)
            );
            CREATE TABLE pipeline_append_chunks (
                queue TEXT NOT NULL,
                path TEXT NOT NULL,
                "offset" BIGINT NOT NULL,
                bytes BYTEA NOT NULL,
                item BIGINT NOT NULL,
                PRIMARY KEY (queue, path, "offset")
            );
            """
    ]

    /// Brings the database to `version`, or throws when it is newer than this build.
    public static func migrate(_ db: PostgresConnection) throws {
        try db.transaction {
            // One migrator at a time; the others wait here, then find the work done.
            try db.query("SELECT pg_advisory_xact_lock(72831501)")
            try db.execute("CREATE TABLE IF NOT EXISTS pipeline_schema (version INTEGER NOT NULL)")
            let found = try db.query("SELECT MAX(version) FROM pipeline_schema")[0][0].flatMap { Int($0) } ?? 0
            if found > version {
                throw QueueError.newerSchema(found: found, supported: version, database: db.target)
            }
            for step in (found + 1)..<(version + 1) {
                try db.execute(migrations[step]!)
                try db.query("DELETE FROM pipeline_schema")
                try db.query("INSERT INTO pipeline_schema (version) VALUES ($1)", [.text(String(step))])
            }
        }
    }
}

/// A queue or ledger in PostgreSQL that cannot be used as asked.
public enum QueueError: Error, Sendable, CustomStringConvertible {
    /// The database was set up by a newer `pipeline`.
    case newerSchema(found: Int, supported: Int, database: String)
    /// The queue belongs to another pipeline file.
    case otherPipeline(queue: String, boundTo: String, boundHash: String, file: String, hash: String)
    /// An item's path is not inside the shared root.
    case outsideRoot(path: String, root: String)

    public var description: String {
        switch self {
        case let .newerSchema(found, supported, database):
            return "\(database): the queue schema is version \(found), newer than this pipeline build understands (\(supported)); "
                + "upgrade pipeline on this machine"
        case let .otherPipeline(queue, boundTo, boundHash, file, hash):
            return "queue '\(queue)' is bound to pipeline \(boundTo) (sha256 \(boundHash.prefix(12))), "
                + "but \(file) is different (sha256 \(hash.prefix(12))); use another --queue-name, "
                + "or `pipeline queue purge --all` the old queue first"
        case let .outsideRoot(path, root):
            return "\(path) is outside the shared root \(root); items must lie under it"
        }
    }
}

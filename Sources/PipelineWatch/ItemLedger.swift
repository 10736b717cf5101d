import Foundation

/// What a watch needs from its durable ledger, whichever database holds it: the embedded
/// SQLite file (`Ledger`, the default) or a PostgreSQL queue (`PostgresLedger`).
///
/// A version is (path, content hash). States move queued -> running -> done | failed; a
/// failed attempt with retries left goes back to queued with a time for the next try.
/// `markDone` records an item's outputs and the committed lengths of the shared files its
/// staged appends went to in one transaction (see `AppendCommitter`).
public protocol ItemLedger: AnyObject, Sendable {
    /// Where the ledger lives, for messages (a file path, or a redacted URL).
    var location: String { get }
    func lookup(path: String, hash: String) throws -> Ledger.Entry?
    func latest(path: String) throws -> Ledger.Entry?
    func insert(path: String, size: Int64, mtime: Double, hash: String) throws -> Ledger.Entry
    @discardableResult func markRunning(_ id: Int64) throws -> Int
    func requeue(_ id: Int64) throws
    func markDone(_ id: Int64, outputs: [String], appended: [String: Int64]) throws
    func committedLength(of path: String) throws -> Int64?
    func recordBaseline(of path: String, length: Int64) throws
    func appendedFiles() throws -> [(path: String, committed: Int64)]
    func markFailed(_ id: Int64, error: String, retryAt: Double?) throws
    func recoverRunning() throws -> [Ledger.Entry]
    func due(at time: Double?) throws -> [Ledger.Entry]
    func nextRetry() throws -> Double?
    func entries(in state: Ledger.State) throws -> [Ledger.Entry]
    func all() throws -> [Ledger.Entry]
    func counts() throws -> [Ledger.State: Int]
    @discardableResult func retryFailed() throws -> Int
}

extension Ledger: ItemLedger {
    public var location: String { path }
}

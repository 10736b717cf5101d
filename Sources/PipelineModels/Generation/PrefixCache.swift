import Foundation

/// The KV caches of token prefixes a model has evaluated, kept so that later prompts starting
/// with the same tokens (a system prompt, a task's instructions) skip them: a least-recently-used
/// list bounded in bytes, one per loaded model, shared by every node copy and thread using it.
///
/// Which prefixes are worth keeping is decided by the caller (`LoadedModel.session(after:reuse:)`):
/// a fixed length it names, or, automatically, the longest run of tokens a prompt shares with one
/// of the last few prompts. Restoring copies the snapshot, so entries are never written after
/// they are stored and sessions never share mutable state.
public final class PrefixCache: @unchecked Sendable {
    /// One kept prefix: its tokens, the KV cache after them, and the logits after the last one.
    public struct Entry: Sendable {
        public let tokens: [Int]
        public let snapshot: KVSnapshot
        public let logits: [Float]
        var bytes: Int { snapshot.byteCount + logits.count * MemoryLayout<Float>.size + tokens.count * MemoryLayout<Int>.size }
    }

    /// What the cache has done since it was made (or `reset`).
    public struct Statistics: Sendable, Equatable {
        /// Prompts that started from a kept prefix, and those that found none.
        public var hits = 0, misses = 0
        /// Prompt tokens restored from kept prefixes instead of evaluated.
        public var reusedTokens = 0
        /// Prefixes stored, and prefixes dropped to stay within the budget.
        public var stored = 0, evicted = 0
    }

    /// The most bytes the kept snapshots may hold together.
    public let budget: Int
    /// Prompts remembered for finding shared prefixes automatically.
    public let recentLimit = 16
    private let lock = NSLock()
    /// Most recently used last.
    private var entries: [Entry] = []
    private var recent: [[Int]] = []
    private var stats = Statistics()

    /// A cache of at most `budget` bytes.
    public init(budget: Int) {
        self.budget = max(0, budget)
    }

    /// The budget from `PIPELINE_PREFIX_CACHE_MB` (megabytes), else 256 MiB.
    public static var defaultBudget: Int {
        if let text = ProcessInfo.processInfo.environment["PIPELINE_PREFIX_CACHE_MB"], let mb = Int(text), mb >= 0 {
            return mb << 20
        }
        return 256 << 20
    }

    /// Bytes held now.
    public var byteCount: Int { lock.withLock { entries.reduce(0) { $0 + $1.bytes } } }
    /// Prefixes held now.
    public var count: Int { lock.withLock { entries.count } }
    public var statistics: Statistics { lock.withLock { stats } }

    /// The longest kept prefix of `tokens` (all of them at most), marked as just used; counts a hit or a miss.
    public func longest(prefixOf tokens: [Int]) -> Entry? {
        lock.withLock {
            var best: Int?
            for (i, e) in entries.enumerated() where e.tokens.count <= tokens.count && e.tokens.count > (best.map { entries[$0].tokens.count } ?? 0) {
                if tokens.starts(with: e.tokens) { best = i }
            }
            guard let best else {
                stats.misses += 1
                return nil
            }
            let entry = entries.remove(at: best)
            entries.append(entry)
            stats.hits += 1
            stats.reusedTokens += entry.tokens.count
            return entry
        }
    }

    /// Keeps `entry` as the most recently used, dropping the least recently used ones while the
    /// total is over the budget (an entry larger than the whole budget is not kept).
    public func insert(_ entry: Entry) {
        lock.withLock {
            guard entry.bytes <= budget else { return }
            entries.removeAll { $0.tokens == entry.tokens }
            entries.append(entry)
            stats.stored += 1
            var total = entries.reduce(0) { $0 + $1.bytes }
            while total > budget, let first = entries.first {
                total -= first.bytes
                entries.removeFirst()
                stats.evicted += 1
            }
        }
    }

    /// The most tokens `tokens` shares, from the start, with one of the last `recentLimit`
    /// prompts noted; then notes `tokens` itself.
    public func sharedPrefixWithRecent(_ tokens: [Int]) -> Int {
        lock.withLock {
            var best = 0
            for other in recent {
                var n = 0
                let limit = min(other.count, tokens.count)
                while n < limit && other[n] == tokens[n] { n += 1 }
                best = max(best, n)
            }
            recent.append(tokens)
            if recent.count > recentLimit { recent.removeFirst() }
            return best
        }
    }

    /// Drops every kept prefix, the remembered prompts and the statistics.
    public func reset() {
        lock.withLock {
            entries = []
            recent = []
            stats = Statistics()
        }
    }
}

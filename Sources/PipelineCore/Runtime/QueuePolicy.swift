/// What an edge does when its queue is full.
public enum QueuePolicy: String, Sendable, CaseIterable, Codable {
    /// Wait for room: lossless, slows the producer (the default).
    case block
    /// Drop the oldest queued packet to make room; drops are counted and reported.
    case dropOldest = "drop-oldest"
    /// Keep only the newest packet; every replaced packet is counted as a drop.
    case latest
}

/// What a run does when a node fails on an item.
public enum ErrorPolicy: String, Sendable, CaseIterable, Codable {
    /// Report the item as failed and go on with the others (the default).
    case skip
    /// Stop the whole run.
    case fail
}

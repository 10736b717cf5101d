/// Something a run reports while it goes: items, failures, warnings, stalls.
/// Delivered on worker threads; observers must be thread-safe.
public enum RunEvent: Sendable {
    case itemStarted(String)
    case itemFinished(String, failed: Bool)
    /// A node failed on an item (or, with `item` nil, outside any item).
    case failure(node: String, item: String?, message: String)
    case warning(node: String, message: String)
    /// The watchdog's report of a graph where nothing has moved.
    case stall(String)
}

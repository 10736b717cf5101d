/// Why a scene part could not be exported or rendered; each case names the field or step.
enum SceneError: Error, CustomStringConvertible {
    /// A record field with a bad value: `field` is a path such as `objects[2].position[0]`.
    case invalidField(field: String, problem: String)
    /// A value on the `scene` port that is neither a record, an image, points nor a list of these.
    case unsupportedInput(String)
    /// The browser could not be started or driven.
    case browser(String)
    /// The page reported an error while loading or drawing a scene.
    case page(String)
    /// A scene took longer than the renderer's per-scene limit.
    case timeout(seconds: Double, step: String)

    var description: String {
        switch self {
        case let .invalidField(field, problem): return "scene field \(field): \(problem)"
        case let .unsupportedInput(what): return "scene input: \(what)"
        case let .browser(message): return "chromium: \(message)"
        case let .page(message): return "scene page: \(message)"
        case let .timeout(seconds, step): return "chromium did not finish \(step) within \(seconds) s"
        }
    }
}

import Foundation
import PipelineCore

/// The scene record every scene node shares (DESIGN.md, "Scene records and three.js export"):
/// objects on a ground plane at y = 0, y up, metres; a camera; a background colour.
///
/// Parsing checks every field and fails with the field's path (`objects[2].shape`) rather than
/// exporting something a browser would silently refuse. Conventions:
/// - `position` is the centre of the object's **base**: y = 0 stands it on the ground.
/// - `size` is the edge of a cube, the diameter of a sphere, and the diameter and height of a
///   cylinder or cone, so every shape fits a `size`-sided box.
/// - `rotation_y` is in degrees, counter-clockwise seen from above.
/// - Limits (errors, not clamps): at most `maxObjects` objects, coordinates within
///   ±`maxCoordinate` m, `size` in (0, `maxSize`], labels up to `maxLabelCharacters`.
struct SceneRecord: Equatable {
    /// One object of the record.
    struct Object: Equatable {
        var shape: Shape
        var color: Int
        var position: [Double]
        var size: Double
        var rotationY: Double
        var label: String?

        /// The centre of the shape (half its size above the base).
        var centre: [Double] { [position[0], position[1] + size / 2, position[2]] }
        /// The axis-aligned box around the shape, `[lo, hi]`.
        var bounds: [[Double]] {
            let c = centre, r = size / 2
            return [c.map { $0 - r }, c.map { $0 + r }]
        }
    }

    /// The shapes a record may name.
    enum Shape: String, CaseIterable {
        case cube, sphere, cylinder, cone
    }

    /// The record's camera; `position` and `lookAt` are in metres, `fov` vertical, in degrees.
    struct Camera: Equatable {
        var position: [Double]
        var lookAt: [Double]
        var fov: Double
    }

    var objects: [Object]
    /// The record's camera; nil when the record names none (the exporter frames the scene).
    var camera: Camera?
    var background: Int

    static let maxObjects = 10_000
    static let maxCoordinate = 1_000.0
    static let maxSize = 100.0
    static let maxLabelCharacters = 120
    static let defaultBackground = 0xDDE3EA

    /// True when a value looks like a scene record (an object with `objects` or `camera`).
    static func looksLikeRecord(_ value: Value) -> Bool {
        guard let fields = value.objectValue else { return false }
        return fields["objects"] != nil || fields["camera"] != nil
    }

    /// Parses and checks a record; `prefix` is prepended to field paths in errors.
    static func parse(_ value: Value, prefix: String = "") throws -> SceneRecord {
        guard let fields = value.objectValue else {
            throw SceneError.invalidField(field: prefix.isEmpty ? "(record)" : prefix, problem: "expected a map, got \(value.kindName)")
        }
        let path = { (name: String) in prefix.isEmpty ? name : prefix + "." + name }
        try checkKeys(fields, allowed: ["objects", "camera", "background"], at: prefix)
        var objects: [Object] = []
        if let list = fields["objects"] {
            guard let items = list.arrayValue else {
                throw SceneError.invalidField(field: path("objects"), problem: "expected a list, got \(list.kindName)")
            }
            guard items.count <= maxObjects else {
                throw SceneError.invalidField(
                    field: path("objects"), problem: "\(items.count) objects, more than the \(maxObjects) a scene may hold")
            }
            objects.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                objects.append(try parseObject(item, at: path("objects") + "[\(i)]"))
            }
        }
        let camera = try fields["camera"].map { try parseCamera($0, at: path("camera"), objects: objects) }
        var background = defaultBackground
        if let given = fields["background"] {
            background = try color(given, at: path("background"))
        }
        return SceneRecord(objects: objects, camera: camera, background: background)
    }

    static func parseObject(_ value: Value, at field: String) throws -> Object {
        guard let fields = value.objectValue else {
            throw SceneError.invalidField(field: field, problem: "expected a map, got \(value.kindName)")
        }
        try checkKeys(fields, allowed: ["shape", "color", "position", "size", "rotation_y", "label"], at: field)
        guard let shapeValue = fields["shape"] else {
            throw SceneError.invalidField(field: field + ".shape", problem: "missing (one of \(Shape.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let name = shapeValue.stringValue, let shape = Shape(rawValue: name.lowercased()) else {
            throw SceneError.invalidField(
                field: field + ".shape",
                problem: "\(describe(shapeValue)) is not one of \(Shape.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let color = try fields["color"].map { try Self.color($0, at: field + ".color") } ?? SceneColor.palette["gray"]!
        let position = try fields["position"].map { try vector($0, at: field + ".position") } ?? [0, 0, 0]
        let size = try fields["size"].map { try number($0, at: field + ".size", in: 0...maxSize) } ?? 1
        guard size > 0 else { throw SceneError.invalidField(field: field + ".size", problem: "must be greater than 0") }
        let rotation = try fields["rotation_y"].map { try number($0, at: field + ".rotation_y", in: -36_000...36_000) } ?? 0
        var label: String?
        if let given = fields["label"], given != .null {
            guard let text = given.stringValue else {
                throw SceneError.invalidField(field: field + ".label", problem: "expected text, got \(given.kindName)")
            }
            guard text.count <= maxLabelCharacters else {
                throw SceneError.invalidField(field: field + ".label", problem: "\(text.count) characters, over \(maxLabelCharacters)")
            }
            label = text.isEmpty ? nil : text
        }
        return Object(shape: shape, color: color, position: position, size: size, rotationY: rotation, label: label)
    }

    static func parseCamera(_ value: Value, at field: String, objects: [Object]) throws -> Camera {
        guard let fields = value.objectValue else {
            throw SceneError.invalidField(field: field, problem: "expected a map, got \(value.kindName)")
        }
        try checkKeys(fields, allowed: ["position", "look_at", "fov"], at: field)
        var camera = frame(objects.map(\.bounds))
        if let p = fields["position"] { camera.position = try vector(p, at: field + ".position") }
        if let t = fields["look_at"] { camera.lookAt = try vector(t, at: field + ".look_at") }
        if let f = fields["fov"] { camera.fov = try number(f, at: field + ".fov", in: 1...170) }
        let d = zip(camera.position, camera.lookAt).map { $0 - $1 }
        guard d.map({ $0 * $0 }).reduce(0, +) > 1e-12 else {
            throw SceneError.invalidField(field: field + ".look_at", problem: "equals the camera position: no direction to look in")
        }
        return camera
    }

    /// A camera that sees every box in `boxes` (each `[lo, hi]`): from the front-right and above,
    /// or straight from the front (`frontal`, for galleries of pictures), at a distance that fits.
    static func frame(_ boxes: [[[Double]]], frontal: Bool = false) -> Camera {
        guard !boxes.isEmpty else { return Camera(position: [4, 3, 6], lookAt: [0, 0.5, 0], fov: 50) }
        var lo = [Double](repeating: .infinity, count: 3), hi = [Double](repeating: -.infinity, count: 3)
        for box in boxes {
            for k in 0..<3 {
                lo[k] = min(lo[k], box[0][k])
                hi[k] = max(hi[k], box[1][k])
            }
        }
        let centre = (0..<3).map { (lo[$0] + hi[$0]) / 2 }
        let radius = max(0.5, sqrt((0..<3).map { pow(hi[$0] - lo[$0], 2) }.reduce(0, +)) / 2)
        let distance = radius / sin(25 * Double.pi / 180) * (frontal ? 0.9 : 1.05)
        let direction = ThreeJSDocument.normalize(frontal ? [0, 0.12, 1] : [0.5, 0.55, 0.85])
        return Camera(position: (0..<3).map { centre[$0] + direction[$0] * distance }, lookAt: centre, fov: 50)
    }

    // MARK: Field checks

    static func checkKeys(_ fields: [String: Value], allowed: [String], at field: String) throws {
        for key in fields.keys.sorted() where !allowed.contains(key) {
            let place = field.isEmpty ? key : field + "." + key
            let near = Suggestions.nearest(key, in: allowed).first
            throw SceneError.invalidField(
                field: place,
                problem: "unknown field (expected \(allowed.joined(separator: ", "))" + (near.map { "; did you mean '\($0)'?" } ?? "") + ")")
        }
    }

    static func color(_ value: Value, at field: String) throws -> Int {
        guard let text = value.stringValue, let rgb = SceneColor.parse(text) else {
            throw SceneError.invalidField(
                field: field, problem: "\(describe(value)) is not a colour (one of \(SceneColor.names.joined(separator: ", ")), or #rrggbb)")
        }
        return rgb
    }

    static func number(_ value: Value, at field: String, in range: ClosedRange<Double>) throws -> Double {
        guard let d = value.doubleValue else {
            throw SceneError.invalidField(field: field, problem: "expected a number, got \(describe(value))")
        }
        guard d.isFinite else { throw SceneError.invalidField(field: field, problem: "\(d) is not a finite number") }
        guard range.contains(d) else {
            throw SceneError.invalidField(
                field: field, problem: "\(OptionProblem.format(d)) is outside \(OptionProblem.format(range.lowerBound))...\(OptionProblem.format(range.upperBound))")
        }
        return d
    }

    static func vector(_ value: Value, at field: String) throws -> [Double] {
        guard let items = value.arrayValue, items.count == 3 else {
            throw SceneError.invalidField(field: field, problem: "expected [x, y, z], got \(describe(value))")
        }
        return try items.enumerated().map { i, v in
            try number(v, at: field + "[\(i)]", in: -maxCoordinate...maxCoordinate)
        }
    }

    /// A short rendering of a value for messages.
    static func describe(_ value: Value) -> String {
        switch value {
        case .string(let s): return "'\(s.count > 40 ? String(s.prefix(40)) + "…" : s)'"
        case .array(let a): return "a list of \(a.count)"
        case .object: return "a map"
        case .double(let d): return d.isNaN ? "NaN" : String(d)
        default: return value.jsonString()
        }
    }
}

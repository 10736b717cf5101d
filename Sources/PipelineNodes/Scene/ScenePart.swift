import Foundation
import PipelineCore
import PipelineMedia

/// One thing a scene is made of: a scene record, a picture (a textured plane), or a point set.
///
/// `parts(from:)` reads them from what arrives on `scene.threejs`'s `scene` port:
/// - a record: a map with `objects` and/or `camera` (see `SceneRecord`);
/// - an image: an image value (from `image.decode`), or `{image: IMAGE or PATH, caption: TEXT}`;
///   the caption may be text, a list of texts, or a `head.imagenet` record (its top labels),
///   one per line;
/// - points: a list of `[x, y, z]` or `[x, y, z, r, g, b]` (colour components 0...1), or
///   `{points: [...], color: NAME, size: METRES}`;
/// - a list of any of these, or `{parts: [...], title: TEXT}` (what `json.collect` gathers, with
///   a title shown above the scene, word-wrapped).
enum ScenePart {
    case record(SceneRecord)
    case image(Image, caption: String?)
    case points(positions: [Double], colors: [Double]?, color: Int, size: Double)
    case title(String)

    static let maxPoints = 1_000_000
    /// Pictures are embedded at most this many pixels on their longer side (a documented clamp).
    static let maxImageSide = 1024

    static func parts(from value: Value, field: String = "scene") throws -> [ScenePart] {
        if let payload = value.imagePayload { return [.image(payload.image, caption: nil)] }
        switch value {
        case .object(let fields):
            if SceneRecord.looksLikeRecord(value) { return [.record(try SceneRecord.parse(value, prefix: field))] }
            if let image = fields["image"] { return [try picture(image, caption: fields["caption"] ?? fields["label"], field: field)] }
            if let points = fields["points"] { return [try pointSet(points, options: fields, field: field)] }
            if let list = fields["parts"] {
                try SceneRecord.checkKeys(fields, allowed: ["parts", "title"], at: field)
                guard case .array = list else {
                    throw SceneError.invalidField(field: field + ".parts", problem: "expected a list, got \(list.kindName)")
                }
                var parts = try self.parts(from: list, field: field + ".parts")
                if let title = fields["title"], title != .null {
                    guard let text = title.stringValue else {
                        throw SceneError.invalidField(field: field + ".title", problem: "expected text, got \(title.kindName)")
                    }
                    if !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { parts.append(.title(text)) }
                }
                return parts
            }
            throw SceneError.unsupportedInput(
                "\(field) is a map with \(fields.keys.sorted().joined(separator: ", ")); expected a scene record (objects, camera), "
                    + "{image, caption}, {points} or {parts, title}")
        case .array(let items):
            if !items.isEmpty, items.allSatisfy({ $0.arrayValue?.allSatisfy({ $0.doubleValue != nil }) ?? false }) {
                return [try pointSet(value, options: [:], field: field)]
            }
            return try items.enumerated().flatMap { i, item -> [ScenePart] in
                if case .array = item, !(item.arrayValue!.allSatisfy { $0.arrayValue != nil }) {
                    throw SceneError.unsupportedInput("\(field)[\(i)] is a list that is neither points nor scene parts")
                }
                return try parts(from: item, field: field + "[\(i)]")
            }
        default:
            throw SceneError.unsupportedInput(
                "\(field) is \(value.kindName); expected a scene record, an image, points, or a list of these")
        }
    }

    static func picture(_ value: Value, caption: Value?, field: String) throws -> ScenePart {
        var image: Image
        if let payload = value.imagePayload {
            image = payload.image
        } else if let path = value.stringValue {
            do {
                image = try ImageDecoder.decode(path: path)
            } catch {
                throw SceneError.invalidField(field: field + ".image", problem: "\(path) is not a decodable image: \(error)")
            }
        } else {
            throw SceneError.invalidField(field: field + ".image", problem: "expected an image or a path, got \(value.kindName)")
        }
        guard image.width > 0, image.height > 0 else {
            throw SceneError.invalidField(field: field + ".image", problem: "empty image (\(image.width)x\(image.height))")
        }
        let longer = max(image.width, image.height)
        if longer > maxImageSide {
            let scale = Double(maxImageSide) / Double(longer)
            image = try image.scaled(
                width: max(1, Int((Double(image.width) * scale).rounded())), height: max(1, Int((Double(image.height) * scale).rounded())),
                algorithm: .area)
        }
        return .image(image, caption: try caption.flatMap { try captionText($0, field: field + ".caption") })
    }

    /// Caption text from text, a list of texts, or a `head.imagenet` record.
    static func captionText(_ value: Value, field: String) throws -> String? {
        switch value {
        case .null: return nil
        case .string(let s): return s.isEmpty ? nil : s
        case .array(let items):
            let texts = try items.enumerated().compactMap { i, v in try captionText(v, field: field + "[\(i)]") }
            return texts.isEmpty ? nil : texts.joined(separator: "\n")
        case .object(let fields):
            if let top = fields["top"]?.arrayValue {
                let texts = top.compactMap { entry -> String? in
                    guard let label = entry["label"]?.stringValue else { return nil }
                    let short = label.split(separator: ",").first.map(String.init) ?? label
                    if let p = entry["probability"]?.doubleValue { return "\(short) \(Int((p * 100).rounded()))%" }
                    return short
                }
                return texts.isEmpty ? nil : texts.joined(separator: "\n")
            }
            if let label = fields["label"]?.stringValue { return label }
            throw SceneError.invalidField(field: field, problem: "a map without 'top' or 'label'")
        default:
            throw SceneError.invalidField(field: field, problem: "expected text, got \(value.kindName)")
        }
    }

    static func pointSet(_ value: Value, options: [String: Value], field: String) throws -> ScenePart {
        try SceneRecord.checkKeys(options, allowed: ["points", "color", "size"], at: field)
        let listField = options.isEmpty ? field : field + ".points"
        guard let items = value.arrayValue else {
            throw SceneError.invalidField(field: listField, problem: "expected a list of [x, y, z], got \(value.kindName)")
        }
        guard !items.isEmpty else { throw SceneError.invalidField(field: listField, problem: "no points") }
        guard items.count <= maxPoints else {
            throw SceneError.invalidField(field: listField, problem: "\(items.count) points, more than \(maxPoints)")
        }
        var positions: [Double] = []
        positions.reserveCapacity(items.count * 3)
        var colors: [Double]? = nil
        for (i, item) in items.enumerated() {
            let here = listField + "[\(i)]"
            guard let xs = item.arrayValue, xs.count == 3 || xs.count == 6 else {
                throw SceneError.invalidField(field: here, problem: "expected [x, y, z] or [x, y, z, r, g, b], got \(SceneRecord.describe(item))")
            }
            for k in 0..<3 {
                positions.append(try SceneRecord.number(xs[k], at: here + "[\(k)]", in: -SceneRecord.maxCoordinate...SceneRecord.maxCoordinate))
            }
            if i == 0, xs.count == 6 { colors = [] }
            guard (xs.count == 6) == (colors != nil) else {
                throw SceneError.invalidField(field: here, problem: "every point needs a colour when the first has one, and none otherwise")
            }
            if xs.count == 6 {
                for k in 3..<6 { colors!.append(try SceneRecord.number(xs[k], at: here + "[\(k)]", in: 0...1)) }
            }
        }
        let color = try options["color"].map { try SceneRecord.color($0, at: field + ".color") } ?? 0x333A44
        let size = try options["size"].map { try SceneRecord.number($0, at: field + ".size", in: 0.001...10) } ?? 0.08
        return .points(positions: positions, colors: colors, color: color, size: size)
    }
}

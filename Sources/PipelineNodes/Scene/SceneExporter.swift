import Foundation
import PipelineCore
import PipelineMedia

/// Turns scene parts into a three.js JSON Object Scene (format 4.5).
///
/// The tree: a `Scene` (background colour) holding a `PerspectiveCamera` named `camera`, an
/// ambient and a directional light, a ground plane with a 1 m grid, then one object per record
/// object (`Mesh`, named `object-N`), picture (`Mesh` with a textured `PlaneGeometry`, `image-N`)
/// and point set (`Points`, `points-N`), each with `userData.kind` (`object`, `image`, `points`)
/// so a loader can count what the record asked for; labels and captions are `Sprite`s named
/// `label-N` / `caption-N` with a PNG texture drawn by `LabelRasterizer`.
///
/// Geometry types are `BoxGeometry`, `SphereGeometry`, `CylinderGeometry`, `ConeGeometry` and
/// `PlaneGeometry` with their parameters: three.js r111's `ObjectLoader` builds these (as its
/// legacy `Geometry` classes), and current three.js builds them as `BufferGeometry`, whereas the
/// `…BufferGeometry` names r111 also knows were removed in r144. Points and grid lines are plain
/// `BufferGeometry` with attributes, which both read.
struct SceneExporter {
    /// What the exporter made, besides the document: for the renderer and tests.
    struct Summary {
        /// Meshes and point sets with `userData.kind` (one per record object, picture, point set).
        var objectCount: Int
        var camera: SceneRecord.Camera
        var background: Int
    }

    static let groundColor = 0xC9CED6
    static let gridColor = 0x9AA1AB
    static let labelHeight = 0.28
    static let pictureHeight = 1.6

    private var document = ThreeJSDocument()
    private var children: [Value] = []
    private var boxes: [[[Double]]] = []
    private var objectCount = 0

    /// Exports `parts` and returns the document and a summary.
    static func export(_ parts: [ScenePart]) throws -> (document: Value, summary: Summary) {
        var exporter = SceneExporter()
        return try exporter.run(parts)
    }

    private mutating func run(_ parts: [ScenePart]) throws -> (document: Value, summary: Summary) {
        let records = parts.compactMap { if case .record(let r) = $0 { return r } else { return nil } }
        var camera = records.compactMap(\.camera).first
        let background = records.first?.background ?? SceneRecord.defaultBackground

        var objectIndex = 0
        for record in records {
            for object in record.objects {
                try addObject(object, index: objectIndex)
                objectIndex += 1
            }
        }
        let pictures = parts.compactMap { part -> (Image, String?)? in
            if case .image(let image, let caption) = part { return (image, caption) } else { return nil }
        }
        try addPictures(pictures, behind: boxes.isEmpty ? nil : boxes.map { $0[0][2] }.min()!)
        var pointIndex = 0
        for case .points(let positions, let colors, let color, let size) in parts {
            addPoints(positions, colors: colors, color: color, size: size, index: pointIndex)
            pointIndex += 1
        }
        let titles = parts.compactMap { if case .title(let t) = $0 { return t } else { return nil } }
        if !titles.isEmpty {
            try addTitle(titles.joined(separator: " "))
        }
        if camera == nil {
            camera = SceneRecord.frame(boxes, frontal: records.isEmpty && pointIndex == 0 && !pictures.isEmpty)
        }
        let root = sceneRoot(camera: camera!, background: background)
        return (document.value(root: root), Summary(objectCount: objectCount, camera: camera!, background: background))
    }

    // MARK: Record objects

    private mutating func addObject(_ object: SceneRecord.Object, index: Int) throws {
        let s = object.size
        let geometry: [String: Value]
        switch object.shape {
        case .cube:
            geometry = ["type": "BoxGeometry", "width": num(s), "height": num(s), "depth": num(s)]
        case .sphere:
            geometry = ["type": "SphereGeometry", "radius": num(s / 2), "widthSegments": 32, "heightSegments": 16]
        case .cylinder:
            geometry = ["type": "CylinderGeometry", "radiusTop": num(s / 2), "radiusBottom": num(s / 2), "height": num(s),
                        "radialSegments": 32]
        case .cone:
            geometry = ["type": "ConeGeometry", "radius": num(s / 2), "height": num(s), "radialSegments": 32]
        }
        let material: [String: Value] = ["type": "MeshLambertMaterial", "color": .int(object.color)]
        let centre = object.centre
        var mesh = node(
            "Mesh", name: "object-\(index)",
            matrix: ThreeJSDocument.matrix(position: centre, rotationY: object.rotationY * .pi / 180),
            userData: ["kind": "object", "index": .int(index), "shape": .string(object.shape.rawValue),
                       "color": .string(SceneColor.hex(object.color))])
        mesh["geometry"] = .string(document.geometry(geometry))
        mesh["material"] = .string(document.material(material))
        children.append(.object(mesh))
        boxes.append(object.bounds)
        objectCount += 1
        if let label = object.label {
            try addLabel(label, name: "label-\(index)", above: [centre[0], centre[1] + s / 2, centre[2]])
        }
    }

    // MARK: Pictures

    /// Pictures stand upright in a row, facing +z, behind the record's objects (`behind` is
    /// the nearest z they must stay behind), each `pictureHeight` high.
    private mutating func addPictures(_ pictures: [(Image, String?)], behind: Double?) throws {
        guard !pictures.isEmpty else { return }
        let gap = 0.4
        let widths = pictures.map { Self.pictureHeight * Double($0.0.width) / Double($0.0.height) }
        let total = widths.reduce(0, +) + gap * Double(pictures.count - 1)
        let z = behind.map { $0 - 1 } ?? 0
        var x = -total / 2
        for (i, (image, caption)) in pictures.enumerated() {
            let w = widths[i], h = Self.pictureHeight
            let centre = [x + w / 2, 0.15 + h / 2, z]
            let png = try MediaSupport.attempt(nil) { try ImageWriter.encode(image, format: .png) }
            let texture = document.texture(textureFields(document.image(bytes: png, mime: "image/png")))
            var mesh = node(
                "Mesh", name: "image-\(i)", matrix: ThreeJSDocument.matrix(position: centre),
                userData: ["kind": "image", "index": .int(i), "width": .int(image.width), "height": .int(image.height)])
            mesh["geometry"] = .string(document.geometry(["type": "PlaneGeometry", "width": num(w), "height": num(h)]))
            mesh["material"] = .string(document.material(["type": "MeshBasicMaterial", "color": 0xFFFFFF, "map": .string(texture), "side": 2]))
            children.append(.object(mesh))
            boxes.append([[centre[0] - w / 2, centre[1] - h / 2, z - 0.01], [centre[0] + w / 2, centre[1] + h / 2, z + 0.01]])
            objectCount += 1
            if let caption {
                try addLabel(caption, name: "caption-\(i)", above: [centre[0], centre[1] + h / 2, z], maxWidth: w)
            }
            x += w + gap
        }
    }

    // MARK: Points

    private mutating func addPoints(_ positions: [Double], colors: [Double]?, color: Int, size: Double, index: Int) {
        var attributes: [String: Value] = ["position": attribute(positions)]
        if let colors { attributes["color"] = attribute(colors) }
        let geometry: [String: Value] = ["type": "BufferGeometry", "data": ["attributes": .object(attributes)]]
        var material: [String: Value] = [
            "type": "PointsMaterial", "size": num(size), "sizeAttenuation": true,
            "color": .int(colors == nil ? color : 0xFFFFFF),
        ]
        if colors != nil { material["vertexColors"] = true }
        var points = node("Points", name: "points-\(index)", matrix: ThreeJSDocument.matrix(position: [0, 0, 0]),
                          userData: ["kind": "points", "index": .int(index), "count": .int(positions.count / 3)])
        points["geometry"] = .string(document.geometry(geometry))
        points["material"] = .string(document.material(material))
        children.append(.object(points))
        var lo = [Double](repeating: .infinity, count: 3), hi = [Double](repeating: -.infinity, count: 3)
        for i in stride(from: 0, to: positions.count, by: 3) {
            for k in 0..<3 {
                lo[k] = min(lo[k], positions[i + k])
                hi[k] = max(hi[k], positions[i + k])
            }
        }
        boxes.append([lo, hi])
        objectCount += 1
    }

    // MARK: Labels

    /// A title above everything, word-wrapped to `LabelRasterizer.maxCharacters` columns.
    private mutating func addTitle(_ text: String) throws {
        var lines: [String] = [], line = ""
        for word in text.split(whereSeparator: \.isWhitespace) {
            if !line.isEmpty && line.count + 1 + word.count > LabelRasterizer.maxCharacters {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        let top = boxes.map { $0[1][1] }.max() ?? 0
        let xs = boxes.flatMap { [$0[0][0], $0[1][0]] }, zs = boxes.flatMap { [$0[0][2], $0[1][2]] }
        let centre = [((xs.min() ?? 0) + (xs.max() ?? 0)) / 2, top + 0.3, zs.min() ?? 0]
        try addLabel(lines.prefix(LabelRasterizer.maxLines).joined(separator: "\n"), name: "title", above: centre)
    }

    /// A sprite with the label's picture, its bottom `0.12` m above `above`: `labelHeight` per
    /// line, narrowed (and lowered in proportion) to `maxWidth` when given.
    private mutating func addLabel(_ text: String, name: String, above: [Double], maxWidth: Double? = nil) throws {
        let picture = LabelRasterizer.image(text)
        let png = try MediaSupport.attempt(nil) { try ImageWriter.encode(picture, format: .png) }
        let texture = document.texture(textureFields(document.image(bytes: png, mime: "image/png")))
        // One line is `labelHeight` high; more lines grow the panel in proportion.
        var h = Self.labelHeight * Double(picture.height) / Double(LabelFont.cellHeight + 2 * LabelRasterizer.padding)
        var w = h * Double(picture.width) / Double(picture.height)
        if let maxWidth, w > maxWidth {
            h *= maxWidth / w
            w = maxWidth
        }
        let centre = [above[0], above[1] + 0.12 + h / 2, above[2]]
        var sprite = node("Sprite", name: name, matrix: ThreeJSDocument.matrix(position: centre, scale: [w, h, 1]),
                          userData: ["kind": "label", "text": .string(text)])
        sprite["material"] = .string(document.material(["type": "SpriteMaterial", "map": .string(texture), "color": 0xFFFFFF,
                                                        "transparent": true, "depthWrite": false]))
        children.append(.object(sprite))
        // Labels count for framing, and for placing a title above everything.
        boxes.append([[centre[0] - w / 2, centre[1] - h / 2, centre[2]], [centre[0] + w / 2, centre[1] + h / 2, centre[2]]])
    }

    // MARK: Scene, camera, lights, ground

    private mutating func sceneRoot(camera: SceneRecord.Camera, background: Int) -> Value {
        var lo = [-5.0, 0, -5], hi = [5.0, 0, 5]
        for box in boxes {
            lo[0] = min(lo[0], box[0][0]); lo[2] = min(lo[2], box[0][2])
            hi[0] = max(hi[0], box[1][0]); hi[2] = max(hi[2], box[1][2])
        }
        // A square ground on whole metres, 2 m beyond everything.
        let half = (max(hi[0] - lo[0], hi[2] - lo[2]) / 2 + 2).rounded(.up)
        let cx = ((lo[0] + hi[0]) / 2).rounded(), cz = ((lo[2] + hi[2]) / 2).rounded()

        var cameraNode = node("PerspectiveCamera", name: "camera",
                              matrix: ThreeJSDocument.lookAtMatrix(eye: camera.position, target: camera.lookAt),
                              userData: ["look_at": ThreeJSDocument.numbers(camera.lookAt)])
        cameraNode["fov"] = num(camera.fov)
        cameraNode["aspect"] = num(4.0 / 3)
        cameraNode["near"] = 0.05
        cameraNode["far"] = 5000
        cameraNode["zoom"] = 1

        var ambient = node("AmbientLight", name: "ambient", matrix: ThreeJSDocument.matrix(position: [0, 0, 0]))
        ambient["color"] = 0xFFFFFF
        ambient["intensity"] = num(0.55)
        var sun = node("DirectionalLight", name: "sun", matrix: ThreeJSDocument.matrix(position: [4, 10, 7]))
        sun["color"] = 0xFFFFFF
        sun["intensity"] = num(0.6)

        var ground = node("Mesh", name: "ground",
                          matrix: ThreeJSDocument.numbers([1, 0, 0, 0, 0, 0, -1, 0, 0, 1, 0, 0, cx, 0, cz, 1]))
        ground["geometry"] = .string(document.geometry(["type": "PlaneGeometry", "width": num(2 * half), "height": num(2 * half)]))
        ground["material"] = .string(document.material(["type": "MeshLambertMaterial", "color": .int(Self.groundColor)]))

        var lines: [Double] = []
        var t = -half
        while t <= half {
            lines += [cx + t, 0.002, cz - half, cx + t, 0.002, cz + half, cx - half, 0.002, cz + t, cx + half, 0.002, cz + t]
            t += 1
        }
        var grid = node("LineSegments", name: "grid", matrix: ThreeJSDocument.matrix(position: [0, 0, 0]))
        grid["geometry"] = .string(document.geometry(["type": "BufferGeometry", "data": ["attributes": ["position": attribute(lines)]]]))
        grid["material"] = .string(document.material(["type": "LineBasicMaterial", "color": .int(Self.gridColor)]))

        var scene = node("Scene", name: "scene", matrix: ThreeJSDocument.matrix(position: [0, 0, 0]))
        scene["background"] = .int(background)
        scene["children"] = .array([.object(cameraNode), .object(ambient), .object(sun), .object(ground), .object(grid)] + children)
        return .object(scene)
    }

    // MARK: Helpers

    /// An object node with a uuid from its name and content.
    private func node(_ type: String, name: String, matrix: Value, userData: [String: Value] = [:]) -> [String: Value] {
        var fields: [String: Value] = ["type": .string(type), "name": .string(name), "matrix": matrix]
        if !userData.isEmpty { fields["userData"] = .object(userData) }
        fields["uuid"] = .string(ThreeJSDocument.uuid("object:" + Value.object(fields).jsonString()))
        return fields
    }

    private func textureFields(_ image: String) -> [String: Value] {
        ["image": .string(image), "wrap": [1001, 1001], "minFilter": 1008, "magFilter": 1006, "anisotropy": 1, "flipY": true]
    }

    private func attribute(_ values: [Double]) -> Value {
        ["itemSize": 3, "type": "Float32Array", "normalized": false, "array": .array(values.map { num(Double(Float($0))) })]
    }

    private func num(_ d: Double) -> Value { ThreeJSDocument.number(d) }
}

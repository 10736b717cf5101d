import Foundation
import PipelineCore

/// A three.js JSON Object Scene (format 4.5) under construction: the shared resource lists
/// (`geometries`, `materials`, `textures`, `images`) and the `object` tree.
///
/// Resources are content-addressed: a resource's uuid is a hash of its type and fields, so the
/// same box or colour is written once however many meshes use it, and the same scene always
/// gives the same bytes (files diff well). Objects get uuids from their path in the tree and
/// their content.
struct ThreeJSDocument {
    private(set) var geometries: [Value] = []
    private(set) var materials: [Value] = []
    private(set) var textures: [Value] = []
    private(set) var images: [Value] = []
    private var known: Set<String> = []

    /// Adds a geometry (fields without `uuid`) and returns its uuid.
    mutating func geometry(_ fields: [String: Value]) -> String { add(fields, to: \.geometries, kind: "geometry") }
    mutating func material(_ fields: [String: Value]) -> String { add(fields, to: \.materials, kind: "material") }
    mutating func texture(_ fields: [String: Value]) -> String { add(fields, to: \.textures, kind: "texture") }
    /// Adds an image from its file bytes as a data URL (`image/png` or `image/jpeg`).
    mutating func image(bytes: [UInt8], mime: String) -> String {
        add(["url": .string("data:\(mime);base64," + Data(bytes).base64EncodedString())], to: \.images, kind: "image")
    }

    private mutating func add(_ fields: [String: Value], to list: WritableKeyPath<ThreeJSDocument, [Value]>, kind: String) -> String {
        let uuid = Self.uuid(kind + ":" + Value.object(fields).jsonString())
        if known.insert(uuid).inserted {
            var withID = fields
            withID["uuid"] = .string(uuid)
            self[keyPath: list].append(.object(withID))
        }
        return uuid
    }

    /// The whole document with `root` as its `object`.
    func value(root: Value) -> Value {
        var fields: [String: Value] = [
            "metadata": ["version": 4.5, "type": "Object", "generator": "pipeline scene.threejs"],
            "object": root,
        ]
        fields["geometries"] = .array(geometries)
        fields["materials"] = .array(materials)
        if !textures.isEmpty { fields["textures"] = .array(textures) }
        if !images.isEmpty { fields["images"] = .array(images) }
        return .object(fields)
    }

    /// A deterministic RFC 4122-shaped uuid (version 5 layout) from a 128-bit FNV-1a hash of `content`.
    static func uuid(_ content: String) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x6c62_272e_07bb_0142
        for byte in content.utf8 {
            a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            b = b ^ (b >> 29)
        }
        a ^= b >> 17
        b ^= a << 13
        var bytes = withUnsafeBytes(of: a.bigEndian, Array.init) + withUnsafeBytes(of: b.bigEndian, Array.init)
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String(format: "%02X", $0) }.joined()
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }

    // MARK: Matrices (column-major, as three.js's `Matrix4.elements`)

    /// Translation, then rotation about y (radians), then uniform scale.
    static func matrix(position p: [Double], rotationY: Double = 0, scale: [Double] = [1, 1, 1]) -> Value {
        let c = cos(rotationY), s = sin(rotationY)
        return numbers([c * scale[0], 0, -s * scale[0], 0, 0, scale[1], 0, 0, s * scale[2], 0, c * scale[2], 0, p[0], p[1], p[2], 1])
    }

    /// A camera (or any object) at `eye` whose -z axis points at `target`, y up (three.js `lookAt`).
    static func lookAtMatrix(eye: [Double], target: [Double]) -> Value {
        var z = normalize(zip(eye, target).map { $0 - $1 })
        if z.allSatisfy({ $0 == 0 }) { z = [0, 0, 1] }
        var x = normalize(cross([0, 1, 0], z))
        if x.allSatisfy({ $0 == 0 }) { x = normalize(cross([0, 0, 1], z)) }
        let y = cross(z, x)
        return numbers([x[0], x[1], x[2], 0, y[0], y[1], y[2], 0, z[0], z[1], z[2], 0, eye[0], eye[1], eye[2], 1])
    }

    static func cross(_ a: [Double], _ b: [Double]) -> [Double] {
        [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    }

    static func normalize(_ v: [Double]) -> [Double] {
        let n = sqrt(v.map { $0 * $0 }.reduce(0, +))
        return n > 1e-12 ? v.map { $0 / n } : [0, 0, 0]
    }

    /// Numbers as JSON values, rounded to 9 significant digits so files stay short and stable.
    static func numbers(_ values: [Double]) -> Value {
        .array(values.map { number($0) })
    }

    static func number(_ d: Double) -> Value {
        if d == 0 { return .int(0) }
        let rounded = Double(String(format: "%.9g", d))!
        if rounded.rounded() == rounded && abs(rounded) < 1e15 { return .int(Int(rounded)) }
        return .double(rounded)
    }
}

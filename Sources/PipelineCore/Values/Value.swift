import Foundation

/// A value carried by a packet.
///
/// JSON-shaped cases cover what most nodes exchange; `.payload` carries domain values
/// (decoded images, audio, tensors) defined by other targets without the core knowing them.
public enum Value: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([Value])
    case object([String: Value])
    case bytes(Data)
    indirect case payload(any Payload)
}

/// A domain value that travels through the graph (an image, an audio window, a tensor).
///
/// Conformers say which port type they are and how they look in JSON, so sinks and
/// error messages can show them without knowing the type.
public protocol Payload: Sendable {
    /// The port type this value satisfies.
    var portType: PortType { get }
    /// A JSON-friendly summary (sizes, not pixels).
    var summary: Value { get }
}

extension Value {
    /// The narrowest port type this value satisfies; used for run-time checks on `any` ports.
    public var portType: PortType {
        switch self {
        case .null: return .json
        case .bool: return .bool
        case .int, .double: return .number
        case .string: return .text
        case .array, .object: return .json
        case .bytes: return .bytes
        case .payload(let p): return p.portType
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9e15: return Int(d)
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [Value]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [String: Value]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Looks up `key` in an object value.
    public subscript(key: String) -> Value? {
        objectValue?[key]
    }

    /// A short description of the value's kind, for error messages.
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "number"
        case .string: return "string"
        case .array: return "list"
        case .object: return "map"
        case .bytes: return "bytes"
        case .payload(let p): return p.portType.name
        }
    }
}

extension Value: Equatable {
    public static func == (lhs: Value, rhs: Value) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b
        case let (.int(a), .double(b)), let (.double(b), .int(a)): return Double(a) == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)): return a == b
        case let (.bytes(a), .bytes(b)): return a == b
        default: return false
        }
    }
}

extension Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: Value...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, Value)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

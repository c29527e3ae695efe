import SaddleCore

/// One configurable parameter of a registered component: its JSON key (the snake_case form of
/// the Swift argument label), type, allowed range, default and a one-line description.
public struct ParameterSpec: Sendable {
    /// The JSON values a parameter accepts.
    public enum ValueType: Sendable {
        /// A whole number in the range.
        case integer(ClosedRange<Int>)
        /// A finite number in the range; `exclusiveMinimum` excludes the lower bound.
        case number(ClosedRange<Double>, exclusiveMinimum: Bool)
        /// `true` or `false`.
        case boolean
        /// A non-empty string.
        case string
        /// One of the listed strings.
        case choice([String])
        /// A weight initializer: a name, or an object with a name and its arguments.
        case initializer
        /// A list of layer configurations (container bodies).
        case layers
        /// A nested component of the given kind (name or object with "name").
        case component(ComponentKind)
        /// An extent pair (kernel, stride, padding): a whole number in the range for a square
        /// pair, or `[height, width]`; with `allowsSame`, also the string `"same"`.
        case size(ClosedRange<Int>, allowsSame: Bool)
    }

    /// The JSON key (snake_case).
    public var name: String
    /// The values the parameter accepts.
    public var type: ValueType
    /// The value used when the key is absent; nil makes the parameter required.
    public var defaultValue: JSONValue?
    /// A one-line description for listings and the schema.
    public var summary: String

    /// A parameter named `name` of `type`, required unless given a default, described by `summary`.
    public init(_ name: String, _ type: ValueType, default defaultValue: JSONValue? = nil, _ summary: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.summary = summary
    }

    /// Whether the key must be given (the parameter has no default).
    public var isRequired: Bool { defaultValue == nil }

    /// A short description of the type for messages and listings.
    public var typeDescription: String {
        switch type {
        case .integer(let range): "integer in \(range.lowerBound)...\(range.upperBound)"
        case .number(let range, let exclusive):
            "number \(exclusive ? ">" : ">=") \(JSONValue.format(range.lowerBound))" + (range.upperBound.isFinite && range.upperBound < .greatestFiniteMagnitude ? " and <= \(JSONValue.format(range.upperBound))" : "")
        case .boolean: "boolean"
        case .string: "string"
        case .choice(let options): "one of " + options.joined(separator: ", ")
        case .initializer: "initializer (\(WeightInitializer.names.joined(separator: ", ")))"
        case .layers: "list of layers"
        case .component(let kind): kind.rawValue
        case let .size(range, same):
            "integer or [height, width] of integers in \(range.lowerBound)...\(range.upperBound)" + (same ? ", or \"same\"" : "")
        }
    }
}

/// Validated arguments of one component: every key known, every value of the right type and
/// in range, defaults filled in, in the order of the component's parameter list.
public struct Arguments: Sendable {
    /// The path of the component's configuration; errors about its parameters extend it.
    public let path: JSONPath
    /// Every parameter's value as (name, value), defaults filled in, in the parameter list's order.
    public private(set) var values: [(String, JSONValue)]

    /// Checks `object` (the component's members other than its name key) against `specs`.
    /// - Throws: `ConfigurationError` naming the path of the first bad member.
    public init(_ members: [(String, JSONValue)], specs: [ParameterSpec], path: JSONPath, component: String) throws {
        self.path = path
        let known = specs.map(\.name)
        for (key, _) in members where !known.contains(key) {
            let hint = nearest(to: key, among: known).map { "; did you mean \"\($0)\"?" } ?? (known.isEmpty ? "; it takes no parameters" : "; it takes " + known.joined(separator: ", "))
            throw ConfigurationError(path.appending(key), "unknown key \"\(key)\" for \(component)\(hint)")
        }
        var values: [(String, JSONValue)] = []
        for spec in specs {
            let given = members.first { $0.0 == spec.name }?.1
            guard let value = given ?? spec.defaultValue else {
                throw ConfigurationError(path.appending(spec.name), "missing required key \"\(spec.name)\" (\(spec.typeDescription)) for \(component)")
            }
            if given != nil { try Arguments.check(value, against: spec, at: path.appending(spec.name)) }
            values.append((spec.name, value))
        }
        self.values = values
    }

    static func check(_ value: JSONValue, against spec: ParameterSpec, at path: JSONPath) throws {
        if value == .null, spec.defaultValue == .null { return }
        func wrong() -> ConfigurationError {
            ConfigurationError(path, "expected \(spec.typeDescription), got \(value.typeName) \(value.description.prefix(60))")
        }
        switch spec.type {
        case .integer(let range):
            guard case .number(let x) = value, x.rounded() == x else { throw wrong() }
            guard x >= Double(range.lowerBound), x <= Double(range.upperBound) else {
                throw ConfigurationError(path, "\(JSONValue.format(x)) is out of range; expected \(spec.typeDescription)")
            }
        case .number(let range, let exclusive):
            guard case .number(let x) = value else { throw wrong() }
            guard x.isFinite, exclusive ? x > range.lowerBound : x >= range.lowerBound, x <= range.upperBound else {
                throw ConfigurationError(path, "\(JSONValue.format(x)) is out of range; expected \(spec.typeDescription)")
            }
        case .boolean:
            guard case .bool = value else { throw wrong() }
        case .string:
            guard case .string(let text) = value, !text.isEmpty else { throw wrong() }
        case .choice(let options):
            guard case .string(let text) = value else { throw wrong() }
            guard options.contains(text) else {
                let hint = nearest(to: text, among: options).map { "; did you mean \"\($0)\"?" } ?? ""
                throw ConfigurationError(path, "\"\(text)\" is not one of \(options.joined(separator: ", "))\(hint)")
            }
        case .initializer:
            _ = try WeightInitializer.decode(value, at: path)
        case .layers:
            guard case .array = value else { throw wrong() }
        case .component:
            switch value {
            case .string, .object: break
            default: throw wrong()
            }
        case let .size(range, same):
            if same, value == .string("same") { return }
            let parts: [JSONValue]
            switch value {
            case .number: parts = [value]
            case .array(let items) where items.count == 2: parts = items
            default: throw wrong()
            }
            for (index, part) in parts.enumerated() {
                let at = parts.count == 2 ? path.appending(index) : path
                guard case .number(let x) = part, x.rounded() == x else {
                    throw ConfigurationError(at, "expected \(spec.typeDescription), got \(part.typeName) \(part.description.prefix(60))")
                }
                guard x >= Double(range.lowerBound), x <= Double(range.upperBound) else {
                    throw ConfigurationError(at, "\(JSONValue.format(x)) is out of range; expected \(spec.typeDescription)")
                }
            }
        }
    }

    /// The value of the parameter `name`, or nil when the component has no such parameter.
    public subscript(name: String) -> JSONValue? { values.first { $0.0 == name }?.1 }

    /// The path of a parameter, for errors raised while building.
    public func path(of name: String) -> JSONPath { path.appending(name) }

    /// The integer parameter `name` (0 when it is not a number).
    public func int(_ name: String) -> Int {
        if case .number(let x)? = self[name] { return Int(x) }
        return 0
    }

    /// The number parameter `name` (0 when it is not a number).
    public func double(_ name: String) -> Double {
        if case .number(let x)? = self[name] { return x }
        return 0
    }

    /// A number parameter that may be null (absent meaning "off").
    public func optionalDouble(_ name: String) -> Double? {
        if case .number(let x)? = self[name] { return x }
        return nil
    }

    /// The boolean parameter `name` (false when it is not a boolean).
    public func bool(_ name: String) -> Bool {
        if case .bool(let b)? = self[name] { return b }
        return false
    }

    /// The string parameter `name` (empty when it is not a string).
    public func string(_ name: String) -> String {
        if case .string(let s)? = self[name] { return s }
        return ""
    }

    /// The extent-pair parameter `name` (a checked integer or `[height, width]`), or nil when
    /// it is absent, null or `"same"`.
    public func size(_ name: String) -> Size2D? {
        switch self[name] {
        case .number(let x)?: return Size2D(Int(x), Int(x))
        case .array(let items)? where items.count == 2:
            if case .number(let h) = items[0], case .number(let w) = items[1] { return Size2D(Int(h), Int(w)) }
            return nil
        default: return nil
        }
    }

    /// The initializer parameter `name`, fan_in_uniform when absent.
    /// - Throws: `ConfigurationError` at the parameter for an unknown name or bad arguments.
    public func initializer(_ name: String) throws -> WeightInitializer {
        try WeightInitializer.decode(self[name] ?? .string("fan_in_uniform"), at: path(of: name))
    }
}

extension Size2D {
    /// The JSON form of an extent-pair parameter: one number when square, `[height, width]`
    /// otherwise (what `Arguments.size(_:)` reads back).
    package var json: JSONValue {
        height == width ? .number(Double(height)) : .array([.number(Double(height)), .number(Double(width))])
    }
}

extension WeightInitializer {
    /// The names accepted in configurations.
    public static let names = ["fan_in_uniform", "glorot_uniform", "he_normal", "he_uniform", "orthogonal", "normal", "zeros"]

    /// The JSON form: a bare name, or an object for initializers with arguments.
    public var json: JSONValue {
        switch self {
        case .fanInUniform: .string("fan_in_uniform")
        case .glorotUniform: .string("glorot_uniform")
        case .heNormal: .string("he_normal")
        case .heUniform: .string("he_uniform")
        case .zeros: .string("zeros")
        case .orthogonal(let gain): .object([("name", .string("orthogonal")), ("gain", .number(gain))])
        case .normal(let deviation): .object([("name", .string("normal")), ("standard_deviation", .number(deviation))])
        }
    }

    /// Reads the JSON form.
    /// - Throws: `ConfigurationError` at `path` for unknown names or bad arguments.
    public static func decode(_ value: JSONValue, at path: JSONPath) throws -> WeightInitializer {
        var name: String
        var members: [(String, JSONValue)] = []
        switch value {
        case .string(let text): name = text
        case .object(let object):
            guard case .string(let text)? = value["name"] else { throw ConfigurationError(path.appending("name"), "an initializer object needs a \"name\"") }
            name = text
            members = object.filter { $0.0 != "name" }
        default:
            throw ConfigurationError(path, "expected an initializer name or object, got \(value.typeName)")
        }
        let specs: [ParameterSpec]
        switch name {
        case "orthogonal": specs = [ParameterSpec("gain", .number(0...1e6, exclusiveMinimum: true), default: .number(1), "scale of the orthogonal matrix")]
        case "normal": specs = [ParameterSpec("standard_deviation", .number(0...1e6, exclusiveMinimum: true), "standard deviation")]
        default:
            guard names.contains(name) else {
                let hint = nearest(to: name, among: names).map { "; did you mean \"\($0)\"?" } ?? ""
                throw ConfigurationError(path, "unknown initializer \"\(name)\"\(hint)")
            }
            specs = []
        }
        let arguments = try Arguments(members, specs: specs, path: path, component: "initializer \(name)")
        switch name {
        case "fan_in_uniform": return .fanInUniform
        case "glorot_uniform": return .glorotUniform
        case "he_normal": return .heNormal
        case "he_uniform": return .heUniform
        case "orthogonal": return .orthogonal(gain: arguments.double("gain"))
        case "normal": return .normal(standardDeviation: arguments.double("standard_deviation"))
        default: return .zeros
        }
    }
}

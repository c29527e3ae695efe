/// A JSON Schema (draft 2020-12) of run files, generated from a registry so that editors can
/// complete and validate configurations, plugin components included.
public enum ConfigurationSchema {
    /// The schema of run files whose components are those registered in `registry`.
    public static func make(registry: Registry) -> JSONValue {
        var definitions: [(String, JSONValue)] = [("initializer", initializerSchema())]
        for kind in ComponentKind.allCases where kind != .activation {
            let entries = kind == .layer ? registry.entries(.layer) + registry.entries(.activation) : registry.entries(kind)
            let nameKey = kind == .layer ? "layer" : "name"
            let objects = entries.map { componentSchema($0, nameKey: nameKey) }
            let bare = entries.filter { $0.parameters.allSatisfy { !$0.isRequired } }.map { JSONValue.string($0.name) }
            var options: [JSONValue] = objects
            if !bare.isEmpty { options.insert(.object([("enum", .array(bare))]), at: 0) }
            definitions.append((kind.rawValue, .object([
                ("description", .string("a \(kind == .layer ? "layer or activation" : kind.rawValue): a name, or an object with \"\(nameKey)\" and its parameters")),
                ("anyOf", .array(options.isEmpty ? [.object([("enum", .array([]))])] : options)),
            ])))
        }
        let trainProperties = RunConfiguration.trainSpecs.map { ($0.name, parameterSchema($0)) }
        let properties: [(String, JSONValue)] = [
            ("format_version", .object([("type", .string("integer")), ("minimum", 1), ("maximum", .number(Double(RunConfiguration.formatVersion)))])),
            ("name", .object([("type", .string("string")), ("pattern", .string("^[A-Za-z0-9_.-]+$"))])),
            ("seed", .object([("type", .string("integer")), ("minimum", 0), ("maximum", .number(Double(Int32.max)))])),
            ("dtype", .object([("enum", .array([.string("float32"), .string("float64")]))])),
            ("plugins", .object([
                ("type", .string("array")),
                ("items", .object([
                    ("type", .string("object")), ("additionalProperties", .bool(false)), ("required", .array([.string("path")])),
                    ("properties", .object([
                        ("path", .object([("type", .string("string")), ("minLength", 1)])),
                        ("sha256", .object([("type", .array([.string("string"), .string("null")])), ("pattern", .string("^[0-9a-fA-F]{64}$"))])),
                    ])),
                ])),
            ])),
            ("data", ref("dataset")),
            ("model", .object([("type", .string("array")), ("minItems", 1), ("items", ref("layer"))])),
            ("loss", ref("loss")),
            ("optimizer", ref("optimizer")),
            ("schedule", ref("schedule")),
            ("train", .object([
                ("type", .string("object")), ("additionalProperties", .bool(false)),
                ("required", .array([.string("epochs"), .string("batch_size")])), ("properties", .object(trainProperties)),
            ])),
            ("transforms", .object([
                ("type", .string("array")),
                ("items", .object([
                    ("allOf", .array([
                        .object([("type", .string("object")), ("required", .array([.string("at_epoch"), .string("name")])),
                                 ("properties", .object([("at_epoch", .object([("type", .string("integer")), ("minimum", 1)]))]))]),
                    ])),
                ])),
            ])),
        ]
        return .object([
            ("$schema", .string("https://json-schema.org/draft/2020-12/schema")),
            ("title", .string("Saddle run configuration")),
            ("type", .string("object")),
            ("additionalProperties", .bool(false)),
            ("required", .array(["data", "model", "optimizer", "train"].map { .string($0) })),
            ("properties", .object(properties)),
            ("$defs", .object(definitions)),
        ])
    }

    static func ref(_ name: String) -> JSONValue { .object([("$ref", .string("#/$defs/\(name)"))]) }

    static func componentSchema(_ entry: ComponentEntry, nameKey: String) -> JSONValue {
        var properties: [(String, JSONValue)] = [(nameKey, .object([("const", .string(entry.name))]))]
        if nameKey == "layer" {
            // A layer in a list may carry the name its tensors appear under (`head.weight`).
            properties.append(("name", .object([
                ("type", .string("string")), ("pattern", .string("^[^.]+$")),
                ("description", .string("the layer's name in its list: its tensors' path component instead of its index (all layers of a list or none)")),
            ])))
        }
        properties += entry.parameters.map { ($0.name, parameterSchema($0)) }
        let required = [nameKey] + entry.parameters.filter(\.isRequired).map(\.name)
        return .object([
            ("type", .string("object")),
            ("description", .string("\(entry.name): \(entry.summary) (\(entry.origin))")),
            ("properties", .object(properties)),
            ("required", .array(required.map { .string($0) })),
            ("additionalProperties", .bool(false)),
        ])
    }

    static func parameterSchema(_ spec: ParameterSpec) -> JSONValue {
        var schema: [(String, JSONValue)]
        let nullable = spec.defaultValue == .null
        func type(_ name: String) -> JSONValue { nullable ? .array([.string(name), .string("null")]) : .string(name) }
        switch spec.type {
        case .integer(let range):
            schema = [("type", type("integer")), ("minimum", .number(Double(range.lowerBound))), ("maximum", .number(Double(range.upperBound)))]
        case let .number(range, exclusive):
            schema = [("type", type("number")), (exclusive ? "exclusiveMinimum" : "minimum", .number(range.lowerBound))]
            if range.upperBound < .greatestFiniteMagnitude { schema.append(("maximum", .number(range.upperBound))) }
        case .boolean: schema = [("type", type("boolean"))]
        case .string: schema = [("type", type("string")), ("minLength", 1)]
        case .choice(let options): schema = [("enum", .array(options.map { .string($0) } + (nullable ? [.null] : [])))]
        case .initializer: schema = [("$ref", .string("#/$defs/initializer"))]
        case .layers: schema = [("type", .string("array")), ("items", ref("layer"))]
        case .component(let kind): schema = [("$ref", .string("#/$defs/\(kind.rawValue)"))]
        case let .size(range, same):
            let extent = JSONValue.object([
                ("type", .string("integer")), ("minimum", .number(Double(range.lowerBound))), ("maximum", .number(Double(range.upperBound))),
            ])
            var options: [JSONValue] = [extent, .object([("type", .string("array")), ("items", extent), ("minItems", 2), ("maxItems", 2)])]
            if same { options.append(.object([("const", .string("same"))])) }
            if nullable { options.append(.object([("type", .string("null"))])) }
            schema = [("anyOf", .array(options))]
        }
        schema.append(("description", .string(spec.summary)))
        if let value = spec.defaultValue { schema.append(("default", value)) }
        return .object(schema)
    }

    static func initializerSchema() -> JSONValue {
        let positive = JSONValue.object([("type", .string("number")), ("exclusiveMinimum", 0)])
        return .object([
            ("anyOf", .array([
                .object([("enum", .array(["fan_in_uniform", "glorot_uniform", "he_normal", "he_uniform", "orthogonal", "zeros"].map { .string($0) }))]),
                .object([("type", .string("object")), ("additionalProperties", .bool(false)), ("required", .array([.string("name")])),
                         ("properties", .object([("name", .object([("const", .string("orthogonal"))])), ("gain", positive)]))]),
                .object([("type", .string("object")), ("additionalProperties", .bool(false)),
                         ("required", .array([.string("name"), .string("standard_deviation")])),
                         ("properties", .object([("name", .object([("const", .string("normal"))])), ("standard_deviation", positive)]))]),
            ])),
        ])
    }
}

extension JSONValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    /// An integer literal as a number.
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    /// A string literal as a string.
    public init(stringLiteral value: String) { self = .string(value) }
}

import Foundation
import Saddle
import SaddleFuzzHarness

/// A seeded, structure-aware mutator: it edits run files and safetensors headers as JSON
/// trees, CSV files as lines and cells, IDX files through their header fields, and any
/// input as bytes, choosing values a careless or unlucky user would produce (boundaries,
/// huge and negative numbers, NaN, wrong types, missing and unknown keys).
struct Mutator {
    var generator: RandomGenerator

    init(seed: UInt64) { generator = RandomGenerator(seed: seed) }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(generator.next() % UInt64(n)) }
    mutating func chance(_ p: Double) -> Bool { Double(generator.next() % 1_000_000) < p * 1_000_000 }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    static let numbers: [Double] = [
        0, 1, -1, 2, 3, 7, 0.5, -0.5, 1e-9, 0.999, 1.0001, 10, 64, 100, 1000, 65536, 100_000, 1_000_000, 4_000_000, 16_777_217,
        2_147_483_648, 4_294_967_296, 9_007_199_254_740_993, 1e9, 1e19, -1e19, 1e300, -1e300, 1e308,
    ]
    static let keys = [
        "layer", "units", "name", "epochs", "batch_size", "evaluation_batch_size", "validation", "split_seed", "path", "label_column",
        "header", "momentum", "nesterov", "learning_rate", "weight_decay", "max_gradient_norm", "pieces", "hidden_size",
        "returns_sequence", "rate", "layers", "at_epoch", "transforms", "plugins", "sha256", "dtype", "seed", "format", "standardize",
        "checkpoint_dir", "metrics_file", "progress", "schedule", "loss", "step_size", "gamma", "then", "steps", "minimum",
        "initializer", "use_bias", "rank", "depth", "epsilon", "slope", "noise", "split", "batch_norm", "force", "format_version",
    ]
    static let strings = [
        "", "x", "dense", "relu", "batchnorm", "lstm", "maxout", "residual", "sequential", "flatten", "dropout", "factored_linear",
        "softmax", "tanh", "sigmoid", "leaky_relu", "identity", "sgd", "adam", "adamw", "newton", "newton_cg", "saddle_free_newton",
        "damped_newton", "cosine", "step", "warmup", "constant", "digits", "csv", "fashion_mnist", "float64", "float32", "rows", "flat",
        "scalar", "none", "per_feature", "softmax_cross_entropy", "mean_squared_error", "net2wider", "net2deeper", "insert_residual",
        "insert_batchnorm", "random_pad", "0", "1", "2", "0.weight", "7", "acme.swish", FuzzHarness.dataDirectory.appendingPathComponent("tiny.csv").path,
        "/dev/null", "/", "/proc/self/mem", "../x", "silent", "orthogonal", "fan_in_uniform", String(repeating: "a", count: 300), "é",
    ]

    /// A value a user might type where a JSON value is expected.
    mutating func jsonValue() -> JSONValue {
        switch below(10) {
        case 0...3: .number(pick(Mutator.numbers))
        case 4...6: .string(pick(Mutator.strings))
        case 7: .bool(chance(0.5))
        case 8: .null
        default: chance(0.5) ? .array([.number(pick(Mutator.numbers))]) : .object([(pick(Mutator.keys), .number(pick(Mutator.numbers)))])
        }
    }

    /// `value` with one node changed (replaced, removed, duplicated, given a new key).
    mutating func mutate(_ value: JSONValue, depth: Int = 0) -> JSONValue {
        // Descend into a child with probability growing with the container's size.
        switch value {
        case .object(var members) where !members.isEmpty && depth < 12 && (depth < 2 || chance(0.6)):
            let index = below(members.count)
            if chance(0.8) {
                members[index].1 = mutate(members[index].1, depth: depth + 1)
            } else {
                switch below(4) {
                case 0: members.remove(at: index)
                case 1: members.append((pick(Mutator.keys), jsonValue()))
                case 2: members[index].0 = pick(Mutator.keys)
                default: members.append(members[index])
                }
            }
            return .object(members)
        case .array(var items) where !items.isEmpty && depth < 12 && (depth < 2 || chance(0.6)):
            let index = below(items.count)
            if chance(0.75) {
                items[index] = mutate(items[index], depth: depth + 1)
            } else {
                switch below(3) {
                case 0: items.remove(at: index)
                case 1: items.insert(items[index], at: index)
                default: items.swapAt(index, below(items.count))
                }
            }
            return .array(items)
        case .number(let x) where chance(0.7):
            return chance(0.5) ? .number(pick([x + 1, x - 1, -x, x * 1000, x / 7, (x * 3).rounded(), 0])) : .number(pick(Mutator.numbers))
        case .string where chance(0.6):
            return .string(pick(Mutator.strings))
        case .bool(let b) where chance(0.6):
            return .bool(!b)
        default:
            return jsonValue()
        }
    }

    /// Byte-level damage: flips, overwrites, insertions, deletions, truncation, repetition.
    mutating func mutateBytes(_ input: [UInt8], operations: Int? = nil) -> [UInt8] {
        var bytes = input
        for _ in 0..<(operations ?? (1 + below(4))) {
            let position = below(bytes.count + 1)
            switch below(7) {
            case 0 where !bytes.isEmpty: bytes[Swift.min(position, bytes.count - 1)] ^= UInt8(1 << below(8))
            case 1 where !bytes.isEmpty: bytes[Swift.min(position, bytes.count - 1)] = pick([0, 0xff, 0x7f, 0x80, 0x2c, 0x0a, 0x0d, 0x22, 0x5b, 0x7b])
            case 2: bytes.insert(contentsOf: (0..<(1 + below(8))).map { _ in UInt8(below(256)) }, at: position)
            case 3 where !bytes.isEmpty: bytes.removeSubrange(position..<Swift.min(bytes.count, position + 1 + below(16)))
            case 4: bytes = Array(bytes.prefix(position))
            case 5 where !bytes.isEmpty:
                let start = below(bytes.count), end = Swift.min(bytes.count, start + 1 + below(64))
                bytes.insert(contentsOf: bytes[start..<end], at: position)
            default:
                // A float's worth of NaN or infinity somewhere (little-endian Float32).
                if bytes.count >= 4 {
                    let at = below(bytes.count - 3)
                    let pattern: [UInt8] = pick([[0, 0, 0xc0, 0x7f], [0, 0, 0x80, 0x7f], [0, 0, 0x80, 0xff]])
                    bytes.replaceSubrange(at..<(at + 4), with: pattern)
                }
            }
        }
        return bytes
    }

    /// A mutated run file: its JSON tree edited, now and then followed by byte damage.
    mutating func runFile(_ seed: [UInt8]) -> [UInt8] {
        guard let tree = try? JSONParser.parse(seed) else { return mutateBytes(seed) }
        var value = tree
        for _ in 0..<(1 + below(3)) { value = mutate(value) }
        let text = Array(value.description.utf8)
        return chance(0.1) ? mutateBytes(text) : text
    }

    /// A mutated safetensors file: header fields (dtypes, shapes, offsets, metadata such as
    /// step, history, random state and the embedded run file), the body, or the length prefix.
    mutating func checkpoint(_ seed: [UInt8]) -> [UInt8] {
        guard seed.count >= 8 else { return mutateBytes(seed) }
        let length = seed.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard length >= 0, length <= seed.count - 8, case .object(var members)? = try? JSONParser.parse(seed[8..<(8 + length)]) else {
            return mutateBytes(seed)
        }
        var body = Array(seed[(8 + length)...])
        switch below(10) {
        case 0...3:
            // A tensor entry.
            let tensors = members.indices.filter { members[$0].0 != "__metadata__" }
            guard let index = tensors.isEmpty ? nil : pick(tensors), case .object(var fields) = members[index].1 else { break }
            let field = below(fields.count + 2)
            if field < fields.count {
                switch fields[field].0 {
                case "dtype": fields[field].1 = .string(pick(["F32", "F64", "F16", "BF16", "I64", "U8", "BOOL", "I32", "X", ""]))
                case "shape":
                    var shape = (fields[field].1.arrayItems ?? []).map { $0 }
                    switch below(4) {
                    case 0: shape.append(.number(pick([0, 1, 2, 1_099_511_627_775, 4_194_304, 9e18])))
                    case 1: if !shape.isEmpty { shape.removeLast() }
                    case 2: if !shape.isEmpty { shape[below(shape.count)] = .number(pick(Mutator.numbers)) }
                    default: shape.reverse()
                    }
                    fields[field].1 = .array(shape)
                default: fields[field].1 = mutate(fields[field].1)
                }
            } else if field == fields.count {
                members[index].0 = pick(["optimizer/" + members[index].0 + ".momentum_buffer", members[index].0 + "x", "9.weight", "optimizer/0.weight.step", ""])
            } else {
                members.remove(at: index)
                break
            }
            members[index].1 = .object(fields)
        case 4...7:
            // Metadata.
            guard let index = members.firstIndex(where: { $0.0 == "__metadata__" }), case .object(var fields) = members[index].1, !fields.isEmpty else { break }
            let field = below(fields.count)
            let key = chance(0.2) ? pick(["epoch", "step", "random_state", "history", "transforms", "format_version", "best_validation_accuracy", "format"]) : fields[field].0
            var text: String
            switch key {
            case "epoch", "step", "format_version":
                text = pick(["-1", "0", "1", "9223372036854775807", "9223372036854775808", "1e3", "nan", "", "99", "9007199254740993"])
            case "random_state": text = pick(["0,0,0,0", "1,2,3", "1,2,3,4,5", "18446744073709551615,1,1,1", "a,b,c,d", ""])
            case "history":
                text = pick([
                    #"{"epoch":nan,"steps":1,"train_loss":1,"learning_rate":0.1,"seconds":1}"#,
                    #"{"epoch":2,"steps":1,"train_loss":1,"learning_rate":0.1,"seconds":1}"#,
                    #"{"epoch":1e300,"steps":-1,"train_loss":inf,"learning_rate":0.1,"seconds":1}"#, "garbage", "",
                ])
            case "transforms":
                text = pick([
                    #"{"name": "net2wider", "layer": "0", "units": 8, "seed": "1"}"#, #"{"name": "net2wider", "layer": "9", "units": 8, "seed": "1"}"#,
                    #"{"name": "insert_residual", "layer": "0", "seed": 18446744073709551615}"#, "[1,2]", "{", #"{"seed": "x"}"#,
                ])
            case "configuration":
                let current = fields.first { $0.0 == "configuration" }.flatMap { if case .string(let s) = $0.1 { s } else { nil } } ?? "{}"
                text = String(decoding: runFile(Array(current.utf8)), as: UTF8.self)
            default: text = pick(["", "nan", "1.5", "-3", "{}", String(repeating: "9", count: 40)])
            }
            if let existing = fields.firstIndex(where: { $0.0 == key }) { fields[existing].1 = .string(text) } else { fields.append((key, .string(text))) }
            members[index].1 = .object(fields)
        case 8:
            body = mutateBytes(body)
        default:
            var bytes = seed
            for k in 0..<8 where chance(0.3) { bytes[k] = UInt8(below(256)) }
            return bytes
        }
        var header = Array(JSONValue.object(members).description.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out = (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) }
        out += header
        out += body
        return out
    }

    /// A mutated CSV file: lines duplicated, dropped or given odd cells and line ends.
    mutating func csv(_ seed: [UInt8]) -> [UInt8] {
        if chance(0.2) { return mutateBytes(seed) }
        var lines = String(decoding: seed, as: UTF8.self).components(separatedBy: "\n")
        for _ in 0..<(1 + below(3)) {
            guard !lines.isEmpty else { break }
            let index = below(lines.count)
            switch below(6) {
            case 0: lines.insert(lines[index], at: index)
            case 1: lines.remove(at: index)
            case 2:
                var cells = lines[index].components(separatedBy: ",")
                cells[below(cells.count)] = pick(["", " ", "nan", "inf", "-inf", "1e19", "1e400", "0x10", "\"3\"", "-0", "1e-400", "99999", "100000", "3.5", "-2", "１", "1 2"])
                lines[index] = cells.joined(separator: ",")
            case 3: lines[index] += pick([",", ",1", "\r", "\r\r", ",,"])
            case 4: lines[index] = String(lines[index].dropLast(below(4)))
            default: lines = lines.map { $0 + "\r" }
            }
        }
        return Array(lines.joined(separator: "\n").utf8)
    }

    /// A mutated IDX file: the type, the rank and the extents of its header, and its length.
    mutating func idx(_ seed: [UInt8]) -> [UInt8] {
        var bytes = seed
        guard bytes.count >= 8, bytes[0] == 0, bytes[1] == 0, chance(0.8) else { return mutateBytes(bytes) }
        switch below(5) {
        case 0: bytes[2] = pick([0x08, 0x09, 0x0b, 0x0d, 0x00])
        case 1: bytes[3] = pick([0, 1, 2, 3, 4, 5, 255])
        case 2:
            let axis = below(Int(bytes[3]) + 1)
            let value: UInt32 = pick([0, 1, 2, 28, 60000, 0xFFFF_FFFF, 0x7FFF_FFFF, 65536])
            let at = 4 + 4 * axis
            if at + 4 <= bytes.count { for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (8 * (3 - k))) } }
        case 3: bytes = Array(bytes.prefix(below(bytes.count + 1)))
        default: bytes += (0..<below(64)).map { _ in UInt8(below(256)) }
        }
        return bytes
    }

    /// A mutated input of `format`.
    mutating func mutate(_ seed: [UInt8], as format: FuzzFormat) -> [UInt8] {
        switch format {
        case .runFile: runFile(seed)
        case .checkpoint: checkpoint(seed)
        case .csv: csv(seed)
        case .idx: idx(seed)
        case .pluginDescriptor:
            // One changed byte keeps most of a registration intact, so later checks are reached.
            if chance(0.7), seed.count > 4 {
                // Past the plugin's declaration (the first bytes) most of the time.
                { var bytes = seed; bytes[chance(0.9) ? 4 + below(bytes.count - 4) : below(4)] = UInt8(below(256)); return bytes }()
            } else {
                mutateBytes(seed, operations: 1)
            }
        }
    }
}

extension JSONValue {
    /// The items of an array, or nil.
    var arrayItems: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}

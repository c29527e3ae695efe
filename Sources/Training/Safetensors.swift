import Foundation
import SaddleCore

/// The safetensors file format (Hugging Face): an 8-byte little-endian header length, a JSON
/// header mapping each tensor name to its dtype, shape and byte range, an optional
/// `__metadata__` map of strings, then the raw little-endian data.
public enum Safetensors {
    /// A tensor as stored: its element type name and shape, converted to a Saddle tensor.
    public struct Entry: Sendable {
        /// The tensor's name in the file.
        public var name: String
        /// The file's dtype name ("F32", "F64", "I64", ...).
        public var storedType: String
        /// The data as a tensor: float32 for F32, F16 and BF16, float64 for every other type.
        public var tensor: Tensor
    }

    /// Largest header accepted when reading (guards against absurd lengths).
    static let maximumHeaderSize = 100 << 20

    /// Encodes tensors (in order) and string metadata into the file format.
    public static func encode(_ tensors: NamedTensors, metadata: [(String, String)]) throws -> Data {
        var header = "{"
        if !metadata.isEmpty {
            header += "\"__metadata__\":{"
            header += metadata.map { "\(jsonString($0.0)):\(jsonString($0.1))" }.joined(separator: ",")
            header += "},"
        }
        var offset = 0
        var entries: [String] = []
        for (path, tensor) in tensors {
            let bytes = tensor.count * tensor.dtype.byteCount
            let type = tensor.dtype == .float32 ? "F32" : "F64"
            entries.append("\(jsonString(path)):{\"dtype\":\"\(type)\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += entries.joined(separator: ",") + "}"
        if header.hasSuffix(",}") { header.removeLast(2); header += "}" }
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }
        var data = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for tensor in tensors.tensors {
            let contiguous = tensor.detached
            switch contiguous.dtype {
            case .float32:
                try contiguous.withUnsafeBufferPointer(as: Float.self) { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
            case .float64:
                try contiguous.withUnsafeBufferPointer(as: Double.self) { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
            }
        }
        return data
    }

    /// Decodes a file's bytes; `file` names it in errors. Float tensors keep their precision
    /// (F16 and BF16 widen to Float32); integer tensors become Float64.
    /// - Throws: `CheckpointError.malformed` naming the file and the problem.
    public static func decode(_ data: Data, file: String) throws -> (entries: [Entry], metadata: [String: String]) {
        func fail(_ reason: String) -> CheckpointError { .malformed(file: file, reason: reason) }
        guard data.count >= 8 else { throw fail("shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(maximumHeaderSize), 8 + Int(headerLength) <= data.count else {
            throw fail("header length \(headerLength) exceeds the file (\(data.count) bytes)")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let object = try? JSONSerialization.jsonObject(with: headerData), let header = object as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        let bodyStart = 8 + Int(headerLength)
        let bodySize = data.count - bodyStart
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        var ranges: [(Int, Int, String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (key, item) in map {
                    guard let text = item as? String else { throw fail("metadata \(key) is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let info = value as? [String: Any], let type = info["dtype"] as? String,
                let shapeValues = info["shape"] as? [Any], let offsetValues = info["data_offsets"] as? [Any],
                offsetValues.count == 2
            else { throw fail("tensor \(name) lacks dtype, shape or data_offsets") }
            let shape = try shapeValues.map { item -> Int in
                guard let n = item as? Int, n >= 0, n < 1 << 40 else { throw fail("tensor \(name) has a bad shape \(shapeValues)") }
                return n
            }
            let offsets = try offsetValues.map { item -> Int in
                guard let n = item as? Int, n >= 0 else { throw fail("tensor \(name) has bad data_offsets \(offsetValues)") }
                return n
            }
            guard let width = elementSize(type) else { throw fail("tensor \(name) has unsupported dtype \(type)") }
            // Non-zero extents multiply to at most 2^40 elements even when another extent is 0.
            let (nonZero, overflow) = shape.reduce((1, false)) { acc, n in
                let (p, o) = acc.0.multipliedReportingOverflow(by: Swift.max(n, 1))
                return (p, acc.1 || o || p > 1 << 40)
            }
            let count = shape.contains(0) ? 0 : nonZero
            let (byteCount, bytesOverflow) = count.multipliedReportingOverflow(by: width)
            guard !overflow, !bytesOverflow, offsets[0] <= offsets[1], offsets[1] <= bodySize, offsets[1] - offsets[0] == byteCount else {
                throw fail("tensor \(name): \(type) \(shape) does not match data_offsets \(offsets) in a \(bodySize)-byte body")
            }
            ranges.append((offsets[0], offsets[1], name))
            let bytes = data.subdata(in: (bodyStart + offsets[0])..<(bodyStart + offsets[1]))
            entries.append(Entry(name: name, storedType: type, tensor: try tensor(from: bytes, type: type, shape: shape)))
        }
        ranges.sort { $0.0 < $1.0 }
        var position = 0
        for (start, end, name) in ranges {
            guard start == position else { throw fail("tensor \(name) starts at byte \(start), expected \(position) (overlap or hole)") }
            position = end
        }
        guard position == bodySize else { throw fail("\(bodySize - position) bytes after the last tensor") }
        return (entries, metadata)
    }

    private static func elementSize(_ type: String) -> Int? {
        switch type {
        case "F64", "I64", "U64": 8
        case "F32", "I32", "U32": 4
        case "F16", "BF16", "I16", "U16": 2
        case "I8", "U8", "BOOL": 1
        default: nil
        }
    }

    private static func tensor(from bytes: Data, type: String, shape: [Int]) throws -> Tensor {
        func load<T>(_: T.Type) -> [T] {
            bytes.withUnsafeBytes { raw in (0..<(bytes.count / MemoryLayout<T>.size)).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) } }
        }
        switch type {
        case "F32": return try Tensor(shape: shape, scalars: load(UInt32.self).map { Float(bitPattern: UInt32(littleEndian: $0)) })
        case "F64": return try Tensor(shape: shape, scalars: load(UInt64.self).map { Double(bitPattern: UInt64(littleEndian: $0)) })
        case "F16": return try Tensor(shape: shape, scalars: load(UInt16.self).map { Float(Float16(bitPattern: UInt16(littleEndian: $0))) })
        case "BF16": return try Tensor(shape: shape, scalars: load(UInt16.self).map { Float(bitPattern: UInt32(UInt16(littleEndian: $0)) << 16) })
        case "I64": return try Tensor(shape: shape, scalars: load(Int64.self).map { Double(Int64(littleEndian: $0)) })
        case "U64": return try Tensor(shape: shape, scalars: load(UInt64.self).map { Double(UInt64(littleEndian: $0)) })
        case "I32": return try Tensor(shape: shape, scalars: load(Int32.self).map { Double(Int32(littleEndian: $0)) })
        case "U32": return try Tensor(shape: shape, scalars: load(UInt32.self).map { Double(UInt32(littleEndian: $0)) })
        case "I16": return try Tensor(shape: shape, scalars: load(Int16.self).map { Double(Int16(littleEndian: $0)) })
        case "U16": return try Tensor(shape: shape, scalars: load(UInt16.self).map { Double(UInt16(littleEndian: $0)) })
        case "I8": return try Tensor(shape: shape, scalars: load(Int8.self).map { Double($0) })
        default: return try Tensor(shape: shape, scalars: load(UInt8.self).map { Double($0) })
        }
    }

    /// A JSON string literal for `text` (also how the registry writes JSON strings).
    package static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

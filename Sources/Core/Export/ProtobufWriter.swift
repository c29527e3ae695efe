import Foundation

/// Writes protocol-buffer wire format (varints and length-delimited fields), the few field kinds
/// ONNX's messages need. Messages nest by encoding the child into its own writer first.
///
/// Repeated scalars are written unpacked (one tagged field per value), which every parser of
/// proto2 and proto3 accepts.
public struct ProtobufWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty message.
    public init() {}

    private mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func tag(_ field: Int, wireType: UInt64) {
        varint(UInt64(field) << 3 | wireType)
    }

    /// An `int64` or `int32` field (negative values take ten bytes, as protobuf specifies).
    public mutating func int(_ field: Int, _ value: Int) {
        tag(field, wireType: 0)
        varint(UInt64(bitPattern: Int64(value)))
    }

    /// A `float` field.
    public mutating func float(_ field: Int, _ value: Float) {
        tag(field, wireType: 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A `bytes` field.
    public mutating func bytes(_ field: Int, _ value: some Collection<UInt8>) {
        tag(field, wireType: 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A `string` field (UTF-8).
    public mutating func string(_ field: Int, _ value: String) {
        bytes(field, Array(value.utf8))
    }

    /// An embedded message field.
    public mutating func message(_ field: Int, _ build: (inout ProtobufWriter) -> Void) {
        var child = ProtobufWriter()
        build(&child)
        bytes(field, child.bytes)
    }
}

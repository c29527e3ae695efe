import Foundation
import SaddleCore

/// Reads the IDX format of MNIST and Fashion-MNIST (plain or gzip): a big-endian header
/// (magic number 0x0000 08 NN with NN the number of axes, then one 32-bit extent per axis)
/// followed by unsigned bytes.
public enum IDXReader {
    /// Parses an IDX file of unsigned bytes into a tensor of `dtype` with the file's shape.
    /// - Throws: `DataError` naming the file and the offset of the problem.
    public static func parse(_ data: Data, name: String, dtype: DType = .float32) throws -> Tensor {
        let bytes = [UInt8](data)
        guard bytes.count >= 4 else { throw DataError.truncated(file: name, offset: bytes.count, needed: 4 - bytes.count) }
        let magic = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        let rank = Int(bytes[3])
        guard bytes[0] == 0, bytes[1] == 0, bytes[2] == 0x08, rank >= 1, rank <= 4 else {
            throw DataError.badMagicNumber(file: name, found: magic, expected: "0x00000801 to 0x00000804: unsigned bytes, 1 to 4 axes")
        }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw DataError.truncated(file: name, offset: bytes.count, needed: headerSize - bytes.count)
        }
        var shape: [Int] = []
        for axis in 0..<rank {
            let o = 4 + 4 * axis
            shape.append(Int(UInt32(bytes[o]) << 24 | UInt32(bytes[o + 1]) << 16 | UInt32(bytes[o + 2]) << 8 | UInt32(bytes[o + 3])))
        }
        // The product of the non-zero extents is bounded too: with a zero extent the count is
        // 0, yet one example ([1, 2^32, 2^32]) would still be too large to describe.
        let (nonZero, overflow) = shape.reduce((1, false)) { partial, extent in
            let (product, overflowed) = partial.0.multipliedReportingOverflow(by: Swift.max(extent, 1))
            return (product, partial.1 || overflowed)
        }
        guard !overflow, nonZero <= 1 << 34 else {
            throw DataError.invalid(file: name, reason: "header shape \(shape) is too large")
        }
        let count = shape.contains(0) ? 0 : nonZero
        guard bytes.count - headerSize >= count else {
            throw DataError.truncated(file: name, offset: bytes.count, needed: headerSize + count - bytes.count)
        }
        var tensor = Tensor.zeros(shape, dtype: dtype)
        switch dtype {
        case .float32:
            try tensor.withUnsafeMutableBufferPointer(as: Float.self) { out in
                for i in 0..<count { out[i] = Float(bytes[headerSize + i]) }
            }
        case .float64:
            try tensor.withUnsafeMutableBufferPointer(as: Double.self) { out in
                for i in 0..<count { out[i] = Double(bytes[headerSize + i]) }
            }
        }
        return tensor
    }

    /// Reads an image file and a label file into a classification data set with `classCount`
    /// classes: features `[count, rows, columns]` as raw pixel values 0...255.
    /// - Throws: `DataError` for unreadable, malformed or mismatched files.
    public static func read(images: URL, labels: URL, classCount: Int = 10, dtype: DType = .float32) throws -> Dataset {
        let imageTensor = try parse(Gzip.read(images), name: images.path, dtype: dtype)
        let labelTensor = try parse(Gzip.read(labels), name: labels.path, dtype: dtype)
        guard labelTensor.rank == 1 else {
            throw DataError.invalid(file: labels.path, reason: "labels must have 1 axis, found shape \(labelTensor.shape)")
        }
        guard imageTensor.shape[0] == labelTensor.shape[0] else {
            throw DataError.countMismatch(images: images.path, imageCount: imageTensor.shape[0], labels: labels.path, labelCount: labelTensor.shape[0])
        }
        if let bad = labelTensor.doubles.firstIndex(where: { $0 >= Double(classCount) }) {
            throw DataError.invalid(file: labels.path, reason: "label \(bad) is outside 0..<\(classCount)")
        }
        return try Dataset(features: imageTensor, labels: labelTensor, classCount: classCount, name: images.path)
    }
}

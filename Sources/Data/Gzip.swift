import CZlib
import Foundation
import SaddleCore

/// Gzip (and zlib) decompression through zlib.
enum Gzip {
    /// Whether `data` starts with the gzip magic bytes 1f 8b.
    static func isCompressed(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
    }

    /// The decompressed bytes of a gzip stream (concatenated members included).
    /// - Throws: `DataError.badCompression` naming `file` and the input offset reached.
    static func decompress(_ data: Data, file: String, limit: Int = Dataset.maximumFileBytes) throws -> Data {
        var output = Data()
        var stream = z_stream()
        // 15 window bits + 32: accept gzip or zlib headers.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.badCompression(file: file, offset: 0, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            guard let base = input.bindMemory(to: Bytef.self).baseAddress else { return }
            stream.next_in = UnsafeMutablePointer(mutating: base)
            stream.avail_in = uInt(input.count)
            while true {
                let status = buffer.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunk)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output.append(buffer, count: chunk - Int(stream.avail_out))
                guard output.count <= limit else {
                    throw DataError.invalid(file: file, reason: "decompresses to more than \(limit) bytes, the limit for a data file")
                }
                let consumed = input.count - Int(stream.avail_in)
                switch status {
                case Z_STREAM_END:
                    // Another gzip member may follow.
                    guard stream.avail_in > 0 else { return }
                    guard inflateReset(&stream) == Z_OK else {
                        throw DataError.badCompression(file: file, offset: consumed, reason: "cannot restart after a member")
                    }
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw DataError.badCompression(file: file, offset: consumed, reason: "the stream ends early (truncated file)")
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    throw DataError.badCompression(file: file, offset: consumed, reason: message)
                }
            }
        }
        return output
    }

    /// The bytes of `url`, decompressed when they are gzip, at most `limit` bytes either way.
    /// - Throws: `DataError.unreadable`, `.badCompression` or `.invalid` (over the limit).
    static func read(_ url: URL, limit: Int = Dataset.maximumFileBytes) throws -> Data {
        let data: Data
        do {
            data = try FileSystem.read(url, limit: limit)
        } catch let error as FileError {
            throw DataError.unreadable(file: url.path, reason: error.reason)
        }
        return isCompressed(data) ? try decompress(data, file: url.path, limit: limit) : data
    }
}

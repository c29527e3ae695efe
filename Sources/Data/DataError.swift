/// Errors reading data: each names the file and where in it the problem is.
public enum DataError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read at all.
    case unreadable(file: String, reason: String)
    /// An IDX file does not start with the expected magic number.
    case badMagicNumber(file: String, found: UInt32, expected: String)
    /// The data ends before the header says it should.
    case truncated(file: String, offset: Int, needed: Int)
    /// Image and label files disagree on the number of samples.
    case countMismatch(images: String, imageCount: Int, labels: String, labelCount: Int)
    /// A CSV cell is not a number.
    case badCell(file: String, line: Int, column: Int, text: String)
    /// A CSV line has a different number of cells than the first.
    case raggedLine(file: String, line: Int, expected: Int, found: Int)
    /// The gzip stream is corrupt.
    case badCompression(file: String, offset: Int, reason: String)
    /// The data set is empty or otherwise unusable.
    case invalid(file: String, reason: String)
    /// A data set that needs a Debian package is not installed.
    case missingDataset(name: String, path: String, package: String)
    /// A file of Saddle's own resource bundle is not beside the program.
    case missingResource(name: String, searched: [String])

    /// A one-line message naming the file and where in it the problem is, or what to install or copy.
    public var description: String {
        switch self {
        case let .unreadable(file, reason): return "\(file): \(reason)"
        case let .badMagicNumber(file, found, expected):
            return "\(file): bad magic number 0x\(String(found, radix: 16)) at offset 0 (expected \(expected))"
        case let .truncated(file, offset, needed):
            return "\(file): truncated at offset \(offset): \(needed) more bytes needed"
        case let .countMismatch(images, imageCount, labels, labelCount):
            return "\(images) holds \(imageCount) images but \(labels) holds \(labelCount) labels"
        case let .badCell(file, line, column, text):
            return "\(file):\(line): column \(column) is not a finite number in the data set's dtype: \"\(text)\""
        case let .raggedLine(file, line, expected, found):
            return "\(file):\(line): \(found) cells, expected \(expected) like the first line"
        case let .badCompression(file, offset, reason):
            return "\(file): corrupt gzip data near offset \(offset): \(reason)"
        case let .invalid(file, reason): return "\(file): \(reason)"
        case let .missingResource(name, searched):
            return "Saddle's resource \(name) is not in a SaddleData resource bundle beside the program (searched \(searched.joined(separator: ", "))); copy the *_SaddleData.resources folder from the build directory next to the executable"
        case let .missingDataset(name, path, package):
            return "the \(name) data set is not at \(path); install it with: apt-get install \(package)"
        }
    }
}

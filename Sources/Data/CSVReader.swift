import Foundation
import SaddleCore

/// Reads numeric CSV files: one example per line, the label in one column (the last by
/// default), comma separated, optionally gzip-compressed, with an optional header line.
public struct CSVReader: Sendable {
    /// Which column holds the label; negative counts from the end.
    public var labelColumn: Int = -1
    /// Whether the first line is a header to skip.
    public var hasHeader = false
    /// Classes for classification data; nil infers max(label) + 1 when all labels are whole
    /// and non-negative (then the largest must be below `Dataset.maximumClassCount`); other
    /// labels are regression targets.
    public var classCount: Int?

    /// A reader with these settings (see the properties).
    public init(labelColumn: Int = -1, hasHeader: Bool = false, classCount: Int? = nil) {
        self.labelColumn = labelColumn
        self.hasHeader = hasHeader
        self.classCount = classCount
    }

    /// Reads the file at `url`.
    /// - Throws: `DataError` naming the file and line of the first problem.
    public func read(_ url: URL, dtype: DType = .float32) throws -> Dataset {
        let data = try Gzip.read(url, limit: Dataset.maximumFileBytes)
        return try parse(data, name: url.path, dtype: dtype)
    }

    /// Parses CSV bytes; `name` is used in error messages.
    /// - Throws: `DataError` naming `name` and the line of the first problem.
    public func parse(_ data: Data, name: String, dtype: DType = .float32) throws -> Dataset {
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError.invalid(file: name, reason: "not UTF-8 text")
        }
        var features: [Double] = []
        var labels: [Double] = []
        var width: Int?
        var lineNumber = 0
        var rowLines: [Int] = []
        // "\r\n" is one Character in Swift, so both line ends are named.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == " " }) { continue }
            if hasHeader && lineNumber == 1 { continue }
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            if let width, cells.count != width {
                throw DataError.raggedLine(file: name, line: lineNumber, expected: width, found: cells.count)
            }
            guard cells.count >= 2 else {
                throw DataError.invalid(file: name, reason: "line \(lineNumber) has \(cells.count) cell; need features and a label")
            }
            width = cells.count
            let labelIndex = labelColumn < 0 ? cells.count + labelColumn : labelColumn
            guard labelIndex >= 0, labelIndex < cells.count else {
                throw DataError.invalid(file: name, reason: "label column \(labelColumn) is outside the \(cells.count) columns")
            }
            for (column, cell) in cells.enumerated() {
                let trimmed = cell.trimmingCharacters(in: .whitespaces)
                // Finite, and finite in the data set's dtype (1e39 would be an infinity in Float32).
                guard let value = Double(trimmed), value.isFinite, dtype == .float64 || Swift.abs(value) <= Double(Float.greatestFiniteMagnitude) else {
                    throw DataError.badCell(file: name, line: lineNumber, column: column + 1, text: String(trimmed.prefix(40)))
                }
                if column == labelIndex { labels.append(value) } else { features.append(value) }
            }
            rowLines.append(lineNumber)
        }
        guard let width, !labels.isEmpty else { throw DataError.invalid(file: name, reason: "no data lines") }
        var classes = classCount
        if classes == nil, labels.allSatisfy({ $0 >= 0 && $0.rounded() == $0 }) {
            // Whole, non-negative labels are classes; the largest must stay below the limit.
            let (row, largest) = labels.enumerated().max { $0.element < $1.element } ?? (0, 0)
            guard largest < Double(Dataset.maximumClassCount) else {
                throw DataError.invalid(
                    file: name,
                    reason: "line \(rowLines[row]): label \(largest) is not a class index below the limit of \(Dataset.maximumClassCount) classes")
            }
            classes = Int(largest) + 1
        } else if let classes, let row = labels.firstIndex(where: { !($0 >= 0 && $0 < Double(classes) && $0.rounded() == $0) }) {
            throw DataError.invalid(file: name, reason: "line \(rowLines[row]): label \(labels[row]) is not a class index in 0..<\(classes)")
        }
        return try Dataset(
            features: Tensor(shape: [labels.count, width - 1], scalars: features, dtype: dtype),
            labels: Tensor(shape: [labels.count], scalars: labels, dtype: dtype),
            classCount: classes, name: name)
    }
}

import Foundation
import Saddle
import SaddleTestSupport
import Testing

/// IDX bytes: magic 0x000008NN, big-endian extents, then the values.
func idx(_ shape: [Int], _ values: [UInt8]) -> Data {
    var bytes: [UInt8] = [0, 0, 0x08, UInt8(shape.count)]
    for extent in shape { bytes += [UInt8(extent >> 24 & 0xff), UInt8(extent >> 16 & 0xff), UInt8(extent >> 8 & 0xff), UInt8(extent & 0xff)] }
    return Data(bytes + values)
}

@Suite("Data readers")
struct ReaderTests {
    @Test func idxRoundTripPlainAndGzip() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let pixels = (0..<(3 * 2 * 2)).map { UInt8($0 * 20) }
        try idx([3, 2, 2], pixels).write(to: dir.file("images"))
        try idx([3], [4, 0, 9]).write(to: dir.file("labels"))
        let plain = try IDXReader.read(images: dir.file("images"), labels: dir.file("labels"))
        #expect(plain.features.shape == [3, 2, 2])
        #expect(plain.features.floats == pixels.map(Float.init))
        #expect(plain.labels.floats == [4, 0, 9])
        #expect(try runProgram("/bin/gzip", ["-k", dir.file("images").path, dir.file("labels").path]) == 0)
        let compressed = try IDXReader.read(images: dir.file("images.gz"), labels: dir.file("labels.gz"))
        #expect(compressed.features.floats == plain.features.floats)
        let rows = try compressed.flattened()
        #expect(rows.features.shape == [3, 4])
    }

    @Test func malformedIDXFilesNameTheFileAndOffset() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let bad = dir.file("bad-magic")
        try Data([0, 0, 0x0D, 3, 0, 0, 0, 1]).write(to: bad)
        #expect(throws: DataError.badMagicNumber(file: bad.path, found: 0x0D03, expected: "0x00000801 to 0x00000804: unsigned bytes, 1 to 4 axes")) {
            try IDXReader.parse(Data(contentsOf: bad), name: bad.path)
        }
        let truncated = dir.file("truncated")
        try idx([2, 3], [1, 2, 3, 4]).write(to: truncated)
        #expect(throws: DataError.truncated(file: truncated.path, offset: 16, needed: 2)) {
            try IDXReader.parse(Data(contentsOf: truncated), name: truncated.path)
        }
        let shortHeader = dir.file("short-header")
        try Data([0, 0, 8, 3, 0, 0]).write(to: shortHeader)
        #expect(throws: DataError.truncated(file: shortHeader.path, offset: 6, needed: 10)) {
            try IDXReader.parse(Data(contentsOf: shortHeader), name: shortHeader.path)
        }
        try idx([2, 1], [1, 2]).write(to: dir.file("images"))
        try idx([3], [0, 1, 2]).write(to: dir.file("labels"))
        #expect(throws: DataError.countMismatch(images: dir.file("images").path, imageCount: 2, labels: dir.file("labels").path, labelCount: 3)) {
            try IDXReader.read(images: dir.file("images"), labels: dir.file("labels"))
        }
        // A gzip file cut in half.
        try idx([50, 50], (0..<2500).map { UInt8($0 % 251) }).write(to: dir.file("big"))
        #expect(try runProgram("/bin/gzip", [dir.file("big").path]) == 0)
        let whole = try Data(contentsOf: dir.file("big.gz"))
        try whole.prefix(whole.count / 2).write(to: dir.file("cut.gz"))
        do {
            _ = try IDXReader.read(images: dir.file("cut.gz"), labels: dir.file("cut.gz"))
            Issue.record("a truncated gzip file was accepted")
        } catch let error as DataError {
            #expect("\(error)".contains("cut.gz") && "\(error)".contains("offset"))
        }
        #expect(throws: DataError.self) { try IDXReader.read(images: dir.file("missing"), labels: dir.file("labels")) }
    }

    @Test func csvReaderAndItsErrors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let good = dir.file("good.csv")
        try "a,b,label\n1,2,0\n3.5,-4,2\n\n".write(to: good, atomically: true, encoding: .utf8)
        let data = try CSVReader(hasHeader: true).read(good)
        #expect(data.features.floats == [1, 2, 3.5, -4])
        #expect(data.labels.floats == [0, 2])
        #expect(data.classCount == 3)
        let bad = dir.file("bad.csv")
        try "1,2,0\n3,x7,1\n".write(to: bad, atomically: true, encoding: .utf8)
        #expect(throws: DataError.badCell(file: bad.path, line: 2, column: 2, text: "x7")) { try CSVReader().read(bad) }
        let ragged = dir.file("ragged.csv")
        try "1,2,0\n3,1\n".write(to: ragged, atomically: true, encoding: .utf8)
        #expect(throws: DataError.raggedLine(file: ragged.path, line: 2, expected: 3, found: 2)) { try CSVReader().read(ragged) }
        let empty = dir.file("empty.csv")
        try "".write(to: empty, atomically: true, encoding: .utf8)
        #expect(throws: DataError.self) { try CSVReader().read(empty) }
        let binary = dir.file("binary.csv")
        try Data([0xff, 0xfe, 0x00, 0x41]).write(to: binary)
        #expect(throws: DataError.self) { try CSVReader().read(binary) }
    }

    @Test func bundledDigits() throws {
        let digits = try Digits.load()
        #expect(digits.count == 1797)
        #expect(digits.features.shape == [1797, 64])
        #expect(digits.classCount == 10)
        let pixels = digits.features.floats
        #expect(pixels.allSatisfy { $0 >= 0 && $0 <= 16 })
        let labels = digits.labels.floats
        #expect(Set(labels) == Set((0..<10).map(Float.init)))
        // The first example of the UCI file is a zero.
        #expect(labels[0] == 0)
        #expect(Array(pixels[0..<8]) == [0, 0, 5, 13, 9, 1, 0, 0])
    }
}

@Suite("Datasets, splits, batches and standardization")
struct DatasetTests {
    let data = try! Dataset(
        features: Tensor(shape: [10, 2], scalars: (0..<20).map(Double.init)), labels: Tensor((0..<10).map { Double($0 % 3) }),
        classCount: 3)

    @Test func splitIsDeterministicAndDisjoint() throws {
        let (train, validation) = try data.split(validationFraction: 0.3, seed: 5)
        #expect(train.count == 7 && validation.count == 3)
        let again = try data.split(validationFraction: 0.3, seed: 5)
        #expect(again.train.features.doubles == train.features.doubles)
        let rows = Set((train.features.doubles + validation.features.doubles).enumerated().filter { $0.offset % 2 == 0 }.map(\.element))
        #expect(rows.count == 10)
        #expect(throws: DataError.self) { try data.split(validationFraction: 1, seed: 0) }
    }

    @Test func batchesCoverEveryExampleOncePerEpoch() throws {
        var g = RandomGenerator(seed: 1)
        let batches = try data.batches(size: 4, shuffle: true, using: &g)
        #expect(batches.map(\.features.shape) == [[4, 2], [4, 2], [2, 2]])
        let seen = batches.flatMap { $0.features.doubles }.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        #expect(Set(seen).count == 10)
        let next = try data.batches(size: 4, shuffle: true, using: &g)
        #expect(next[0].features.doubles != batches[0].features.doubles)
        let ordered = try data.batches(size: 4, shuffle: false, dropLast: true, using: &g)
        #expect(ordered.count == 2 && ordered[1].labels.doubles == [1, 2, 0, 1])
        #expect(throws: DataError.self) { try data.batches(size: 0, shuffle: false, using: &g) }
    }

    @Test func standardizationUsesTrainingStatistics() throws {
        let perFeature = try Standardization(fittedTo: data)
        let standardized = try perFeature.apply(to: data).features
        let means = try standardized.mean(alongAxis: 0).doubles
        let variances = try standardized.squared().mean(alongAxis: 0).doubles
        #expect(means.allSatisfy { Swift.abs($0) < 1e-12 })
        #expect(variances.allSatisfy { Swift.abs($0 - 1) < 1e-12 })
        let scalar = try Standardization(fittedTo: data, granularity: .scalar)
        #expect(try scalar.mean.item() == 9.5)
        let constant = try Dataset(features: Tensor.ones([4, 2], dtype: .float64), labels: Tensor([0.0, 1, 0, 1]))
        #expect(try Standardization(fittedTo: constant).apply(to: constant).features.doubles.allSatisfy { $0 == 0 })
    }
}

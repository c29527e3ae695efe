import Foundation
import SaddleCore

/// The UCI optical digits set bundled with Saddle: 1797 examples of 8x8 pixels (0...16), 10
/// classes. Features come as `[1797, 64]`.
public enum Digits {
    /// The bundled data.
    /// - Throws: `DataError` if the embedded archive is damaged.
    public static func load(dtype: DType = .float32) throws -> Dataset {
        guard let archive = Data(base64Encoded: DigitsArchive.gzipBase64, options: .ignoreUnknownCharacters) else {
            throw DataError.invalid(file: "digits (embedded)", reason: "the embedded archive is not valid base64")
        }
        let csv = try Gzip.decompress(archive, file: "digits (embedded)")
        return try CSVReader(classCount: 10).parse(csv, name: "digits", dtype: dtype)
    }
}

/// Fashion-MNIST (Xiao, Rasul and Vollgraf 2017) as Debian's `dataset-fashion-mnist` installs
/// it: 60000 training and 10000 test images of 28x28 pixels (0...255), 10 classes.
public enum FashionMNIST {
    /// Where Debian installs the files.
    public static let defaultDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    public enum Split: String, Sendable { case train, test }

    /// One split, features `[count, 28, 28]` as raw pixel values.
    /// - Throws: `DataError.missingDataset` naming the Debian package when absent.
    public static func load(_ split: Split, directory: URL = defaultDirectory, dtype: DType = .float32) throws -> Dataset {
        let prefix = split == .train ? "train" : "t10k"
        var images = directory.appendingPathComponent("\(prefix)-images-idx3-ubyte.gz")
        var labels = directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte.gz")
        if !FileManager.default.fileExists(atPath: images.path) {
            images = directory.appendingPathComponent("\(prefix)-images-idx3-ubyte")
            labels = directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte")
        }
        guard FileManager.default.fileExists(atPath: images.path) else {
            throw DataError.missingDataset(name: "Fashion-MNIST", path: directory.path, package: "dataset-fashion-mnist")
        }
        return try IDXReader.read(images: images, labels: labels, dtype: dtype)
    }
}

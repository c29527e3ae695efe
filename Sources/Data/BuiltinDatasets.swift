import Foundation
import SaddleCore

/// The UCI optical digits set bundled with Saddle: 1797 examples of 8x8 pixels (0...16), 10
/// classes. Features come as `[1797, 64]`.
///
/// The data ship as a resource file (`digits.csv.gz`, the test part of the UCI "Optical
/// Recognition of Handwritten Digits" set: E. Alpaydin and C. Kaynak, UCI Machine Learning
/// Repository, https://doi.org/10.24432/C50P49, CC BY 4.0; this copy is scikit-learn's
/// `sklearn/datasets/data/digits.csv.gz`) in the `SaddleData` resource bundle that SwiftPM
/// places beside every executable that links Saddle.
public enum Digits {
    /// The resource's file name.
    public static let resourceName = "digits.csv.gz"

    /// The bundled data.
    /// - Throws: `DataError.missingResource` when the resource bundle is not beside the program
    ///   (a binary copied without it); `DataError` when the file is damaged.
    public static func load(dtype: DType = .float32) throws -> Dataset {
        let url = try resourceURL()
        return try CSVReader(classCount: 10).read(url, dtype: dtype)
    }

    /// Where the resource is: in a `*_SaddleData.resources` folder beside the running
    /// executable (or the main bundle). Searched explicitly rather than through `Bundle.module`,
    /// whose accessor stops the process when the bundle is missing.
    /// - Throws: `DataError.missingResource` naming the folders searched.
    public static func resourceURL() throws -> URL {
        var folders: [URL] = [URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()]
        folders.append(Bundle.main.bundleURL)
        if let resources = Bundle.main.resourceURL { folders.append(resources) }
        for folder in folders {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            for bundle in names.sorted() where bundle.hasSuffix("_SaddleData.resources") {
                let candidate = folder.appendingPathComponent(bundle).appendingPathComponent(resourceName)
                if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            }
        }
        var searched: [String] = []
        for folder in folders.map(\.path) where !searched.contains(folder) { searched.append(folder) }
        throw DataError.missingResource(name: resourceName, searched: searched)
    }
}

/// Fashion-MNIST (Xiao, Rasul and Vollgraf 2017) as Debian's `dataset-fashion-mnist` installs
/// it: 60000 training and 10000 test images of 28x28 pixels (0...255), 10 classes.
public enum FashionMNIST {
    /// Where Debian installs the files.
    public static let defaultDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    /// Which part of the data set: the 60,000 training images or the 10,000 test images.
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
